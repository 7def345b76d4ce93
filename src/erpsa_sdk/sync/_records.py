"""The rows the state store keeps, as small frozen value objects.

Examples:
    >>> from datetime import UTC, datetime
    >>> v1 = SourceVersion(datetime(2026, 11, 1, 10, 0, tzinfo=UTC))
    >>> v2 = SourceVersion(datetime(2026, 11, 1, 10, 5, tzinfo=UTC), etag="W/7")
    >>> v2.is_newer_than(v1), v1.is_newer_than(v2)
    (True, False)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

__all__ = [
    "Acknowledgement",
    "BatchCommit",
    "Checkpoint",
    "CrosswalkEntry",
    "DeadLetter",
    "Lease",
    "LedgerEntry",
    "LedgerHead",
    "LedgerStatus",
    "LineageRecord",
    "MatchIndexEntry",
    "RunRecord",
    "SourceVersion",
    "WaitingRecord",
    "target_connection",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def target_connection(connector: str, tenant: str) -> str:
    """The name of a target connection: connector name + tenant, the ledger's first key.

    A dual run that writes one source to two targets keeps one ledger per target connection.

    Examples:
        >>> target_connection("netsuite", "TSTDRV1")
        'netsuite:TSTDRV1'
    """
    if not connector or not tenant:
        raise ValueError("a target connection needs a connector name and a tenant")
    return f"{connector}:{tenant}"


@dataclass(frozen=True, slots=True)
class SourceVersion:
    """An ordered source version: the vendor's modified timestamp, with an opaque ETag paired.

    Versions are ordered by timestamp (to the microsecond). The ETag cannot be ordered; it only
    tells two versions with the same timestamp apart, and such a pair counts as "newer" (the
    runner writes rather than risk dropping an edit it cannot order).

    Examples:
        >>> from datetime import UTC, datetime
        >>> t = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
        >>> SourceVersion(t, "a").is_newer_than(SourceVersion(t, "a"))
        False
        >>> SourceVersion(t, "b").is_newer_than(SourceVersion(t, "a"))
        True
        >>> str(SourceVersion(t, "b"))
        '2026-11-01T10:00:00.000000Z#b'
    """

    modified: datetime
    etag: str | None = None

    def __post_init__(self) -> None:
        if self.modified.tzinfo is None:
            raise ValueError("a source version needs a timezone-aware modified timestamp")

    @property
    def micros(self) -> int:
        """Microseconds since the Unix epoch (how the store orders versions)."""
        return (self.modified - _EPOCH) // timedelta(microseconds=1)

    @classmethod
    def from_micros(cls, micros: int, etag: str | None = None) -> SourceVersion:
        """Rebuild a version from :attr:`micros` (and its ETag).

        Examples:
            >>> v = SourceVersion.parse("2026-11-01T10:00:00Z")
            >>> SourceVersion.from_micros(v.micros) == v
            True
        """
        return cls(_EPOCH + timedelta(microseconds=micros), etag)

    @classmethod
    def parse(cls, text: str) -> SourceVersion:
        """Parse ``<ISO timestamp>[#<etag>]`` (what :func:`str` produces) or
        ``<ISO timestamp>/<etag>``; the timestamp needs a time zone.

        Examples:
            >>> SourceVersion.parse("2026-11-01T10:00:00+00:00#W/3").etag
            'W/3'
            >>> SourceVersion.parse("2026-11-01T10:00:00.000000Z/v00000002").etag
            'v00000002'
        """
        stamp, sep, etag = text.partition("#")
        if not sep and "/" in text:
            stamp, _, etag = text.partition("/")
        when = datetime.fromisoformat(stamp.strip().replace("Z", "+00:00"))
        if when.tzinfo is None:
            raise ValueError(f"source version {text!r} has no time zone")
        return cls(when.astimezone(UTC), etag or None)

    def is_newer_than(self, other: SourceVersion | None) -> bool:
        """Whether a write of this version may replace ``other`` (``None``: nothing written yet)."""
        if other is None:
            return True
        if self.micros != other.micros:
            return self.micros > other.micros
        return self.etag != other.etag

    def __str__(self) -> str:
        stamp = self.modified.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return f"{stamp}#{self.etag}" if self.etag else stamp


class LedgerStatus(StrEnum):
    """Where one logical write stands.

    ``pending`` means a write was sent (or is about to be) and its outcome is not stored yet:
    before any new attempt the runner looks the record up by its EntityKey. The acknowledged
    statuses mirror the target's answer. ``superseded``: a newer version was already
    acknowledged, so this one was skipped. ``parked``: handed to a person (a dead letter,
    for example ``posted_record_changed``).

    Examples:
        >>> LedgerStatus.UPSERTED.acknowledged, LedgerStatus.PENDING.acknowledged
        (True, False)
        >>> LedgerStatus.SUPERSEDED.settled
        True
    """

    PENDING = "pending"
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    UPSERTED = "upserted"
    DELETED = "deleted"
    NOT_FOUND = "not_found"
    REVERSED = "reversed"
    SUPERSEDED = "superseded"
    PARKED = "parked"

    @property
    def acknowledged(self) -> bool:
        """The target acknowledged the write (including ``not_found`` for a delete)."""
        return self in _ACKNOWLEDGED

    @property
    def settled(self) -> bool:
        """Nothing more will happen to this write: acknowledged, superseded or parked."""
        return self is not LedgerStatus.PENDING

    @property
    def removes(self) -> bool:
        """The write removed the record from the target (deleted, not found, reversed)."""
        return self in _REMOVES


_ACKNOWLEDGED = frozenset(
    {
        LedgerStatus.CREATED,
        LedgerStatus.UPDATED,
        LedgerStatus.UNCHANGED,
        LedgerStatus.UPSERTED,
        LedgerStatus.DELETED,
        LedgerStatus.NOT_FOUND,
        LedgerStatus.REVERSED,
    }
)
_REMOVES = frozenset({LedgerStatus.DELETED, LedgerStatus.NOT_FOUND, LedgerStatus.REVERSED})


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One logical write, keyed by (target connection, WriteKey).

    Examples:
        >>> from datetime import UTC, datetime
        >>> e = LedgerEntry(target="sim:t1", write_key="wk-1", entity_key="ek-1",
        ...                 operation="upsert", version=SourceVersion(datetime.now(UTC)),
        ...                 status=LedgerStatus.PENDING)
        >>> e.attempts
        0
    """

    target: str
    write_key: str
    entity_key: str
    operation: str
    version: SourceVersion
    status: LedgerStatus
    target_id: str | None = None
    attempts: int = 0
    detail: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LedgerHead:
    """The highest acknowledged source version for one (target connection, EntityKey).

    Examples:
        >>> from datetime import UTC, datetime
        >>> h = LedgerHead("sim:t1", "ek-1", SourceVersion(datetime.now(UTC)), "wk-1", "42",
        ...                removed=False)
        >>> h.target_id
        '42'
    """

    target: str
    entity_key: str
    version: SourceVersion
    write_key: str
    target_id: str | None
    removed: bool
    payload: Any = None


@dataclass(frozen=True, slots=True)
class CrosswalkEntry:
    """EntityKey ↔ record id in one system (a source or a target connection).

    ``generation`` is the number of the last complete-enumeration pass that saw the record
    (deletion detection for ``full_scan_only`` sources).

    Examples:
        >>> CrosswalkEntry("kantata:acme", "ek-1", "project", "901").record_id
        '901'
    """

    system: str
    entity_key: str
    object_type: str
    record_id: str
    generation: int = 0
    removed: bool = False


@dataclass(frozen=True, slots=True)
class MatchIndexEntry:
    """A source record's natural key, kept for the initial match of references to it.

    Examples:
        >>> MatchIndexEntry("kantata:acme", "task", "77", "ek-77", {"name": "Design"}).natural_key
        {'name': 'Design'}
    """

    system: str
    object_type: str
    record_id: str
    entity_key: str
    natural_key: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Lease:
    """A pipeline lease: held by ``holder`` until ``expires_at`` (clock seconds).

    ``fence`` grows on every acquisition; every fenced commit carries it, and the store refuses
    a commit whose fence is no longer the current one.

    Examples:
        >>> Lease("kantata->netsuite", "host-a:101", fence=7, expires_at=1_800_000_000.0).fence
        7
    """

    name: str
    holder: str
    fence: int
    expires_at: float


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A stream's committed cursor (JSON-able) and its enumeration generation.

    Examples:
        >>> Checkpoint("p", "customer", {"after": "2026-11-01"}, generation=1).cursor
        {'after': '2026-11-01'}
    """

    pipeline: str
    stream: str
    cursor: Any
    generation: int = 0
    complete: bool = False


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record handed to a person, with reason, payload and owner role.

    Examples:
        >>> DeadLetter("p", "ek-1", "posted_record_changed", owner="finance").owner
        'finance'
    """

    pipeline: str
    entity_key: str
    reason: str
    owner: str = "it"
    payload: Any = None
    error: str | None = None
    write_key: str | None = None
    id: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WaitingRecord:
    """A record whose reference to a writable type is not synced yet; retried on later runs.

    Examples:
        >>> WaitingRecord("p", "project", "ek-9", payload={"id": "9"}, missing=["customer"]).missing
        ['customer']
    """

    pipeline: str
    stream: str
    entity_key: str
    payload: Any
    missing: list[str]
    attempts: int = 1
    first_seen: datetime | None = None


@dataclass(frozen=True, slots=True)
class LineageRecord:
    """Which source record became which target record, by which write, in which run.

    Examples:
        >>> LineageRecord("p", "run-1", "ek-1", "wk-1", "upsert", "created",
        ...               source_id="9", target_id="42", correlation_id="c-1").target_id
        '42'
    """

    pipeline: str
    run_id: str
    entity_key: str
    write_key: str
    operation: str
    status: str
    source_id: str | None = None
    target_id: str | None = None
    correlation_id: str | None = None
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run of a pipeline: when, by whom, how it ended and what it counted.

    Examples:
        >>> RunRecord("run-1", "p", holder="host-a:1", status="running").status
        'running'
    """

    run_id: str
    pipeline: str
    holder: str
    status: str
    correlation_id: str | None = None
    stats: dict[str, int] = field(default_factory=dict)
    message: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """A write the target acknowledged, to be stored with its batch's checkpoint.

    The same parts as :meth:`~erpsa_sdk.sync.StateStore.record_write` takes: the outcome
    ``entry`` (never ``pending``), the crosswalk rows it establishes, its lineage record and
    the payload kept with the ledger head.

    Examples:
        >>> from datetime import UTC, datetime
        >>> v = SourceVersion(datetime(2026, 11, 1, tzinfo=UTC))
        >>> e = LedgerEntry("erp:e1", "wk-1", "ek-1", "upsert", v, LedgerStatus.CREATED, "42")
        >>> Acknowledgement(e).entry.status.value
        'created'
    """

    entry: LedgerEntry
    crosswalk: tuple[CrosswalkEntry, ...] = ()
    lineage: LineageRecord | None = None
    payload: Any = None


@dataclass(frozen=True, slots=True)
class BatchCommit:
    """What one batch commits together with its checkpoint, in one fenced transaction.

    ``write_keys`` are the batch's writes: the store refuses the commit unless every one of
    them is settled in the ledger of ``target`` (so a checkpoint never passes unacknowledged
    work). ``acknowledged`` holds the outcomes of the batch's writes, stored first and in
    order, exactly as :meth:`~erpsa_sdk.sync.StateStore.record_write` would store each one
    (so a crash before the commit leaves them ``pending``: in doubt, looked up before a
    resend). ``ledger`` holds entries decided without a write (``superseded``, ``parked``).

    Examples:
        >>> c = BatchCommit(pipeline="p", stream="customer", cursor={"page": 2}, target="sim:t1")
        >>> c.write_keys
        ()
    """

    pipeline: str
    stream: str
    cursor: Any
    target: str
    write_keys: tuple[str, ...] = ()
    acknowledged: tuple[Acknowledgement, ...] = ()
    ledger: tuple[LedgerEntry, ...] = ()
    waiting: tuple[WaitingRecord, ...] = ()
    resolved_waiting: tuple[str, ...] = ()
    dead_letters: tuple[DeadLetter, ...] = ()
    seen: tuple[CrosswalkEntry, ...] = ()
    generation: int | None = None
    complete: bool = False
