"""The example plugin: discovery, reads, the four write safeties, posting, periods, reversal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from acme_psa_erp import AcmeErpConnector, AcmePsaConnector
from acme_psa_erp.simulators import AcmeErpSimulator, AcmePsaSimulator

from erpsa_sdk.connector import WriteOutcome
from erpsa_sdk.errors import (
    IndeterminateWrite,
    PostedRecordError,
    ResponseFormatError,
    ValidationFailed,
)
from erpsa_sdk.models import (
    Customer,
    Expense,
    Money,
    Project,
    Rejected,
    Resource,
    SourceRef,
    TimeEntry,
    WriteKey,
)
from erpsa_sdk.registry import available_connectors, connect
from erpsa_sdk.testing import FaultPlan


def _key(obj, version: str = "v1", op: str = "upsert"):  # type: ignore[no-untyped-def]
    ek = obj.entity_key("test")
    return ek, WriteKey(entity_key=ek, version=version, operation=op)


def _src(i: int) -> list[SourceRef]:
    return [SourceRef(system="acmepsa", tenant="acme", id=str(i))]


def _entry(i: int, minutes: int = 60, day: date = date(2026, 11, 2)) -> TimeEntry:
    return TimeEntry(
        key=str(i),
        resource_key="1",
        project_key="1",
        work_date=day,
        duration_minutes=minutes,
        description=f"entry {i}",
        bill_rate=Money("150.00", "USD"),
        source_refs=_src(i),
    )


def _refs(erp: AcmeErpConnector, erp_sim: AcmeErpSimulator) -> dict[str, SourceRef]:
    project = Project(key="1", name="P", currency="USD", source_refs=_src(1))
    ek, wk = _key(project)
    written = erp.upsert(project, entity_key=ek, write_key=wk, refs={})
    employee = erp.match(Resource, email="ada@acme.example")[0]
    return {"project_key": written.ref, "resource_key": employee}  # type: ignore[dict-item]


def test_entry_points_list_both_connectors() -> None:
    infos = {i.name: i for i in available_connectors(refresh=True)}
    assert infos["acmepsa"].ok
    assert infos["acmeerp"].ok
    assert infos["acmeerp"].distribution == "acme-psa-erp"


def test_connect_by_name_reads_settings(erp_sim: AcmeErpSimulator) -> None:
    conn = connect("acmeerp", {"api_token": erp_sim.api_token})
    assert conn.capabilities.of("TimeEntry").safety("create").value == "unsafe"


def test_psa_reads_every_type_with_money_and_versions(psa: AcmePsaConnector) -> None:
    entries = list(psa.read(TimeEntry))
    assert len(entries) == 60
    first = entries[0]
    assert isinstance(first, TimeEntry)
    assert first.bill_rate is not None
    assert first.bill_rate.amount.as_tuple().exponent == -2
    assert first.source_refs[0].version.endswith("/v00000001")  # type: ignore[union-attr]
    assert len(list(psa.read(Expense))) == 20
    assert {p.code for p in psa.read(Project)} >= {"PRJ-001"}  # type: ignore[union-attr]


def test_psa_incremental_read_resumes_and_sees_tombstones(
    psa: AcmePsaConnector, psa_sim: AcmePsaSimulator
) -> None:
    pager = psa.read(TimeEntry)
    assert len(list(pager)) == 60
    cursor = pager.cursor
    psa_sim.admin.advance(10)
    psa_sim.admin.update("time_entries", 5, {"minutes": 33})
    psa_sim.admin.delete("time_entries", 6)
    psa_sim.admin.advance(10)
    again = list(psa.read(TimeEntry, since=cursor))
    assert [(e.key, e.duration_minutes) for e in again] == [("5", 33)]  # type: ignore[union-attr]
    gone = list(psa.read_deletions(TimeEntry))
    assert [d.ref.id for d in gone] == ["6"]  # type: ignore[union-attr]


def test_psa_rejects_bad_rows_and_keeps_them(
    psa: AcmePsaConnector, psa_sim: AcmePsaSimulator
) -> None:
    psa_sim.admin.insert("time_entries", psa_sim.bad_row("time_entries"))
    psa_sim.admin.advance(1)  # a keyset walk reads what changed before it started
    items = list(psa.read(TimeEntry))
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert len(items) == 61
    assert len(rejected) == 1
    assert rejected[0].raw["minutes"] == 12.5
    assert rejected[0].source_ref.id == "61"  # type: ignore[union-attr]


def test_customer_natural_upsert_survives_a_dropped_answer(
    erp: AcmeErpConnector, erp_sim: AcmeErpSimulator
) -> None:
    c = Customer(key="9", name="Initech", currency="USD", source_refs=_src(9))
    ek, wk = _key(c)
    erp_sim.set_faults(FaultPlan.always("commit_then_drop", methods={"PUT"}, max_attempt=1))
    result = erp.upsert(c, entity_key=ek, write_key=wk, refs={})
    assert result.outcome is WriteOutcome.UPSERTED  # the retry found it: the vendor says 200
    assert len(erp_sim.rows_with_entity_key("Customer", str(ek))) == 1


def test_project_lookup_then_create_finds_the_lost_create(
    erp: AcmeErpConnector, erp_sim: AcmeErpSimulator
) -> None:
    p = Project(key="3", name="Apollo", code="APO", currency="USD", source_refs=_src(3))
    ek, wk = _key(p)
    erp_sim.set_faults(FaultPlan.always("commit_then_drop", methods={"POST"}, max_attempt=1))
    erp.upsert(p, entity_key=ek, write_key=wk, refs={})
    assert len(erp_sim.rows_with_entity_key("Project", str(ek))) == 1
    assert erp.match(Project, code="APO")[0].id == erp.lookup(Project, entity_key=ek).id  # type: ignore[union-attr]


def test_time_entry_unsafe_create_raises_indeterminate_and_lookup_resolves_it(
    erp: AcmeErpConnector, erp_sim: AcmeErpSimulator
) -> None:
    refs = _refs(erp, erp_sim)
    entry = _entry(1)
    ek, wk = _key(entry)
    erp_sim.set_faults(FaultPlan.always("commit_then_drop", methods={"POST"}, max_attempt=1))
    with pytest.raises(IndeterminateWrite):
        erp.upsert(entry, entity_key=ek, write_key=wk, refs=refs)
    erp_sim.set_faults(None)
    assert erp.lookup(TimeEntry, entity_key=ek) is not None
    again = erp.upsert(entry, entity_key=ek, write_key=wk, refs=refs)
    assert again.outcome is WriteOutcome.UNCHANGED
    assert len(erp_sim.rows_with_entity_key("TimeEntry", str(ek))) == 1


def test_expense_server_dedup_replays_the_key(
    erp: AcmeErpConnector, erp_sim: AcmeErpSimulator
) -> None:
    refs = _refs(erp, erp_sim)
    exp = Expense(
        key="4",
        resource_key="1",
        project_key="1",
        expense_date=date(2026, 11, 3),
        category="meals",
        amount=Money("12.345", "USD"),
        source_refs=_src(4),
    )
    ek, wk = _key(exp)
    erp_sim.set_faults(FaultPlan.always("commit_then_drop", methods={"POST"}, max_attempt=1))
    erp.upsert(exp, entity_key=ek, write_key=wk, refs=refs)
    rows = erp_sim.rows_with_entity_key("Expense", str(ek))
    assert len(rows) == 1
    assert rows[0]["data"]["amount"] == "12.34"  # half-even, as declared


def test_edit_updates_the_same_record_and_posted_records_refuse(
    erp: AcmeErpConnector, erp_sim: AcmeErpSimulator
) -> None:
    refs = _refs(erp, erp_sim)
    ek, wk = _key(_entry(2))
    first = erp.upsert(_entry(2), entity_key=ek, write_key=wk, refs=refs)
    wk2 = WriteKey(entity_key=ek, version="v2", operation="upsert")
    second = erp.upsert(_entry(2, minutes=90), entity_key=ek, write_key=wk2, refs=refs)
    assert (first.outcome, second.outcome) == (WriteOutcome.CREATED, WriteOutcome.UPDATED)
    rows = erp_sim.rows_with_entity_key("TimeEntry", str(ek))
    assert [r["data"]["minutes"] for r in rows] == [90]
    erp_sim.admin.post("time_entries", rows[0]["id"])
    wk3 = WriteKey(entity_key=ek, version="v3", operation="upsert")
    with pytest.raises(PostedRecordError):
        erp.upsert(_entry(2, minutes=120), entity_key=ek, write_key=wk3, refs=refs)
    with pytest.raises(PostedRecordError):
        erp.delete(TimeEntry, entity_key=ek, write_key=wk3)
    assert erp_sim.rows_with_entity_key("TimeEntry", str(ek))[0]["data"]["minutes"] == 90
    reversed_ = erp.reverse(_entry(2), entity_key=ek, write_key=wk3)
    assert reversed_.outcome is WriteOutcome.REVERSED
    again = erp.reverse(_entry(2), entity_key=ek, write_key=wk3)
    assert again.ref == reversed_.ref
    reversal = erp_sim.table("time_entries").get(reversed_.ref.id)  # type: ignore[union-attr]
    assert reversal is not None
    assert reversal.data["minutes"] == -90


def test_delete_twice_and_closed_periods(erp: AcmeErpConnector, erp_sim: AcmeErpSimulator) -> None:
    refs = _refs(erp, erp_sim)
    entry = _entry(3, day=date(2026, 10, 30))
    ek, wk = _key(entry)
    erp.upsert(entry, entity_key=ek, write_key=wk, refs=refs)
    dk = WriteKey(entity_key=ek, version="v1", operation="delete")
    assert erp.delete(TimeEntry, entity_key=ek, write_key=dk).outcome is WriteOutcome.DELETED
    assert erp.delete(TimeEntry, entity_key=ek, write_key=dk).outcome is WriteOutcome.NOT_FOUND
    erp_sim.admin.close_period("2026-10")
    problems = erp.validate(entry, refs=refs)
    assert [p.code for p in problems] == ["period_closed"]
    with pytest.raises(ValidationFailed) as info:
        erp.upsert(entry, entity_key=ek, write_key=wk, refs=refs)
    assert info.value.vendor_code == "PERIOD_CLOSED"
    missing = erp.validate(_entry(4), refs={})
    assert {p.code for p in missing} == {"reference_missing"}


def test_amounts_keep_decimal_precision(psa: AcmePsaConnector) -> None:
    for exp in psa.read(Expense):
        assert isinstance(exp, Expense)
        assert exp.amount.amount == exp.amount.amount.quantize(Decimal("0.01"))


def test_pytest_plugin_fixtures_reach_installed_plugins_by_name(
    erpsa_simulator: Any, erpsa_connect: Any
) -> None:
    sim = erpsa_simulator("acmeerp", seed=2, faults="writes")
    erp = erpsa_connect("acmeerp", sim, {"api_token": sim.api_token})
    assert sim.faults.rates
    assert erp.health().ok


def test_a_write_answer_without_a_record_id_is_a_typed_error(erp_sim: AcmeErpSimulator) -> None:
    import httpx2
    from acme_psa_erp import ACMEERP, settings_for

    def answer(request: httpx2.Request) -> httpx2.Response:
        if request.method == "PUT":
            return httpx2.Response(200, json={"name": "Initech"})  # no id
        return erp_sim(request)

    erp = ACMEERP.create(
        settings_for(erp_sim), transport=httpx2.MockTransport(answer), clock=erp_sim.clock
    )
    customer = Customer(key="9", name="Initech", currency="USD", source_refs=_src(9))
    ek, wk = _key(customer)
    with pytest.raises(ResponseFormatError, match="without a record id"):
        erp.upsert(customer, entity_key=ek, write_key=wk, refs={})
    erp.close()
