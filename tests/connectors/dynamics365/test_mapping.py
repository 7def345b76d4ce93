"""Mapping between Dataverse rows and canonical objects: every table, option sets both ways,
extensions by tenant configuration, money and minutes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erpsa_dynamics365.mapping import (
    TIME_ENTRY_STATUS,
    OptionSet,
    TenantMapping,
    from_row,
    to_row,
)
from erpsa_sdk.errors import ConfigurationError, ValidationFailed
from erpsa_sdk.models import (
    Assignment,
    Customer,
    Expense,
    Invoice,
    LegalEntity,
    Money,
    Project,
    ProjectTask,
    Rejected,
    Resource,
    SourceRef,
    TimeEntry,
)
from tests.connectors.dynamics365._helpers import make

REFS = {
    "resource_key": SourceRef(system="dynamics365", tenant="o", id="r-1"),
    "project_key": SourceRef(system="dynamics365", tenant="o", id="p-1"),
}


@pytest.mark.parametrize(
    ("model", "count"),
    [
        (Customer, 5),
        (LegalEntity, 3),
        (Resource, 5),
        (Project, 1),
        (ProjectTask, 3),
        (Assignment, 3),
        (TimeEntry, 8),
        (Expense, 4),
        (Invoice, 2),
    ],
)
def test_every_table_reads_into_its_canonical_type(model: type, count: int) -> None:
    _, d365, _ = make(seed=4)
    items = list(d365.read(model))
    assert not [i for i in items if isinstance(i, Rejected)]
    assert len(items) == count
    assert all(isinstance(i, model) for i in items)
    assert all(i.source_refs[0].system == "dynamics365" for i in items)


def test_breadth_details() -> None:
    _, d365, _ = make(seed=4)
    companies = {c.name: c for c in d365.read(LegalEntity)}
    assert companies["Contoso UK"].base_currency == "GBP"
    tasks = list(d365.read(ProjectTask))
    assert {t.estimated_minutes for t in tasks} == {160 * 60}
    invoices = {i.number: i for i in d365.read(Invoice)}
    assert invoices["INV-00001"].status == "draft"
    assert invoices["INV-00002"].status == "posted"
    assert invoices["INV-00001"].total == Money("12000.00", "USD")
    resources = list(d365.read(Resource))
    assert {r.resource_type for r in resources} == {"employee"}


def test_unknown_option_codes_read_as_unmapped_with_the_raw_code() -> None:
    row = {
        "msdyn_timeentryid": "t",
        "msdyn_date": "2026-01-01",
        "msdyn_duration": 30,
        "msdyn_entrystatus": 192350099,
        "_msdyn_bookableresource_value": "r",
        "_msdyn_project_value": "p",
        "modifiedon": "2026-01-01T00:00:00Z",
    }
    entry = TimeEntry.model_validate(from_row("TimeEntry", row, TenantMapping(), tenant="o"))
    assert (entry.status, entry.status_raw) == ("unmapped", "192350099")
    assert entry.warnings[0].code == "unknown_status"


def test_tenant_option_tables_replace_the_defaults() -> None:
    custom = OptionSet(TIME_ENTRY_STATUS.name, {1: "draft", 2: "approved"})
    m = TenantMapping(option_sets={custom.name: custom})
    row = {
        "msdyn_timeentryid": "t",
        "msdyn_date": "2026-01-01",
        "msdyn_duration": 30,
        "msdyn_entrystatus": 2,
        "_msdyn_bookableresource_value": "r",
        "_msdyn_project_value": "p",
        "modifiedon": "2026-01-01T00:00:00Z",
    }
    assert from_row("TimeEntry", row, m, tenant="o")["status"] == "approved"
    assert m.options(TIME_ENTRY_STATUS).code("approved") == 2
    with pytest.raises(ValidationFailed):
        m.options(TIME_ENTRY_STATUS).code("posted")


def test_extension_columns_need_a_tenant_publisher_prefix() -> None:
    with pytest.raises(ConfigurationError):
        TenantMapping(extensions={"Customer": {"tier": "tier"}})
    with pytest.raises(ConfigurationError):
        TenantMapping(extensions={"Customer": {"tier": "msdyn_tier"}})
    with pytest.raises(ConfigurationError):
        TenantMapping(extensions={"Widget": {"tier": "contoso_tier"}})


def test_writes_refuse_what_cannot_be_mapped() -> None:
    m = TenantMapping(currencies={"c": "USD"}, expense_categories={"k": "Travel"})
    exp = Expense(
        key="e",
        resource_key="r",
        project_key="p",
        expense_date=date(2026, 1, 1),
        category="Yachts",
        amount=Money("1.00", "USD"),
    )
    with pytest.raises(ValidationFailed, match="Yachts"):
        to_row(exp, REFS, m)
    eur = exp.model_copy(update={"category": "travel", "amount": Money("1.00", "EUR")})
    with pytest.raises(ValidationFailed, match="EUR"):
        to_row(eur, REFS, m)
    entry = TimeEntry(
        key="t", resource_key="r", project_key="p", work_date=date(2026, 1, 1), duration_minutes=5
    )
    with pytest.raises(ValidationFailed, match="resource_key"):
        to_row(entry, {}, m)
    with pytest.raises(ConfigurationError):
        to_row(ProjectTask(key="t", project_key="p", name="T"), {}, m)


@given(
    minutes=st.integers(min_value=0, max_value=24 * 60),
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    text=st.text(max_size=150),
)
def test_time_entries_round_trip_through_a_row(minutes: int, day: date, text: str) -> None:
    entry = TimeEntry(
        key="t",
        resource_key="r",
        project_key="p",
        work_date=day,
        duration_minutes=minutes,
        description=text or None,
    )
    body = to_row(entry, REFS, TenantMapping())
    row = {
        "msdyn_timeentryid": "t1",
        "modifiedon": "2026-01-01T00:00:00Z",
        "_msdyn_bookableresource_value": "r-1",
        "_msdyn_project_value": "p-1",
        "_msdyn_projecttask_value": None,
        "msdyn_entrystatus": 192350000,
        **{k: v for k, v in body.items() if "@" not in k},
    }
    back = TimeEntry.model_validate(from_row("TimeEntry", row, TenantMapping(), tenant="o"))
    assert (back.duration_minutes, back.work_date) == (minutes, day)
    assert back.description == ((text or "")[:100] or None)
    assert (back.resource_key, back.project_key) == ("r-1", "p-1")


@given(amount=st.decimals(min_value=Decimal("0.00"), max_value=Decimal("99999999.99"), places=2))
def test_expense_amounts_survive_the_json_number(amount: Decimal) -> None:
    m = TenantMapping(currencies={"c": "USD"}, expense_categories={"k": "Travel"})
    exp = Expense(
        key="e",
        resource_key="r",
        project_key="p",
        expense_date=date(2026, 1, 1),
        category="Travel",
        amount=Money(amount, "USD"),
    )
    body = to_row(exp, REFS, m)
    row = {
        "msdyn_expenseid": "e1",
        "modifiedon": "2026-01-01T00:00:00Z",
        "_msdyn_bookableresource_value": "r-1",
        "_msdyn_project_value": "p-1",
        "_msdyn_expensecategory_value": "k",
        "_transactioncurrencyid_value": "c",
        "msdyn_expensestatus": 192350000,
        **{k: v for k, v in body.items() if "@" not in k},
    }
    back = Expense.model_validate(from_row("Expense", row, m, tenant="o"))
    assert back.amount == Money(amount, "USD")
    assert back.category == "Travel"


def test_fractional_hours_that_are_not_whole_minutes_are_rejected() -> None:
    row = {
        "msdyn_projecttaskid": "t",
        "msdyn_subject": "T",
        "_msdyn_project_value": "p",
        "msdyn_effort": 0.01,
        "modifiedon": "2026-01-01T00:00:00Z",
    }
    with pytest.raises(ValueError, match="whole number of minutes"):
        from_row("ProjectTask", row, TenantMapping(), tenant="o")


@pytest.mark.parametrize("amount", ["99999999999999.99", "123456789012345.63"])
def test_an_amount_a_json_number_cannot_hold_exactly_is_refused(amount: str) -> None:
    # Sending float(amount) would write a neighbouring amount (…99.98) without a word.
    m = TenantMapping(currencies={"c": "USD"}, expense_categories={"k": "Travel"})
    exp = Expense(
        key="e",
        resource_key="r",
        project_key="p",
        expense_date=date(2026, 1, 1),
        category="Travel",
        amount=Money(amount, "USD"),
    )
    with pytest.raises(ValidationFailed, match="cannot be sent exactly"):
        to_row(exp, REFS, m)
    fits = exp.model_copy(update={"amount": Money("9999999999999.99", "USD")})
    assert Decimal(repr(to_row(fits, REFS, m)["msdyn_amount"])) == Decimal("9999999999999.99")
