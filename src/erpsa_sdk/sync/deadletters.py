"""Dead letters: records handed to a person, with a reason, an owner role and replay.

A record the runner cannot write is never dropped and never retried in a loop: it becomes a
dead letter in the state store with a **reason code**, the error, the payload, the **owner
role** that resolves it (``finance``, ``pmo`` or ``it``), when it was first and last seen and
how many attempts it had. Reason codes:

==================================  =======================================================
reason                              when
==================================  =======================================================
``invalid_source_record``           the source record failed the canonical model (raw kept)
``unmapped_value:<map>``            a value has no entry in the declared value map
``ambiguous_match``                 the initial match found several target records
``validation_failed:<code>``        ``target.validate()`` found a problem; nothing was sent
``vendor_rejected:<vendor code>``   the vendor refused a write ``validate()`` did not predict
``unresolved_reference``            a referenced record was still missing after the waiting
                                    runs (3 by default)
``reference_unmatched:<field>``     a reference to a type the target cannot write matched
                                    no target record
``posted_record_changed``           a posted record changed or was deleted at the source and
                                    the target cannot reverse it
==================================  =======================================================

:class:`OwnerRules` assign the owner role (``period_closed`` → finance,
``required_field_missing`` → IT, ``reference_missing`` → PMO, ...). :class:`DeadLetterQueue`
lists dead letters with their state and :func:`replay` sends them again with their original
WriteKey: a dead letter whose EntityKey was since acknowledged at a newer version sends nothing
and reports ``superseded``; ``refresh=True`` re-reads the current source version first.

Examples:
    >>> rules = OwnerRules()
    >>> rules.owner_for(validation_failed("period_closed"))
    'finance'
    >>> rules.owner_for(unmapped_value("expense_category"))
    'it'
    >>> rules.owner_for("validation_failed:reference_missing")
    'pmo'
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import BaseModel, ValidationError

from erpsa_sdk.connector import ReferenceRule, WriteOutcome
from erpsa_sdk.errors import (
    ApiError,
    AuthError,
    ConfigurationError,
    ConflictError,
    ErpsaError,
    ForbiddenError,
    NotFoundError,
    PostedRecordError,
    RateLimited,
    ValidationFailed,
)
from erpsa_sdk.models.keys import EntityKey, WriteKey, WriteOperation
from erpsa_sdk.models.refs import Rejected
from erpsa_sdk.sync._records import CrosswalkEntry, DeadLetter, LedgerEntry, LedgerStatus

if TYPE_CHECKING:
    from erpsa_sdk.sync._runner import SyncRunner, _Batch, _Run

T = TypeVar("T")

__all__ = [
    "AMBIGUOUS_MATCH",
    "INVALID_SOURCE_RECORD",
    "MASTER_TYPES",
    "POSTED_RECORD_CHANGED",
    "UNRESOLVED_REFERENCE",
    "DeadLetterQueue",
    "DeadLetterStatus",
    "DeadLetterView",
    "OwnerRole",
    "OwnerRules",
    "RecordPolicy",
    "ReplayResult",
    "UnmappedValue",
    "cached_lookup",
    "lookup_scope",
    "reference_unmatched",
    "rejects_record",
    "replay",
    "unmapped_value",
    "validation_failed",
    "vendor_rejected",
]

INVALID_SOURCE_RECORD = "invalid_source_record"
AMBIGUOUS_MATCH = "ambiguous_match"
UNRESOLVED_REFERENCE = "unresolved_reference"
POSTED_RECORD_CHANGED = "posted_record_changed"

#: Master data the initial match may link by a natural key; transactional records (time,
#: expenses, invoices) are never matched on business fields.
MASTER_TYPES = frozenset({"Customer", "Resource", "LegalEntity", "Project"})

# Reasons whose payload is the source object as read, before value maps were applied.
_PRE_MAP = ("unmapped_value", INVALID_SOURCE_RECORD, AMBIGUOUS_MATCH)


def unmapped_value(map_name: str) -> str:
    """The reason of a value missing from the value map ``map_name``.

    Examples:
        >>> unmapped_value("expense_category")
        'unmapped_value:expense_category'
    """
    return f"unmapped_value:{map_name}"


def validation_failed(*codes: str) -> str:
    """The reason of a record ``target.validate()`` refused (codes sorted, comma-joined).

    Examples:
        >>> validation_failed("reference_missing", "period_closed")
        'validation_failed:period_closed,reference_missing'
    """
    return "validation_failed:" + ",".join(sorted(set(codes)))


def vendor_rejected(exc: ErpsaError) -> str:
    """The reason of a write the vendor refused: its vendor code, else its HTTP status.

    Examples:
        >>> from erpsa_sdk.errors import ValidationFailed
        >>> vendor_rejected(ValidationFailed("closed", status=422, vendor_code="PERIOD_CLOSED"))
        'vendor_rejected:PERIOD_CLOSED'
        >>> vendor_rejected(ValidationFailed("bad", status=400))
        'vendor_rejected:400'
    """
    code = getattr(exc, "vendor_code", None) or getattr(exc, "status", None)
    return f"vendor_rejected:{code or type(exc).__name__}"


def reference_unmatched(field_name: str) -> str:
    """The reason of a reference (``match`` rule) that matched no target record.

    Examples:
        >>> reference_unmatched("resource_key")
        'reference_unmatched:resource_key'
    """
    return f"reference_unmatched:{field_name}"


def rejects_record(exc: BaseException) -> bool:
    """Whether a write failure is the vendor refusing *this record* (dead-letter it) rather
    than a bad moment of the vendor or the network (retry) or of the whole connection (stop).

    A 4xx answer other than 401 / 403 / 408 / 429 rejects the record, and so do the
    validation, conflict and not-found classes of the error tree.

    Examples:
        >>> from erpsa_sdk.errors import ApiError, RateLimited, ValidationFailed
        >>> rejects_record(ValidationFailed("closed", status=422))
        True
        >>> rejects_record(ApiError("odd", status=418))
        True
        >>> rejects_record(RateLimited("slow down", status=429))
        False
    """
    if isinstance(exc, PostedRecordError):
        return False
    if isinstance(exc, ValidationFailed | ConflictError | NotFoundError):
        return True
    if isinstance(exc, RateLimited | AuthError | ForbiddenError):
        return False
    if isinstance(exc, ApiError) and exc.status is not None:
        return 400 <= exc.status < 500 and exc.status not in (401, 403, 408, 429)
    return False


class OwnerRole(StrEnum):
    """Who resolves a dead letter: ``finance``, ``pmo`` (project office) or ``it``.

    Examples:
        >>> OwnerRole("finance") is OwnerRole.FINANCE
        True
    """

    FINANCE = "finance"
    PMO = "pmo"
    IT = "it"


#: The default owner of each reason code or problem code.
DEFAULT_OWNERS: Mapping[str, str] = {
    "period_closed": "finance",
    "record_posted": "finance",
    POSTED_RECORD_CHANGED: "finance",
    "required_field_missing": "it",
    "field_required": "it",
    "invalid_value": "it",
    "unsupported_type": "it",
    "reference_missing": "pmo",
    UNRESOLVED_REFERENCE: "pmo",
    "reference_unmatched": "pmo",
    "unmapped_value": "it",
    AMBIGUOUS_MATCH: "it",
    INVALID_SOURCE_RECORD: "it",
    "vendor_rejected": "it",
    "validation_failed": "it",
}


@dataclass(frozen=True)
class OwnerRules:
    """Owner role of each dead-letter reason: declared rules over :data:`DEFAULT_OWNERS`.

    A reason ``prefix:code1,code2`` is looked up as the whole reason, then each code in
    order, then the prefix; the first rule found wins, else ``default``.

    Parameters:
        rules: reason or code -> owner role (``finance``, ``pmo``, ``it``).
        default: the owner when no rule applies.

    Examples:
        >>> rules = OwnerRules({"vendor_rejected:PERIOD_CLOSED": "finance"})
        >>> rules.owner_for("vendor_rejected:PERIOD_CLOSED"), rules.owner_for("vendor_rejected:X")
        ('finance', 'it')
        >>> OwnerRules().owner_for("validation_failed:field_required,period_closed")
        'it'
    """

    rules: Mapping[str, str] = field(default_factory=dict)
    default: str = OwnerRole.IT.value
    _table: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        roles = {o.value for o in OwnerRole}
        table = {**DEFAULT_OWNERS}
        for reason, owner in self.rules.items():
            if owner not in roles:
                raise ConfigurationError(
                    f"owner {owner!r} for {reason!r} is not one of finance, pmo, it"
                )
            table[reason] = owner
        # Built once: owner_for runs for every dead letter of every batch.
        object.__setattr__(self, "_table", MappingProxyType(table))

    def owner_for(self, reason: str) -> str:
        """The owner role of ``reason``."""
        prefix, _, rest = reason.partition(":")
        for candidate in (reason, *(c for c in rest.split(",") if c), prefix):
            owner = self._table.get(candidate)
            if owner is not None:
                return owner
        return self.default

    def assign(self, letter: DeadLetter) -> DeadLetter:
        """``letter`` with the owner its reason's rule names.

        Examples:
            >>> OwnerRules().assign(DeadLetter("p", "ek", "posted_record_changed")).owner
            'finance'
        """
        return replace(letter, owner=self.owner_for(letter.reason))


class UnmappedValue(ErpsaError):
    """A value has no entry in its declared value map (the record becomes a dead letter).

    Examples:
        >>> exc = UnmappedValue("expense_category", "Expense.category", "gifts")
        >>> exc.reason
        'unmapped_value:expense_category'
        >>> exc.message
        "Expense.category value 'gifts' is not in value map 'expense_category'"
    """

    def __init__(self, map_name: str, field_path: str, value: Any) -> None:
        super().__init__(
            f"{field_path} value {value!r} is not in value map {map_name!r}",
            map=map_name,
            field=field_path,
        )
        self.map_name = map_name
        self.field_path = field_path
        self.value = value

    @property
    def reason(self) -> str:
        """The dead-letter reason, ``unmapped_value:<map>``."""
        return unmapped_value(self.map_name)


class RecordPolicy:
    """What a pipeline decides about single records, consulted by the runner.

    The default policy maps nothing, matches nothing and uses :data:`DEFAULT_OWNERS`;
    :mod:`erpsa_sdk.mapping` builds one from a pipeline configuration file.

    Parameters:
        owners: owner-role rules of dead letters.
        natural_keys: master type name -> the fields of its natural key at the target, for
            the initial match (only :data:`MASTER_TYPES`).
        reference_rules: ``"<Type>.<field>"`` -> ``optional`` / ``match``, overriding the
            target's declared rule for references to types it cannot write.

    Examples:
        >>> policy = RecordPolicy(natural_keys={"Resource": ("email",)})
        >>> from erpsa_sdk.models import Resource
        >>> policy.natural_key(Resource(key="1", name="Ada", email="ada@x.example"))
        {'email': 'ada@x.example'}
        >>> RecordPolicy(natural_keys={"TimeEntry": ("work_date",)})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        erpsa_sdk.errors.ConfigurationError: TimeEntry is transactional: it is never matched ...
    """

    def __init__(
        self,
        *,
        owners: OwnerRules | None = None,
        natural_keys: Mapping[str, Sequence[str]] | None = None,
        reference_rules: Mapping[str, ReferenceRule | str] | None = None,
    ) -> None:
        self.owners = owners or OwnerRules()
        self.natural_keys = {k: tuple(v) for k, v in (natural_keys or {}).items()}
        for name in self.natural_keys:
            if name not in MASTER_TYPES:
                raise ConfigurationError(
                    f"{name} is transactional: it is never matched on business fields "
                    f"(natural keys are for {', '.join(sorted(MASTER_TYPES))})"
                )
        self.reference_rules = {k: ReferenceRule(v) for k, v in (reference_rules or {}).items()}

    def transform(self, obj: BaseModel) -> BaseModel:
        """Apply value maps to a record read from the source (raises :class:`UnmappedValue`)."""
        return obj

    def natural_key(self, obj: BaseModel) -> dict[str, Any] | None:
        """The natural-key values of a master record, or ``None`` (not matched)."""
        fields = self.natural_keys.get(type(obj).__name__)
        if not fields:
            return None
        values = {name: getattr(obj, name, None) for name in fields}
        if any(value in (None, "") for value in values.values()):
            return None
        return values

    def matches(self, model: type[BaseModel]) -> bool:
        """Whether records of ``model`` go through the initial match."""
        return bool(self.natural_keys.get(model.__name__))

    def reference_rule(self, model: type[BaseModel], field_name: str) -> ReferenceRule | None:
        """The declared rule for ``model.field_name``, or ``None`` (the target's rule)."""
        return self.reference_rules.get(f"{model.__name__}.{field_name}")

    def owner_for(self, reason: str) -> str:
        """The owner role of a dead-letter reason."""
        return self.owners.owner_for(reason)


# -- validation look-ups cached for the run -----------------------------------------------------
class _LookupCache:
    def __init__(self) -> None:
        self.values: dict[Hashable, Any] = {}
        self.lock = threading.Lock()
        self.computing: dict[Hashable, threading.Lock] = {}  # one per key: single flight
        self.hits = 0


_LOOKUPS: ContextVar[_LookupCache | None] = ContextVar("erpsa_validation_lookups", default=None)
_RUN_CACHES: weakref.WeakKeyDictionary[Any, _LookupCache] = weakref.WeakKeyDictionary()
_RUN_CACHES_LOCK = threading.Lock()


def cached_lookup(key: Hashable, compute: Callable[[], T]) -> T:
    """A look-up a connector's ``validate()`` makes (a period's status, a referenced record,
    the tenant's required fields), computed once per sync run.

    Inside a run the runner's validation scope is active and the answer is shared by every
    writer thread of the run; outside one (a direct call) ``compute`` simply runs. A look-up
    that raises is not cached. Keys should name the vendor and what is looked up.

    Examples:
        >>> calls = []
        >>> def period_status():
        ...     calls.append(1)
        ...     return "open"
        >>> with lookup_scope():
        ...     cached_lookup(("acmeerp", "period", "2026-10"), period_status)
        ...     cached_lookup(("acmeerp", "period", "2026-10"), period_status)
        'open'
        'open'
        >>> len(calls)
        1
    """
    cache = _LOOKUPS.get()
    if cache is None:
        return compute()
    with cache.lock:
        if key in cache.values:
            cache.hits += 1
            return cast(T, cache.values[key])
        key_lock = cache.computing.setdefault(key, threading.Lock())
    # Writer threads asking for the same key wait for the one computing it (other keys go
    # on in parallel: look-ups are network calls, never made under the cache's own lock).
    with key_lock:
        with cache.lock:
            if key in cache.values:
                cache.hits += 1
                return cast(T, cache.values[key])
        value = compute()
        with cache.lock:
            cache.values[key] = value
        return value


@contextmanager
def lookup_scope(owner: Any = None) -> Iterator[None]:
    """Make :func:`cached_lookup` cache for ``owner`` (a run: one cache per run object), or for
    this block only when ``owner`` is ``None``.

    Examples:
        >>> with lookup_scope():
        ...     cached_lookup("k", lambda: 1) + cached_lookup("k", lambda: 2)
        2
    """
    if owner is None:
        cache = _LookupCache()
    else:
        with _RUN_CACHES_LOCK:
            cache = _RUN_CACHES.setdefault(owner, _LookupCache())
    token = _LOOKUPS.set(cache)
    try:
        yield
    finally:
        _LOOKUPS.reset(token)


# -- the runner's map-and-match step ----------------------------------------------------------
def prepare_record(
    runner: SyncRunner,
    run: _Run,
    model: type[BaseModel],
    obj: Any,
    ek: EntityKey,
    batch: _Batch,
) -> Any | None:
    """Value maps, then the initial match, for a record read from the source.

    Returns the record to write, or ``None`` when it was dead-lettered (unmapped value,
    ambiguous match) or linked to an existing target record (no write).
    """
    policy = runner.policy
    try:
        mapped = policy.transform(obj)
    except UnmappedValue as exc:
        run.count("dead_lettered", "unmapped_value")
        batch.dead_letters.append(
            _letter(runner, ek, exc.reason, obj, exc.message, write_key=_write_key(runner, obj, ek))
        )
        return None
    if not policy.matches(model):
        return mapped
    writable = runner.pipeline.target.capabilities.of(model).write
    if runner._head(run, ek.canonical) is not None:
        return mapped if writable else None  # written by the runner before: update it
    if runner.store.crosswalk_get(runner._target, ek.canonical) is not None:
        # Linked by an earlier match: the target record does not carry the EntityKey, so an
        # upsert by EntityKey would create a copy. It stays the target's record (never a
        # duplicate); later source edits are reported, not written.
        if writable:
            run.count("linked_not_written")
            run.note(
                f"linked_not_written:{model.__name__}: records linked by the initial match "
                "are not updated from the source (the target keeps its own values)"
            )
        return None
    key = policy.natural_key(mapped)
    if key is None:
        if not writable:
            run.count("unmatched")
        return mapped if writable else None
    run.count("matches")
    found = runner._call(run, lambda: runner.pipeline.target.match(model, **key))
    if len(found) == 1:
        run.count("linked")
        object_type = str(getattr(model, "object_type", model.__name__.lower()))
        batch.seen.append(
            CrosswalkEntry(runner._source_system, ek.canonical, object_type, str(obj.key))
        )
        batch.seen.append(CrosswalkEntry(runner._target, ek.canonical, object_type, found[0].id))
        return None
    if len(found) > 1:
        run.count("dead_lettered", "ambiguous_match")
        ids = ", ".join(ref.id for ref in found[:10])
        batch.dead_letters.append(
            _letter(
                runner,
                ek,
                AMBIGUOUS_MATCH,
                mapped,
                f"{len(found)} {model.__name__} records at {runner._target} match {key}: {ids}",
                write_key=_write_key(runner, mapped, ek),
            )
        )
        return None
    if not writable:
        run.count("unmatched")
        run.note(
            f"unmatched:{model.__name__}: some source records match no record at "
            f"{runner._target!r}, which cannot create them"
        )
        return None
    return mapped


def _write_key(runner: SyncRunner, obj: Any, ek: EntityKey) -> str | None:
    try:
        version = runner.pipeline.version_of(obj)
    except ErpsaError:
        return None
    return str(WriteKey(entity_key=ek, version=str(version), operation=WriteOperation.UPSERT))


def _letter(
    runner: SyncRunner,
    ek: EntityKey,
    reason: str,
    obj: Any,
    error: str,
    *,
    write_key: str | None,
) -> DeadLetter:
    payload = obj.model_dump(mode="json") if isinstance(obj, BaseModel) else obj
    return DeadLetter(
        runner.pipeline.name,
        ek.canonical,
        reason,
        owner=runner.policy.owner_for(reason),
        payload=payload,
        error=error[:2000],
        write_key=write_key,
    )


# -- the queue ----------------------------------------------------------------------------------
class DeadLetterStatus(StrEnum):
    """Where a dead letter stands.

    * ``open``: waiting for a person (and a replay);
    * ``replaying``: a replay was sent and its answer is not stored yet (the next replay looks
      the record up before sending again);
    * ``replayed``: the replay was acknowledged by the target;
    * ``superseded``: a newer version of the record was acknowledged; nothing was sent;
    * ``discarded``: a person decided it needs no write.

    Examples:
        >>> DeadLetterStatus("open").resolved, DeadLetterStatus.SUPERSEDED.resolved
        (False, True)
    """

    OPEN = "open"
    REPLAYING = "replaying"
    REPLAYED = "replayed"
    SUPERSEDED = "superseded"
    DISCARDED = "discarded"

    @property
    def resolved(self) -> bool:
        """Nothing more will be sent for it."""
        return self not in (DeadLetterStatus.OPEN, DeadLetterStatus.REPLAYING)


@dataclass(frozen=True)
class DeadLetterView:
    """One dead letter with its state: reason, owner, payload, first / last seen, attempts.

    Examples:
        >>> v = DeadLetterView(id=1, pipeline="p", entity_key="ek", reason="ambiguous_match",
        ...                    owner="it", status=DeadLetterStatus.OPEN, attempts=1)
        >>> v.is_open
        True
    """

    id: int
    pipeline: str
    entity_key: str
    reason: str
    owner: str
    status: DeadLetterStatus
    attempts: int
    payload: Any = None
    error: str | None = None
    write_key: str | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    resolution: str | None = None

    @property
    def is_open(self) -> bool:
        """Still waiting for a person or a replay."""
        return not self.status.resolved


_COLUMNS = (
    "id, pipeline, entity_key, reason, owner, status, attempts, payload, error, write_key, "
    "created_at, last_seen, resolution"
)


class DeadLetterQueue:
    """The dead letters of one pipeline in a SQL state store, with their state.

    Examples:
        >>> from erpsa_sdk.sync import SQLiteStateStore
        >>> store = SQLiteStateStore(":memory:")
        >>> lease = store.acquire_lease("p", holder="me", ttl=30)
        >>> from erpsa_sdk.sync import BatchCommit
        >>> store.commit_batch(lease, BatchCommit("p", "Expense", None, "erp:t",
        ...     dead_letters=(DeadLetter("p", "ek1:n:s:t:expense:9", "unmapped_value:cat"),)))
        >>> queue = DeadLetterQueue(store, "p")
        >>> [(d.id, d.reason, d.status.value, d.attempts) for d in queue.letters()]
        [(1, 'unmapped_value:cat', 'open', 1)]
    """

    def __init__(self, store: Any, pipeline: str) -> None:
        from erpsa_sdk.sync._sql import SqlStateStore

        if not isinstance(store, SqlStateStore):
            raise ConfigurationError(
                f"dead-letter operations need a SQL state store, not {type(store).__name__}"
            )
        self._store = store
        self.pipeline = pipeline

    def _view(self, row: Sequence[Any]) -> DeadLetterView:
        from erpsa_sdk.sync._sqltx import _dt, _load

        return DeadLetterView(
            id=int(row[0]),
            pipeline=row[1],
            entity_key=row[2],
            reason=row[3],
            owner=row[4],
            status=DeadLetterStatus(row[5]),
            attempts=int(row[6]),
            payload=_load(row[7]),
            error=row[8],
            write_key=row[9],
            first_seen=_dt(row[10]),
            last_seen=_dt(row[11] or row[10]),
            resolution=row[12],
        )

    def letters(
        self,
        *,
        status: DeadLetterStatus | str | None = DeadLetterStatus.OPEN,
        owner: str | None = None,
        limit: int = 1000,
    ) -> list[DeadLetterView]:
        """Dead letters, oldest first; ``status=None`` lists every state.

        Open letters are folded per (EntityKey, reason): when a record was dead-lettered again
        for the same reason (a later version, a re-read), one letter is listed — the newest,
        with the first ``first_seen``, the latest ``last_seen`` and the attempts of all.
        ``limit`` counts listed letters, after folding.
        """
        sql = f"SELECT {_COLUMNS} FROM {{dead_letters}} WHERE pipeline = ?"  # noqa: S608
        params: list[Any] = [self.pipeline]
        if status is not None:
            wanted = DeadLetterStatus(status)
            if wanted is DeadLetterStatus.OPEN:
                sql += " AND status IN ('open', 'replaying')"
            else:
                sql += " AND status = ?"
                params.append(wanted.value)
        if owner is not None:
            sql += " AND owner = ?"
            params.append(owner)
        folding = status is not None and DeadLetterStatus(status) is DeadLetterStatus.OPEN
        sql += " ORDER BY id"
        if not folding:
            sql += " LIMIT ?"
            params.append(limit)
        rows = self._store._run(lambda tx: tx.q(sql, params), write=False)
        views = [self._view(r) for r in rows]
        if not folding:
            return views
        folded: dict[tuple[str, str | int], DeadLetterView] = {}
        for view in views:  # oldest first
            # A letter without an EntityKey ("-") is a record of its own, never a repeat.
            key = (view.entity_key, view.reason if view.entity_key != "-" else view.id)
            earlier = folded.pop(key, None)
            if earlier is not None:
                view = replace(
                    view,
                    first_seen=earlier.first_seen,
                    attempts=view.attempts + earlier.attempts,
                )
            folded[key] = view
        return sorted(folded.values(), key=lambda v: v.id)[:limit]

    def close_older(self, letter: DeadLetterView, status: DeadLetterStatus) -> int:
        """Resolve the open letters of the same EntityKey older than ``letter`` (their
        versions are older too); returns how many were closed."""
        now = self._store._now()
        return int(
            self._store._run(
                lambda tx: tx.x(
                    "UPDATE {dead_letters} SET status = ?, resolution = ?, last_seen = ?, "
                    "resolved_at = ? WHERE pipeline = ? AND entity_key = ? AND id < ? "
                    "AND status IN ('open', 'replaying')",
                    (
                        status.value,
                        f"resolved with #{letter.id}",
                        now,
                        now,
                        self.pipeline,
                        letter.entity_key,
                        letter.id,
                    ),
                )
            )
        )

    def last_id(self) -> int:
        """The id of the newest dead letter (0 when there is none); see :meth:`since`."""
        rows = self._store._run(
            lambda tx: tx.q(
                "SELECT COALESCE(MAX(id), 0) FROM {dead_letters} WHERE pipeline = ?",
                (self.pipeline,),
            ),
            write=False,
        )
        return int(rows[0][0])

    def since(self, after_id: int, *, limit: int = 1000) -> list[DeadLetterView]:
        """Dead letters added after ``after_id``, oldest first.

        A record dead-lettered again updates its open letter instead of adding one, so this
        misses repeats; :meth:`seen_in_run` lists everything one run dead-lettered.
        """
        rows = self._store._run(
            lambda tx: tx.q(
                f"SELECT {_COLUMNS} FROM {{dead_letters}} WHERE pipeline = ? AND id > ? "  # noqa: S608
                "ORDER BY id LIMIT ?",
                (self.pipeline, after_id, limit),
            ),
            write=False,
        )
        return [self._view(r) for r in rows]

    def seen_in_run(self, run_id: str, *, limit: int = 1000) -> list[DeadLetterView]:
        """Open dead letters the run ``run_id`` added or saw again, oldest first.

        A letter counts when it was last seen after the run started (as recorded in the
        store's run history); an unknown run has none.

        Examples:
            >>> from erpsa_sdk.sync import SQLiteStateStore, BatchCommit, RunRecord
            >>> store = SQLiteStateStore(":memory:")
            >>> lease = store.acquire_lease("p", holder="me", ttl=30)
            >>> def dead_letter_once():
            ...     store.commit_batch(lease, BatchCommit("p", "Expense", None, "erp:t",
            ...         dead_letters=(DeadLetter("p", "ek-9", "unmapped_value:cat"),)))
            >>> dead_letter_once()
            >>> store.start_run(lease, RunRecord("run-2", "p", holder="me", status="running"))
            >>> dead_letter_once()  # the same problem again: the letter is updated
            >>> [(d.id, d.attempts) for d in DeadLetterQueue(store, "p").seen_in_run("run-2")]
            [(1, 2)]
        """
        rows = self._store._run(
            lambda tx: tx.q(
                f"SELECT {_COLUMNS} FROM {{dead_letters}} WHERE pipeline = ? "  # noqa: S608
                "AND status IN ('open', 'replaying') AND COALESCE(last_seen, created_at) >= "
                "(SELECT started_at FROM {runs} WHERE run_id = ?) ORDER BY id LIMIT ?",
                (self.pipeline, run_id, limit),
            ),
            write=False,
        )
        return [self._view(r) for r in rows]

    def get(self, letter_id: int) -> DeadLetterView:
        """One dead letter by id; :class:`~erpsa_sdk.errors.ConfigurationError` if unknown."""
        rows = self._store._run(
            lambda tx: tx.q(
                f"SELECT {_COLUMNS} FROM {{dead_letters}} WHERE pipeline = ? AND id = ?",  # noqa: S608
                (self.pipeline, letter_id),
            ),
            write=False,
        )
        if not rows:
            raise ConfigurationError(
                f"no dead letter {letter_id} in pipeline {self.pipeline!r}", id=letter_id
            )
        return self._view(rows[0])

    def mark(
        self,
        letter_id: int,
        status: DeadLetterStatus,
        *,
        resolution: str | None = None,
        error: str | None = None,
        attempt: bool = False,
    ) -> None:
        """Set a dead letter's status (and resolution note, error), counting an attempt."""
        now = self._store._now()

        def update(tx: Any) -> None:
            tx.x(
                "UPDATE {dead_letters} SET status = ?, resolution = COALESCE(?, resolution), "
                "error = COALESCE(?, error), attempts = attempts + ?, last_seen = ?, "
                "resolved_at = ? WHERE pipeline = ? AND id = ?",
                (
                    status.value,
                    resolution,
                    None if error is None else error[:2000],
                    int(attempt),
                    now,
                    now if status.resolved else None,
                    self.pipeline,
                    letter_id,
                ),
            )

        self._store._run(update)


@dataclass(frozen=True)
class ReplayResult:
    """What one replay did.

    ``outcome`` is ``replayed`` (written, with the target's answer in ``detail``),
    ``linked`` (the initial match found the record), ``superseded`` (a newer version was
    acknowledged; nothing sent), ``already_written`` (this very write was acknowledged
    before), ``resolved`` (the dead letter was already closed; nothing sent) or ``failed``
    (still a dead letter; ``detail`` says why).

    Examples:
        >>> ReplayResult(3, "ek", "superseded").sent
        False
    """

    id: int
    entity_key: str
    outcome: str
    detail: str = ""
    target_id: str | None = None

    @property
    def sent(self) -> bool:
        """Whether a write was sent to the target."""
        return self.outcome == "replayed"


def _models() -> dict[str, type[BaseModel]]:
    from erpsa_sdk.sync._pipeline import PIPELINE_ORDER

    return {str(m.object_type): m for m in PIPELINE_ORDER}


def replay(
    runner: SyncRunner,
    ids: Iterable[int] | None = None,
    *,
    refresh: bool = False,
    owner: str | None = None,
) -> list[ReplayResult]:
    """Send open dead letters of the runner's pipeline again, each with its original WriteKey.

    For each dead letter (all open ones when ``ids`` is ``None``): with ``refresh`` the
    current version is read from the source first; value maps apply to payloads stored
    before mapping; references are resolved through the crosswalk again; a dead letter whose
    EntityKey was acknowledged at a newer version sends nothing (``superseded``). A write that
    fails again stays a dead letter with one more attempt. The pipeline lease is held
    throughout, so a replay never races a sync run.

    Examples:
        >>> replay.__name__
        'replay'
    """
    from erpsa_sdk.correlation import correlation_scope, new_correlation_id
    from erpsa_sdk.sync._ledgerview import LedgerView
    from erpsa_sdk.sync._runner import _Run

    queue = DeadLetterQueue(runner.store, runner.pipeline.name)
    letters = (
        [queue.get(i) for i in ids]
        if ids is not None
        else queue.letters(status=DeadLetterStatus.OPEN, owner=owner)
    )
    lease = runner.store.acquire_lease(
        runner.pipeline.name, holder=runner.holder, ttl=runner.lease_ttl
    )
    run = _Run(
        f"replay-{uuid.uuid4().hex}",
        new_correlation_id(),
        lease,
        LedgerView(runner.store, runner._target),
    )
    results: list[ReplayResult] = []
    try:
        with correlation_scope(run.correlation_id):
            for letter in letters:
                result = _replay_one(runner, run, queue, letter, refresh=refresh)
                if result.outcome in ("replayed", "linked", "already_written", "superseded"):
                    queue.close_older(letter, DeadLetterStatus.SUPERSEDED)
                results.append(result)
    finally:
        runner.store.release_lease(run.lease)
    return results


def _source_object(runner: SyncRunner, model: type[BaseModel], ek: EntityKey) -> Any:
    item: Any
    for item in runner.pipeline.source.read(model):
        ref = item.source_ref if isinstance(item, Rejected) else item.source_refs[0]
        if ref is not None and ref.id == ek.source_id:
            return item
    return None


def _replay_one(
    runner: SyncRunner,
    run: _Run,
    queue: DeadLetterQueue,
    letter: DeadLetterView,
    *,
    refresh: bool,
) -> ReplayResult:
    def fail(detail: str) -> ReplayResult:
        queue.mark(letter.id, DeadLetterStatus.OPEN, error=detail, attempt=True)
        return ReplayResult(letter.id, letter.entity_key, "failed", detail)

    if letter.status.resolved:
        return ReplayResult(letter.id, letter.entity_key, "resolved", letter.status.value)
    try:
        ek = EntityKey.parse(letter.entity_key)
    except ValueError:
        return fail("the dead letter has no EntityKey; it cannot be replayed")
    model = _models().get(ek.object_type)
    if model is None:
        return fail(f"unknown object type {ek.object_type!r}")
    entry = (
        runner.store.ledger_entry(runner._target, letter.write_key) if letter.write_key else None
    )
    if entry is not None and entry.operation == WriteOperation.DELETE.value:
        return _replay_delete(runner, run, queue, letter, model, ek, entry)
    obj: Any
    if refresh:
        obj = _source_object(runner, model, ek)
        if obj is None:
            return fail("the record no longer exists at the source")
        if isinstance(obj, Rejected):
            return fail(f"the source record is still invalid: {obj.errors}"[:2000])
        pre_map = True
    else:
        if letter.reason == INVALID_SOURCE_RECORD:
            return fail("the payload is the raw source record; replay it with --refresh")
        try:
            obj = model.model_validate(letter.payload)
        except ValidationError as exc:
            return fail(f"stored payload is not a valid {model.__name__}: {exc}"[:2000])
        pre_map = letter.reason.split(":")[0] in _PRE_MAP
    if pre_map:
        try:
            obj = runner.policy.transform(obj)
        except UnmappedValue as exc:
            return fail(exc.message)
    try:
        version = runner.pipeline.version_of(obj)
    except ErpsaError as exc:
        return fail(exc.message)
    wk = WriteKey(entity_key=ek, version=str(version), operation=WriteOperation.UPSERT)
    if not refresh and letter.write_key and letter.write_key != str(wk):
        return fail("the payload's version does not match the dead letter's WriteKey")
    target = runner.pipeline.target
    head = runner.store.ledger_head(runner._target, ek.canonical)
    if head is not None and not version.is_newer_than(head.version):
        if head.write_key == str(wk):
            queue.mark(letter.id, DeadLetterStatus.REPLAYED, resolution="already_written")
            return ReplayResult(letter.id, letter.entity_key, "already_written", "", head.target_id)
        queue.mark(
            letter.id, DeadLetterStatus.SUPERSEDED, resolution=f"superseded by {head.version}"
        )
        return ReplayResult(
            letter.id, letter.entity_key, "superseded", f"acknowledged at {head.version}"
        )
    object_type = str(getattr(model, "object_type", model.__name__.lower()))
    source_row = CrosswalkEntry(runner._source_system, ek.canonical, object_type, str(obj.key))
    if head is None and runner.policy.matches(model):
        key = runner.policy.natural_key(obj)
        if key is not None and runner.store.crosswalk_get(runner._target, ek.canonical) is None:
            found = runner._call(run, lambda: target.match(model, **key))
            if len(found) > 1:
                return fail(f"{len(found)} target records still match {key}")
            if len(found) == 1:
                runner.store.crosswalk_put(run.lease, source_row)
                link = CrosswalkEntry(runner._target, ek.canonical, object_type, found[0].id)
                runner.store.crosswalk_put(run.lease, link)
                queue.mark(letter.id, DeadLetterStatus.REPLAYED, resolution="linked")
                return ReplayResult(letter.id, letter.entity_key, "linked", "", found[0].id)
        if not target.capabilities.of(model).write:
            return fail(f"no {model.__name__} at the target matches, and it cannot create one")
    refs, missing, problem = runner._resolve(run, model, obj)
    if missing:
        return fail(f"references still missing: {', '.join(missing)}")
    if problem is not None:
        return fail(f"{problem}: the referenced record still matches nothing at the target")
    if runner.validate:
        with lookup_scope(run):
            problems = runner._call(run, lambda: target.validate(obj, refs=refs))
        if problems:
            codes = validation_failed(*(p.code for p in problems))
            return fail(f"{codes}: " + "; ".join(p.message for p in problems))
    in_doubt = {
        e.write_key
        for e in runner.store.ledger_entries(runner._target, entity_key=ek.canonical)
        if e.status is LedgerStatus.PENDING
    }
    if letter.status is DeadLetterStatus.REPLAYING:
        in_doubt.add(str(wk))  # an earlier replay may have landed: look it up first
    queue.mark(letter.id, DeadLetterStatus.REPLAYING, attempt=True)
    try:
        result = runner._send_upsert(run, model, obj, ek, wk, refs, head, in_doubt)
    except PostedRecordError as exc:
        return fail(f"{POSTED_RECORD_CHANGED}: {exc}")
    except ErpsaError as exc:
        if rejects_record(exc):
            return fail(f"{vendor_rejected(exc)}: {exc}")
        # Transient: the write may or may not have landed; the letter stays "replaying", so
        # the next replay looks the record up before sending again.
        queue.mark(letter.id, DeadLetterStatus.REPLAYING, error=str(exc))
        return ReplayResult(letter.id, letter.entity_key, "failed", str(exc))
    runner._acknowledge(run, model, obj, ek, wk, version, "upsert", result, head, source_row)
    target_id = result.ref.id if result.ref is not None else None
    outcome = result.outcome.value if isinstance(result.outcome, WriteOutcome) else "written"
    queue.mark(letter.id, DeadLetterStatus.REPLAYED, resolution=outcome)
    return ReplayResult(letter.id, letter.entity_key, "replayed", outcome, target_id)


def _replay_delete(
    runner: SyncRunner,
    run: _Run,
    queue: DeadLetterQueue,
    letter: DeadLetterView,
    model: type[BaseModel],
    ek: EntityKey,
    entry: LedgerEntry,
) -> ReplayResult:
    """Send a parked source deletion again (e.g. after finance un-posted the record)."""
    wk = WriteKey(entity_key=ek, version=str(entry.version), operation=WriteOperation.DELETE)
    if str(wk) != letter.write_key:
        queue.mark(letter.id, DeadLetterStatus.OPEN, error="ledger entry mismatch", attempt=True)
        return ReplayResult(letter.id, letter.entity_key, "failed", "ledger entry mismatch")
    head = runner.store.ledger_head(runner._target, ek.canonical)
    if head is not None and (head.removed or not entry.version.is_newer_than(head.version)):
        queue.mark(letter.id, DeadLetterStatus.SUPERSEDED, resolution="already removed or newer")
        return ReplayResult(letter.id, letter.entity_key, "superseded", "already removed or newer")
    queue.mark(letter.id, DeadLetterStatus.REPLAYING, attempt=True)
    try:
        result = runner._send_delete(run, model, ek, wk)
    except ErpsaError as exc:
        reason = POSTED_RECORD_CHANGED if isinstance(exc, PostedRecordError) else str(exc)
        queue.mark(letter.id, DeadLetterStatus.OPEN, error=f"{reason}: {exc}"[:2000])
        return ReplayResult(letter.id, letter.entity_key, "failed", f"{reason}: {exc}")
    object_type = str(getattr(model, "object_type", model.__name__.lower()))
    removed = CrosswalkEntry(runner._source_system, ek.canonical, object_type, ek.source_id)
    removed = replace(removed, removed=True)
    runner._acknowledge(run, model, None, ek, wk, entry.version, "delete", result, head, removed)
    queue.mark(letter.id, DeadLetterStatus.REPLAYED, resolution=result.outcome.value)
    return ReplayResult(letter.id, letter.entity_key, "replayed", result.outcome.value)
