"""Dead letters: reasons, owners, payloads, state and replay (issue 8)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erpsa_sdk.errors import (
    ApiError,
    ConfigurationError,
    RateLimited,
    ServerError,
    ValidationFailed,
)
from erpsa_sdk.mapping import parse_config
from erpsa_sdk.sync import BatchCommit, DeadLetter, PostgresStateStore, SQLiteStateStore
from erpsa_sdk.sync.deadletters import (
    DEFAULT_OWNERS,
    DeadLetterQueue,
    DeadLetterStatus,
    OwnerRules,
    RecordPolicy,
    rejects_record,
    replay,
    validation_failed,
)

from .acme_pipeline import CATEGORIES, AcmeEnv, config_text

EXPENSES = '["Project", "Expense"]'
TIME = '["Project", "TimeEntry"]'


# -- reasons and owners -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reason", "owner"),
    [
        ("validation_failed:period_closed", "finance"),
        ("validation_failed:required_field_missing", "it"),
        ("validation_failed:reference_missing", "pmo"),
        ("posted_record_changed", "finance"),
        ("unresolved_reference", "pmo"),
        ("unmapped_value:expense_category", "it"),
        ("ambiguous_match", "it"),
        ("invalid_source_record", "it"),
        ("vendor_rejected:INVALID", "it"),
        ("something_new", "it"),
    ],
)
def test_default_owner_roles(reason: str, owner: str) -> None:
    assert OwnerRules().owner_for(reason) == owner


def test_declared_rules_win_and_unknown_roles_are_refused() -> None:
    rules = OwnerRules({"period_closed": "pmo", "vendor_rejected:PERIOD_CLOSED": "finance"})
    assert rules.owner_for("validation_failed:period_closed") == "pmo"
    assert rules.owner_for("vendor_rejected:PERIOD_CLOSED") == "finance"
    with pytest.raises(ConfigurationError, match="not one of finance, pmo, it"):
        OwnerRules({"period_closed": "accounting"})


def test_rules_are_read_once_not_on_every_look_up() -> None:
    class CountingRules(dict[str, str]):
        reads = 0

        def items(self) -> Any:
            CountingRules.reads += 1
            return super().items()

        def __iter__(self) -> Any:
            CountingRules.reads += 1
            return super().__iter__()

    declared = CountingRules({"period_closed": "pmo"})
    rules = OwnerRules(declared)
    reads_to_build = CountingRules.reads
    owners = {rules.owner_for(f"validation_failed:period_closed,x{n}") for n in range(500)}
    assert owners == {"pmo"}
    assert CountingRules.reads == reads_to_build
    declared["period_closed"] = "finance"  # the rules in force are those given at creation
    assert rules.owner_for("validation_failed:period_closed") == "pmo"


@given(st.lists(st.sampled_from(sorted(DEFAULT_OWNERS)), min_size=1, max_size=4))
def test_owner_is_always_a_known_role(codes: list[str]) -> None:
    assert OwnerRules().owner_for(validation_failed(*codes)) in {"finance", "pmo", "it"}


def test_what_rejects_a_record() -> None:
    assert rejects_record(ValidationFailed("x", status=422, vendor_code="PERIOD_CLOSED"))
    assert rejects_record(ApiError("teapot", status=418))
    assert not rejects_record(ServerError("down", status=503))
    assert not rejects_record(RateLimited("slow", status=429))
    assert not rejects_record(ApiError("who", status=401))


def test_transactional_types_cannot_have_natural_keys() -> None:
    with pytest.raises(ConfigurationError, match="never matched on business fields"):
        RecordPolicy(natural_keys={"Expense": ("category",)})


# -- the queue ----------------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        store: Any = SQLiteStateStore(tmp_path / "s.db")
        yield store
        store.close()
        return
    url = request.getfixturevalue("postgres_url")
    schema = f"erpsa_dlq_{uuid.uuid4().hex[:12]}"
    store = PostgresStateStore(url, schema=schema)
    yield store
    store.close()
    PostgresStateStore(url, schema=schema).drop_schema()


def test_queue_state_attempts_and_first_last_seen(any_store: Any) -> None:
    store = any_store
    lease = store.acquire_lease("p", holder="me", ttl=30)
    store.commit_batch(
        lease,
        BatchCommit(
            "p", "Expense", None, "erp:t", dead_letters=(DeadLetter("p", "ek", "ambiguous_match"),)
        ),
    )
    queue = DeadLetterQueue(store, "p")
    (letter,) = queue.letters()
    assert (letter.status, letter.attempts, letter.owner) == (DeadLetterStatus.OPEN, 1, "it")
    assert letter.first_seen == letter.last_seen
    queue.mark(letter.id, DeadLetterStatus.OPEN, error="still two", attempt=True)
    again = queue.get(letter.id)
    assert (again.attempts, again.error) == (2, "still two")
    assert again.last_seen is not None
    assert letter.first_seen is not None
    assert again.last_seen >= letter.first_seen
    queue.mark(letter.id, DeadLetterStatus.DISCARDED, resolution="duplicate removed")
    assert queue.letters() == []
    assert [d.resolution for d in queue.letters(status=None)] == ["duplicate removed"]
    with pytest.raises(ConfigurationError, match="no dead letter 99"):
        queue.get(99)


def test_letters_without_an_entity_key_are_never_folded_together(any_store: Any) -> None:
    store = any_store
    lease = store.acquire_lease("p", holder="me", ttl=30)
    unidentified = tuple(DeadLetter("p", "-", "no_source_ref", payload={"n": n}) for n in range(3))
    store.commit_batch(lease, BatchCommit("p", "Expense", None, "erp:t", dead_letters=unidentified))
    letters = DeadLetterQueue(store, "p").letters()
    assert [(d.payload, d.attempts) for d in letters] == [({"n": n}, 1) for n in range(3)]


def test_limit_counts_letters_after_folding_repeats(any_store: Any) -> None:
    store = any_store
    lease = store.acquire_lease("p", holder="me", ttl=30)

    def dead_letter(entity_key: str) -> None:
        letter = DeadLetter("p", entity_key, "vendor_rejected:X")
        store.commit_batch(
            lease, BatchCommit("p", "Expense", None, "erp:t", dead_letters=(letter,))
        )

    queue = DeadLetterQueue(store, "p")
    dead_letter("ek-1")
    queue.mark(queue.letters()[0].id, DeadLetterStatus.REPLAYING)
    dead_letter("ek-1")  # fails again while its replay is in doubt: a second row, one letter
    dead_letter("ek-2")
    letters = queue.letters(limit=2)
    assert [(d.entity_key, d.attempts) for d in letters] == [("ek-1", 2), ("ek-2", 1)]
    assert [d.entity_key for d in queue.letters(limit=1)] == ["ek-1"]


# -- the runner's dead letters ------------------------------------------------------------------
def test_unmapped_expense_category_is_one_dead_letter_and_the_rest_syncs(tmp_path: Path) -> None:
    env = AcmeEnv(tmp_path, config_text(types=EXPENSES))
    row = env.psa_sim.admin.insert(
        "expenses",
        {
            "person_id": 1,
            "project_id": 1,
            "date": "2026-11-03",
            "category": "gifts",
            "amount": 12.5,
            "currency": "USD",
            "status": "approved",
        },
    )
    env.clock.advance(60)

    report = env.runner().run_once()

    assert report.ok, report.error
    letters = env.letters()
    assert [(d.reason, d.owner) for d in letters] == [("unmapped_value:expense_category", "it")]
    assert letters[0].entity_key.endswith(f":expense:{row['id']}")
    assert letters[0].payload["category"] == "gifts"  # as read, before mapping
    sent = env.writes("/expenses")
    assert len(sent) == 20  # every other expense of the batch
    assert {b["category"] for _, _, b in sent} <= set(CATEGORIES.values())


def test_unmapped_value_replays_after_the_map_is_fixed(tmp_path: Path) -> None:
    env = AcmeEnv(tmp_path, config_text(types=EXPENSES, categories={"travel": "EXP-TRAVEL"}))
    env.runner().run_once()
    open_letters = DeadLetterQueue(env.store, "psa-to-erp").letters()
    assert open_letters
    assert {d.reason for d in open_letters} == {"unmapped_value:expense_category"}
    env.config = parse_config(config_text(types=EXPENSES))  # IT completed the map
    env.requests.clear()
    results = replay(env.runner())
    assert {r.outcome for r in results} == {"replayed"}
    assert len(env.writes("/expenses")) == len(open_letters)
    assert env.erp_sim.admin.count("expenses") == 20


def test_rejected_source_record_keeps_its_raw_payload_and_the_page_syncs(tmp_path: Path) -> None:
    env = AcmeEnv(tmp_path, config_text(types=TIME))
    bad = env.psa_sim.admin.insert("time_entries", env.psa_sim.bad_row("time_entries"))
    env.clock.advance(60)

    report = env.runner().run_once()

    assert report.ok, report.error
    (letter,) = env.letters()
    assert (letter.reason, letter.owner) == ("invalid_source_record", "it")
    assert letter.entity_key.endswith(f":time_entry:{bad['id']}")
    assert letter.payload["minutes"] == 12.5  # the raw record, as the vendor sent it
    assert len(env.writes("/time-entries")) == 60


# -- replay ---------------------------------------------------------------------------------------
def test_unresolved_reference_after_three_runs_then_replay_posts_once(tmp_path: Path) -> None:
    env = AcmeEnv(tmp_path, config_text(types=TIME, natural_keys='Resource = ["email"]'))
    # A project the source sends with an unknown currency is rejected, so an entry on it waits.
    project = env.psa_sim.admin.insert("projects", {**env.psa_sim.bad_row("projects")})
    entry = env.psa_sim.admin.insert(
        "time_entries",
        {
            "person_id": 1,
            "project_id": project["id"],
            "date": "2026-11-05",
            "minutes": 60,
            "billable": True,
            "status": "approved",
            "notes": "waits for its project",
            "rate": 150.0,
            "currency": "USD",
        },
    )
    env.clock.advance(60)
    reasons = []
    for _ in range(4):  # the first read, then the next 3 runs retry it at their start
        env.runner().run_once()
        reasons.append(sorted(d.reason for d in env.letters()))
    assert reasons[2] == ["invalid_source_record"]  # still waiting after 2 retries
    assert reasons[3] == ["invalid_source_record", "unresolved_reference"]
    letter = next(d for d in env.letters() if d.reason == "unresolved_reference")
    assert letter.owner == "pmo"
    assert letter.entity_key.endswith(f":time_entry:{entry['id']}")

    env.psa_sim.admin.update("projects", project["id"], {"currency": "USD"})
    env.clock.advance(60)
    env.runner().run_once()  # the project is created now
    env.requests.clear()
    results = replay(env.runner(), [letter.id])
    assert [r.outcome for r in results] == ["replayed"]
    posted = env.writes("/time-entries")
    assert len(posted) == 1
    assert posted[0][2]["memo"] == "waits for its project"

    env.requests.clear()
    assert [r.outcome for r in replay(env.runner(), [letter.id])] == ["resolved"]
    assert [r.outcome for r in replay(env.runner())] == ["failed"]  # only the invalid record
    assert env.writes("/time-entries") == []  # exactly once


def test_replay_of_an_older_version_is_superseded_and_sends_nothing(tmp_path: Path) -> None:
    env = AcmeEnv(tmp_path, config_text(types=TIME))
    env.erp_sim.admin.close_period("2026-10")
    env.runner().run_once()
    letter = env.letters()[0]
    source_id = letter.entity_key.rsplit(":", 1)[1]
    env.psa_sim.admin.update("time_entries", source_id, {"date": "2026-11-20"})  # moved
    env.clock.advance(60)
    env.runner().run_once()  # the newer version is written and acknowledged

    env.requests.clear()
    results = replay(env.runner(), [letter.id])

    assert [r.outcome for r in results] == ["superseded"]
    assert not results[0].sent
    assert env.requests == []  # no request at all
    queue = DeadLetterQueue(env.store, "psa-to-erp")
    assert queue.get(letter.id).status is DeadLetterStatus.SUPERSEDED


def test_replay_uses_the_original_write_key_and_refresh_reads_the_source(tmp_path: Path) -> None:
    env = AcmeEnv(tmp_path, config_text(types=TIME))
    env.erp_sim.admin.close_period("2026-10")
    env.runner().run_once()
    letters = env.letters()
    env.erp_sim.admin.open_period("2026-10")

    first = replay(env.runner(), [letters[0].id])
    assert [r.outcome for r in first] == ["replayed"]
    head = env.store.ledger_head("acmeerp:sim", letters[0].entity_key)
    assert head is not None
    assert head.write_key == letters[0].write_key

    source_id = letters[1].entity_key.rsplit(":", 1)[1]
    env.psa_sim.admin.update("time_entries", source_id, {"notes": "edited after parking"})
    env.clock.advance(60)
    env.requests.clear()
    refreshed = replay(env.runner(), [letters[1].id], refresh=True)
    assert [r.outcome for r in refreshed] == ["replayed"]
    (post,) = env.writes("/time-entries")
    assert post[2]["memo"] == "edited after parking"


def test_replay_that_fails_again_stays_open_with_one_more_attempt(tmp_path: Path) -> None:
    env = AcmeEnv(tmp_path, config_text(types=TIME))
    env.erp_sim.admin.close_period("2026-10")
    env.runner().run_once()
    letter = env.letters()[0]
    env.requests.clear()
    (result,) = replay(env.runner(), [letter.id])
    assert result.outcome == "failed"
    assert "period_closed" in result.detail
    assert env.writes("/time-entries") == []
    view = DeadLetterQueue(env.store, "psa-to-erp").get(letter.id)
    assert (view.status, view.attempts) == (DeadLetterStatus.OPEN, 2)


def test_declared_reference_rule_overrides_the_connectors(tmp_path: Path) -> None:
    # AcmeERP writes TimeEntry.task_key empty ("optional"); the pipeline demands a match.
    env = AcmeEnv(
        tmp_path, config_text(types=TIME, extra='references = { "TimeEntry.task_key" = "match" }')
    )
    with_task = {
        str(r["id"]) for r in env.psa_sim.admin.rows("time_entries") if r["data"]["task_id"]
    }
    report = env.runner().run_once()
    assert report.ok, report.error
    letters = env.letters()
    assert {(d.reason, d.owner) for d in letters} == {("reference_unmatched:task_key", "pmo")}
    assert {d.entity_key.rsplit(":", 1)[1] for d in letters} == with_task
    assert len(env.writes("/time-entries")) == 60 - len(with_task)


def test_a_record_dead_lettered_again_is_one_letter_with_first_last_seen_and_attempts(
    tmp_path: Path,
) -> None:
    env = AcmeEnv(tmp_path, config_text(types=EXPENSES))
    gift = {
        "person_id": 1,
        "project_id": 1,
        "date": "2026-11-03",
        "category": "gifts",
        "amount": 12.5,
        "currency": "USD",
        "status": "approved",
    }
    row = env.psa_sim.admin.insert("expenses", gift)
    env.clock.advance(60)
    env.runner().run_once()
    env.psa_sim.admin.update("expenses", row["id"], {"amount": 15.0})  # edited, still unmapped
    env.clock.advance(3600)
    env.runner().run_once()

    assert len(env.letters()) == 1  # one row in the store, updated by the repeat ...
    queue = DeadLetterQueue(env.store, "psa-to-erp")
    (letter,) = queue.letters()  # ... one dead letter for the person who fixes it
    assert letter.attempts == 2
    assert letter.first_seen is not None
    assert letter.last_seen is not None
    assert (letter.last_seen - letter.first_seen).total_seconds() >= 3600
    assert letter.payload["amount"]["amount"] == "15.00"  # the newest version

    env.config = parse_config(config_text(types=EXPENSES, categories={"gifts": "EXP-GIFTS"}))
    env.requests.clear()
    assert [r.outcome for r in replay(env.runner())] == ["replayed"]
    (post,) = env.writes("/expenses")
    assert post[2]["amount"] == "15.00"
    assert queue.letters() == []
    # The repeat updated the letter, so there is no older row left to close as superseded.
    assert [d.status for d in queue.letters(status=None)] == [DeadLetterStatus.REPLAYED]


def test_a_parked_deletion_replays_once_finance_unposts_the_record(tmp_path: Path) -> None:
    from erpsa_sdk.clock import SimClock
    from erpsa_sdk.models import Customer
    from erpsa_sdk.sync import Pipeline, SyncRunner

    from .fakes import T0, FakeSource, FakeTarget

    source, target = FakeSource(), FakeTarget()
    store = SQLiteStateStore(tmp_path / "fake.db", clock=SimClock(start=T0))
    source.put(Customer, "C1", name="Initech", currency="USD")

    def runner() -> SyncRunner:
        pipeline = Pipeline("p", source=source, target=target, namespace="t", types=[Customer])
        return SyncRunner(pipeline, store=store, handle_signals=False, workers=2)

    runner().run_once()
    key = next(iter(target.records))
    target.post(key)
    source.remove(Customer, "C1")  # deleted at the source; the target cannot reverse it
    runner().run_once()
    queue = DeadLetterQueue(store, "p")
    (letter,) = queue.letters()
    assert (letter.reason, letter.owner) == ("posted_record_changed", "finance")

    (still,) = replay(runner())  # still posted: refused again, nothing changes
    assert still.outcome == "failed"
    assert "posted_record_changed" in still.detail
    target.records[key].posted = False  # finance unposted it
    (done,) = replay(runner())
    assert (done.outcome, done.detail) == ("replayed", "deleted")
    assert target.records[key].id in target.deleted
    head = store.ledger_head("fakeerp:erp1", key)
    assert head is not None
    assert head.removed
    assert replay(runner()) == []


def test_replay_never_races_a_running_sync(tmp_path: Path) -> None:
    from erpsa_sdk.errors import LeaseHeld

    env = AcmeEnv(tmp_path, config_text(types=TIME))
    env.erp_sim.admin.close_period("2026-10")
    env.runner().run_once()
    env.store.acquire_lease("psa-to-erp", holder="another-worker", ttl=3600)
    env.requests.clear()
    with pytest.raises(LeaseHeld):
        replay(env.runner())
    assert env.requests == []
