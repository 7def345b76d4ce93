"""Mapping properties: exact minutes both ways, money never a float, custom fields both ways."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpsa_netsuite import connector
from erpsa_netsuite.mapping import (
    MappingError,
    TenantMapping,
    from_suiteql,
    hours_to_vendor,
    minutes_from_hours,
    select_list,
    spec_for,
    to_record,
)
from erpsa_netsuite.simulator import CustomField, NetSuiteSimulator, SimConfig
from erpsa_netsuite.simulator._sim import decimal_hours
from erpsa_sdk.clock import SimClock
from erpsa_sdk.errors import ConfigurationError
from erpsa_sdk.models import (
    Customer,
    Expense,
    LegalEntity,
    Money,
    Project,
    Resource,
    SourceRef,
    TimeEntry,
    WriteKey,
)

TM = TenantMapping(account_id="1", currencies={"1": "USD", "2": "EUR", "3": "JPY"})


@given(st.integers(min_value=0, max_value=100_000))
def test_h_mm_round_trips_exactly(minutes: int) -> None:
    assert minutes_from_hours(hours_to_vendor(minutes)) == minutes


@given(st.integers(min_value=0, max_value=100_000))
def test_decimal_hours_as_suiteql_renders_them_give_the_exact_minutes(minutes: int) -> None:
    assert minutes_from_hours(decimal_hours(minutes)) == minutes


@given(st.decimals(min_value=0, max_value=1000, places=5, allow_nan=False))
def test_decimals_farther_than_half_a_second_from_a_minute_are_refused(hours: Decimal) -> None:
    seconds = hours * 3600
    nearest_minute = (seconds / 60).to_integral_value(rounding=ROUND_HALF_UP)
    if abs(seconds - nearest_minute * 60) <= Decimal("0.5"):
        assert minutes_from_hours(str(hours)) == int(nearest_minute)
    else:
        with pytest.raises(MappingError):
            minutes_from_hours(str(hours))


@given(st.integers(min_value=0, max_value=100_000), st.integers(min_value=4, max_value=12))
def test_whole_minutes_rounded_to_four_or_more_decimals_map_back(minutes: int, places: int) -> None:
    # 0.333333 (6 digits) is 20 minutes less 0.0012 s: a rendering, not a fractional minute.
    hours = (Decimal(minutes) / 60).quantize(Decimal(1).scaleb(-places))
    assert minutes_from_hours(str(hours)) == minutes


@given(
    st.integers(min_value=0, max_value=100_000),
    st.integers(min_value=1, max_value=59),
    st.integers(min_value=6, max_value=12),
)
def test_fractional_minutes_are_refused_however_many_decimals(
    minutes: int, seconds: int, places: int
) -> None:
    # At least one whole second off a minute (DESIGN §5: no silent rounding of durations).
    hours = (Decimal(minutes * 60 + seconds) / 3600).quantize(Decimal(1).scaleb(-places))
    with pytest.raises(MappingError, match="is not a whole number of minutes"):
        minutes_from_hours(str(hours))


def test_six_digit_thirds_of_an_hour_are_accepted() -> None:
    assert minutes_from_hours("0.333333") == 20
    assert minutes_from_hours("0.666667") == 40
    assert minutes_from_hours("7.583333") == 455
    with pytest.raises(MappingError):
        minutes_from_hours("0.01")  # 36 seconds


@pytest.mark.parametrize(
    "fmt",
    [
        "YYYY-MM-DD HH24:MI:SS') OR 1=1 --",
        'YYYY-MM-DD"T"HH24:MI:SS',
        "YYYY-MM-DD HH:MI:SS",  # 12-hour clock: HH is not an accepted element
        "YYYY-MM-DD HH24:MI",  # no seconds: cursors need them
        "YYYY-MM-DD HH24:MI:SS.FF3",
        "",
    ],
)
def test_unsafe_or_unreadable_timestamp_formats_are_refused_at_configuration(fmt: str) -> None:
    with pytest.raises(ConfigurationError, match="timestamp format"):
        TenantMapping(account_id="1", timestamp_format=fmt)
    with pytest.raises(ConfigurationError, match="timestamp format"):
        connector.create({"account_id": "1", "max_concurrency": 1, "token": "t",
                          "timestamp_format": fmt})  # fmt: skip


@pytest.mark.parametrize("fmt", ["YYYY-MM-DD'", "DD/MM/YY", "YYYY-MM-DD HH24:MI:SS", "MM-DD"])
def test_unsafe_or_unreadable_date_formats_are_refused_at_configuration(fmt: str) -> None:
    with pytest.raises(ConfigurationError, match="date format"):
        TenantMapping(account_id="1", date_format=fmt)
    with pytest.raises(ConfigurationError, match="date format"):
        connector.create({"account_id": "1", "max_concurrency": 1, "token": "t",
                          "date_format": fmt})  # fmt: skip


def test_other_element_orders_and_separators_are_accepted() -> None:
    tm = TenantMapping(account_id="1", timestamp_format="DD.MM.YYYY HH24:MI:SS",
                       date_format="DD/MM/YYYY")  # fmt: skip
    assert (tm.timestamp_format, tm.date_format) == ("DD.MM.YYYY HH24:MI:SS", "DD/MM/YYYY")


@pytest.mark.parametrize("bad", ["1:75", "x:00", "-1", "nan", "1.5.0", 1.5, True, ""])
def test_malformed_durations_are_refused(bad: object) -> None:
    with pytest.raises(MappingError):
        minutes_from_hours(bad)


def test_money_is_quantized_from_strings_never_a_float() -> None:
    row = {
        "id": "4",
        "lastmodified": "2026-03-02 10:00:00",
        "entity": "1",
        "job": "2",
        "trandate": "2026-03-02",
        "currency": "3",
        "total": "1234.5",
        "category": "Travel",
    }
    expense = Expense.model_validate(from_suiteql("Expense", row, TM))
    assert expense.amount == Money("1235", "JPY")  # JPY has no minor units: HALF_UP
    body = to_record(
        expense,
        {
            "resource_key": SourceRef(system="n", tenant="1", id="1"),
            "project_key": SourceRef(system="n", tenant="1", id="2"),
        },
        TM,
    )
    assert body["total"] == "1235"
    assert body["currency"] == {"id": "3"}


def test_custom_field_ids_must_be_netsuite_custom_fields() -> None:
    bad = TenantMapping(account_id="1", custom_fields={"TimeEntry": {"memo": "note"}})
    with pytest.raises(MappingError):
        select_list(spec_for("TimeEntry"), bad, "TimeEntry")


def test_unknown_statuses_are_kept_as_unmapped_with_the_raw_value() -> None:
    row = {
        "id": "9",
        "lastmodified": "2026-03-02 10:00:00",
        "companyname": "X",
        "subsidiary": "1",
        "currency": "1",
        "entitystatus": "Green",
    }
    project = Project.model_validate(from_suiteql("Project", row, TM))
    assert project.status.value == "unmapped"
    assert project.status_raw == "Green"


def test_writes_never_send_the_job_customer() -> None:
    project = Project(key="p", name="P", currency="EUR", customer_key="c")
    body = to_record(
        project,
        {
            "legal_entity_key": SourceRef(system="n", tenant="1", id="1"),
            "customer_key": SourceRef(system="n", tenant="1", id="7"),
        },
        TM,
    )
    assert "customer" not in body
    assert "parent" not in body
    assert body["currency"] == {"id": "2"}


@pytest.fixture(scope="module")
def tenant() -> tuple[NetSuiteSimulator, SimClock, object, dict[str, SourceRef]]:
    clock = SimClock(autojump=True)
    config = SimConfig(custom_fields={"timebill": {"custcol_workstream": CustomField()}})
    sim = NetSuiteSimulator(seed=5, clock=clock, config=config)
    conn = connector.create(
        {
            "account_id": sim.tenant,
            "max_concurrency": 2,
            "token": sim.api_token,
            "lag_seconds": 0,
            "custom_fields": {"TimeEntry": {"custcol_workstream": "workstream"}},
        },
        transport=httpx2.MockTransport(sim),
        clock=clock,
    )
    refs = {
        "resource_key": conn.match(Resource, email="grace.hopper@example.com")[0],
        "project_key": conn.match(Project, code="PRJ1001")[0],
    }
    return sim, clock, conn, refs


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    minutes=st.integers(min_value=1, max_value=24 * 60),
    day=st.integers(min_value=0, max_value=300),
    billable=st.booleans(),
    status=st.sampled_from(["draft", "submitted", "approved", "rejected"]),
    note=st.text(min_size=1, max_size=40).filter(lambda s: s.strip() == s and s),
    workstream=st.one_of(st.none(), st.sampled_from(["Data", "Cloud", "Ops"])),
)
def test_time_entries_round_trip_through_the_simulator(
    tenant: tuple[NetSuiteSimulator, SimClock, object, dict[str, SourceRef]],
    minutes: int,
    day: int,
    billable: bool,
    status: str,
    note: str,
    workstream: str | None,
) -> None:
    _, clock, conn, refs = tenant
    key = f"rt-{minutes}-{day}-{len(note)}"
    entry = TimeEntry(
        key=key,
        resource_key="r",
        project_key="p",
        work_date=date(2026, 1, 1) + timedelta(day),
        duration_minutes=minutes,
        billable=billable,
        status=status,
        description=note,
        extensions={} if workstream is None else {"workstream": workstream},
        source_refs=[SourceRef(system="psa", tenant="acme", id=key)],
    )
    ek = entry.entity_key("acme-prod")
    result = conn.upsert(
        entry,
        entity_key=ek,
        refs=refs,  # type: ignore[attr-defined]
        write_key=WriteKey(entity_key=ek, version="1", operation="upsert"),
    )
    clock.advance(1)
    found = conn.client.time_entries.get(result.ref.id)  # type: ignore[attr-defined]
    assert found is not None
    assert found.duration_minutes == minutes
    assert found.work_date == entry.work_date
    assert found.billable is billable
    assert found.status.value == status
    assert found.description == note
    assert found.extensions == entry.extensions
    assert found.resource_key == refs["resource_key"].id
    assert found.project_key == refs["project_key"].id


def test_hierarchies_and_managers_are_read_and_written(
    tenant: tuple[NetSuiteSimulator, SimClock, object, dict[str, SourceRef]],
) -> None:
    sim, clock, conn, _ = tenant
    parent = SourceRef(system="netsuite", tenant=sim.tenant, id="1")
    le = conn.match(LegalEntity, name="Parent Company")[0]  # type: ignore[attr-defined]
    child = Customer(
        key="c",
        name="Glenrock Radiology",
        currency="USD",
        parent_key="p",
        source_refs=[SourceRef(system="psa", tenant="acme", id="c")],
    )
    ek = child.entity_key("acme-prod")
    result = conn.upsert(
        child,
        entity_key=ek,
        refs={"legal_entity_key": le, "parent_key": parent},  # type: ignore[attr-defined]
        write_key=WriteKey(entity_key=ek, version="1", operation="upsert"),
    )
    clock.advance(1)
    back = conn.client.customers.get(result.ref.id)  # type: ignore[attr-defined]
    assert back.parent_key == "1"
    grace = conn.client.resources.get("2")  # type: ignore[attr-defined]
    assert grace.manager_key == "1"
    assert grace.start_date == date(2021, 2, 1)
    project = conn.client.projects.get("3")  # type: ignore[attr-defined]
    assert project.manager_key == "3"
