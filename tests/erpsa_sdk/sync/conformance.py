"""The StateStore conformance suite: one test class, run against every backend.

A backend's test module subclasses :class:`StateStoreConformance` and provides a
``make_store`` fixture: a factory returning a new store object on the *same* database (two
objects stand for two workers), driven by the given clock.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpsa_sdk.auth import TokenKey, TokenSet
from erpsa_sdk.auth import TokenStore as AuthTokenStore
from erpsa_sdk.clock import SimClock
from erpsa_sdk.errors import LeaseHeld, LeaseLost, StateError
from erpsa_sdk.sync import (
    Acknowledgement,
    BatchCommit,
    CrosswalkEntry,
    DeadLetter,
    LedgerEntry,
    LedgerStatus,
    LineageRecord,
    MatchIndexEntry,
    RunRecord,
    SourceVersion,
    StateStore,
    WaitingRecord,
)
from erpsa_sdk.sync.deadletters import DeadLetterQueue, DeadLetterStatus

MakeStore = Callable[..., StateStore]
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
TARGET = "sim-erp:t1"


def version(minutes: int, etag: str | None = None) -> SourceVersion:
    return SourceVersion(T0 + timedelta(minutes=minutes), etag)


def entry(
    write_key: str,
    status: LedgerStatus,
    *,
    minutes: int = 0,
    entity_key: str = "ek-1",
    target: str = TARGET,
    target_id: str | None = None,
    operation: str = "upsert",
) -> LedgerEntry:
    return LedgerEntry(
        target=target,
        write_key=write_key,
        entity_key=entity_key,
        operation=operation,
        version=version(minutes),
        status=status,
        target_id=target_id,
    )


_OUTCOMES = [s for s in LedgerStatus if s is not LedgerStatus.PENDING]
#: (EntityKey number, minutes of the version, outcome, carries a target id, carries a payload)
_ACK_STEP = st.tuples(
    st.integers(0, 2),
    st.sampled_from([1, 2, 3]),
    st.sampled_from(_OUTCOMES),
    st.booleans(),
    st.booleans(),
)


def _ack(target: str, step: tuple[int, int, LedgerStatus, bool, bool]) -> Acknowledgement:
    key, minutes, status, with_id, with_payload = step
    return Acknowledgement(
        entry(
            f"wk-{key}-{minutes}",
            status,
            entity_key=f"ek-{key}",
            minutes=minutes,
            target=target,
            target_id=f"id-{minutes}" if with_id else None,
        ),
        (CrosswalkEntry(target, f"ek-{key}", "customer", f"id-{minutes}"),),
        None,
        {"m": minutes} if with_payload else None,
    )


class StateStoreConformance:
    """Behaviour every StateStore must show; subclass and provide ``make_store``."""

    @pytest.fixture
    def clock(self) -> SimClock:
        return SimClock(start=T0)

    @pytest.fixture
    def store(self, make_store: MakeStore, clock: SimClock) -> StateStore:
        return make_store(clock=clock)

    # -- schema -------------------------------------------------------------------------------
    def test_migrations_apply_once(self, make_store: MakeStore, clock: SimClock) -> None:
        first = make_store(clock=clock)
        second = make_store(clock=clock)
        assert first.schema_version() == second.schema_version() == 3

    def test_is_a_state_store_and_a_token_store(self, store: StateStore) -> None:
        assert isinstance(store, StateStore)
        assert isinstance(store, AuthTokenStore)

    # -- leases -------------------------------------------------------------------------------
    def test_lease_is_exclusive_until_it_expires(
        self, make_store: MakeStore, clock: SimClock
    ) -> None:
        a, b = make_store(clock=clock), make_store(clock=clock)
        lease_a = a.acquire_lease("p", holder="a", ttl=30)
        with pytest.raises(LeaseHeld, match="held by 'a'"):
            b.acquire_lease("p", holder="b", ttl=30)
        clock.advance(31)
        lease_b = b.acquire_lease("p", holder="b", ttl=30)
        assert lease_b.fence > lease_a.fence
        current = a.current_lease("p")
        assert current is not None
        assert current.holder == "b"

    def test_fence_grows_on_every_acquisition(self, store: StateStore) -> None:
        fences = [store.acquire_lease("p", holder="a", ttl=30).fence for _ in range(3)]
        assert fences == sorted(set(fences))

    def test_leases_of_different_pipelines_are_independent(self, store: StateStore) -> None:
        store.acquire_lease("p1", holder="a", ttl=30)
        assert store.acquire_lease("p2", holder="b", ttl=30).holder == "b"

    def test_release_lets_another_holder_in_at_once(
        self, make_store: MakeStore, clock: SimClock
    ) -> None:
        a, b = make_store(clock=clock), make_store(clock=clock)
        a.release_lease(a.acquire_lease("p", holder="a", ttl=30))
        assert b.acquire_lease("p", holder="b", ttl=30).holder == "b"

    def test_renew_extends_and_a_lost_lease_cannot_renew(
        self, make_store: MakeStore, clock: SimClock
    ) -> None:
        a, b = make_store(clock=clock), make_store(clock=clock)
        lease = a.acquire_lease("p", holder="a", ttl=30)
        clock.advance(20)
        lease = a.renew_lease(lease, ttl=30)
        clock.advance(20)
        with pytest.raises(LeaseHeld):
            b.acquire_lease("p", holder="b", ttl=30)
        clock.advance(11)
        b.acquire_lease("p", holder="b", ttl=30)
        with pytest.raises(LeaseLost, match="taken over"):
            a.renew_lease(lease, ttl=30)

    def test_stale_fence_commits_change_nothing(
        self, make_store: MakeStore, clock: SimClock
    ) -> None:
        a, b = make_store(clock=clock), make_store(clock=clock)
        old = a.acquire_lease("p", holder="a", ttl=5)
        a.commit_batch(old, BatchCommit("p", "customer", {"page": 1}, TARGET))
        clock.advance(6)
        new = b.acquire_lease("p", holder="b", ttl=5)
        with pytest.raises(LeaseLost) as info:
            a.commit_batch(old, BatchCommit("p", "customer", {"page": 2}, TARGET))
        assert info.value.context["current_fence"] == new.fence
        with pytest.raises(LeaseLost):
            a.begin_write(old, entry("wk-1", LedgerStatus.PENDING))
        with pytest.raises(LeaseLost):
            a.record_write(old, entry("wk-1", LedgerStatus.CREATED, target_id="9"))
        with pytest.raises(LeaseLost):
            a.crosswalk_put(old, CrosswalkEntry(TARGET, "ek-1", "customer", "9"))
        with pytest.raises(LeaseLost):
            a.start_run(old, RunRecord("r1", "p", holder="a", status="running"))
        checkpoint = b.get_checkpoint("p", "customer")
        assert checkpoint is not None
        assert checkpoint.cursor == {"page": 1}
        assert b.ledger_entry(TARGET, "wk-1") is None
        assert b.ledger_head(TARGET, "ek-1") is None
        assert b.crosswalk_get(TARGET, "ek-1") is None
        assert b.runs("p") == []

    # -- checkpoints --------------------------------------------------------------------------
    def test_checkpoint_round_trip_and_generation(self, store: StateStore) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=30)
        assert store.get_checkpoint("p", "customer") is None
        store.commit_batch(
            lease, BatchCommit("p", "customer", {"after": "x"}, TARGET, generation=3)
        )
        store.commit_batch(lease, BatchCommit("p", "customer", {"after": "y"}, TARGET))
        checkpoint = store.get_checkpoint("p", "customer")
        assert checkpoint is not None
        assert (checkpoint.cursor, checkpoint.generation, checkpoint.complete) == (
            {"after": "y"},
            3,
            False,
        )
        store.commit_batch(lease, BatchCommit("p", "customer", None, TARGET, complete=True))
        done = store.get_checkpoint("p", "customer")
        assert done is not None
        assert done.cursor is None
        assert done.complete

    def test_checkpoint_refused_past_unacknowledged_writes(self, store: StateStore) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=30)
        store.commit_batch(lease, BatchCommit("p", "customer", {"page": 1}, TARGET))
        store.begin_write(lease, entry("wk-1", LedgerStatus.PENDING))
        batch = BatchCommit("p", "customer", {"page": 2}, TARGET, write_keys=("wk-1", "wk-2"))
        with pytest.raises(StateError, match="not acknowledged"):
            store.commit_batch(lease, batch)
        checkpoint = store.get_checkpoint("p", "customer")
        assert checkpoint is not None
        assert checkpoint.cursor == {"page": 1}
        store.record_write(lease, entry("wk-1", LedgerStatus.CREATED, target_id="9"))
        store.record_write(
            lease, entry("wk-2", LedgerStatus.CREATED, entity_key="ek-2", target_id="10")
        )
        store.commit_batch(lease, batch)
        checkpoint = store.get_checkpoint("p", "customer")
        assert checkpoint is not None
        assert checkpoint.cursor == {"page": 2}

    def test_checkpoint_size_is_bounded(self, store: StateStore) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=30)
        huge = {"seen": [f"id-{n}" for n in range(20_000)]}
        with pytest.raises(StateError, match="limit"):
            store.commit_batch(lease, BatchCommit("p", "customer", huge, TARGET))
        assert store.get_checkpoint("p", "customer") is None

    # -- ledger -------------------------------------------------------------------------------
    def test_begin_write_counts_attempts_and_keeps_settled_entries(self, store: StateStore) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=30)
        assert store.begin_write(lease, entry("wk-1", LedgerStatus.PENDING)) is None
        prior = store.begin_write(lease, entry("wk-1", LedgerStatus.PENDING))
        assert prior is not None
        assert (prior.status, prior.attempts) == (LedgerStatus.PENDING, 1)
        stored = store.ledger_entry(TARGET, "wk-1")
        assert stored is not None
        assert stored.attempts == 2
        store.record_write(lease, entry("wk-1", LedgerStatus.CREATED, target_id="9"))
        settled = store.begin_write(lease, entry("wk-1", LedgerStatus.PENDING))
        assert settled is not None
        assert settled.status is LedgerStatus.CREATED
        after = store.ledger_entry(TARGET, "wk-1")
        assert after is not None
        assert (after.status, after.attempts, after.target_id) == (LedgerStatus.CREATED, 2, "9")

    def test_begin_writes_stores_a_page_of_pending_writes_at_once(self, store: StateStore) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=30)
        store.begin_write(lease, entry("wk-2", LedgerStatus.PENDING, entity_key="ek-2"))
        store.record_write(lease, entry("wk-3", LedgerStatus.CREATED, entity_key="ek-3"))
        page = [
            entry("wk-1", LedgerStatus.PENDING, entity_key="ek-1"),
            entry("wk-2", LedgerStatus.PENDING, entity_key="ek-2"),
            entry("wk-3", LedgerStatus.PENDING, entity_key="ek-3"),
            entry("wk-1", LedgerStatus.PENDING, entity_key="ek-1"),  # a repeat counts once
        ]
        priors = store.begin_writes(lease, page)
        assert {k: (e.status, e.attempts) for k, e in priors.items()} == {
            "wk-2": (LedgerStatus.PENDING, 1),
            "wk-3": (LedgerStatus.CREATED, 0),
        }
        stored = {e.write_key: (e.status, e.attempts) for e in store.ledger_entries(TARGET)}
        assert stored == {
            "wk-1": (LedgerStatus.PENDING, 1),
            "wk-2": (LedgerStatus.PENDING, 2),
            "wk-3": (LedgerStatus.CREATED, 0),  # settled: untouched
        }
        assert store.pending_writes(TARGET, ["ek-1", "ek-2", "ek-3", "ek-9"]) == {
            "ek-1": {"wk-1"},
            "ek-2": {"wk-2"},
        }
        heads = store.ledger_heads(TARGET, ["ek-1", "ek-3"])
        assert list(heads) == ["ek-3"]
        assert heads["ek-3"] == store.ledger_head(TARGET, "ek-3")

    def test_begin_writes_is_fenced(self, make_store: MakeStore, clock: SimClock) -> None:
        a, b = make_store(clock=clock), make_store(clock=clock)
        old = a.acquire_lease("p", holder="a", ttl=5)
        clock.advance(6)
        b.acquire_lease("p", holder="b", ttl=30)
        with pytest.raises(LeaseLost):
            a.begin_writes(old, [entry("wk-1", LedgerStatus.PENDING)])
        assert b.ledger_entries(TARGET) == []

    def test_a_batch_stores_its_acknowledged_writes_with_its_checkpoint(
        self, store: StateStore
    ) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=30)
        store.begin_writes(
            lease,
            [
                entry("wk-old", LedgerStatus.PENDING, entity_key="ek-1", minutes=1),
                entry("wk-a", LedgerStatus.PENDING, entity_key="ek-1", minutes=2),
                entry("wk-b", LedgerStatus.PENDING, entity_key="ek-2", minutes=2),
            ],
        )
        acks = (
            Acknowledgement(
                entry("wk-a", LedgerStatus.CREATED, entity_key="ek-1", minutes=2, target_id="7"),
                (CrosswalkEntry(TARGET, "ek-1", "customer", "7"),),
                LineageRecord("p", "run-1", "ek-1", "wk-a", "upsert", "created", target_id="7"),
                {"name": "Initech"},
            ),
            Acknowledgement(
                entry("wk-b", LedgerStatus.UPDATED, entity_key="ek-2", minutes=2, target_id="8")
            ),
        )
        store.commit_batch(
            lease,
            BatchCommit(
                "p", "customer", {"page": 1}, TARGET, write_keys=("wk-a", "wk-b"), acknowledged=acks
            ),
        )
        statuses = {e.write_key: e.status for e in store.ledger_entries(TARGET)}
        assert statuses == {
            "wk-old": LedgerStatus.SUPERSEDED,  # settled by the newer acknowledged write
            "wk-a": LedgerStatus.CREATED,
            "wk-b": LedgerStatus.UPDATED,
        }
        head = store.ledger_head(TARGET, "ek-1")
        assert head is not None
        assert (head.write_key, head.target_id, head.payload) == ("wk-a", "7", {"name": "Initech"})
        found = store.crosswalk_get(TARGET, "ek-1")
        assert found is not None
        assert found.record_id == "7"
        assert [r.write_key for r in store.lineage("ek-1")] == ["wk-a"]
        checkpoint = store.get_checkpoint("p", "customer")
        assert checkpoint is not None
        assert checkpoint.cursor == {"page": 1}

    def test_a_refused_batch_stores_none_of_its_acknowledged_writes(
        self, store: StateStore
    ) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=30)
        store.begin_writes(
            lease,
            [
                entry("wk-a", LedgerStatus.PENDING, entity_key="ek-1"),
                entry("wk-c", LedgerStatus.PENDING, entity_key="ek-3"),
            ],
        )
        ack = Acknowledgement(entry("wk-a", LedgerStatus.CREATED, entity_key="ek-1"))
        with pytest.raises(StateError, match="not acknowledged"):
            store.commit_batch(
                lease,
                BatchCommit(
                    "p",
                    "customer",
                    {"page": 1},
                    TARGET,
                    write_keys=("wk-a", "wk-c"),
                    acknowledged=(ack,),
                ),
            )
        assert {e.status for e in store.ledger_entries(TARGET)} == {LedgerStatus.PENDING}
        assert store.ledger_head(TARGET, "ek-1") is None
        assert store.get_checkpoint("p", "customer") is None
        with pytest.raises(ValueError, match="pending"):
            store.commit_batch(
                lease,
                BatchCommit(
                    "p",
                    "customer",
                    None,
                    TARGET,
                    acknowledged=(Acknowledgement(entry("wk-c", LedgerStatus.PENDING)),),
                ),
            )

    @settings(
        max_examples=20,
        deadline=None,
        # One method, one backend per subclass; each example writes to targets of its own.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.differing_executors,
        ],
    )
    @given(steps=st.lists(_ACK_STEP, min_size=1, max_size=12))
    def test_acknowledgements_in_one_batch_equal_one_record_write_after_another(
        self, store: StateStore, steps: list[tuple[int, int, LedgerStatus, bool, bool]]
    ) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=30)
        bulk, single = f"bulk-{uuid.uuid4().hex[:8]}:t", f"single-{uuid.uuid4().hex[:8]}:t"
        for target in (bulk, single):
            store.begin_writes(
                lease,
                [
                    entry(
                        f"wk-{n}-{m}",
                        LedgerStatus.PENDING,
                        entity_key=f"ek-{n}",
                        minutes=m,
                        target=target,
                    )
                    for n in range(3)
                    for m in (1, 3)
                ],
            )
        acks = [(_ack(bulk, step), _ack(single, step)) for step in steps]
        store.commit_batch(
            lease, BatchCommit("p", bulk, None, bulk, acknowledged=tuple(a for a, _ in acks))
        )
        for _, ack in acks:
            store.record_write(
                lease, ack.entry, crosswalk=ack.crosswalk, lineage=ack.lineage, payload=ack.payload
            )

        def state(target: str) -> Any:
            entries = sorted(
                (e.write_key, e.status, e.target_id, e.attempts)
                for e in store.ledger_entries(target)
            )
            heads = {}
            for n in range(3):
                h = store.ledger_head(target, f"ek-{n}")
                heads[n] = None if h is None else (h.write_key, h.target_id, h.removed, h.payload)
            walk = {n: store.crosswalk_get(target, f"ek-{n}") for n in range(3)}
            return entries, heads, {n: w.record_id if w else None for n, w in walk.items()}

        assert state(bulk) == state(single)

    def test_head_keeps_the_highest_acknowledged_version(self, store: StateStore) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=30)
        store.record_write(lease, entry("wk-v2", LedgerStatus.CREATED, minutes=2, target_id="9"))
        head = store.record_write(lease, entry("wk-v1", LedgerStatus.UPDATED, minutes=1))
        assert head is not None
        assert (head.write_key, head.version, head.target_id) == ("wk-v2", version(2), "9")
        head = store.record_write(lease, entry("wk-v3", LedgerStatus.UNCHANGED, minutes=3))
        assert head is not None
        assert (head.write_key, head.target_id, head.removed) == ("wk-v3", "9", False)
        head = store.record_write(
            lease, entry("wk-del", LedgerStatus.DELETED, minutes=4, operation="delete")
        )
        assert head is not None
        assert head.removed
        assert store.ledger_head(TARGET, "ek-1") == head

    def test_pending_and_parked_outcomes_do_not_move_the_head(self, store: StateStore) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=30)
        store.begin_write(lease, entry("wk-1", LedgerStatus.PENDING))
        assert store.ledger_head(TARGET, "ek-1") is None
        store.record_write(
            lease,
            entry("wk-1", LedgerStatus.PARKED),
            dead_letter=DeadLetter("p", "ek-1", "posted_record_changed", owner="finance"),
        )
        assert store.ledger_head(TARGET, "ek-1") is None
        [letter] = store.dead_letters("p")
        assert (letter.reason, letter.owner) == ("posted_record_changed", "finance")
        with pytest.raises(ValueError, match="begin_write"):
            store.record_write(lease, entry("wk-2", LedgerStatus.PENDING))

    def test_an_acknowledged_write_settles_older_writes_left_in_doubt(
        self, store: StateStore
    ) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=30)
        store.begin_write(lease, entry("wk-v1", LedgerStatus.PENDING, minutes=1))
        store.begin_write(lease, entry("wk-v3", LedgerStatus.PENDING, minutes=3))
        store.begin_write(lease, entry("wk-v2", LedgerStatus.PENDING, minutes=2))
        store.record_write(lease, entry("wk-v2", LedgerStatus.UPDATED, minutes=2))
        statuses = {e.write_key: e.status for e in store.ledger_entries(TARGET)}
        assert statuses == {
            "wk-v1": LedgerStatus.SUPERSEDED,
            "wk-v2": LedgerStatus.UPDATED,
            "wk-v3": LedgerStatus.PENDING,
        }

    def test_head_keeps_the_payload_it_was_given(self, store: StateStore) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=30)
        store.record_write(
            lease, entry("wk-1", LedgerStatus.CREATED, minutes=1), payload={"total": "10.00"}
        )
        head = store.record_write(lease, entry("wk-2", LedgerStatus.UPDATED, minutes=2))
        assert head is not None
        assert head.payload == {"total": "10.00"}
        head = store.record_write(
            lease, entry("wk-3", LedgerStatus.UPDATED, minutes=3), payload={"total": "12.00"}
        )
        assert head == store.ledger_head(TARGET, "ek-1")
        assert head is not None
        assert head.payload == {"total": "12.00"}

    def test_same_timestamp_other_etag_counts_as_newer(self, store: StateStore) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=30)
        first = LedgerEntry(TARGET, "wk-a", "ek-1", "upsert", version(1, "a"), LedgerStatus.CREATED)
        second = LedgerEntry(
            TARGET, "wk-b", "ek-1", "upsert", version(1, "b"), LedgerStatus.UPDATED
        )
        store.record_write(lease, first)
        head = store.record_write(lease, second)
        assert head is not None
        assert head.version == version(1, "b")

    def test_ledgers_are_separate_per_target_connection(self, store: StateStore) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=30)
        store.record_write(lease, entry("wk-1", LedgerStatus.CREATED, target="erp-a:t1"))
        store.record_write(lease, entry("wk-1", LedgerStatus.CREATED, target="erp-b:t1"))
        assert [e.target for e in store.ledger_entries("erp-a:t1")] == ["erp-a:t1"]
        assert [e.target for e in store.ledger_entries("erp-b:t1")] == ["erp-b:t1"]
        assert store.ledger_head("erp-c:t1", "ek-1") is None

    def test_batch_ledger_rows_do_not_overwrite_settled_writes(self, store: StateStore) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=30)
        store.record_write(lease, entry("wk-2", LedgerStatus.CREATED, minutes=2))
        store.commit_batch(
            lease,
            BatchCommit(
                "p",
                "customer",
                {"page": 1},
                TARGET,
                ledger=(
                    entry("wk-1", LedgerStatus.SUPERSEDED, minutes=1),
                    entry("wk-2", LedgerStatus.SUPERSEDED, minutes=2),
                ),
            ),
        )
        statuses = {e.write_key: e.status for e in store.ledger_entries(TARGET)}
        assert statuses == {"wk-1": LedgerStatus.SUPERSEDED, "wk-2": LedgerStatus.CREATED}

    def test_concurrent_writes_on_many_threads(self, store: StateStore) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=300)

        def work(n: int) -> None:
            for i in range(10):
                key = f"ek-{n}-{i}"
                store.begin_write(lease, entry(f"wk-{key}", LedgerStatus.PENDING, entity_key=key))
                store.record_write(
                    lease,
                    entry(f"wk-{key}", LedgerStatus.CREATED, entity_key=key, target_id=key),
                    crosswalk=CrosswalkEntry(TARGET, key, "customer", key),
                )

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        entries = store.ledger_entries(TARGET)
        assert len(entries) == 80
        assert all(e.status is LedgerStatus.CREATED and e.attempts == 1 for e in entries)

    # -- crosswalk ----------------------------------------------------------------------------
    def test_crosswalk_maps_both_ways_and_tracks_generations(self, store: StateStore) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=30)
        store.crosswalk_put(lease, CrosswalkEntry("src:t", "ek-1", "customer", "c1", generation=1))
        store.commit_batch(
            lease,
            BatchCommit(
                "p",
                "scan:customer",
                None,
                TARGET,
                seen=(
                    CrosswalkEntry("src:t", "ek-2", "customer", "c2", generation=2),
                    CrosswalkEntry("src:t", "ek-3", "customer", "c3", generation=2),
                ),
            ),
        )
        found = store.crosswalk_find("src:t", "customer", "c2")
        assert found is not None
        assert found.entity_key == "ek-2"
        got = store.crosswalk_get("src:t", "ek-1")
        assert got is not None
        assert got.record_id == "c1"
        assert [e.entity_key for e in store.crosswalk_unseen("src:t", "customer", 2)] == ["ek-1"]
        store.crosswalk_put(
            lease, CrosswalkEntry("src:t", "ek-1", "customer", "c1", generation=1, removed=True)
        )
        assert store.crosswalk_unseen("src:t", "customer", 2) == []
        assert store.crosswalk_unseen("src:t", "project", 9) == []
        assert store.crosswalk_get("other:t", "ek-1") is None

    def test_match_index_keeps_the_latest_natural_key_and_is_fenced(
        self, store: StateStore
    ) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=30)
        store.match_index_put(
            lease, [MatchIndexEntry("psa", "task", "7", "ek-7", {"name": "Design"})]
        )
        store.match_index_put(
            lease, [MatchIndexEntry("psa", "task", "7", "ek-7", {"name": "Design v2"})]
        )
        found = store.match_index_get("psa", "task", "7")
        assert found == MatchIndexEntry("psa", "task", "7", "ek-7", {"name": "Design v2"})
        assert store.match_index_get("psa", "project", "7") is None
        store.release_lease(lease)
        store.acquire_lease("p", holder="b", ttl=30)
        with pytest.raises(LeaseLost):
            store.match_index_put(lease, [MatchIndexEntry("psa", "task", "8", "ek-8", {})])
        assert store.match_index_get("psa", "task", "8") is None

    # -- waiting, dead letters, lineage, runs ------------------------------------------------
    def test_waiting_records_count_attempts_and_resolve(self, store: StateStore) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=30)
        waiting = WaitingRecord("p", "project", "ek-9", {"id": "9"}, ["customer"])
        for page in (1, 2):
            store.commit_batch(
                lease, BatchCommit("p", "project", {"page": page}, TARGET, waiting=(waiting,))
            )
        [row] = store.waiting("p", "project")
        assert (row.entity_key, row.payload, row.missing, row.attempts) == (
            "ek-9",
            {"id": "9"},
            ["customer"],
            2,
        )
        store.commit_batch(
            lease, BatchCommit("p", "project", {"page": 3}, TARGET, resolved_waiting=("ek-9",))
        )
        assert store.waiting("p", "project") == []

    def test_lineage_and_dead_letters_are_kept_in_order(self, store: StateStore) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=30)
        for n, status in enumerate((LedgerStatus.CREATED, LedgerStatus.UPDATED)):
            store.record_write(
                lease,
                entry(f"wk-{n}", status, minutes=n, target_id="9"),
                lineage=LineageRecord(
                    "p", "run-1", "ek-1", f"wk-{n}", "upsert", status.value, "s1", "9", "corr-1"
                ),
            )
        store.commit_batch(
            lease,
            BatchCommit(
                "p",
                "customer",
                None,
                TARGET,
                dead_letters=(DeadLetter("p", "ek-5", "unmapped_value", payload={"x": 1}),),
            ),
        )
        assert [r.status for r in store.lineage("ek-1")] == ["created", "updated"]
        assert store.lineage("ek-1")[0].correlation_id == "corr-1"
        [letter] = store.dead_letters("p")
        assert (letter.payload, letter.owner) == ({"x": 1}, "it")

    def test_a_repeated_dead_letter_updates_its_open_letter(
        self, store: StateStore, clock: SimClock
    ) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=3600)

        def dead_letter(*letters: DeadLetter) -> None:
            store.commit_batch(
                lease, BatchCommit("p", "expense", None, TARGET, dead_letters=letters)
            )

        for n in range(5):  # the same record fails the same way on five runs
            dead_letter(
                DeadLetter("p", "ek-1", "unmapped_value:cat", payload={"n": n}, error=f"e{n}"),
                DeadLetter("p", "-", "no_source_ref", payload={"raw": 1}),
            )
            clock.advance(60)
        dead_letter(DeadLetter("p", "ek-1", "ambiguous_match"))  # another problem
        dead_letter(DeadLetter("p", "-", "no_source_ref", payload={"raw": 2}))  # another record
        letters = store.dead_letters("p")
        assert [(d.entity_key, d.reason) for d in letters] == [
            ("ek-1", "unmapped_value:cat"),
            ("-", "no_source_ref"),
            ("ek-1", "ambiguous_match"),
            ("-", "no_source_ref"),
        ]
        assert (letters[0].payload, letters[0].error) == ({"n": 4}, "e4")
        view = DeadLetterQueue(store, "p").get(letters[0].id or 0)
        assert view.attempts == 5
        assert view.first_seen == T0
        assert view.last_seen == T0 + timedelta(minutes=4)

    def test_a_closed_letter_is_not_reopened_and_prune_drops_old_closed_ones(
        self, store: StateStore, clock: SimClock
    ) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=3600)
        queue = DeadLetterQueue(store, "p")

        def dead_letter(entity_key: str) -> None:
            letter = DeadLetter("p", entity_key, "validation_failed:period_closed")
            store.commit_batch(
                lease, BatchCommit("p", "time", None, TARGET, dead_letters=(letter,))
            )

        for key in ("ek-1", "ek-2", "ek-3"):
            dead_letter(key)
        first, second, _ = queue.letters()
        queue.mark(first.id, DeadLetterStatus.REPLAYED)
        queue.mark(second.id, DeadLetterStatus.DISCARDED)
        dead_letter("ek-1")  # fails again after its replay: a new letter, the old one stays closed
        assert [(d.entity_key, d.status.value) for d in queue.letters(status=None)] == [
            ("ek-1", "replayed"),
            ("ek-2", "discarded"),
            ("ek-3", "open"),
            ("ek-1", "open"),
        ]
        clock.advance(3600)
        assert store.prune(before=clock.now() - timedelta(minutes=30)) == 2
        assert [(d.entity_key, d.status.value) for d in queue.letters(status=None)] == [
            ("ek-3", "open"),
            ("ek-1", "open"),
        ]

    def test_run_history_newest_first_and_finish_without_lease(
        self, store: StateStore, clock: SimClock
    ) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=30)
        for n in range(3):
            store.start_run(lease, RunRecord(f"run-{n}", "p", holder="a", status="running"))
            clock.advance(1)
        store.finish_run("run-2", status="lease_lost", stats={"written": 4}, message="taken over")
        runs = store.runs("p")
        assert [r.run_id for r in runs] == ["run-2", "run-1", "run-0"]
        assert (runs[0].status, runs[0].stats, runs[0].message) == (
            "lease_lost",
            {"written": 4},
            "taken over",
        )
        assert runs[0].finished_at is not None

    # -- tokens -------------------------------------------------------------------------------
    def test_token_compare_and_swap(self, make_store: MakeStore, clock: SimClock) -> None:
        a, b = make_store(clock=clock), make_store(clock=clock)
        key = TokenKey("TSTDRV1", "m2m")
        first = a.compare_and_swap(key, None, TokenSet(access_token="a1", refresh_token="r1"))
        assert first is not None
        assert b.compare_and_swap(key, None, TokenSet(access_token="b1")) is None
        second = b.compare_and_swap(key, first.version, TokenSet(access_token="b2"))
        assert second is not None
        assert a.compare_and_swap(key, first.version, TokenSet(access_token="a2")) is None
        stored = a.get(key)
        assert stored is not None
        assert stored.token.access_token.get_secret_value() == "b2"
        assert stored.version == second.version
        assert a.get(TokenKey("other", "m2m")) is None

    def test_token_swaps_from_many_threads_lose_no_update(
        self, make_store: MakeStore, clock: SimClock
    ) -> None:
        stores = [make_store(clock=clock) for _ in range(2)]
        key = TokenKey("t", "c")
        stores[0].compare_and_swap(key, None, TokenSet(access_token="0"))
        wins: list[int] = []
        lock = threading.Lock()

        def bump(store: StateStore) -> None:
            for _ in range(15):
                while True:
                    current = store.get(key)
                    assert current is not None
                    value = int(current.token.access_token.get_secret_value()) + 1
                    token = TokenSet(access_token=str(value))
                    if store.compare_and_swap(key, current.version, token) is not None:
                        with lock:
                            wins.append(value)
                        break

        threads = [threading.Thread(target=bump, args=(stores[n % 2],)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        final = stores[1].get(key)
        assert final is not None
        assert final.token.access_token.get_secret_value() == "60"
        assert sorted(wins) == list(range(1, 61))

    # -- maintenance --------------------------------------------------------------------------
    def test_prune_keeps_heads_pending_parked_and_recent_rows(
        self, store: StateStore, clock: SimClock
    ) -> None:
        lease = store.acquire_lease("p", holder="a", ttl=3600)
        store.record_write(lease, entry("wk-1", LedgerStatus.CREATED, minutes=1))
        store.record_write(lease, entry("wk-2", LedgerStatus.UPDATED, minutes=2))
        store.begin_write(lease, entry("wk-3", LedgerStatus.PENDING, minutes=3))
        store.record_write(lease, entry("wk-4", LedgerStatus.PARKED, minutes=4))
        for n in range(4):
            store.start_run(lease, RunRecord(f"run-{n}", "p", holder="a", status="done"))
            clock.advance(1)
        clock.advance(60)
        store.record_write(lease, entry("wk-9", LedgerStatus.SUPERSEDED, entity_key="ek-9"))
        removed = store.prune(before=clock.now() - timedelta(seconds=30), keep_runs=2)
        assert removed == 3
        keys = {e.write_key for e in store.ledger_entries(TARGET)}
        assert keys == {"wk-2", "wk-3", "wk-4", "wk-9"}
        assert [r.run_id for r in store.runs("p")] == ["run-3", "run-2"]
