"""Pure mappings: base-unit money (JPY whole yen), statuses, custom fields, both directions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erpsa_kantata import mapping
from erpsa_sdk.models import (
    Customer,
    Expense,
    Milestone,
    Money,
    Project,
    ProjectTask,
    Resource,
    SourceRef,
    TimeEntry,
)


def ref(i: str) -> SourceRef:
    return SourceRef(system="kantata", tenant="acme", id=i)


def test_jpy_amounts_are_whole_yen_and_usd_cents() -> None:
    assert mapping.money_from_cents(4800, "JPY", 1) == Money("4800", "JPY")
    assert mapping.money_from_cents(4800, "USD", 100) == Money("48.00", "USD")
    assert mapping.money_from_cents(1234, "BHD", 1000) == Money("1.234", "BHD")


def test_a_record_without_its_base_unit_uses_the_currencys_own() -> None:
    # A partial record (``only=``, a side-loaded copy) may lack currency_base_unit: yen must
    # still be whole yen, never the amount divided by 100.
    row = {
        "id": "1",
        "workspace_id": "3",
        "user_id": "2",
        "date_performed": "2026-01-05",
        "time_in_minutes": 30,
        "rate_in_cents": 18000,
        "currency": "JPY",
    }
    assert mapping.time_entry_fields(row, tenant="t")["bill_rate"] == Money("18000", "JPY")
    usd = {**row, "currency": "USD"}
    assert mapping.time_entry_fields(usd, tenant="t")["bill_rate"] == Money("180.00", "USD")
    exp = {
        "id": "9",
        "workspace_id": "3",
        "date": "2026-01-05",
        "category": "Travel",
        "amount_in_cents": 4800,
        "currency": "JPY",
    }
    assert mapping.expense_fields(exp, tenant="t")["amount"] == Money("4800", "JPY")
    # No money and no currency: nothing to convert, nothing refused.
    bare = {k: v for k, v in row.items() if k not in ("rate_in_cents", "currency")}
    assert mapping.time_entry_fields(bare, tenant="t")["bill_rate"] is None


@given(
    cents=st.integers(min_value=-(10**12), max_value=10**12),
    currency=st.sampled_from(["USD", "EUR", "JPY", "KWD"]),
)
def test_cents_round_trip(cents: int, currency: str) -> None:
    unit = {"JPY": 1, "KWD": 1000}.get(currency, 100)
    money = mapping.money_from_cents(cents, currency, unit)
    assert money is not None
    assert mapping.cents_from_money(money, unit) == cents
    assert mapping.cents_from_money(money) == cents


@pytest.mark.parametrize("bad", [12.5, "12.5", True, [1]])
def test_cents_must_be_whole_numbers(bad: object) -> None:
    with pytest.raises(ValueError, match="whole number"):
        mapping.money_from_cents(bad, "USD", 100)


def test_money_finer_than_the_base_unit_is_refused_on_write() -> None:
    with pytest.raises(ValueError, match="cannot be expressed"):
        mapping.cents_from_money(Money("1.5", "JPY"), 1)


def _entry(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "7",
        "updated_at": "2026-01-05T09:00:00+00:00",
        "workspace_id": "3",
        "user_id": "2",
        "story_id": "4",
        "date_performed": "2026-01-05",
        "time_in_minutes": 90,
        "billable": True,
        "notes": "Design",
        "rate_in_cents": 15000,
        "cost_rate_in_cents": 7500,
        "currency": "USD",
        "currency_base_unit": 100,
        "approved": False,
        "is_invoiced": False,
    }
    base.update(kw)
    return base


@pytest.mark.parametrize(
    ("flags", "status"),
    [
        ({}, "draft"),
        ({"active_submission_id": "5"}, "submitted"),
        ({"approved": True}, "approved"),
        ({"approved": True, "is_invoiced": True}, "posted"),
    ],
)
def test_time_entry_status(flags: dict[str, object], status: str) -> None:
    entry = TimeEntry.model_validate(mapping.time_entry_fields(_entry(**flags), tenant="acme"))
    assert entry.status == status


def test_time_entry_fields() -> None:
    entry = TimeEntry.model_validate(mapping.time_entry_fields(_entry(), tenant="acme"))
    assert entry.duration_minutes == 90
    assert entry.bill_rate == Money("150.00", "USD")
    assert entry.cost_rate == Money("75.00", "USD")
    assert (entry.resource_key, entry.project_key, entry.task_key) == ("2", "3", "4")
    assert entry.source_refs[0] == SourceRef(
        system="kantata", tenant="acme", id="7", version="2026-01-05T09:00:00+00:00"
    )


def test_time_entry_round_trip() -> None:
    entry = TimeEntry.model_validate(
        mapping.time_entry_fields(
            _entry(currency="JPY", currency_base_unit=1, rate_in_cents=18000), tenant="acme"
        )
    )
    attrs = mapping.time_entry_attrs(
        entry, {"project_key": ref("3"), "resource_key": ref("2"), "task_key": ref("4")}
    )
    assert attrs == {
        "workspace_id": "3",
        "user_id": "2",
        "story_id": "4",
        "date_performed": "2026-01-05",
        "time_in_minutes": 90,
        "billable": True,
        "notes": "Design",
        "rate_in_cents": 18000,
        "cost_rate_in_cents": 7500,
    }


def test_expense_both_directions() -> None:
    rec = {
        "id": "5",
        "workspace_id": "3",
        "user_id": "2",
        "date": "2026-01-07",
        "category": "Travel",
        "amount_in_cents": 4800,
        "currency": "JPY",
        "currency_base_unit": 1,
        "is_billable": False,
        "reimbursable": True,
        "notes": "Train",
    }
    x = Expense.model_validate(mapping.expense_fields(rec, tenant="acme"))
    assert x.amount == Money("4800", "JPY")
    assert not x.billable
    attrs = mapping.expense_attrs(x, {"project_key": ref("3"), "resource_key": ref("2")})
    assert attrs["amount_in_cents"] == 4800
    assert attrs["date"] == "2026-01-07"


def test_workspace_to_project_with_custom_fields_as_extensions() -> None:
    rec = {
        "id": "3",
        "title": "Tokyo office",
        "currency": "JPY",
        "currency_base_unit": 1,
        "archived": True,
        "status": {"message": "In Progress"},
        "start_date": "",
        "due_date": "2026-06-30",
        "workspace_group_ids": ["9"],
        "budgeted": True,
        "price_in_cents": 5_000_000,
    }
    p = Project.model_validate(
        mapping.workspace_fields(
            rec, tenant="acme", custom_fields=[{"custom_field_name": "Region", "value": "APAC"}]
        )
    )
    assert p.status == "completed"  # archived
    assert p.budget == Money("5000000", "JPY")
    assert p.start_date is None
    assert p.end_date == date(2026, 6, 30)
    assert p.customer_key == "9"
    assert p.extensions == {"Region": "APAC"}
    assert mapping.project_attrs(p, {"customer_key": ref("9")})["workspace_group_ids"] == ["9"]


def test_unknown_project_status_is_kept_raw() -> None:
    p = Project.model_validate(
        mapping.workspace_fields(
            {"id": "3", "title": "X", "currency": "USD", "status": {"message": "Blue Sky"}},
            tenant="acme",
        )
    )
    assert p.status == "unmapped"
    assert p.status_raw == "Blue Sky"


def test_story_types() -> None:
    model, fields = mapping.story_fields(
        {
            "id": "4",
            "workspace_id": "3",
            "title": "Build",
            "story_type": "task",
            "state": "started",
            "time_estimate_in_minutes": 600,
        },
        tenant="acme",
    )
    task = model.model_validate(fields)
    assert isinstance(task, ProjectTask)
    assert task.status == "in_progress"
    assert task.estimated_minutes == 600
    assert mapping.task_attrs(task, {"project_key": ref("3")})["state"] == "started"
    model, fields = mapping.story_fields(
        {
            "id": "5",
            "workspace_id": "3",
            "title": "Go-live",
            "story_type": "milestone",
            "due_date": "2026-03-31",
        },
        tenant="acme",
    )
    ms = model.model_validate(fields)
    assert isinstance(ms, Milestone)
    assert mapping.milestone_attrs(ms, {"project_key": ref("3")})["story_type"] == "milestone"


def test_customer_and_resource() -> None:
    c = Customer.model_validate(
        mapping.workspace_group_fields(
            {"id": "9", "name": "Acme", "email": ""},
            tenant="acme",
            custom_fields=[{"custom_field_name": "Stripe ID", "value": "cus_1"}],
        )
    )
    assert (c.name, c.email, c.extensions) == ("Acme", None, {"Stripe ID": "cus_1"})
    assert mapping.customer_attrs(c, {}) == {"name": "Acme", "company": True, "email": None}
    r = Resource.model_validate(
        mapping.user_fields(
            {"id": "2", "full_name": "Ada", "email_address": "ada@example.com"}, tenant="acme"
        )
    )
    assert r.active
    assert r.email == "ada@example.com"
    assert mapping.resource_attrs(r, {}) == {"full_name": "Ada", "email_address": "ada@example.com"}


def test_invoice_balance_in_base_units() -> None:
    from erpsa_sdk.models import Invoice

    inv = Invoice.model_validate(
        mapping.invoice_fields(
            {
                "id": "10",
                "workspace_id": "3",
                "invoice_date": "2026-01-31",
                "due_date": "2026-03-02",
                "status": "accepted payment",
                "balance_in_cents": 50000,
                "currency": "JPY",
                "currency_base_unit": 1,
                "user_invoice_number": 19049,
            },
            tenant="acme",
            customer_key="9",
        )
    )
    assert inv.total == Money("50000", "JPY")
    assert inv.status == "paid"
    assert inv.number == "19049"
    assert inv.subtotal + inv.tax_total - inv.discount_total == inv.total
    assert Decimal(inv.total.amount) == Decimal(50000)
