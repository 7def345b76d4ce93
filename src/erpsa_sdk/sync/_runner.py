"""The sync runner: read a batch, resolve references, write in parallel, ledger, checkpoint.

One :meth:`SyncRunner.run_once` takes the pipeline's lease, walks its types in dependency
order and, per source page: resolves references through the crosswalk, stores the page's
writes as ``pending`` (one write-ahead transaction), writes on a thread pool partitioned by
EntityKey (one key never races itself), then commits the acknowledged outcomes together with
the page's checkpoint in one fenced transaction that the store refuses while any write of the
page is unacknowledged. A crash anywhere means re-reading, never losing: the ledger heads skip
what was already written, and a write left in doubt is looked up by its EntityKey before it is
sent again.

Examples:
    >>> from erpsa_sdk.sync import RunStatus
    >>> RunStatus.COMPLETED.value
    'completed'
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from types import FrameType
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from erpsa_sdk.clock import Clock, SystemClock
from erpsa_sdk.connector import Deletion, DeletionMode, ReferenceRule, WriteOutcome, WriteResult
from erpsa_sdk.correlation import correlation_scope, new_correlation_id
from erpsa_sdk.errors import (
    ApiError,
    AuthError,
    ConflictError,
    DeletionFeedExpired,
    ErpsaError,
    IndeterminateWrite,
    LeaseLost,
    NotFoundError,
    PostedRecordError,
    RateLimited,
    ResponseFormatError,
    ServerError,
    TransportError,
    ValidationFailed,
)
from erpsa_sdk.http.hooks import GovernorHook
from erpsa_sdk.models.keys import EntityKey, WriteKey, WriteOperation
from erpsa_sdk.models.refs import Rejected, SourceRef
from erpsa_sdk.sync._crash import crash_point
from erpsa_sdk.sync._guard import LeaseState, lease_guard, lease_scope
from erpsa_sdk.sync._ledgerview import LedgerView
from erpsa_sdk.sync._partition import PartitionedExecutor
from erpsa_sdk.sync._pipeline import Pipeline
from erpsa_sdk.sync._records import (
    Acknowledgement,
    BatchCommit,
    CrosswalkEntry,
    DeadLetter,
    Lease,
    LedgerEntry,
    LedgerHead,
    LedgerStatus,
    LineageRecord,
    MatchIndexEntry,
    RunRecord,
    SourceVersion,
    WaitingRecord,
)
from erpsa_sdk.sync._store import StateStore
from erpsa_sdk.sync.deadletters import (
    INVALID_SOURCE_RECORD,
    UNRESOLVED_REFERENCE,
    RecordPolicy,
    lookup_scope,
    prepare_record,
    reference_unmatched,
    rejects_record,
    validation_failed,
    vendor_rejected,
)

__all__ = ["Progress", "RunReport", "RunStatus", "SyncRunner"]

logger = logging.getLogger("erpsa_sdk.sync")
T = TypeVar("T")

_PAGE = 100
# Failures that no retry will cure: the record is parked as a dead letter and the batch moves on.
_PARK = (ValidationFailed, ConflictError, NotFoundError)
# Failures that say nothing about the record: the vendor or the network had a bad moment.
_TRANSIENT = (
    RateLimited,
    ServerError,
    TransportError,
    ResponseFormatError,
    IndeterminateWrite,
    AuthError,
)


class RunStatus(StrEnum):
    """How a run ended.

    * ``completed``: every step ran to the end of its source;
    * ``stopped``: a stop was requested (SIGINT / SIGTERM / :meth:`SyncRunner.stop`) and the
      run ended cleanly after its last acknowledged batch;
    * ``failed``: a batch failed (e.g. the vendor stayed unavailable); committed batches stay
      committed, the next run resumes after them;
    * ``lease_lost``: another worker took the lease over; nothing more was committed.

    Examples:
        >>> RunStatus("stopped") is RunStatus.STOPPED
        True
    """

    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"
    LEASE_LOST = "lease_lost"


@dataclass(frozen=True)
class Progress:
    """What a progress callback receives after each committed batch.

    Examples:
        >>> Progress("p", "run-1", "Customer", "Customer", 3, {"written": 250}).counts["written"]
        250
    """

    pipeline: str
    run_id: str
    step: str
    stream: str
    batch: int
    counts: Mapping[str, int]


@dataclass
class RunReport:
    """The outcome of one run: status, counters and the notes reported once per run.

    Counters include ``read``, ``created``, ``updated``, ``unchanged``, ``upserted``,
    ``superseded``, ``deleted``, ``not_found``, ``reversed``, ``parked``, ``waiting``,
    ``dead_lettered``, ``rejected``, ``lookups``, ``indeterminate`` and
    ``reference_dropped:<field>`` (the target's name for the field, when it declares one).

    Examples:
        >>> report = RunReport("run-1", "c-1", "p", RunStatus.COMPLETED, {"created": 2})
        >>> report.ok, report.counts["created"]
        (True, 2)
    """

    run_id: str
    correlation_id: str
    pipeline: str
    status: RunStatus
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """The run completed or stopped cleanly on request."""
        return self.status in (RunStatus.COMPLETED, RunStatus.STOPPED)


@dataclass
class _JobResult:
    write_key: str | None = None
    ledger: LedgerEntry | None = None
    counts: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Begun:
    """The write-ahead ``pending`` record was stored with its page's; ``prior`` was there."""

    prior: LedgerEntry | None


@dataclass
class _Planned:
    key: str
    entry: LedgerEntry  # the write-ahead record, stored pending before the send
    begin: bool  # stored with the page's (else the job stores its own)
    job: Callable[[_Begun | None], _JobResult]


@dataclass
class _Batch:
    items: int = 0
    write_keys: list[str] = field(default_factory=list)
    ledger: list[LedgerEntry] = field(default_factory=list)
    waiting: list[WaitingRecord] = field(default_factory=list)
    resolved: set[str] = field(default_factory=set)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    seen: list[CrosswalkEntry] = field(default_factory=list)
    futures: list[Future[_JobResult]] = field(default_factory=list)
    planned: list[_Planned] = field(default_factory=list)
    planned_keys: set[str] = field(default_factory=set)
    unidentified_rejects: int = 0
    cid: str | None = None


class _Run:
    def __init__(self, run_id: str, correlation_id: str, lease: Lease, view: LedgerView) -> None:
        self.run_id = run_id
        self.correlation_id = correlation_id
        self.lease = lease
        self.counts: Counter[str] = Counter()
        self.notes: dict[str, None] = {}
        self.lost: LeaseLost | None = None
        self.batches = 0
        self.matches: dict[tuple[str, str], SourceRef | None] = {}
        self.indexed: set[type[BaseModel]] = set()
        self.guard: LeaseState | None = None
        self.view = view  # the ledger as the batch in flight sees it
        self._lock = threading.Lock()
        # One renewal at a time: a slower renewal finishing last must not put back an older
        # expiry than the one a faster renewal already stored.
        self.renewing = threading.Lock()

    def count(self, *names: str, n: int = 1) -> None:
        with self._lock:
            for name in names:
                self.counts[name] += n

    def note(self, text: str) -> None:
        with self._lock:
            if text not in self.notes:
                self.notes[text] = None
                logger.warning(text)


def _json(obj: BaseModel) -> Any:
    return obj.model_dump(mode="json")


def _retryable(exc: BaseException) -> bool:
    """A failure that may pass if the same write is tried again (after a look-up)."""
    if isinstance(exc, (PostedRecordError, *_PARK)):
        return False
    if isinstance(exc, _TRANSIENT):
        return True
    return isinstance(exc, ApiError) and exc.retryable is True


class SyncRunner:
    """Runs a :class:`Pipeline` with exactly-once effects at the target.

    Parameters:
        pipeline: source, target, types and namespace.
        store: where checkpoints, the ledger and leases live.
        workers: writer threads (writes are partitioned by EntityKey).
        lease_ttl: seconds a lease lasts without renewal; a crashed runner's successor starts
            at most this long after the crash.
        holder: this worker's name in the lease (default: host, pid and a random suffix).
        on_progress: called after every committed batch with a :class:`Progress`.
        governor: admits each write (e.g. the share of a vendor limit this runner may use).
        handle_signals: on the main thread, SIGINT / SIGTERM request a clean stop.
        max_attempts: sends of one write in one run before it is left for the next run.
        max_wait_runs: runs a record waits for a missing reference before it is parked.
        validate: call the target's ``validate()`` before each write.
        clock: time for lease checks and throttle waits (default: the store's clock).
        retention: after a completed run, settled ledger rows (not heads), lineage and
            resolved or discarded dead letters older than this are pruned, and run history
            beyond the last 100 runs; ``None`` keeps everything.
        policy: value maps, initial match and dead-letter owners (see
            :class:`~erpsa_sdk.sync.deadletters.RecordPolicy`; :mod:`erpsa_sdk.mapping` builds
            one from a pipeline configuration file).

    Examples:
        Two minimal connectors: a CRM that lists one customer, an ERP that upserts by key.

        >>> from erpsa_sdk.connector import (Capabilities, Connector, Health,
        ...                                  TypeCapabilities, WriteResult)
        >>> from erpsa_sdk.models import Customer, SourceRef
        >>> from erpsa_sdk.sync import Pipeline, SQLiteStateStore, SyncRunner
        >>> class Crm(Connector):
        ...     name, tenant = "crm", "t1"
        ...     capabilities = Capabilities(types={"Customer": TypeCapabilities(read=True)})
        ...     def read(self, model, *, since=None, **filters):
        ...         ref = SourceRef(system="crm", tenant="t1", id="7",
        ...                         version="2026-11-01T10:00:00Z")
        ...         return [Customer(key="7", name="Initech", source_refs=[ref])]
        ...     def lookup(self, model, *, entity_key): return None
        ...     def upsert(self, obj, **kw): raise NotImplementedError
        ...     def delete(self, model, **kw): raise NotImplementedError
        ...     def validate(self, obj, *, refs): return []
        ...     def health(self): return Health(ok=True)
        >>> class Erp(Crm):
        ...     name, tenant, rows = "erp", "e1", {}
        ...     capabilities = Capabilities(types={"Customer": TypeCapabilities(
        ...         write=True, write_safety={"upsert": "natural_upsert"})})
        ...     def upsert(self, obj, *, entity_key, write_key, refs):
        ...         self.rows[str(entity_key)] = obj.name
        ...         ref = SourceRef(system="erp", tenant="e1", id=str(len(self.rows)))
        ...         return WriteResult(outcome="created", entity_key=entity_key, ref=ref)
        >>> pipeline = Pipeline("crm->erp", source=Crm(), target=Erp(), namespace="demo",
        ...                     types=[Customer])
        >>> store = SQLiteStateStore(":memory:")
        >>> runner = SyncRunner(pipeline, store=store, handle_signals=False, holder="worker-1")
        >>> runner
        SyncRunner(Pipeline('crm->erp', crm:t1 -> erp:e1, namespace='demo', types=[Customer]), store=SQLiteStateStore(':memory:'), workers=8, holder='worker-1')
        >>> report = runner.run_once()
        >>> report.status.value, report.counts["created"]
        ('completed', 1)
        >>> runner.run_once().counts.get("created", 0)  # the ledger head says: already written
        0
        >>> [e.status.value for e in store.ledger_entries("erp:e1")]
        ['created']
        >>> runner.on_progress = lambda progress: runner.stop()  # stop after the first batch
        >>> runner.run_once().status.value
        'stopped'
    """  # noqa: E501

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        store: StateStore,
        workers: int = 8,
        lease_ttl: float = 60.0,
        holder: str | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        governor: GovernorHook | None = None,
        handle_signals: bool = True,
        max_attempts: int = 3,
        max_wait_runs: int = 3,
        validate: bool = True,
        clock: Clock | None = None,
        policy: RecordPolicy | None = None,
        retention: timedelta | None = timedelta(days=30),
    ) -> None:
        self.pipeline = pipeline
        self.store = store
        self.retention = retention
        self.workers = workers
        self.lease_ttl = lease_ttl
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.on_progress = on_progress
        self.governor = governor
        self.handle_signals = handle_signals
        self.max_attempts = max_attempts
        self.max_wait_runs = max_wait_runs
        self.validate = validate
        self.clock: Clock = clock or getattr(store, "clock", None) or SystemClock()
        self.policy = policy or RecordPolicy()
        self._stop = threading.Event()
        self._target = pipeline.target_connection
        self._target_system = pipeline.target.name
        self._source_system = pipeline.source_connection

    def __repr__(self) -> str:
        return (
            f"SyncRunner({self.pipeline!r}, store={self.store!r}, workers={self.workers}, "
            f"holder={self.holder!r})"
        )

    # -- public ------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the run to stop after the batch in flight is acknowledged and committed.

        Safe from any thread, a signal handler or a progress callback; the run then ends as
        :attr:`RunStatus.STOPPED` (see the class example).
        """
        self._stop.set()

    def run_once(self) -> RunReport:
        """Run every step once; return a :class:`RunReport`.

        Raises :class:`~erpsa_sdk.errors.LeaseHeld` when another worker holds the lease and
        :class:`~erpsa_sdk.errors.LeaseLost` when it was taken over during the run (nothing
        after that point was committed).
        """
        self._stop.clear()
        lease = self.store.acquire_lease(self.pipeline.name, holder=self.holder, ttl=self.lease_ttl)
        run = _Run(
            uuid.uuid4().hex, new_correlation_id(), lease, LedgerView(self.store, self._target)
        )
        # The margin covers clock skew between workers (NTP keeps it well under a second).
        run.guard = LeaseState(
            lease, self.clock, margin=min(1.0, self.lease_ttl / 10), renew=lambda: self._renew(run)
        )
        restore = self._install_signals()
        beat_done = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat, args=(run, beat_done), name="erpsa-lease", daemon=True
        )
        beat.start()
        status, error = RunStatus.COMPLETED, None
        try:
            with lease_scope(run.guard), correlation_scope(run.correlation_id):
                self.store.start_run(
                    lease,
                    RunRecord(
                        run.run_id, self.pipeline.name, self.holder, "running", run.correlation_id
                    ),
                )
                logger.info(
                    "run started",
                    extra={
                        "pipeline": self.pipeline.name,
                        "run_id": run.run_id,
                        "fence": lease.fence,
                    },
                )
                with PartitionedExecutor(workers=self.workers) as pool:
                    for model in self.pipeline.types:
                        if self._stop.is_set():
                            break
                        self._step(run, pool, model)
                if self._stop.is_set():
                    status = RunStatus.STOPPED
        except LeaseLost as exc:
            status, error = RunStatus.LEASE_LOST, exc.message
        except Exception as exc:
            if run.lost is not None:
                status, error = RunStatus.LEASE_LOST, run.lost.message
            else:
                status, error = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
                logger.exception("run failed", extra={"pipeline": self.pipeline.name})
        finally:
            beat_done.set()
            beat.join()
            restore()
        if run.lost is not None and status is not RunStatus.LEASE_LOST:
            status, error = RunStatus.LEASE_LOST, run.lost.message
        report = RunReport(
            run.run_id,
            run.correlation_id,
            self.pipeline.name,
            status,
            dict(run.counts),
            list(run.notes),
            error,
        )
        self.store.finish_run(run.run_id, status=status.value, stats=report.counts, message=error)
        if status is RunStatus.LEASE_LOST:
            logger.error("lease lost; stopping", extra={"pipeline": self.pipeline.name})
            raise LeaseLost(
                f"pipeline {self.pipeline.name!r}: {error}; this runner stopped",
                report=report,
            )
        if status is RunStatus.COMPLETED and self.retention is not None:
            # Old settled ledger rows that are not heads, old lineage and all but the last 100
            # runs go; heads, checkpoints, the crosswalk and dead letters stay.
            pruned = self.store.prune(before=self.clock.now() - self.retention)
            if pruned:
                logger.info("state pruned", extra={"pipeline": self.pipeline.name, "rows": pruned})
        self.store.release_lease(lease)
        logger.info(
            "run finished",
            extra={"pipeline": self.pipeline.name, "status": status.value, "counts": report.counts},
        )
        return report

    # -- lease and signals --------------------------------------------------------------------
    def _heartbeat(self, run: _Run, done: threading.Event) -> None:
        # Real time on purpose: a simulated clock must not jump just because this thread waits.
        interval = max(self.lease_ttl / 3, 0.05)
        while not done.wait(interval):
            try:
                self._renew(run)
            except LeaseLost:
                return
            except Exception:  # a database hiccup: the next beat tries again
                logger.warning("lease renewal failed", exc_info=True)

    def _renew(self, run: _Run, *, only_if_due: bool = False) -> None:
        with run.renewing:
            if only_if_due and not self._renewal_due(run):
                return  # another thread renewed while this one waited for the lock
            try:
                run.lease = self.store.renew_lease(run.lease, ttl=self.lease_ttl)
            except LeaseLost as exc:
                run.lost = exc
                if run.guard is not None:
                    run.guard.lost = exc
                self._stop.set()
                raise
            if run.guard is not None:
                run.guard.lease = run.lease

    def _renewal_due(self, run: _Run) -> bool:
        return self.clock.time() > run.lease.expires_at - 2 * self.lease_ttl / 3

    def _renew_if_due(self, run: _Run) -> None:
        """Renew when a third of the TTL has passed by the runner's clock (the heartbeat runs
        on real time; a simulated clock can move faster, and a frozen worker learns here,
        before it sends anything, whether its lease was taken over)."""
        if self._renewal_due(run):
            self._renew(run, only_if_due=True)

    def _install_signals(self) -> Callable[[], None]:
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            return lambda: None

        def on_signal(signum: int, frame: FrameType | None) -> None:
            logger.warning("stop requested by signal %s; finishing the batch in flight", signum)
            self.stop()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore

    # -- steps --------------------------------------------------------------------------------
    def _step(self, run: _Run, pool: PartitionedExecutor, model: type[BaseModel]) -> None:
        name = model.__name__
        src = self.pipeline.source.capabilities.of(model)
        tgt = self.pipeline.target.capabilities.of(model)
        if not src.read:
            run.note(f"step_skipped:{name}: source {self.pipeline.source.name!r} cannot read it")
            return
        if not tgt.write:
            if self.policy.matches(model):  # read-only master data: link by initial match only
                self._enumerate(run, pool, model, name, write=True, full=False, mark=False)
                return
            run.note(f"step_skipped:{name}: target {self._target!r} cannot write it")
            return
        self._retry_waiting(run, pool, model)
        full_scan = self.pipeline.detect_deletions and src.deletions is DeletionMode.FULL_SCAN_ONLY
        complete = self._enumerate(
            run, pool, model, name, write=True, full=not src.incremental, mark=full_scan
        )
        if not self.pipeline.detect_deletions or self._stop.is_set() or not complete:
            return
        if src.deletions in (DeletionMode.CHANGE_FEED, DeletionMode.TOMBSTONE_QUERY):
            self._tombstones(run, pool, model)
        elif src.incremental and full_scan:
            self._enumerate(run, pool, model, f"{name}:scan", write=False, full=True, mark=True)

    @staticmethod
    def _pages(pager: Any) -> Iterator[tuple[Sequence[Any], Any]]:
        """(items, cursor after them) per page, for pagers, page lists and plain iterables."""
        if hasattr(pager, "iter_pages"):
            for page in pager.iter_pages():
                if hasattr(page, "items") and hasattr(page, "cursor"):
                    yield list(page.items), page.cursor
                else:
                    yield list(page), getattr(pager, "cursor", None)
            return
        page_items: list[Any] = []
        for item in pager:
            page_items.append(item)
            if len(page_items) >= _PAGE:
                yield page_items, None
                page_items = []
        if page_items:
            yield page_items, None

    def _enumerate(
        self,
        run: _Run,
        pool: PartitionedExecutor,
        model: type[BaseModel],
        stream: str,
        *,
        write: bool,
        full: bool,
        mark: bool,
    ) -> bool:
        """Read a stream page by page; return whether it reached the end of the source."""
        checkpoint = self.store.get_checkpoint(self.pipeline.name, stream)
        if full and (checkpoint is None or checkpoint.complete):
            # A new complete enumeration: a new generation, from the start.
            cursor, generation = None, (checkpoint.generation if checkpoint else 0) + 1
        else:
            cursor = checkpoint.cursor if checkpoint else None
            generation = checkpoint.generation if checkpoint else 0
        pager = self.pipeline.source.read(model, since=cursor)
        unidentified = 0
        for page, after in self._pages(pager):
            run.count("read", n=len(page))
            batch = self._batch(
                run, pool, model, page, generation=generation, write=write, mark=mark
            )
            unidentified += batch.unidentified_rejects
            cursor = after
            self._commit(run, model, stream, batch, cursor, generation=generation, complete=False)
            if self._stop.is_set():
                return False
        if mark and unidentified == 0:
            self._close_enumeration(run, pool, model, generation)
        elif mark:
            run.note(
                f"deletion_detection_deferred:{model.__name__}: {unidentified} rejected "
                "record(s) had no source id, so absence proves nothing this time"
            )
        final = None if full else cursor
        self._commit(run, model, stream, _Batch(), final, generation=generation, complete=True)
        return True

    def _close_enumeration(
        self, run: _Run, pool: PartitionedExecutor, model: type[BaseModel], generation: int
    ) -> None:
        object_type = _object_type(model)
        unseen = self.store.crosswalk_unseen(self._source_system, object_type, generation)
        if not unseen:
            return
        batch = _Batch(cid=f"{run.correlation_id}.{run.batches + 1}")
        run.view.prefetch(row.entity_key for row in unseen)
        with correlation_scope(batch.cid):
            for row in unseen:
                ek = _parse_key(row.entity_key)
                if ek is None:
                    continue
                run.count("deletions_seen")
                batch.items += 1
                batch.futures.append(
                    pool.submit(
                        row.entity_key,
                        functools.partial(self._delete_job, run, model, ek, None, row.record_id),
                    )
                )
        self._commit(run, model, f"{model.__name__}:deletions", batch, None, generation=None)

    def _tombstones(self, run: _Run, pool: PartitionedExecutor, model: type[BaseModel]) -> None:
        stream = f"{model.__name__}:deletions"
        checkpoint = self.store.get_checkpoint(self.pipeline.name, stream)
        cursor = checkpoint.cursor if checkpoint else None
        try:
            pager = self.pipeline.source.read_deletions(model, since=cursor)
            for page, after in self._pages(pager):
                batch = _Batch(cid=f"{run.correlation_id}.{run.batches + 1}")
                with correlation_scope(batch.cid):
                    self._plan_deletions(run, pool, model, page, batch)
                cursor = after
                self._commit(run, model, stream, batch, cursor, generation=None)
                if self._stop.is_set():
                    return
        except DeletionFeedExpired as exc:
            # Events may have been dropped unseen: only a complete enumeration can tell what
            # is gone. Once it closed, the feed restarts from what the vendor still keeps.
            run.count("deletion_feed_expired")
            run.note(f"deletion_feed_expired:{model.__name__}: {exc.message}; full enumeration")
            name = model.__name__
            if self._enumerate(run, pool, model, f"{name}:scan", write=False, full=True, mark=True):
                self._commit(run, model, stream, _Batch(), None, generation=None)

    def _plan_deletions(
        self,
        run: _Run,
        pool: PartitionedExecutor,
        model: type[BaseModel],
        page: Sequence[Any],
        batch: _Batch,
    ) -> None:
        for item in page:
            if not isinstance(item, Deletion):
                run.count("rejected")
                batch.dead_letters.append(
                    DeadLetter(self.pipeline.name, "-", "rejected_deletion", payload=_dump(item))
                )
                continue
            run.count("deletions_seen")
            ek = self._key_for(item.ref, model)
            version = SourceVersion(item.deleted_at)
            batch.items += 1
            batch.futures.append(
                pool.submit(
                    ek.canonical,
                    functools.partial(self._delete_job, run, model, ek, version, item.ref.id),
                )
            )

    def _retry_waiting(self, run: _Run, pool: PartitionedExecutor, model: type[BaseModel]) -> None:
        rows = self.store.waiting(self.pipeline.name, model.__name__)
        if not rows:
            return
        items: list[Any] = []
        attempts: dict[str, int] = {}
        batch_pre = _Batch()
        for row in rows:
            try:
                items.append(model.model_validate(row.payload))
                attempts[row.entity_key] = row.attempts
            except ValidationError as exc:
                batch_pre.resolved.add(row.entity_key)
                batch_pre.dead_letters.append(
                    DeadLetter(
                        self.pipeline.name,
                        row.entity_key,
                        "waiting_payload_invalid",
                        payload=row.payload,
                        error=str(exc)[:500],
                    )
                )
        checkpoint = self.store.get_checkpoint(self.pipeline.name, model.__name__)
        batch = self._batch(
            run, pool, model, items, generation=None, write=True, mark=False, attempts=attempts
        )
        batch.resolved |= batch_pre.resolved
        batch.dead_letters += batch_pre.dead_letters
        self._commit(
            run,
            model,
            model.__name__,
            batch,
            checkpoint.cursor if checkpoint else None,
            generation=None,
            complete=checkpoint.complete if checkpoint else False,
        )

    # -- batches ------------------------------------------------------------------------------
    def _batch(
        self,
        run: _Run,
        pool: PartitionedExecutor,
        model: type[BaseModel],
        items: Iterable[Any],
        *,
        generation: int | None,
        write: bool,
        mark: bool,
        attempts: Mapping[str, int] | None = None,
    ) -> _Batch:
        batch = _Batch(cid=f"{run.correlation_id}.{run.batches + 1}")
        items = list(items)
        if write:
            run.view.prefetch(
                self._key_for(item.source_refs[0], model).canonical
                for item in items
                if not isinstance(item, Rejected) and getattr(item, "source_refs", None)
            )
        with correlation_scope(batch.cid):
            for item in items:
                batch.items += 1
                if isinstance(item, Rejected):
                    self._rejected(run, model, item, batch, generation, mark=mark, write=write)
                    continue
                ek = self._key_for(item.source_refs[0], model) if item.source_refs else None
                if ek is None:
                    run.count("rejected")
                    batch.dead_letters.append(
                        DeadLetter(self.pipeline.name, "-", "no_source_ref", payload=_json(item))
                    )
                    batch.unidentified_rejects += 1
                    continue
                source_row = CrosswalkEntry(
                    self._source_system,
                    ek.canonical,
                    _object_type(model),
                    str(item.key),
                    generation or 0,
                )
                if mark:
                    batch.seen.append(source_row)
                if write and attempts is None:
                    # Value maps and the initial match apply once, when a record is first read.
                    item = prepare_record(self, run, model, item, ek, batch)
                if write and item is not None:
                    self._plan_write(run, model, item, ek, source_row, batch, attempts)
            self._submit_planned(run, pool, batch)
        return batch

    def _submit_planned(self, run: _Run, pool: PartitionedExecutor, batch: _Batch) -> None:
        """Store the page's write-ahead records in one transaction, then start the writes.

        After a crash, every write of an uncommitted batch is in doubt anyway (outcomes are
        stored with the checkpoint), so one durable transaction per page replaces one per
        record; the price is a look-up, after a crash, for writes that were never sent.
        """
        fresh = [p.entry for p in batch.planned if p.begin]
        priors = self.store.begin_writes(run.lease, fresh) if fresh else {}
        for planned in batch.planned:
            begun = None
            if planned.begin:
                begun = _Begun(priors.get(planned.entry.write_key))
            batch.futures.append(pool.submit(planned.key, functools.partial(planned.job, begun)))
        batch.planned.clear()

    def _rejected(
        self,
        run: _Run,
        model: type[BaseModel],
        item: Rejected,
        batch: _Batch,
        generation: int | None,
        *,
        mark: bool,
        write: bool,
    ) -> None:
        ek = self._key_for(item.source_ref, model) if item.source_ref else None
        if write:
            # A deletion scan (write=False) reads every record again on every run: the
            # stream that writes dead-letters a rejected record, once per read of it.
            run.count("rejected")
            batch.dead_letters.append(
                DeadLetter(
                    self.pipeline.name,
                    ek.canonical if ek else "-",
                    INVALID_SOURCE_RECORD,
                    payload=item.raw,
                    error=str(item.errors)[:2000],
                )
            )
        if ek is None:
            batch.unidentified_rejects += 1
        elif mark:
            known = self.store.crosswalk_get(self._source_system, ek.canonical)
            if known is not None:
                batch.seen.append(
                    CrosswalkEntry(
                        known.system,
                        known.entity_key,
                        known.object_type,
                        known.record_id,
                        generation or 0,
                    )
                )

    def _plan_write(
        self,
        run: _Run,
        model: type[BaseModel],
        obj: Any,
        ek: EntityKey,
        source_row: CrosswalkEntry,
        batch: _Batch,
        attempts: Mapping[str, int] | None,
    ) -> None:
        key = ek.canonical
        try:
            version = self.pipeline.version_of(obj)
        except ErpsaError as exc:
            run.count("dead_lettered")
            batch.dead_letters.append(
                DeadLetter(
                    self.pipeline.name,
                    key,
                    "no_source_version",
                    payload=_json(obj),
                    error=exc.message,
                )
            )
            return
        refs, missing, problem = self._resolve(run, model, obj)
        if missing:
            tries = (attempts or {}).get(key, 0)
            if tries >= self.max_wait_runs:
                run.count("dead_lettered")
                batch.resolved.add(key)
                batch.dead_letters.append(
                    DeadLetter(
                        self.pipeline.name,
                        key,
                        UNRESOLVED_REFERENCE,
                        payload=_json(obj),
                        error=f"still missing after {tries} runs: {', '.join(missing)}",
                        write_key=str(
                            WriteKey(entity_key=ek, version=str(version), operation="upsert")
                        ),
                    )
                )
            else:
                run.count("waiting")
                batch.waiting.append(
                    WaitingRecord(self.pipeline.name, model.__name__, key, _json(obj), missing)
                )
            return
        batch.resolved.add(key)
        if problem is not None:
            run.count("dead_lettered")
            batch.dead_letters.append(
                DeadLetter(self.pipeline.name, key, problem, payload=_json(obj))
            )
            return
        wk = WriteKey(entity_key=ek, version=str(version), operation=WriteOperation.UPSERT)
        head = run.view.head(key)
        # Already written or superseded: the job says so without a write-ahead record. A
        # write key seen twice in one page stores its own (its first attempt may be in doubt).
        entry = self._entry(wk, ek, "upsert", version, LedgerStatus.PENDING)
        begin = (head is None or version.is_newer_than(head.version)) and (
            entry.write_key not in batch.planned_keys
        )
        batch.planned_keys.add(entry.write_key)

        def job(begun: _Begun | None) -> _JobResult:
            return self._governed(
                lambda: self._write_job(run, model, obj, ek, wk, version, refs, source_row, begun)
            )

        batch.planned.append(_Planned(key, entry, begin, job))

    def _commit(
        self,
        run: _Run,
        model: type[BaseModel],
        stream: str,
        batch: _Batch,
        cursor: Any,
        *,
        generation: int | None,
        complete: bool = False,
    ) -> None:
        with correlation_scope(batch.cid or run.correlation_id):
            self._commit_in_scope(run, model, stream, batch, cursor, generation, complete)

    def _commit_in_scope(
        self,
        run: _Run,
        model: type[BaseModel],
        stream: str,
        batch: _Batch,
        cursor: Any,
        generation: int | None,
        complete: bool,
    ) -> None:
        errors: list[BaseException] = []
        for future in batch.futures:
            try:
                result = future.result()
            except BaseException as exc:
                errors.append(exc)
                continue
            run.count(*result.counts)
            if result.write_key is not None:
                batch.write_keys.append(result.write_key)
            if result.ledger is not None:
                batch.ledger.append(result.ledger)
        acks = run.view.unsaved()
        try:
            if errors:
                self._save_acknowledged(run, acks)
                lost = next((e for e in errors if isinstance(e, LeaseLost)), None)
                raise lost or errors[0]
            crash_point("after_ledger")  # every write acknowledged, nothing stored yet
            self._commit_batch(run, stream, batch, acks, cursor, generation, complete)
        finally:
            run.view.clear()
        crash_point("after_checkpoint")
        self._renew_if_due(run)
        if batch.items:
            logger.info(
                "batch committed",
                extra={
                    "pipeline": self.pipeline.name,
                    "stream": stream,
                    "batch": run.batches,
                    "items": batch.items,
                    "written": len(batch.write_keys),
                },
            )
        if self.on_progress is not None and batch.items:
            self.on_progress(
                Progress(
                    self.pipeline.name,
                    run.run_id,
                    model.__name__,
                    stream,
                    run.batches,
                    dict(run.counts),
                )
            )

    def _save_acknowledged(self, run: _Run, acks: Sequence[Acknowledgement]) -> None:
        """A failed batch keeps no checkpoint, but what the target acknowledged is stored, so
        the next run skips those writes instead of looking each one up."""
        try:
            self._store_now(run, acks)
        except LeaseLost as exc:
            run.lost = run.lost or exc  # not ours to store any more: left in doubt
        except Exception as exc:  # the batch's own error is the one to report
            logger.warning("acknowledged writes not stored (left in doubt): %s", exc)

    def _store_now(self, run: _Run, acks: Sequence[Acknowledgement]) -> None:
        for ack in acks:
            self.store.record_write(
                run.lease,
                ack.entry,
                crosswalk=ack.crosswalk,
                lineage=ack.lineage,
                payload=ack.payload,
            )

    def _commit_batch(
        self,
        run: _Run,
        stream: str,
        batch: _Batch,
        acks: Sequence[Acknowledgement],
        cursor: Any,
        generation: int | None,
        complete: bool,
    ) -> None:
        run.batches += 1
        self.store.commit_batch(
            run.lease,
            BatchCommit(
                pipeline=self.pipeline.name,
                stream=stream,
                cursor=cursor,
                target=self._target,
                write_keys=tuple(batch.write_keys),
                acknowledged=tuple(acks),
                ledger=tuple(batch.ledger),
                waiting=tuple(batch.waiting),
                resolved_waiting=tuple(
                    sorted(batch.resolved - {w.entity_key for w in batch.waiting})
                ),
                dead_letters=tuple(self.policy.owners.assign(d) for d in batch.dead_letters),
                seen=tuple(batch.seen),
                generation=generation,
                complete=complete,
            ),
        )

    # -- references ---------------------------------------------------------------------------
    def _resolve(
        self, run: _Run, model: type[BaseModel], obj: Any
    ) -> tuple[dict[str, SourceRef], list[str], str | None]:
        refs: dict[str, SourceRef] = {}
        missing: list[str] = []
        target = self.pipeline.target
        for name, pointed in self.pipeline.reference_fields.items():
            value = getattr(obj, name, None)
            if name not in type(obj).model_fields or not value:
                continue
            ref_model: type[BaseModel] = pointed or model
            if target.capabilities.of(ref_model).write and ref_model in self.pipeline.types:
                found = self._crosswalk_ref(ref_model, str(value))
                if found is None:
                    missing.append(name)
                else:
                    refs[name] = found
                continue
            rule = (
                self.policy.reference_rule(model, name)
                or target.capabilities.reference_rule(model, name)
                or ReferenceRule.OPTIONAL
            )
            if rule is ReferenceRule.OPTIONAL:
                # Named the way the target names it, so the report reads like the vendor's UI.
                label = target.capabilities.of(model).field_name(name)
                run.count(f"reference_dropped:{label}")
                run.note(
                    f"reference_dropped:{label}: {target.name!r} cannot write "
                    f"{ref_model.__name__}; {model.__name__}.{name} is written empty"
                )
                continue
            matched = self._match_ref(run, ref_model, str(value))
            if matched is None:
                return refs, [], reference_unmatched(name)
            refs[name] = matched
        return refs, missing, None

    def _crosswalk_ref(self, ref_model: type[BaseModel], key: str) -> SourceRef | None:
        source = self.store.crosswalk_find(self._source_system, _object_type(ref_model), key)
        if source is None:
            return None
        row = self.store.crosswalk_get(self._target, source.entity_key)
        if row is None or row.removed:
            return None
        return SourceRef(
            system=self._target_system, tenant=self.pipeline.target_tenant_name, id=row.record_id
        )

    def _match_ref(self, run: _Run, ref_model: type[BaseModel], key: str) -> SourceRef | None:
        cache_key = (ref_model.__name__, key)
        if cache_key not in run.matches:
            found = self._crosswalk_ref(ref_model, key)
            run.matches[cache_key] = found or self._initial_match(run, ref_model, key)
        return run.matches[cache_key]

    def _initial_match(self, run: _Run, ref_model: type[BaseModel], key: str) -> SourceRef | None:
        """Find the target record for a source master record by the target's natural key,
        and remember the pair in the crosswalk."""
        natural = self.pipeline.target.capabilities.of(ref_model).natural_keys
        if not natural:
            return None
        if ref_model not in run.indexed:
            run.indexed.add(ref_model)
            self._index_natural_keys(run, ref_model, natural)
        object_type = _object_type(ref_model)
        indexed = self.store.match_index_get(self._source_system, object_type, key)
        if indexed is None:
            return None
        values = _natural_values(ref_model, indexed.natural_key)
        run.count("matches")
        candidates = self.pipeline.target.match(ref_model, **values)
        if len(candidates) != 1:
            return None
        ek = indexed.entity_key
        self.store.crosswalk_put(
            run.lease, CrosswalkEntry(self._source_system, ek, object_type, key)
        )
        self.store.crosswalk_put(
            run.lease, CrosswalkEntry(self._target, ek, object_type, candidates[0].id)
        )
        return SourceRef(
            system=self._target_system,
            tenant=self.pipeline.target_tenant_name,
            id=candidates[0].id,
        )

    def _index_natural_keys(
        self, run: _Run, ref_model: type[BaseModel], natural: Sequence[str]
    ) -> None:
        """Store the natural key of each source record of ``ref_model``, page by page.

        Memory stays one page whatever the size of the source. After a complete pass of an
        incremental source, later runs read only what changed since (the checkpoint of the
        ``<Type>:match`` stream); a source without a cursor is read whole, still streamed.
        """
        capabilities = self.pipeline.source.capabilities.of(ref_model)
        if not capabilities.read:
            return
        stream = f"{ref_model.__name__}:match"
        checkpoint = self.store.get_checkpoint(self.pipeline.name, stream)
        since = (
            checkpoint.cursor
            if checkpoint is not None and checkpoint.complete and capabilities.incremental
            else None
        )
        object_type = _object_type(ref_model)
        pager = self.pipeline.source.read(ref_model, since=since)
        cursor: Any = since
        for page, after in self._pages(pager):
            entries = []
            for item in page:
                if isinstance(item, Rejected) or not getattr(item, "source_refs", None):
                    continue
                values = {name: getattr(item, name, None) for name in natural}
                if any(value in (None, "") for value in values.values()):
                    continue
                entries.append(
                    MatchIndexEntry(
                        self._source_system,
                        object_type,
                        str(getattr(item, "key", "")),
                        self._key_for(item.source_refs[0], ref_model).canonical,
                        _json_values(values),
                    )
                )
            self.store.match_index_put(run.lease, entries)
            cursor = after
        if capabilities.incremental:
            self.store.commit_batch(
                run.lease,
                BatchCommit(self.pipeline.name, stream, cursor, self._target, complete=True),
            )

    # -- writes -------------------------------------------------------------------------------
    def _governed(self, fn: Callable[[], _JobResult]) -> _JobResult:
        if self.governor is None:
            return fn()
        permit = self.governor.acquire()
        throttled, retry_after = False, None
        try:
            return fn()
        except RateLimited as exc:
            throttled, retry_after = True, exc.retry_after
            raise
        finally:
            self.governor.release(permit, throttled=throttled, retry_after=retry_after)

    def _entry(
        self,
        wk: WriteKey,
        ek: EntityKey,
        operation: str,
        version: SourceVersion,
        status: LedgerStatus,
        target_id: str | None = None,
        detail: str | None = None,
    ) -> LedgerEntry:
        return LedgerEntry(
            self._target,
            str(wk),
            ek.canonical,
            operation,
            version,
            status,
            target_id,
            detail=detail,
        )

    def _write_job(
        self,
        run: _Run,
        model: type[BaseModel],
        obj: Any,
        ek: EntityKey,
        wk: WriteKey,
        version: SourceVersion,
        refs: dict[str, SourceRef],
        source_row: CrosswalkEntry,
        begun: _Begun | None = None,
    ) -> _JobResult:
        target, key, wkey = self.pipeline.target, ek.canonical, str(wk)
        head = self._head(run, key)
        if head is not None and not version.is_newer_than(head.version):
            if head.write_key == wkey:
                return _JobResult(wkey, counts=("already_written",))
            entry = self._entry(wk, ek, "upsert", version, LedgerStatus.SUPERSEDED, head.target_id)
            return _JobResult(ledger=entry, counts=("superseded",))
        # Sent before without a stored outcome: this write's own earlier attempt (its prior
        # entry was pending) or another version's.
        in_doubt = self._in_doubt(run, key) - {wkey}
        if begun is None:
            prior = self._begin(run, self._entry(wk, ek, "upsert", version, LedgerStatus.PENDING))
        else:
            prior = begun.prior
            run.view.sent(key, wkey)  # in doubt for this key's later writes, from now on
        if prior is not None and prior.status.settled:
            return _JobResult(wkey, counts=("already_written",))
        if prior is not None:
            in_doubt.add(wkey)
        if self.validate:
            with lookup_scope(run):  # validate()'s look-ups are cached for the run
                problems = self._call(run, lambda: target.validate(obj, refs=refs))
            if problems:
                return self._park(
                    run,
                    wk,
                    ek,
                    version,
                    "upsert",
                    validation_failed(*(p.code for p in problems)),
                    obj,
                    "; ".join(p.message for p in problems),
                )
        crash_point("in_flight")
        try:
            result = self._send_upsert(run, model, obj, ek, wk, refs, head, in_doubt)
        except PostedRecordError as exc:
            return self._posted(run, model, obj, ek, wk, version, exc)
        except ErpsaError as exc:
            if not rejects_record(exc):
                raise
            return self._park(
                run,
                wk,
                ek,
                version,
                "upsert",
                vendor_rejected(exc),
                obj,
                str(exc),
            )
        crash_point("after_ack")
        return self._acknowledge(
            run, model, obj, ek, wk, version, "upsert", result, head, source_row, defer=True
        )

    def _head(self, run: _Run, key: str) -> LedgerHead | None:
        """The ledger head of ``key``, counting writes acknowledged in the batch in flight."""
        return run.view.head(key)

    def _in_doubt(self, run: _Run, key: str) -> set[str]:
        """Write keys of ``key`` sent before without a stored outcome (not even an unsaved one)."""
        return run.view.in_doubt(key)

    def _begin(self, run: _Run, entry: LedgerEntry) -> LedgerEntry | None:
        """Store ``entry`` as ``pending`` before it is sent (the write-ahead record)."""
        prior = self.store.begin_write(run.lease, entry)
        run.view.sent(entry.entity_key, entry.write_key)
        return prior

    def _send_upsert(
        self,
        run: _Run,
        model: type[BaseModel],
        obj: Any,
        ek: EntityKey,
        wk: WriteKey,
        refs: Mapping[str, SourceRef],
        head: LedgerHead | None,
        in_doubt: set[str],
    ) -> WriteResult:
        target = self.pipeline.target
        doubt = bool(in_doubt)
        only_this = in_doubt == {str(wk)}
        last: ErpsaError | None = None
        for _ in range(self.max_attempts):
            if doubt:
                # An earlier send may have landed: look before sending again.
                run.count("lookups")
                found = self._call(run, lambda: target.lookup(model, entity_key=ek))
                if found is not None and head is None and only_this:
                    return WriteResult(
                        outcome=WriteOutcome.CREATED, entity_key=ek, ref=found, write_key=wk
                    )
            try:
                return self._call(
                    run,
                    lambda: target.upsert(obj, entity_key=ek, write_key=wk, refs=refs),
                    write=True,
                )
            except ErpsaError as exc:
                if not isinstance(exc, IndeterminateWrite) and not _retryable(exc):
                    raise
                # Lost, failed or cut off: the write may have landed, so it is now in doubt.
                run.count("indeterminate" if isinstance(exc, IndeterminateWrite) else "retried")
                last = exc
                doubt, only_this = True, not (in_doubt - {str(wk)})
        raise IndeterminateWrite(
            f"write {wk} still failed after {self.max_attempts} attempts ({last}); the next "
            "run looks it up before sending it again",
            entity_key=ek.canonical,
        )

    def _call(self, run: _Run, fn: Callable[[], T], *, write: bool = False) -> T:
        """Call the target; a throttle (nothing happened) waits its ``Retry-After`` and repeats.

        A write is only sent while this worker's lease is safely alive (:func:`lease_guard`).
        """
        for attempt in range(1, 6):
            if write:
                # Renew when due (a worker that was frozen finds out here that it was taken
                # over), then refuse to send if the lease has lapsed all the same.
                self._renew_if_due(run)
                lease_guard()
            try:
                return fn()
            except RateLimited as exc:
                if attempt == 5:
                    raise
                run.count("throttled")
                self.clock.sleep(min(exc.retry_after or 0.5 * attempt, 30.0))
        raise AssertionError("unreachable")  # pragma: no cover

    def _acknowledge(
        self,
        run: _Run,
        model: type[BaseModel],
        obj: Any,
        ek: EntityKey,
        wk: WriteKey,
        version: SourceVersion,
        operation: str,
        result: WriteResult,
        head: LedgerHead | None,
        source_row: CrosswalkEntry | None,
        *,
        defer: bool = False,
    ) -> _JobResult:
        """The outcome of an acknowledged write: stored now, or (``defer``) with the batch.

        Deferred, a crash before the batch commits leaves the write ``pending``: the next
        run looks it up before sending it again, so nothing is doubled, and a batch costs
        one transaction instead of one per record.
        """
        status = LedgerStatus(result.outcome.value)
        target_id = result.ref.id if result.ref is not None else (head.target_id if head else None)
        rows: list[CrosswalkEntry] = []
        if source_row is not None:
            rows.append(source_row)
        if target_id is not None:
            rows.append(
                CrosswalkEntry(
                    self._target,
                    ek.canonical,
                    _object_type(model),
                    target_id,
                    removed=status.removes,
                )
            )
        ack = Acknowledgement(
            self._entry(wk, ek, operation, version, status, target_id),
            tuple(rows),
            LineageRecord(
                self.pipeline.name,
                run.run_id,
                ek.canonical,
                str(wk),
                operation,
                status.value,
                source_id=ek.source_id,
                target_id=target_id,
                correlation_id=_current_cid(),
            ),
            _json(obj) if obj is not None and self.pipeline.keeps_payload(model) else None,
        )
        if defer:
            run.view.acknowledged(ack)
        else:
            # This key's held acknowledgements came first: stored first, or the commit would
            # store them after this outcome (a reversal's crosswalk row would read "live").
            self._store_now(run, [*run.view.take_unsaved(ek.canonical), ack])
            run.view.forget(ek.canonical)
        logger.info(
            "write acknowledged",
            extra={
                "pipeline": self.pipeline.name,
                "entity_key": ek.canonical,
                "write_key": str(wk),
                "outcome": status.value,
                "target_id": target_id,
            },
        )
        return _JobResult(str(wk), counts=(status.value,))

    def _park(
        self,
        run: _Run,
        wk: WriteKey,
        ek: EntityKey,
        version: SourceVersion,
        operation: str,
        reason: str,
        obj: Any,
        error: str,
    ) -> _JobResult:
        self._store_now(run, run.view.take_unsaved(ek.canonical))  # they came first
        owner = self.policy.owner_for(reason)  # the configured rules decide, never the call site
        self.store.record_write(
            run.lease,
            self._entry(wk, ek, operation, version, LedgerStatus.PARKED, detail=reason),
            dead_letter=DeadLetter(
                self.pipeline.name,
                ek.canonical,
                reason,
                owner=owner,
                payload=_json(obj) if isinstance(obj, BaseModel) else obj,
                error=error[:2000],
                write_key=str(wk),
            ),
        )
        run.view.forget(ek.canonical)
        logger.warning(
            "record parked", extra={"entity_key": ek.canonical, "reason": reason, "owner": owner}
        )
        return _JobResult(str(wk), counts=("parked", f"parked:{reason.split(':')[0]}"))

    def _posted(
        self,
        run: _Run,
        model: type[BaseModel],
        obj: Any,
        ek: EntityKey,
        wk: WriteKey,
        version: SourceVersion,
        exc: PostedRecordError,
    ) -> _JobResult:
        if obj is not None and self.pipeline.target.capabilities.of(model).reverse:
            rwk = WriteKey(entity_key=ek, version=str(version), operation=WriteOperation.REVERSE)
            result = self._call(
                run,
                lambda: self.pipeline.target.reverse(obj, entity_key=ek, write_key=rwk),
                write=True,
            )
            crash_point("after_ack")
            head = self._head(run, ek.canonical)
            return self._acknowledge(
                run, model, obj, ek, wk, version, wk.operation.value, result, head, None
            )
        return self._park(
            run,
            wk,
            ek,
            version,
            wk.operation.value,
            "posted_record_changed",
            obj if obj is not None else {"entity_key": ek.canonical},
            str(exc),
        )

    def _delete_job(
        self,
        run: _Run,
        model: type[BaseModel],
        ek: EntityKey,
        version: SourceVersion | None,
        source_id: str,
    ) -> _JobResult:
        """Delete at the target; ``version`` ``None`` means "absent from a complete scan"."""
        target, key = self.pipeline.target, ek.canonical
        head = self._head(run, key)
        if version is None:
            # Absence has no timestamp: it is newer than whatever was written last, and the
            # same on every retry (one WriteKey), whatever the clock says.
            version = (
                SourceVersion.from_micros(head.version.micros + 1, "absent")
                if head is not None
                else SourceVersion(self.clock.now(), "absent")
            )
        wk = WriteKey(entity_key=ek, version=str(version), operation=WriteOperation.DELETE)
        in_doubt = bool(self._in_doubt(run, key))
        source_removed = CrosswalkEntry(
            self._source_system, key, _object_type(model), source_id, removed=True
        )
        if head is None and not in_doubt:
            # Never written to this target: nothing to delete there.
            self.store.crosswalk_put(run.lease, source_removed)
            return _JobResult(counts=("deletion_not_written",))
        if head is not None and (head.removed or not version.is_newer_than(head.version)):
            entry = self._entry(wk, ek, "delete", version, LedgerStatus.SUPERSEDED, head.target_id)
            return _JobResult(ledger=entry, counts=("superseded",))
        if not target.capabilities.of(model).delete:
            run.note(f"delete_unsupported:{model.__name__}: {self._target!r} cannot delete it")
            self._begin(run, self._entry(wk, ek, "delete", version, LedgerStatus.PENDING))
            return self._park(
                run,
                wk,
                ek,
                version,
                "delete",
                "delete_unsupported",
                {"entity_key": key},
                "target cannot delete this type",
            )
        prior = self._begin(run, self._entry(wk, ek, "delete", version, LedgerStatus.PENDING))
        if prior is not None and prior.status.settled:
            return _JobResult(str(wk), counts=("already_written",))
        crash_point("in_flight")
        try:
            result = self._send_delete(run, model, ek, wk)
        except PostedRecordError as exc:
            obj = None
            if head is not None and head.payload is not None:
                try:
                    obj = model.model_validate(head.payload)
                except ValidationError:
                    obj = None
            return self._posted(run, model, obj, ek, wk, version, exc)
        except _PARK as exc:
            return self._park(
                run,
                wk,
                ek,
                version,
                "delete",
                f"delete_refused:{type(exc).__name__}",
                {"entity_key": key},
                str(exc),
            )
        crash_point("after_ack")
        return self._acknowledge(
            run, model, None, ek, wk, version, "delete", result, head, source_removed, defer=True
        )

    def _send_delete(
        self, run: _Run, model: type[BaseModel], ek: EntityKey, wk: WriteKey
    ) -> WriteResult:
        # A delete is idempotent by contract (a repeat answers not_found), so a lost or failed
        # answer is simply asked again.
        last: ErpsaError | None = None
        for _ in range(self.max_attempts):
            try:
                return self._call(
                    run,
                    lambda: self.pipeline.target.delete(model, entity_key=ek, write_key=wk),
                    write=True,
                )
            except ErpsaError as exc:
                if not isinstance(exc, IndeterminateWrite) and not _retryable(exc):
                    raise
                run.count("indeterminate" if isinstance(exc, IndeterminateWrite) else "retried")
                last = exc
        raise IndeterminateWrite(
            f"delete {wk} still failed after {self.max_attempts} attempts ({last})",
            entity_key=ek.canonical,
        )

    # -- keys ---------------------------------------------------------------------------------
    def _key_for(self, ref: SourceRef, model: type[BaseModel]) -> EntityKey:
        return EntityKey(
            namespace=self.pipeline.namespace,
            system=ref.system,
            tenant=ref.tenant,
            source_id=ref.id,
            object_type=_object_type(model),
        )


def _json_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: TypeAdapter(Any).dump_python(v, mode="json") for name, v in values.items()}


def _natural_values(model: type[BaseModel], stored: Mapping[str, Any]) -> dict[str, Any]:
    """Natural-key values read back from JSON with their field's type (a date, a Decimal)."""
    values: dict[str, Any] = {}
    for name, value in stored.items():
        field_info = model.model_fields.get(name)
        annotation = None if field_info is None else field_info.annotation
        try:
            values[name] = (
                value if annotation is None else TypeAdapter(annotation).validate_python(value)
            )
        except ValidationError:
            values[name] = value
    return values


def _object_type(model: type[BaseModel]) -> str:
    return str(getattr(model, "object_type", model.__name__.lower()))


def _parse_key(text: str) -> EntityKey | None:
    try:
        return EntityKey.parse(text)
    except ValueError:
        return None


def _dump(item: Any) -> Any:
    return item.model_dump(mode="json") if isinstance(item, BaseModel) else repr(item)


def _current_cid() -> str | None:
    from erpsa_sdk.correlation import get_correlation_id

    return get_correlation_id()
