"""The Kantata connector's writes: idempotency without a key, archived workspaces, posting."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx2
import pytest

from erpsa_kantata import KantataConnector, KantataSettings, KantataSimulator, connector
from erpsa_sdk.errors import IndeterminateWrite, PostedRecordError, ValidationFailed
from erpsa_sdk.models import (
    Customer,
    EntityKey,
    Expense,
    Money,
    Project,
    ProjectTask,
    Resource,
    SourceRef,
    TimeEntry,
    WriteKey,
)
from erpsa_sdk.testing import FaultPlan
from tests.connectors.kantata._helpers import DropAfterCommit, make_sim


def conn_for(
    sim: KantataSimulator, transport: httpx2.BaseTransport | None = None, **settings: Any
) -> KantataConnector:
    return KantataConnector(
        KantataSettings(token=sim.token, tenant="acme", **settings),
        transport=transport or httpx2.MockTransport(sim),
        clock=sim.clock,
    )


def refs(sim: KantataSimulator, currency: str = "USD") -> dict[str, SourceRef]:
    ws = next(
        w["id"]
        for w in sim.records("workspaces").values()
        if w["currency"] == currency and not w["archived"]
    )
    return {
        "project_key": SourceRef(system="kantata", tenant="acme", id=ws),
        "resource_key": SourceRef(system="kantata", tenant="acme", id="2"),
    }


def entry(i: int, notes: str = "Design review", minutes: int = 90) -> TimeEntry:
    return TimeEntry(
        key=f"te{i}",
        resource_key="r",
        project_key="p",
        work_date=date(2026, 1, 6),
        duration_minutes=minutes,
        bill_rate=Money("150.00", "USD"),
        description=notes,
        source_refs=[SourceRef(system="netsuite", tenant="TSTDRV1", id=str(i))],
    )


def expense(i: int) -> Expense:
    return Expense(
        key=f"x{i}",
        resource_key="r",
        project_key="p",
        expense_date=date(2026, 1, 7),
        category="Travel",
        amount=Money("45.60", "USD"),
        description="Taxi",
        source_refs=[SourceRef(system="netsuite", tenant="TSTDRV1", id=str(i))],
    )


def write(conn: KantataConnector, obj: Any, version: str, r: dict[str, SourceRef]) -> Any:
    """As the runner does: an IndeterminateWrite is resolved by look-up, then sent again."""
    ek = obj.entity_key("acme-prod")
    wk = WriteKey(entity_key=ek, version=version, operation="upsert")
    try:
        return conn.upsert(obj, entity_key=ek, write_key=wk, refs=r)
    except IndeterminateWrite:
        conn.lookup(type(obj), entity_key=ek)
        return conn.upsert(obj, entity_key=ek, write_key=wk, refs=r)


def stored(sim: KantataSimulator, obj: Any) -> list[dict[str, Any]]:
    return sim.rows_with_entity_key(type(obj).__name__, str(obj.entity_key("acme-prod")))


def test_create_then_update_then_unchanged() -> None:
    sim = make_sim()
    conn = conn_for(sim)
    r = refs(sim)
    first = write(conn, entry(1), "1", r)
    assert first.outcome == "created"
    assert first.ref.system == "kantata"
    edited = write(conn, entry(1, notes="Design review, part 2"), "2", r)
    assert edited.outcome == "updated"
    assert edited.ref.id == first.ref.id
    assert write(conn, entry(1, notes="Design review, part 2"), "2", r).outcome == "unchanged"
    [row] = stored(sim, entry(1))
    assert row["data"]["notes"] == "Design review, part 2"
    ref = sim.rows_with_entity_key("TimeEntry", str(entry(1).entity_key("acme-prod")))
    assert len(ref) == 1


def test_commit_then_drop_on_10_percent_of_creates_leaves_no_duplicates() -> None:
    sim = make_sim()
    sim.set_faults(FaultPlan.writes(seed=5, commit_then_drop=0.1))
    conn = conn_for(sim)
    r = refs(sim)
    before = {c: len(sim.records(c)) for c in ("time_entries", "expenses")}
    objs: list[Any] = [entry(i) for i in range(60)] + [expense(i) for i in range(60)]
    for obj in objs:
        write(conn, obj, "1", r)
    dropped = len(sim.fault_log)
    assert dropped >= 5
    # Counted in the tables too: a duplicate without its external reference would not show
    # in the per-key look-ups below.
    assert {c: len(sim.records(c)) - n for c, n in before.items()} == {
        "time_entries": 60,
        "expenses": 60,
    }
    for obj in objs:
        assert len(stored(sim, obj)) == 1, obj.key
    # Identical business fields, different source records: all of them land.
    landed = {(type(obj).__name__, row["id"]) for obj in objs for row in stored(sim, obj)}
    assert len(landed) == 120


def test_two_identical_time_entries_both_land() -> None:
    sim = make_sim()
    conn = conn_for(sim)
    r = refs(sim)
    a, b = entry(7), entry(8)  # same person, day, minutes, notes: two real entries
    assert write(conn, a, "1", r).outcome == "created"
    assert write(conn, b, "1", r).outcome == "created"
    before = len(sim.records("time_entries"))
    assert {stored(sim, a)[0]["id"], stored(sim, b)[0]["id"]} == {
        int(x) for x in list(sim.records("time_entries"))[before - 2 :]
    }


def test_a_blind_retry_would_duplicate_but_the_connector_looks_first() -> None:
    sim = make_sim()
    drop_first_post = DropAfterCommit(
        sim, lambda req: req.method == "POST" and sim.stats.requests < 4
    )
    conn = conn_for(sim, transport=drop_first_post)
    result = write(conn, entry(3), "1", refs(sim))
    assert drop_first_post.dropped == 1
    assert result.outcome == "created"
    assert len(stored(sim, entry(3))) == 1


@pytest.mark.parametrize("archived_writes", ["allow", "refuse"])
@pytest.mark.parametrize("hide_refs", [True, False])
def test_archived_workspace_edit_with_dropped_answer_leaves_one_entry(
    archived_writes: str, hide_refs: bool
) -> None:
    sim = make_sim(archived_writes=archived_writes, external_references_hide_archived=hide_refs)
    conn = conn_for(sim)
    r = refs(sim)
    write(conn, entry(5), "1", r)
    sim.archive_workspace(r["project_key"].id)
    # Edit at the source, and lose the answer of every write after it committed.
    lossy = conn_for(sim, transport=DropAfterCommit(sim, lambda req: req.method != "GET"))
    edited = entry(5, notes="Edited after archiving")
    ek = edited.entity_key("acme-prod")
    wk = WriteKey(entity_key=ek, version="2", operation="upsert")
    with pytest.raises(IndeterminateWrite):
        # The PUT is retried (NATURAL_UPSERT) until the budget is spent: every answer is lost.
        lossy.upsert(edited, entity_key=ek, write_key=wk, refs=r)
    assert conn.lookup(TimeEntry, entity_key=ek) is not None  # the runner resolves it
    if archived_writes == "allow":
        assert write(conn, edited, "2", r).outcome in {"updated", "unchanged"}
    else:
        with pytest.raises(ValidationFailed):  # refused: dead-lettered by the runner
            write(conn, edited, "2", r)
    rows = stored(sim, entry(5))
    assert len(rows) == 1
    wanted = "Edited after archiving" if archived_writes == "allow" else "Design review"
    assert rows[0]["data"]["notes"] == wanted


def test_approved_time_is_a_posted_record() -> None:
    sim = make_sim()
    conn = conn_for(sim)
    r = refs(sim)
    created = write(conn, entry(9), "1", r)
    sim.approve(created.ref.id)
    ek = entry(9).entity_key("acme-prod")
    with pytest.raises(PostedRecordError):
        conn.upsert(
            entry(9, minutes=30),
            entity_key=ek,
            write_key=WriteKey(entity_key=ek, version="2", operation="upsert"),
            refs=r,
        )
    with pytest.raises(PostedRecordError):
        conn.delete(
            TimeEntry,
            entity_key=ek,
            write_key=WriteKey(entity_key=ek, version="2", operation="delete"),
        )
    assert stored(sim, entry(9))[0]["data"]["time_in_minutes"] == 90


def test_demo_types_write_and_read_back() -> None:
    sim = make_sim()
    conn = conn_for(sim)
    src = [SourceRef(system="crm", tenant="t", id="77")]
    customer = Customer(key="c", name="Initech", email="ap@initech.test", source_refs=src)
    c = write(conn, customer, "1", {})
    project = Project(
        key="p",
        name="Initech ERP",
        currency="JPY",
        customer_key="c",
        start_date=date(2026, 2, 1),
        source_refs=src,
    )
    p = write(conn, project, "1", {"customer_key": c.ref})
    assert write(conn, project, "1", {"customer_key": c.ref}).outcome == "unchanged"
    task = ProjectTask(
        key="t", project_key="p", name="Cutover", estimated_minutes=600, source_refs=src
    )
    t = write(conn, task, "1", {"project_key": p.ref})
    jpy = TimeEntry(
        key="te",
        resource_key="r",
        project_key="p",
        task_key="t",
        work_date=date(2026, 2, 2),
        duration_minutes=120,
        bill_rate=Money("18000", "JPY"),
        source_refs=src,
    )
    te = write(
        conn,
        jpy,
        "1",
        {
            "project_key": p.ref,
            "task_key": t.ref,
            "resource_key": SourceRef(system="kantata", tenant="acme", id="1"),
        },
    )
    stored_entry = sim.record("time_entries", te.ref.id)
    assert stored_entry["rate_in_cents"] == 18000  # whole yen, not divided by 100
    assert stored_entry["currency"] == "JPY"
    projects = {x.key: x for x in conn.read(Project)}
    assert projects[p.ref.id].customer_key == c.ref.id
    assert projects[p.ref.id].start_date == date(2026, 2, 1)
    tasks = {x.key: x for x in conn.read(ProjectTask)}
    assert tasks[t.ref.id].estimated_minutes == 600
    entries = {x.key: x for x in conn.read(TimeEntry)}
    assert entries[te.ref.id].bill_rate == Money("18000", "JPY")
    assert entries[te.ref.id].task_key == t.ref.id


def test_match_finds_master_records_by_natural_key() -> None:
    sim = make_sim()
    conn = conn_for(sim)
    assert [r.id for r in conn.match(Customer, name="northwind traders")] == ["1"]
    assert conn.match(Customer, name="Northwind") == []
    assert [r.id for r in conn.match(Resource, email="GRACE.HOPPER@example.com")] == ["2"]


def test_validate_finds_problems_before_sending() -> None:
    sim = make_sim()
    conn = conn_for(sim)
    r = refs(sim)
    assert conn.validate(entry(1), refs=r) == []
    missing = conn.validate(entry(1), refs={})
    assert [p.code for p in missing] == ["reference_missing"]
    gone = conn.validate(
        entry(1), refs={**r, "project_key": SourceRef(system="kantata", tenant="acme", id="999999")}
    )
    assert [p.code for p in gone] == ["reference_missing"]
    fractional = TimeEntry(
        key="k",
        resource_key="r",
        project_key="p",
        work_date=date(2026, 1, 6),
        duration_minutes=5,
        bill_rate=Money("18000.5", "JPY"),
    )
    codes = [p.code for p in conn.validate(fractional, refs=refs(sim, "JPY"))]
    assert "invalid_value" in codes
    assert conn.validate(Resource(key="r", name="x"), refs={})[0].code == "unsupported_type"


def test_validate_reads_each_workspace_once_per_run() -> None:
    from erpsa_sdk.sync.deadletters import lookup_scope

    sim = make_sim()
    gets: list[str] = []

    def counting(request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET" and "/workspaces" in request.url.path:
            gets.append(str(request.url))
        return sim(request)

    conn = conn_for(sim, transport=httpx2.MockTransport(counting))
    r = refs(sim)
    ghost = {**r, "project_key": SourceRef(system="kantata", tenant="acme", id="999999")}
    with lookup_scope():  # what the runner opens around a run's validate() calls
        assert all(conn.validate(entry(i), refs=r) == [] for i in range(5))
        assert len(gets) == 1
        for _ in range(2):  # a missing workspace is not remembered: asked again
            assert [p.code for p in conn.validate(entry(1), refs=ghost)] == ["reference_missing"]
        assert len(gets) == 3
    assert conn.validate(entry(1), refs=r) == []  # outside a run: asked again
    assert len(gets) == 4


def test_delete_twice_and_deletion_feed() -> None:
    sim = make_sim()
    conn = conn_for(sim)
    write(conn, expense(4), "1", refs(sim))
    ek = expense(4).entity_key("acme-prod")
    wk = WriteKey(entity_key=ek, version="2", operation="delete")
    assert conn.delete(Expense, entity_key=ek, write_key=wk).outcome == "deleted"
    assert conn.delete(Expense, entity_key=ek, write_key=wk).outcome == "not_found"
    assert len(list(conn.read_deletions(Expense))) == 1


def test_health_and_plugin() -> None:
    sim = make_sim()
    conn = conn_for(sim)
    assert conn.health().ok
    sim.revoke()
    assert not conn.health().ok
    assert connector.name == "kantata"
    assert isinstance(connector.simulator(seed=3), KantataSimulator)
    assert connector.capabilities.of("TimeEntry").safety("create").value == "lookup_then_create"


def test_entity_key_is_the_external_reference() -> None:
    sim = make_sim()
    conn = conn_for(sim)
    obj = entry(11)
    write(conn, obj, "1", refs(sim))
    ek: EntityKey = obj.entity_key("acme-prod")
    [ref] = [
        r for r in sim.records("external_references").values() if r["service_model_ref"] == str(ek)
    ]
    assert (ref["service_name"], ref["service_model"], ref["subject_type"]) == (
        "erpsa",
        "TimeEntry",
        "TimeEntry",
    )


def test_throttles_are_absorbed_and_the_governor_backs_off() -> None:
    from erpsa_kantata.simulator import RateLimit

    sim = make_sim(rate_limit=RateLimit(requests=3, window_seconds=2))
    conn = conn_for(sim, share=0.5)
    before = dict(conn.governor.caps)
    assert before  # a reactive limit scoped by token and endpoint class
    for _ in range(4):
        assert len(list(conn.read(TimeEntry))) == 12
    assert sim.stats.limit_violations > 0  # Kantata answered 429 (no Retry-After) ...
    after = conn.governor.caps
    assert all(after[k] <= before[k] for k in before)  # ... and the governor halved
    assert any(after[k] < before[k] for k in before)


def test_amounts_are_written_in_the_workspace_base_unit_and_read_back_equal() -> None:
    # Kantata states currency_base_unit per record; reads trust it, so writes must use it too.
    # This simulator's UGX workspace counts in hundredths although ISO 4217 gives UGX none.
    from erpsa_sdk.models import Rejected

    sim = make_sim()
    conn = conn_for(sim)
    ws = sim.create("workspaces", title="Kampala rollout", currency="UGX", creator_role="maven")
    assert ws["currency_base_unit"] == 100
    r = {**refs(sim), "project_key": SourceRef(system="kantata", tenant="acme", id=ws["id"])}
    te = entry(1).model_copy(update={"bill_rate": Money("5000", "UGX")})
    x = expense(2).model_copy(update={"amount": Money("12000", "UGX")})
    assert conn.validate(te, refs=r) == []
    assert conn.validate(x, refs=r) == []
    te_id = write(conn, te, "1", r).ref.id
    x_id = write(conn, x, "1", r).ref.id
    assert sim.record("time_entries", te_id)["rate_in_cents"] == 500_000
    assert sim.record("expenses", x_id)["amount_in_cents"] == 1_200_000
    back = {
        o.source_refs[0].id: o
        for model in (TimeEntry, Expense)
        for o in conn.read(model)
        if not isinstance(o, Rejected)
    }
    assert back[te_id].bill_rate == Money("5000", "UGX")
    assert back[x_id].amount == Money("12000", "UGX")


def test_an_amount_finer_than_the_workspace_base_unit_is_a_validation_problem() -> None:
    sim = make_sim()
    conn = conn_for(sim)
    r = refs(sim)
    # A workspace that states whole dollars: 150.50 USD cannot be written, 150 USD can.
    sim.store.kit["workspaces"].update(r["project_key"].id, {"currency_base_unit": 1})
    odd = entry(1).model_copy(update={"bill_rate": Money("150.50", "USD")})
    assert [p.code for p in conn.validate(odd, refs=r)] == ["invalid_value"]
    with pytest.raises(ValidationFailed, match="1/1 USD"):
        write(conn, odd, "1", r)
    whole = entry(2).model_copy(update={"bill_rate": Money("150", "USD")})
    assert conn.validate(whole, refs=r) == []
    assert sim.record("time_entries", write(conn, whole, "1", r).ref.id)["rate_in_cents"] == 150


@pytest.mark.parametrize("unit", [0, -100, 2.5, "abc"])
def test_a_base_unit_no_amount_can_be_written_in_is_a_problem_never_a_zero(unit: Any) -> None:
    # Review finding: a zero unit used to write every amount as 0 without a word.
    sim = make_sim()
    conn = conn_for(sim)
    r = refs(sim)
    sim.store.kit["workspaces"].update(r["project_key"].id, {"currency_base_unit": unit})
    problems = conn.validate(entry(1), refs=r)
    assert [p.code for p in problems] == ["invalid_value"]
    assert "currency_base_unit" in problems[0].message
    before = len(sim.records("time_entries"))
    with pytest.raises(ValidationFailed, match="currency_base_unit"):
        write(conn, entry(1), "1", r)
    assert len(sim.records("time_entries")) == before
