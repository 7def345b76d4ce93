"""The connector contract: what every connector (ours or a partner's) offers the sync runner.

A connector is one vendor system seen through canonical objects. It declares what it can do in
:class:`Capabilities` (per canonical type: read, write, delete, reverse, incremental reads, how
deletions are seen, the :class:`~erpsa_sdk.http.safety.WriteSafety` of each write operation,
rules for references it cannot write, its limits and its money rounding mode) and implements
:class:`Connector`: ``read``, ``read_deletions``, ``lookup``, ``match``, ``upsert`` (and
``upsert_many``), ``delete``, ``reverse``, ``validate`` and ``health``.

A plugin publishes a :class:`ConnectorPlugin` object under the entry-point group
``erpsa_sdk.connectors`` (see :mod:`erpsa_sdk.registry`); the object builds connectors from
their :class:`ConnectorSettings` and, for tests, the vendor's simulator.

The contract is synchronous on purpose: the runner writes in parallel on threads.

Example:
    >>> from erpsa_sdk.connector import Capabilities, TypeCapabilities, DeletionMode
    >>> from erpsa_sdk.http.safety import WriteSafety
    >>> caps = Capabilities(types={
    ...     "Customer": TypeCapabilities(read=True, incremental=True,
    ...                                  deletions=DeletionMode.TOMBSTONE_QUERY,
    ...                                  write=True, write_safety={"upsert": "natural_upsert"}),
    ... })
    >>> caps.of("Customer").safety("create") is WriteSafety.NATURAL_UPSERT
    True
    >>> caps.of("Invoice").write
    False
"""

from __future__ import annotations

import importlib
import json
import os
import tomllib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, Self, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from erpsa_sdk.errors import ConfigurationError, ErpsaError
from erpsa_sdk.http.safety import WriteSafety
from erpsa_sdk.limits import Limit
from erpsa_sdk.models.keys import EntityKey, WriteKey, WriteOperation
from erpsa_sdk.models.refs import Rejected, SourceRef

if TYPE_CHECKING:
    import httpx2

    from erpsa_sdk.clock import Clock

__all__ = [
    "PLUGIN_API_VERSION",
    "Capabilities",
    "Connector",
    "ConnectorPlugin",
    "ConnectorSettings",
    "Cursor",
    "Deletion",
    "DeletionMode",
    "Health",
    "Problem",
    "ProblemCode",
    "ReadPage",
    "RecordPager",
    "ReferenceRule",
    "SecretStr",
    "TypeCapabilities",
    "WriteOutcome",
    "WriteRequest",
    "WriteResult",
    "type_name",
]

#: The plugin API this erpsa-sdk implements. A plugin states the version it was built for in
#: :attr:`ConnectorPlugin.api_version`; discovery skips a plugin built for another one.
PLUGIN_API_VERSION = 1

#: A JSON-able resume position (``None`` means "from the beginning").
Cursor = dict[str, Any] | None

T_co = TypeVar("T_co", covariant=True)
M = TypeVar("M", bound=BaseModel)


def type_name(model: type[BaseModel] | str) -> str:
    """The canonical type name used as the key of :class:`Capabilities` (the class name).

    Example:
        >>> from erpsa_sdk.models.refs import SourceRef
        >>> type_name(SourceRef), type_name("TimeEntry")
        ('SourceRef', 'TimeEntry')
    """
    return model if isinstance(model, str) else model.__name__


class DeletionMode(StrEnum):
    """How a source system lets a reader see deletions.

    * ``change_feed``: the vendor reports deletions incrementally (``read_deletions``).
    * ``tombstone_query``: deleted records can be queried since a time (``read_deletions``).
    * ``full_scan_only``: deletions are only visible as absence after a complete enumeration.

    Example:
        >>> DeletionMode("tombstone_query").needs_full_scan
        False
    """

    CHANGE_FEED = "change_feed"
    TOMBSTONE_QUERY = "tombstone_query"
    FULL_SCAN_ONLY = "full_scan_only"

    @property
    def needs_full_scan(self) -> bool:
        """Whether deletions can only be found by comparing complete enumerations."""
        return self is DeletionMode.FULL_SCAN_ONLY


class ReferenceRule(StrEnum):
    """What a target does with a reference to a type it cannot write.

    * ``optional``: the field is written empty (the runner counts it once per run).
    * ``match``: the reference is resolved against records that already exist at the target.

    Example:
        >>> ReferenceRule("match") is ReferenceRule.MATCH
        True
    """

    OPTIONAL = "optional"
    MATCH = "match"


RoundingMode = Literal["ROUND_HALF_UP", "ROUND_HALF_EVEN"]


class TypeCapabilities(BaseModel):
    """What a connector can do with one canonical type.

    Attributes:
        read: records of this type can be read.
        incremental: reads accept ``since=cursor`` and return only what changed.
        deletions: how deletions are seen (only meaningful for readable types).
        write: ``upsert`` is supported.
        delete: ``delete`` is supported.
        reverse: ``reverse`` is supported (void, credit, negative entry) for posted records.
        posting: the system can hold records of this type as posted or locked; then
            ``upsert`` and ``delete`` raise :class:`~erpsa_sdk.errors.PostedRecordError`.
        closed_periods: writes dated in a closed accounting period are refused.
        write_safety: the retry safety of each write operation, keyed by
            :class:`~erpsa_sdk.models.keys.WriteOperation`. ``upsert`` stands for both
            ``create`` and ``update`` when one vendor call does both.
        references: for each reference field whose target type this connector cannot write,
            whether it is left empty (``optional``) or matched against existing records.
        field_names: the vendor's name for a canonical field (``task_key`` ->
            ``msdyn_projecttask``), so reports speak the target's language; see
            :meth:`field_name`.
        natural_keys: the fields :meth:`Connector.match` accepts for this type.
        vendor_dedupes_blind_creates: the *vendor* leaves one record when the same keyless
            create (no id, no external id, no idempotency key) arrives twice. A fact about
            the vendor's API, not about this connector's writes (a ``natural_upsert`` create
            says the connector addresses its creates by key; the vendor may still duplicate
            a blind ``POST``). ``False``, the safe default, makes the contract suite's
            negative control prove that a naive writer duplicates against the simulator.

    Example:
        >>> caps = TypeCapabilities(write=True, write_safety={"create": "unsafe",
        ...                                                   "update": "natural_upsert"})
        >>> caps.safety("create").value, caps.safety("update").value
        ('unsafe', 'natural_upsert')
        >>> caps.vendor_dedupes_blind_creates
        False
        >>> TypeCapabilities(write=True, write_safety={"upsert": "natural_upsert"}
        ...                  ).vendor_dedupes_blind_creates  # keyed writes say nothing of it
        False
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    read: bool = False
    incremental: bool = False
    deletions: DeletionMode = DeletionMode.FULL_SCAN_ONLY
    write: bool = False
    delete: bool = False
    reverse: bool = False
    posting: bool = False
    closed_periods: bool = False
    write_safety: dict[WriteOperation, WriteSafety] = Field(default_factory=dict)
    references: dict[str, ReferenceRule] = Field(default_factory=dict)
    natural_keys: tuple[str, ...] = ()
    field_names: dict[str, str] = Field(default_factory=dict)
    vendor_dedupes_blind_creates: bool = False

    def field_name(self, field: str) -> str:
        """The target's name for a canonical field, or the canonical name when none is declared.

        Examples:
            >>> caps = TypeCapabilities(field_names={"task_key": "msdyn_projecttask"})
            >>> caps.field_name("task_key"), caps.field_name("resource_key")
            ('msdyn_projecttask', 'resource_key')
        """
        return self.field_names.get(field, field)

    @model_validator(mode="after")
    def _consistent(self) -> TypeCapabilities:
        if self.incremental and not self.read:
            raise ValueError("incremental=True needs read=True")
        ops = self.write_safety
        if (
            self.write
            and WriteOperation.UPSERT not in ops
            and not (WriteOperation.CREATE in ops and WriteOperation.UPDATE in ops)
        ):
            raise ValueError(
                "write=True needs write_safety for 'upsert', or for both 'create' and 'update'"
            )
        if self.delete and WriteOperation.DELETE not in ops:
            raise ValueError("delete=True needs write_safety for 'delete'")
        if self.reverse and WriteOperation.REVERSE not in ops:
            raise ValueError("reverse=True needs write_safety for 'reverse'")
        if self.vendor_dedupes_blind_creates and not self.write:
            raise ValueError("vendor_dedupes_blind_creates=True needs write=True")
        return self

    def safety(self, operation: WriteOperation | str) -> WriteSafety:
        """The declared :class:`WriteSafety` of ``operation`` (``create`` / ``update`` fall
        back to ``upsert``); :class:`~erpsa_sdk.errors.ConfigurationError` when undeclared.

        Example:
            >>> TypeCapabilities(write=True, write_safety={"upsert": "natural_upsert"}).safety(
            ...     "update").value
            'natural_upsert'
        """
        op = WriteOperation(operation)
        if op in self.write_safety:
            return self.write_safety[op]
        if op in (WriteOperation.CREATE, WriteOperation.UPDATE):
            if WriteOperation.UPSERT in self.write_safety:
                return self.write_safety[WriteOperation.UPSERT]
        elif op is WriteOperation.UPSERT and WriteOperation.CREATE in self.write_safety:
            return self.write_safety[WriteOperation.CREATE]
        raise ConfigurationError(f"no write safety declared for operation {op.value!r}")


class Capabilities(BaseModel):
    """Everything a connector declares about itself, keyed by canonical type name.

    ``limits`` are the vendor's limits with their scope (:class:`erpsa_sdk.limits.Limit`); the
    governor enforces the configured share of them. ``rounding`` is the mode money written to
    this system is quantized with.

    Example:
        >>> caps = Capabilities(types={"Expense": TypeCapabilities(read=True)},
        ...                     rounding="ROUND_HALF_EVEN")
        >>> caps.readable(), caps.writable(), caps.rounding_mode
        (['Expense'], [], 'ROUND_HALF_EVEN')
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    types: dict[str, TypeCapabilities] = Field(default_factory=dict)
    limits: tuple[Limit, ...] = ()
    rounding: RoundingMode = "ROUND_HALF_UP"

    @property
    def rounding_mode(self) -> str:
        """The :mod:`decimal` rounding constant money written to this system is quantized with."""
        return ROUND_HALF_EVEN if self.rounding == "ROUND_HALF_EVEN" else ROUND_HALF_UP

    def of(self, model: type[BaseModel] | str) -> TypeCapabilities:
        """The capabilities for ``model``; an undeclared type supports nothing.

        Example:
            >>> Capabilities().of("Invoice").read
            False
        """
        return self.types.get(type_name(model), _NOTHING)

    def readable(self) -> list[str]:
        """Names of the readable types."""
        return [name for name, caps in self.types.items() if caps.read]

    def writable(self) -> list[str]:
        """Names of the writable types."""
        return [name for name, caps in self.types.items() if caps.write]

    def reference_rule(self, model: type[BaseModel] | str, field: str) -> ReferenceRule | None:
        """The declared rule for a reference field of ``model`` whose target type this
        connector cannot write, or ``None`` (the referenced type is writable: the runner waits).

        Example:
            >>> caps = Capabilities(types={"TimeEntry": TypeCapabilities(
            ...     references={"task_id": "optional"})})
            >>> caps.reference_rule("TimeEntry", "task_id").value
            'optional'
        """
        return self.of(model).references.get(field)

    def summary(self) -> dict[str, list[str]]:
        """A compact per-type listing (``read``, ``write[unsafe]``, ...) for the CLI.

        Example:
            >>> Capabilities(types={"Project": TypeCapabilities(read=True, incremental=True)}
            ...             ).summary()
            {'Project': ['read', 'incremental', 'deletions=full_scan_only']}
        """
        out: dict[str, list[str]] = {}
        for name, caps in sorted(self.types.items()):
            flags: list[str] = []
            if caps.read:
                flags += ["read"]
                if caps.incremental:
                    flags += ["incremental"]
                flags += [f"deletions={caps.deletions.value}"]
            if caps.write:
                flags += [f"write[{caps.safety(WriteOperation.CREATE).value}]"]
            for flag in ("delete", "reverse", "posting", "closed_periods"):
                if getattr(caps, flag):
                    flags.append(flag)
            out[name] = flags
        return out


_NOTHING = TypeCapabilities()


class WriteOutcome(StrEnum):
    """What a write did at the target.

    ``upserted`` is used when the vendor does not say whether it created or updated.

    ``not_found`` is a success too: a delete (or its retry) that had nothing left to do.

    Example:
        >>> WriteOutcome("not_found") is WriteOutcome.NOT_FOUND
        True
    """

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    UPSERTED = "upserted"
    DELETED = "deleted"
    NOT_FOUND = "not_found"
    REVERSED = "reversed"


class WriteResult(BaseModel):
    """The acknowledged result of one write.

    Example:
        >>> ek = EntityKey(namespace="demo", system="acmepsa", tenant="t", source_id="1",
        ...                object_type="customer")
        >>> res = WriteResult(outcome="created", entity_key=ek,
        ...                   ref=SourceRef(system="acmeerp", tenant="t", id="C-1"))
        >>> res.outcome.value, res.ref.id
        ('created', 'C-1')
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: WriteOutcome
    entity_key: EntityKey
    ref: SourceRef | None = None
    write_key: WriteKey | None = None


class ProblemCode(StrEnum):
    """Well-known :class:`Problem` codes (connectors may use their own codes as well).

    Example:
        >>> ProblemCode.PERIOD_CLOSED.value
        'period_closed'
    """

    REFERENCE_MISSING = "reference_missing"
    PERIOD_CLOSED = "period_closed"
    FIELD_REQUIRED = "field_required"
    RECORD_POSTED = "record_posted"
    UNSUPPORTED_TYPE = "unsupported_type"
    INVALID_VALUE = "invalid_value"


class Problem(BaseModel):
    """One reason the target would refuse a record, found before anything is sent.

    Example:
        >>> Problem(code="period_closed", message="2026-10 is closed", field="date").code
        'period_closed'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1)
    message: str
    field: str | None = None


class Health(BaseModel):
    """The answer of :meth:`Connector.health`: reachable and authorised, or why not.

    Example:
        >>> Health(ok=False, message="401 from token endpoint").ok
        False
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool
    message: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class Deletion(BaseModel):
    """A deletion seen at the source (from a change feed or a tombstone query).

    Example:
        >>> from datetime import UTC, datetime
        >>> d = Deletion(ref=SourceRef(system="acmepsa", tenant="t", id="7"),
        ...              deleted_at=datetime(2026, 11, 1, tzinfo=UTC))
        >>> d.ref.id
        '7'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    ref: SourceRef
    deleted_at: datetime


@dataclass(frozen=True)
class WriteRequest:
    """One item of :meth:`Connector.upsert_many`.

    Example:
        >>> from erpsa_sdk.models.refs import SourceRef
        >>> ek = EntityKey.parse("ek1:demo:acmepsa:t:customer:1")
        >>> req = WriteRequest(obj=SourceRef(system="s", tenant="t", id="1"), entity_key=ek,
        ...                    write_key=WriteKey(entity_key=ek, version="1", operation="upsert"))
        >>> dict(req.refs)
        {}
    """

    obj: BaseModel
    entity_key: EntityKey
    write_key: WriteKey
    refs: Mapping[str, SourceRef] = field(default_factory=dict)


@runtime_checkable
class ReadPage(Protocol[T_co]):
    """One page of a read: its items and the cursor after it (the transport's ``Page``).

    Example:
        >>> from erpsa_sdk.http import Page
        >>> isinstance(Page(number=1, items=[], raw_count=0, rejected=0, cursor=None), ReadPage)
        True
    """

    @property
    def items(self) -> Sequence[T_co | Rejected]:
        """Canonical objects and :class:`Rejected` records, in order."""
        ...

    @property
    def cursor(self) -> Cursor:
        """Where a reader resumes once this page is handed over."""
        ...


@runtime_checkable
class RecordPager(Protocol[T_co]):
    """A lazy, resumable read: items (canonical objects and :class:`Rejected`), pages, cursor.

    ``cursor`` is the position after the last page whose items were all handed over; pass it
    as ``since=`` to resume. The transport's pagers (:mod:`erpsa_sdk.http`) satisfy it.

    Example:
        >>> isinstance([], RecordPager)
        False
    """

    def __iter__(self) -> Iterator[T_co | Rejected]:
        """Every item of every page, fetched lazily."""
        ...

    def iter_pages(self) -> Iterator[ReadPage[T_co]]:
        """One page at a time; ``cursor`` moves past a page once it is handed over."""
        ...

    @property
    def cursor(self) -> Cursor:
        """The JSON-able resume position."""
        ...


class Connector(ABC):
    """Base class of every connector: one vendor tenant seen through canonical objects.

    Subclasses implement the abstract methods; the optional ones (``read_deletions``,
    ``match``, ``reverse``) refuse with :class:`~erpsa_sdk.errors.ConfigurationError` unless
    overridden, matching capabilities that do not declare them. Every vendor failure surfaces
    as an :class:`~erpsa_sdk.errors.ErpsaError`; a record the target holds as posted raises
    :class:`~erpsa_sdk.errors.PostedRecordError` and changes nothing.

    Example:
        >>> class Empty(Connector):
        ...     name = "empty"
        ...     capabilities = Capabilities()
        ...     def read(self, model, *, since=None, **filters): return iter(())
        ...     def lookup(self, model, *, entity_key): return None
        ...     def upsert(self, obj, *, entity_key, write_key, refs): raise NotImplementedError
        ...     def delete(self, model, *, entity_key, write_key): raise NotImplementedError
        ...     def validate(self, obj, *, refs): return []
        ...     def health(self): return Health(ok=True)
        >>> with Empty() as conn:
        ...     conn.health().ok
        True
    """

    #: The connector's registered name (the entry-point name).
    name: ClassVar[str]

    @property
    @abstractmethod
    def capabilities(self) -> Capabilities:
        """What this connector can do (see :class:`Capabilities`)."""

    @abstractmethod
    def read(
        self, model: type[M], *, since: Cursor = None, **filters: Any
    ) -> RecordPager[M] | Iterable[M | Rejected]:
        """Read records of ``model`` changed after ``since`` (all when ``None``), lazily.

        Returns a :class:`RecordPager`; bad records come out as :class:`Rejected`.
        """

    def read_deletions(
        self, model: type[BaseModel], *, since: Cursor = None
    ) -> RecordPager[Deletion]:
        """Deletions of ``model`` after ``since``, for ``change_feed`` / ``tombstone_query``
        connectors."""
        raise ConfigurationError(
            f"connector {self.name!r} cannot read deletions of {type_name(model)} "
            f"(declared deletions: {self.capabilities.of(model).deletions.value})"
        )

    @abstractmethod
    def lookup(self, model: type[BaseModel], *, entity_key: EntityKey) -> SourceRef | None:
        """The record carrying ``entity_key`` at this system, or ``None``."""

    def match(self, model: type[BaseModel], **natural_key: Any) -> list[SourceRef]:
        """Existing records whose declared natural key equals ``natural_key``."""
        raise ConfigurationError(
            f"connector {self.name!r} declares no natural key for {type_name(model)}"
        )

    @abstractmethod
    def upsert(
        self,
        obj: BaseModel,
        *,
        entity_key: EntityKey,
        write_key: WriteKey,
        refs: Mapping[str, SourceRef],
    ) -> WriteResult:
        """Create or update the record for ``entity_key`` with ``obj``'s values.

        ``refs`` maps each reference field to the target record the runner resolved.
        """

    def upsert_many(self, requests: Sequence[WriteRequest]) -> list[WriteResult | ErpsaError]:
        """Write several records; one result (or the error it raised) per request, in order.

        The default writes one by one; connectors with a vendor batch call override it.
        """
        results: list[WriteResult | ErpsaError] = []
        for req in requests:
            try:
                results.append(
                    self.upsert(
                        req.obj, entity_key=req.entity_key, write_key=req.write_key, refs=req.refs
                    )
                )
            except ErpsaError as exc:
                results.append(exc)
        return results

    @abstractmethod
    def delete(
        self, model: type[BaseModel], *, entity_key: EntityKey, write_key: WriteKey
    ) -> WriteResult:
        """Delete the record for ``entity_key``: ``deleted``, or ``not_found`` (not an error)."""

    def reverse(self, obj: BaseModel, *, entity_key: EntityKey, write_key: WriteKey) -> WriteResult:
        """Reverse a posted record (void, credit, negative entry) where the vendor allows it."""
        raise ConfigurationError(
            f"connector {self.name!r} cannot reverse {type_name(type(obj))} records"
        )

    @abstractmethod
    def validate(self, obj: BaseModel, *, refs: Mapping[str, SourceRef]) -> list[Problem]:
        """Check ``obj`` against the target before sending it; an empty list means writable."""

    @abstractmethod
    def health(self) -> Health:
        """Whether the system is reachable and the credentials work (never raises)."""

    def close(self) -> None:
        """Release connections (idempotent); the default holds none."""
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class ConnectorSettings(BaseModel):
    """Base class of connector settings: a frozen pydantic model, secrets as ``SecretStr``.

    Load from keyword arguments, environment variables (``<env_prefix><FIELD>``, JSON for
    structured values) and TOML; :meth:`load` merges them (arguments > environment > TOML).

    ``SecretStr`` is re-exported here so settings modules import everything from one place.

    Example:
        >>> from erpsa_sdk.connector import SecretStr
        >>> class DemoSettings(ConnectorSettings):
        ...     env_prefix = "ERPSA_DEMO_"
        ...     tenant: str
        ...     api_key: SecretStr
        >>> s = DemoSettings.from_env(environ={"ERPSA_DEMO_TENANT": "t1",
        ...                                    "ERPSA_DEMO_API_KEY": "k"})
        >>> s
        DemoSettings(tenant='t1', api_key=SecretStr('**********'))
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Prefix of the environment variables that feed this model (``ERPSA_ACMEERP_``).
    env_prefix: ClassVar[str] = "ERPSA_"

    @classmethod
    def _env_values(cls, environ: Mapping[str, str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, info in cls.model_fields.items():
            raw = environ.get(f"{cls.env_prefix}{name}".upper())
            if raw is None:
                continue
            text = raw.strip()
            # Structured fields (lists, dicts) arrive as JSON; scalars stay strings and
            # pydantic coerces them.
            if text[:1] in "[{" and info.annotation not in (str, None):
                try:
                    values[name] = json.loads(text)
                    continue
                except json.JSONDecodeError:
                    pass
            values[name] = raw
        return values

    @classmethod
    def _build(cls, values: Mapping[str, Any], origin: str) -> Self:
        try:
            return cls.model_validate(dict(values))
        except ValidationError as exc:
            # Only field names and error kinds: the rejected values may be secrets.
            fields = ", ".join(
                f"{'.'.join(str(p) for p in err['loc'])} ({err['type']})" for err in exc.errors()
            )
            raise ConfigurationError(f"{cls.__name__} from {origin} is invalid: {fields}") from None

    @classmethod
    def from_env(cls, *, environ: Mapping[str, str] | None = None) -> Self:
        """Settings from environment variables named ``<env_prefix><FIELD>`` (upper case).

        Example:
            >>> class S(ConnectorSettings):
            ...     env_prefix = "X_"
            ...     page_size: int = 100
            >>> S.from_env(environ={"X_PAGE_SIZE": "25"}).page_size
            25
        """
        env = os.environ if environ is None else environ
        return cls._build(cls._env_values(env), f"environment ({cls.env_prefix}*)")

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str], *, table: str | None = None) -> Self:
        """Settings from a TOML file, optionally from a dotted ``table`` inside it.

        Example:
            >>> import tempfile, pathlib
            >>> class S(ConnectorSettings):
            ...     tenant: str
            >>> p = pathlib.Path(tempfile.mkdtemp()) / "erpsa.toml"
            >>> _ = p.write_text('[connectors.acme]\\ntenant = "t9"\\n')
            >>> S.from_toml(p, table="connectors.acme").tenant
            't9'
        """
        return cls._build(_toml_table(Path(path), table), f"{path}")

    @classmethod
    def load(
        cls,
        *,
        toml: str | os.PathLike[str] | None = None,
        table: str | None = None,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Self:
        """Merge TOML (lowest), environment variables, then ``overrides`` (highest).

        Example:
            >>> class S(ConnectorSettings):
            ...     env_prefix = "Y_"
            ...     tenant: str
            ...     page_size: int = 100
            >>> S.load(environ={"Y_TENANT": "a"}, page_size=5)
            S(tenant='a', page_size=5)
        """
        values: dict[str, Any] = {}
        if toml is not None:
            values.update(_toml_table(Path(toml), table))
        values.update(cls._env_values(os.environ if environ is None else environ))
        values.update(overrides)
        return cls._build(values, "settings")

    def __repr__(self) -> str:
        # pydantic's repr already masks SecretStr; keep the plain Class(field=...) form.
        body = ", ".join(f"{k}={v!r}" for k, v in self.__repr_args__())
        return f"{type(self).__name__}({body})"


def _toml_table(path: Path, table: str | None) -> dict[str, Any]:
    try:
        data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read settings file {path}: {exc}") from None
    for part in table.split(".") if table else ():
        data = data.get(part) if isinstance(data, dict) else None
        if not isinstance(data, dict):
            raise ConfigurationError(f"{path} has no table [{table}]")
    return dict(data)


@dataclass(frozen=True)
class ConnectorPlugin:
    """The object a plugin publishes under the entry-point group ``erpsa_sdk.connectors``.

    Parameters:
        name: the connector name users pass to :func:`erpsa_sdk.registry.connect`; must equal
            the entry-point name.
        connector: the factory ``(settings, *, transport=None, clock=None) -> Connector``,
            usually the connector class itself; ``transport`` (an ``httpx2`` transport, e.g.
            ``MockTransport(simulator)``) and ``clock`` are injected by tests and the runner.
        settings: the :class:`ConnectorSettings` subclass.
        capabilities: what the connector can do (shown by ``erpsa connectors``).
        simulator_factory: ``(seed=, faults=, clock=) -> Simulator`` for the vendor's
            simulator, or its ``"module:attribute"`` path (e.g. the simulator class), imported
            only when a simulator is asked for, so importing the plugin stays fast.
        api_version: the plugin API the plugin was built for (:data:`PLUGIN_API_VERSION`).
        description: one line for listings.

    Example:
        >>> plugin = ConnectorPlugin(name="demo", connector=lambda s, **kw: None,
        ...                          settings=ConnectorSettings, capabilities=Capabilities())
        >>> plugin.api_version == PLUGIN_API_VERSION
        True
    """

    name: str
    connector: Callable[..., Connector]
    settings: type[ConnectorSettings]
    capabilities: Capabilities
    simulator_factory: Callable[..., Any] | str | None = None
    api_version: int = PLUGIN_API_VERSION
    description: str = ""

    def __post_init__(self) -> None:
        factory = self.simulator_factory
        if isinstance(factory, str) and not _is_import_path(factory):
            raise ConfigurationError(
                f"connector {self.name!r}: simulator_factory {factory!r} is not a "
                "'package.module:attribute' path"
            )

    def create(
        self,
        settings: ConnectorSettings | Mapping[str, Any] | None = None,
        *,
        transport: httpx2.BaseTransport | None = None,
        clock: Clock | None = None,
    ) -> Connector:
        """Build a connector from settings (a model, a mapping, or ``None`` for the
        environment).

        Example:
            >>> ConnectorPlugin(name="x", connector=lambda s, **kw: s, settings=ConnectorSettings,
            ...                 capabilities=Capabilities()).create({})
            ConnectorSettings()
        """
        if settings is None:
            resolved = self.settings.from_env()
        elif isinstance(settings, ConnectorSettings):
            if not isinstance(settings, self.settings):
                raise ConfigurationError(
                    f"connector {self.name!r} takes {self.settings.__name__}, "
                    f"not {type(settings).__name__}"
                )
            resolved = settings
        else:
            resolved = self.settings._build(settings, "a mapping")
        return self.connector(resolved, transport=transport, clock=clock)

    def simulator(self, seed: int = 0, faults: Any = None, clock: Clock | None = None) -> Any:
        """A fresh simulator of this connector's vendor (see :mod:`erpsa_sdk.testing`).

        Example:
            >>> ConnectorPlugin(name="x", connector=lambda s, **kw: s, settings=ConnectorSettings,
            ...                 capabilities=Capabilities()).simulator()
            Traceback (most recent call last):
            ...
            erpsa_sdk.errors.ConfigurationError: connector 'x' ships no simulator
            >>> ConnectorPlugin(name="x", connector=lambda s, **kw: s, settings=ConnectorSettings,
            ...                 capabilities=Capabilities(),
            ...                 simulator_factory="collections:Counter").simulator(seed=7)
            Counter({'seed': 7, 'faults': None, 'clock': None})
        """
        factory = self.simulator_factory
        if factory is None:
            raise ConfigurationError(f"connector {self.name!r} ships no simulator")
        if isinstance(factory, str):
            factory = _import_path(factory, self.name)
        return factory(seed=seed, faults=faults, clock=clock)


def _is_import_path(path: str) -> bool:
    module, sep, attribute = path.partition(":")
    return bool(sep) and all(
        part.isidentifier() for part in [*module.split("."), *attribute.split(".")]
    )


def _import_path(path: str, name: str) -> Callable[..., Any]:
    module_name, _, attribute = path.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(
            f"connector {name!r}: cannot load its simulator {path!r}: {exc}"
        ) from exc
    if not callable(target):
        raise ConfigurationError(f"connector {name!r}: simulator {path!r} is not callable")
    return target  # type: ignore[no-any-return]
