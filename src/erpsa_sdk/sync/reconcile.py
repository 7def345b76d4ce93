"""Reconciliation: what the source holds against what the target holds, with names.

:func:`reconcile` reads the source and the target of a pipeline completely (no cursor, no
event feed, so it sees deletions an expired feed no longer reports), pairs records through the
crosswalk the runner keeps, and compares, per legal entity, project and currency: counts,
statuses and control totals (minutes, amounts). Every mismatch names the record behind it.
Records handed to a person (open dead letters) are counted as ``parked``, not as mismatches:
they are already visible in the exception queue. :func:`compare` is the pure core.

Mismatch kinds:

* ``missing_at_target``: a source record with no live target record;
* ``not_yet_readable``: the runner wrote it and the target's look-up finds it, but a full
  read does not show it yet (a keyset read stops a few seconds behind "now", the connector's
  read lag); its values are not compared, so reconcile again a little later;
* ``deleted_at_source``: the target still holds a record whose source is gone;
* ``unexpected_at_target``: a target record linked to a source key that was never written
  (or removed) by the runner;
* ``minutes_differ`` / ``amount_differs``: both exist, a control value differs.

Examples:
    >>> from datetime import date
    >>> from erpsa_sdk.models import Money
    >>> src = [Line("ek-1", "time_entry", "7", ("US", "P1", "USD"), 60, None, "approved")]
    >>> tgt = [Line("ek-1", "time_entry", "T9", ("US", "P1", "USD"), 45, None, "approved")]
    >>> result = compare(src, tgt, pipeline="k->n")
    >>> [(m.kind, m.source_id, m.target_id) for m in result.mismatches]
    [('minutes_differ', '7', 'T9')]
    >>> result.ok
    False
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from erpsa_sdk.errors import ErpsaError
from erpsa_sdk.models.keys import EntityKey
from erpsa_sdk.models.refs import Rejected

__all__ = [
    "Collected",
    "GroupTotals",
    "Line",
    "Mismatch",
    "Reconciliation",
    "collect",
    "compare",
    "open_dead_letters",
    "reconcile",
]

Group = tuple[str, str, str]


@dataclass(frozen=True)
class Line:
    """One record reduced to what reconciliation compares.

    ``group`` is (legal entity, project, currency); ``amount`` is a Decimal in ``currency``.

    Examples:
        >>> Line("ek-1", "expense", "5", ("UK", "P2", "GBP"), None, Decimal("12.50")).amount
        Decimal('12.50')
    """

    entity_key: str
    object_type: str
    record_id: str
    group: Group
    minutes: int | None
    amount: Decimal | None
    status: str | None = None


@dataclass(frozen=True)
class Mismatch:
    """One difference, naming the record (source id and target id where they exist).

    Examples:
        >>> Mismatch("missing_at_target", "time_entry", "ek-1", "7", None,
        ...          ("US", "P1", "USD"), "not at the target").kind
        'missing_at_target'
    """

    kind: str
    object_type: str
    entity_key: str
    source_id: str | None
    target_id: str | None
    group: Group
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able view."""
        le, project, currency = self.group
        return {
            "kind": self.kind,
            "object_type": self.object_type,
            "entity_key": self.entity_key,
            "source_id": self.source_id,
            "target_id": self.target_id,
            "legal_entity": le,
            "project": project,
            "currency": currency,
            "detail": self.detail,
        }


@dataclass
class GroupTotals:
    """Counts, statuses and control totals of one (legal entity, project, currency).

    Examples:
        >>> g = GroupTotals(("US", "P1", "USD"))
        >>> g.balanced
        True
    """

    group: Group
    source_count: int = 0
    target_count: int = 0
    parked: int = 0
    source_minutes: int = 0
    target_minutes: int = 0
    source_amount: Decimal = Decimal(0)
    target_amount: Decimal = Decimal(0)
    source_statuses: Counter[str] = field(default_factory=Counter)
    target_statuses: Counter[str] = field(default_factory=Counter)
    mismatches: int = 0

    @property
    def balanced(self) -> bool:
        """Counts and control totals agree and no record mismatches."""
        return (
            self.mismatches == 0
            and self.source_count == self.target_count
            and self.source_minutes == self.target_minutes
            and self.source_amount == self.target_amount
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able view (amounts as decimal strings)."""
        le, project, currency = self.group
        return {
            "legal_entity": le,
            "project": project,
            "currency": currency,
            "source_count": self.source_count,
            "target_count": self.target_count,
            "parked": self.parked,
            "source_minutes": self.source_minutes,
            "target_minutes": self.target_minutes,
            "source_amount": str(self.source_amount),
            "target_amount": str(self.target_amount),
            "mismatches": self.mismatches,
        }


@dataclass
class Reconciliation:
    """The outcome of one reconciliation.

    Examples:
        >>> Reconciliation("k->n").ok
        True
    """

    pipeline: str
    groups: list[GroupTotals] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    parked: int = 0
    period: tuple[date, date] | None = None
    compared: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    unreadable: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No mismatch and every group balanced."""
        return not self.mismatches and all(g.balanced for g in self.groups)

    def by_legal_entity(self) -> dict[str, GroupTotals]:
        """The groups rolled up per legal entity (and currency), for a finance summary."""
        out: dict[str, GroupTotals] = {}
        for g in self.groups:
            # Records with no known project (parked ones, mostly) form one row.
            key = "?" if g.group[0] == "?" else f"{g.group[0]} {g.group[2]}"
            total = out.setdefault(key, GroupTotals((g.group[0], "*", g.group[2])))
            total.source_count += g.source_count
            total.target_count += g.target_count
            total.parked += g.parked
            total.source_minutes += g.source_minutes
            total.target_minutes += g.target_minutes
            total.source_amount += g.source_amount
            total.target_amount += g.target_amount
            total.mismatches += g.mismatches
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able view with an integer ``mismatches``."""
        return {
            "pipeline": self.pipeline,
            "ok": self.ok,
            "mismatches": len(self.mismatches),
            "parked": self.parked,
            "compared": list(self.compared),
            "skipped": dict(self.skipped),
            "unreadable_at_target": dict(self.unreadable),
            "groups": [g.to_dict() for g in self.groups],
            "records": [m.to_dict() for m in self.mismatches],
        }


@dataclass
class Collected:
    """Both sides of a pipeline read in full.

    ``source`` / ``target``: one line per live record (target lines linked to a source
    EntityKey by the crosswalk); ``parked``: EntityKeys with an open dead letter; ``written``:
    EntityKeys the runner wrote and did not remove; ``compared`` / ``skipped``: the types read,
    and the ones that could not be (with the reason); ``unreadable``: per type, target rows
    the target's own connector returned as ``Rejected`` (they cannot be compared);
    ``models``: the compared types by object type (for look-ups); ``read_ids``: per object
    type, the id of every record the target's full read returned (in the period or not, linked
    or not, readable or not).

    Examples:
        >>> Collected([], [], set(), set(), ["TimeEntry"], {}).compared
        ['TimeEntry']
    """

    source: list[Line]
    target: list[Line]
    parked: set[str]
    written: set[str]
    compared: list[str]
    skipped: dict[str, str]
    unreadable: dict[str, int] = field(default_factory=dict)
    models: dict[str, type[BaseModel]] = field(default_factory=dict)
    read_ids: dict[str, set[str]] = field(default_factory=dict)


def compare(
    source: Iterable[Line],
    target: Iterable[Line],
    *,
    pipeline: str,
    parked: Iterable[str] = (),
    written: Iterable[str] | None = None,
    period: tuple[date, date] | None = None,
) -> Reconciliation:
    """Compare source lines with target lines paired by EntityKey (pure).

    Parameters:
        source: one line per live source record.
        target: one line per live target record linked to a source EntityKey.
        parked: EntityKeys with an open dead letter (counted, never a mismatch).
        written: EntityKeys the runner wrote and did not remove (``None``: every target line
            is accounted for). A target line outside it whose source still exists is
            ``unexpected_at_target``; one whose source is gone is ``deleted_at_source``.

    Examples:
        >>> a = Line("ek-1", "expense", "5", ("US", "P1", "USD"), None, Decimal("10.00"))
        >>> gone = Line("ek-2", "expense", "E2", ("US", "P1", "USD"), None, Decimal("3.00"))
        >>> r = compare([a], [gone], pipeline="p")
        >>> sorted(m.kind for m in r.mismatches)
        ['deleted_at_source', 'missing_at_target']
    """
    parked_set = set(parked)
    written_set = set(written) if written is not None else None
    src = {line.entity_key: line for line in source}
    groups: dict[Group, GroupTotals] = {}
    mismatches: list[Mismatch] = []
    seen_target: dict[str, Line] = {}

    def group(g: Group) -> GroupTotals:
        return groups.setdefault(g, GroupTotals(g))

    for line in target:
        if line.entity_key in seen_target:
            first = seen_target[line.entity_key]
            mismatches.append(
                Mismatch(
                    "duplicate_at_target", line.object_type, line.entity_key, None,
                    line.record_id, line.group,
                    f"two target records ({first.record_id}, {line.record_id}) for one source",
                )
            )  # fmt: skip
            group(line.group).mismatches += 1
            continue
        seen_target[line.entity_key] = line
    parked_count = 0
    for ek, s in src.items():
        g = group(s.group)
        if ek in parked_set and ek not in seen_target:
            g.parked += 1
            parked_count += 1
            continue
        g.source_count += 1
        g.source_minutes += s.minutes or 0
        g.source_amount += s.amount or Decimal(0)
        if s.status:
            g.source_statuses[s.status] += 1
        t = seen_target.get(ek)
        if t is None:
            g.mismatches += 1
            mismatches.append(
                Mismatch(
                    "missing_at_target", s.object_type, ek, s.record_id, None, s.group,
                    "no live record at the target",
                )
            )  # fmt: skip
            continue
        if (s.minutes or 0) != (t.minutes or 0):
            g.mismatches += 1
            mismatches.append(
                Mismatch(
                    "minutes_differ", s.object_type, ek, s.record_id, t.record_id, s.group,
                    f"source {s.minutes} min, target {t.minutes} min",
                )
            )  # fmt: skip
        if (s.amount or Decimal(0)) != (t.amount or Decimal(0)):
            g.mismatches += 1
            mismatches.append(
                Mismatch(
                    "amount_differs", s.object_type, ek, s.record_id, t.record_id, s.group,
                    f"source {s.amount} {s.group[2]}, target {t.amount} {t.group[2]}",
                )
            )  # fmt: skip
    for ek, t in seen_target.items():
        g = group(src[ek].group if ek in src else t.group)
        if ek in parked_set and ek not in src:
            g.parked += 1  # e.g. a posted record deleted at the source, parked for finance
            parked_count += 1
            continue
        g.target_count += 1
        g.target_minutes += t.minutes or 0
        g.target_amount += t.amount or Decimal(0)
        if t.status:
            g.target_statuses[t.status] += 1
        if ek in src:
            continue
        kind = "deleted_at_source"
        detail = "the source record is gone; the target still holds it"
        if written_set is not None and ek not in written_set and ek not in parked_set:
            kind, detail = "unexpected_at_target", "the runner never wrote this record"
        g.mismatches += 1
        mismatches.append(Mismatch(kind, t.object_type, ek, None, t.record_id, t.group, detail))
    ordered = sorted(groups.values(), key=lambda x: x.group)
    return Reconciliation(pipeline, ordered, mismatches, parked_count, period)


def _in_period(obj: Any, period: tuple[date, date] | None) -> bool:
    if period is None:
        return True
    day = getattr(obj, "work_date", None) or getattr(obj, "expense_date", None)
    return day is None or period[0] <= day <= period[1]


def _values(obj: Any) -> tuple[int | None, Decimal | None, str | None, str | None]:
    minutes = getattr(obj, "duration_minutes", None)
    money = getattr(obj, "amount", None)
    amount = getattr(money, "amount", None)
    currency = getattr(money, "currency", None)
    status = getattr(obj, "status", None)
    return minutes, amount, currency, (str(getattr(status, "value", status)) if status else None)


def collect(
    pipeline: Any,
    store: Any,
    *,
    types: Sequence[type[BaseModel]] | None = None,
    period: tuple[date, date] | None = None,
    legal_entity_of: Callable[[BaseModel], str | None] | None = None,
    policy: Any = None,
) -> Collected:
    """Read both sides of a pipeline in full (see :class:`Collected`).

    Target lines are the target's records linked to a source EntityKey by the crosswalk; they
    take their group from the source record. See :func:`reconcile` for the parameters.

    Examples:
        >>> collect.__name__
        'collect'
    """
    from erpsa_sdk.models import Expense, Project, TimeEntry

    src_conn, tgt_conn = pipeline.source, pipeline.target
    chosen: list[type[BaseModel]] = []
    skipped: dict[str, str] = {}
    unreadable: dict[str, int] = {}
    for m in types or [t for t in (TimeEntry, Expense) if t in pipeline.types]:
        if not src_conn.capabilities.of(m).read:
            skipped[m.__name__] = f"source {src_conn.name!r} cannot read it"
        elif not tgt_conn.capabilities.of(m).read:
            skipped[m.__name__] = f"target {tgt_conn.name!r} cannot read it"
        else:
            chosen.append(m)
    target_system = pipeline.target_connection

    def le_default(project: BaseModel) -> str | None:
        obj = project
        if policy is not None:
            try:
                obj = policy.transform(project)
            except Exception:  # an unmapped project: its records are grouped under "?"
                return None
        value = getattr(obj, "legal_entity_key", None)
        return str(value) if value else None

    le_of = legal_entity_of or le_default
    projects: dict[str, tuple[str, str]] = {}
    if src_conn.capabilities.of(Project).read:
        for p in src_conn.read(Project):
            if isinstance(p, Rejected):
                continue
            projects[str(p.key)] = (le_of(p) or "?", str(p.name))
    parked = open_dead_letters(store, pipeline.name)
    source_lines: list[Line] = []
    target_lines: list[Line] = []
    written: set[str] = set()
    models: dict[str, type[BaseModel]] = {}
    read_ids: dict[str, set[str]] = {}
    for model in chosen:
        object_type = str(getattr(model, "object_type", model.__name__.lower()))
        models[object_type] = model
        for obj in src_conn.read(model):
            if isinstance(obj, Rejected) or not obj.source_refs or not _in_period(obj, period):
                continue
            ref = obj.source_refs[0]
            ek = EntityKey(
                namespace=pipeline.namespace, system=ref.system, tenant=ref.tenant,
                source_id=ref.id, object_type=object_type,
            ).canonical  # fmt: skip
            minutes, amount, currency, status = _values(obj)
            le, pname = projects.get(str(getattr(obj, "project_key", "")), ("?", "?"))
            cur = currency or _project_currency(obj, bill=True) or "?"
            source_lines.append(
                Line(ek, object_type, ref.id, (le, pname, cur), minutes, amount, status)
            )
        for entry in store.ledger_entries(target_system):
            if entry.entity_key in written or f":{object_type}:" not in entry.entity_key:
                continue
            head = store.ledger_head(target_system, entry.entity_key)
            if head is not None and not head.removed:
                written.add(entry.entity_key)
        linked: set[str] = set()
        read_ids[object_type] = seen = set()
        for obj in tgt_conn.read(model):
            ref = obj.source_ref if isinstance(obj, Rejected) else (obj.source_refs or [None])[0]
            if ref is not None:
                seen.add(ref.id)
            if isinstance(obj, Rejected):
                # A target row its own connector cannot read: it cannot be compared; say so.
                unreadable[model.__name__] = unreadable.get(model.__name__, 0) + 1
                continue
            if not obj.source_refs or not _in_period(obj, period):
                continue
            tid = obj.source_refs[0].id
            row = store.crosswalk_find(target_system, object_type, tid)
            if row is None or row.entity_key in linked:
                continue
            linked.add(row.entity_key)
            minutes, amount, currency, status = _values(obj)
            target_lines.append(
                Line(row.entity_key, object_type, tid, ("?", "?", currency or "?"), minutes,
                     amount, status)
            )  # fmt: skip
    # A target line takes its group from its source line (the source names the project).
    groups = {line.entity_key: line.group for line in source_lines}
    target_lines = [
        Line(t.entity_key, t.object_type, t.record_id, groups.get(t.entity_key, t.group),
             t.minutes, t.amount, t.status)
        for t in target_lines
    ]  # fmt: skip
    return Collected(
        source_lines, target_lines, parked, written, [m.__name__ for m in chosen], skipped,
        unreadable, models, read_ids,
    )  # fmt: skip


def reconcile(
    pipeline: Any,
    store: Any,
    *,
    types: Sequence[type[BaseModel]] | None = None,
    period: tuple[date, date] | None = None,
    legal_entity_of: Callable[[BaseModel], str | None] | None = None,
    policy: Any = None,
) -> Reconciliation:
    """Reconcile a pipeline's source and target over ``period`` (work / expense date).

    Parameters:
        pipeline: the :class:`~erpsa_sdk.sync.Pipeline` (its connectors are read in full).
        store: the runner's state store (crosswalk, ledger heads, dead letters).
        types: transactional types to compare (default: ``TimeEntry`` and ``Expense`` where
            the pipeline syncs them); a type a side cannot read is listed in ``skipped``.
        period: inclusive ``(first day, last day)``; ``None`` compares everything.
        legal_entity_of: a source *project* -> its legal entity (default: the project's
            ``legal_entity_key`` after ``policy.transform``, so value maps apply).
        policy: the runner's record policy (value maps), used by the default above.

    Examples:
        >>> reconcile.__name__
        'reconcile'
    """
    got = collect(
        pipeline, store, types=types, period=period, legal_entity_of=legal_entity_of,
        policy=policy,
    )  # fmt: skip
    result = compare(
        got.source, got.target, pipeline=pipeline.name, parked=got.parked, written=got.written,
        period=period,
    )  # fmt: skip
    result.compared = got.compared
    result.skipped = got.skipped
    result.unreadable = got.unreadable
    result.mismatches = [_confirm_missing(m, pipeline.target, got) for m in result.mismatches]
    return result


def _confirm_missing(mismatch: Mismatch, target: Any, got: Collected) -> Mismatch:
    """Look a ``missing_at_target`` record up before reporting it missing.

    A full read stops at the connector's read horizon (a few seconds behind "now"), so what the
    runner wrote just before is not in it yet. The look-up has no horizon: when it finds the
    record and the full read did not return that record at all, it is ``not_yet_readable``.
    A record the read did return (outside the period, linked to nothing, unreadable) stays
    missing: waiting would not change that.
    """
    if mismatch.kind != "missing_at_target" or mismatch.entity_key not in got.written:
        return mismatch
    model = got.models.get(mismatch.object_type)
    if model is None:
        return mismatch
    try:
        found = target.lookup(model, entity_key=EntityKey.parse(mismatch.entity_key))
    except (ErpsaError, NotImplementedError) as exc:  # it stays missing, and says why
        return replace(
            mismatch,
            detail=f"{mismatch.detail} (a look-up to confirm it failed: {type(exc).__name__})",
        )
    if found is None:
        return mismatch
    if str(found.id) in got.read_ids.get(mismatch.object_type, ()):
        return replace(
            mismatch,
            detail=(
                f"{mismatch.detail}: the target's record for it, {found.id}, was read but is "
                "outside the period or no longer linked to it"
            ),
        )
    return replace(
        mismatch,
        kind="not_yet_readable",
        target_id=str(found.id),
        detail=(
            f"at the target as {found.id}, but not yet in a full read (the target's read lag); "
            "its values were not compared: reconcile again later"
        ),
    )


def open_dead_letters(store: Any, pipeline: str) -> set[str]:
    """EntityKeys with an open dead letter in ``pipeline``.

    Examples:
        >>> from erpsa_sdk.sync import SQLiteStateStore
        >>> open_dead_letters(SQLiteStateStore(":memory:"), "p")
        set()
    """
    try:
        from erpsa_sdk.sync.deadletters import DeadLetterQueue

        return {
            letter.entity_key for letter in DeadLetterQueue(store, pipeline).letters(status="open")
        }
    except Exception:  # a store without dead-letter states: every letter counts as open
        return {letter.entity_key for letter in store.dead_letters(pipeline, limit=1_000_000)}


def _project_currency(obj: Any, *, bill: bool) -> str | None:
    rate = getattr(obj, "bill_rate" if bill else "cost_rate", None)
    return getattr(rate, "currency", None)
