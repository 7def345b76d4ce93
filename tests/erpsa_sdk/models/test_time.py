"""TimeEntry and Expense: exact minutes, aware timestamps, business warnings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from erpsa_sdk.models import (
    Expense,
    ExpenseStatus,
    Money,
    TimeEntry,
    TimeEntryStatus,
    exact_minutes,
)

BASE = {"resource_key": "r1", "project_key": "p1", "work_date": "2026-11-02"}


def entry(**fields: object) -> TimeEntry:
    return TimeEntry.model_validate({"key": "t1", "duration_minutes": 34, **BASE, **fields})


def test_thousand_entries_of_34_minutes_sum_to_exactly_34000_after_json() -> None:
    entries = [entry(key=f"t{i}") for i in range(1000)]
    adapter = TypeAdapter(list[TimeEntry])
    back = adapter.validate_json(adapter.dump_json(entries))
    assert back == entries
    assert sum(e.duration_minutes for e in back) == 34_000
    assert sum((e.hours for e in back), Decimal(0)) != Decimal(34000) / 60  # display only
    assert Decimal(sum(e.duration_minutes for e in back)) / 60 == Decimal(34000) / 60


@pytest.mark.parametrize("bad", [34.5, "34", True, -1, None])
def test_duration_is_an_exact_non_negative_int(bad: object) -> None:
    with pytest.raises(ValidationError):
        entry(duration_minutes=bad)


def test_hours_is_derived_for_display() -> None:
    assert entry(duration_minutes=90).hours == Decimal("1.50")
    assert entry(duration_minutes=34).hours == Decimal("0.57")


def test_bill_amount_uses_exact_minutes_not_rounded_hours() -> None:
    # 34 min at 100/h = 56.666.. -> 56.67; via rounded hours (0.57) it would be 57.00.
    e = entry(duration_minutes=34, bill_rate=Money("100", "USD"))
    assert e.bill_amount() == Money("56.67", "USD")
    with pytest.raises(ValueError, match="no bill rate"):
        entry().bill_amount()


@pytest.mark.parametrize("field", ["started_at", "ended_at", "submitted_at", "approved_at"])
def test_naive_timestamps_are_structural_errors(field: str) -> None:
    with pytest.raises(ValidationError, match="timezone"):
        entry(**{field: "2026-11-02T09:00:00"})


def test_end_before_start_is_a_structural_error() -> None:
    start = datetime(2026, 11, 2, 9, tzinfo=UTC)
    with pytest.raises(ValidationError, match="before start"):
        entry(started_at=start, ended_at=start - timedelta(minutes=1))
    assert entry(started_at=start, ended_at=start).ended_at == start


def test_more_than_24h_is_a_business_warning_not_a_rejection() -> None:
    e = entry(duration_minutes=24 * 60 + 1)
    assert [w.code for w in e.warnings] == ["over_24h"]
    assert entry(duration_minutes=24 * 60).warnings == ()


def test_unknown_status_maps_to_unmapped_keeping_the_raw_value() -> None:
    e = entry(status="Locked")
    assert e.status is TimeEntryStatus.UNMAPPED
    assert e.status_raw == "Locked"
    assert [w.code for w in e.warnings] == ["unknown_status"]
    assert entry(status="approved").status is TimeEntryStatus.APPROVED


def test_float_rate_is_rejected() -> None:
    with pytest.raises(ValidationError, match="float"):
        entry(bill_rate={"amount": 150.0, "currency": "USD"})


def test_models_are_frozen() -> None:
    with pytest.raises(ValidationError):
        entry().duration_minutes = 5  # type: ignore[misc]


@given(
    minutes=st.integers(min_value=0, max_value=5000),
    status=st.sampled_from([*TimeEntryStatus, "Locked", "APPROVED"]),
    offset=st.integers(min_value=-12, max_value=14),
)
def test_json_round_trip_preserves_everything(minutes: int, status: str, offset: int) -> None:
    start = datetime(2026, 11, 2, 9, tzinfo=UTC).astimezone(
        __import__("datetime").timezone(timedelta(hours=offset))
    )
    e = entry(
        duration_minutes=minutes,
        status=status,
        started_at=start,
        ended_at=start + timedelta(minutes=minutes),
        bill_rate=Money("99.99", "EUR"),
    )
    back = TimeEntry.model_validate_json(e.model_dump_json())
    assert back == e
    assert back.warnings == e.warnings


def test_expense_currency_rules_and_warnings() -> None:
    x = Expense(
        key="x1",
        resource_key="r",
        project_key="p",
        expense_date=date(2026, 11, 3),
        category="Travel",
        amount=Money("-10", "EUR"),
        status="Paid out",
    )
    assert x.status is ExpenseStatus.UNMAPPED
    assert x.status_raw == "Paid out"
    assert sorted(w.code for w in x.warnings) == ["negative_amount", "unknown_status"]
    with pytest.raises(ValidationError, match="USD"):
        Expense(
            key="x1",
            resource_key="r",
            project_key="p",
            expense_date=date(2026, 11, 3),
            category="Travel",
            amount=Money("10", "EUR"),
            tax=Money("1", "USD"),
        )


@pytest.mark.parametrize(
    ("value", "unit", "minutes"),
    [
        (34, "minutes", 34),
        ("34", "minutes", 34),
        (34.0, "minutes", 34),
        (1.1, "hours", 66),
        (Decimal("7.5"), "hours", 450),
        ("0.25", "hours", 15),
    ],
)
def test_exact_minutes(value: object, unit: str, minutes: int) -> None:
    assert exact_minutes(value, unit=unit) == minutes  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [34.5, "0.1", float("nan"), True, None])
def test_fractional_or_bad_minutes_are_refused_without_a_rounding_rule(value: object) -> None:
    with pytest.raises(ValueError):
        exact_minutes(value)


def test_rounding_rule_is_explicit() -> None:
    assert exact_minutes(34.5, rounding="ROUND_HALF_EVEN") == 34
    assert exact_minutes(34.5, rounding="ROUND_HALF_UP") == 35
