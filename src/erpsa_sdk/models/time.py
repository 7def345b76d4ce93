"""Time and expenses: :class:`TimeEntry` (exact whole minutes) and :class:`Expense`.

Examples:
    >>> from datetime import date
    >>> e = TimeEntry(key="t1", resource_key="r1", project_key="p1", work_date=date(2026, 11, 2),
    ...               duration_minutes=90, status="approved")
    >>> e.hours
    Decimal('1.50')
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field, model_validator

from erpsa_sdk.models._base import (
    CanonicalModel,
    Key,
    Minutes,
    RuleWarning,
    check_currency,
    check_range,
)
from erpsa_sdk.models.money import Money, _vendor_number

__all__ = [
    "MINUTES_PER_DAY",
    "Expense",
    "ExpenseStatus",
    "TimeEntry",
    "TimeEntryStatus",
    "exact_minutes",
]

#: The business limit of one time entry (24 h); longer entries get a warning.
MINUTES_PER_DAY = 24 * 60


def exact_minutes(
    value: object, *, unit: Literal["minutes", "hours"] = "minutes", rounding: str | None = None
) -> int:
    """Whole minutes from a vendor duration, exactly; fractional minutes raise ``ValueError``.

    A pipeline that accepts rounding passes a :mod:`decimal` rounding mode. Vendor JSON numbers
    are read through their shortest text, so ``1.1`` hours is 66 minutes, not 65.99...

    Examples:
        >>> exact_minutes(34), exact_minutes("1.5", unit="hours"), exact_minutes(1.1, unit="hours")
        (34, 90, 66)
        >>> exact_minutes(0.3333, unit="hours")
        Traceback (most recent call last):
        ...
        ValueError: 0.3333 hours is 19.998 minutes, not a whole number; set a rounding rule
        >>> exact_minutes(0.3333, unit="hours", rounding="ROUND_HALF_UP")
        20
    """
    amount = _vendor_number(value)
    minutes = amount * 60 if unit == "hours" else amount
    if minutes != minutes.to_integral_value():
        if rounding is None:
            shown = (
                f"{value} hours is {minutes.normalize()} minutes"
                if unit == "hours"
                else (f"{value} minutes")
            )
            raise ValueError(f"{shown}, not a whole number; set a rounding rule")
        minutes = minutes.to_integral_value(rounding=rounding)
    return int(minutes)


class TimeEntryStatus(StrEnum):
    """Lifecycle of a time entry; ``UNMAPPED`` when the source status is unknown.

    Examples:
        >>> TimeEntryStatus("submitted")
        <TimeEntryStatus.SUBMITTED: 'submitted'>
    """

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    POSTED = "posted"
    UNMAPPED = "unmapped"


class TimeEntry(CanonicalModel):
    """Time a resource worked on a project, in exact whole minutes.

    ``duration_minutes`` is an ``int`` (every first vendor stores minutes); fractional minutes
    are rejected. ``hours`` is derived for display only. Timestamps must be timezone-aware.

    Structural: aware ``started_at`` / ``ended_at``, end >= start, rates are Money.
    Business: more than 24 h in one entry, an unknown status.

    Examples:
        >>> from datetime import datetime, timezone
        >>> e = TimeEntry(key="t1", resource_key="r1", project_key="p1",
        ...               work_date=date(2026, 11, 2), duration_minutes=1500, status="Locked")
        >>> e.status, e.status_raw, sorted(w.code for w in e.warnings)
        (<TimeEntryStatus.UNMAPPED: 'unmapped'>, 'Locked', ['over_24h', 'unknown_status'])
        >>> TimeEntry(key="t2", resource_key="r1", project_key="p1", work_date=date(2026, 11, 2),
        ...           duration_minutes=30, started_at=datetime(2026, 11, 2, 9))
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for TimeEntry
        ...
    """

    object_type: ClassVar[str] = "time_entry"
    _status_fields = {"status": (TimeEntryStatus, "status_raw")}  # noqa: RUF012

    resource_key: Key
    project_key: Key
    task_key: Key | None = None
    assignment_key: Key | None = None
    work_date: date
    duration_minutes: Minutes
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    billable: bool = True
    status: TimeEntryStatus = TimeEntryStatus.DRAFT
    status_raw: str | None = None
    description: str | None = None
    role: str | None = None
    bill_rate: Money | None = None
    cost_rate: Money | None = None
    submitted_at: AwareDatetime | None = None
    approved_at: AwareDatetime | None = None
    timesheet_key: Key | None = None

    @model_validator(mode="after")
    def _structure(self) -> TimeEntry:
        check_range(self.started_at, self.ended_at, "time entry")
        return self

    @property
    def hours(self) -> Decimal:
        """Duration in hours for display, to two places (``90`` minutes -> ``1.50``).

        Examples:
            >>> TimeEntry(key="t", resource_key="r", project_key="p", work_date=date(2026, 1, 1),
            ...           duration_minutes=20).hours
            Decimal('0.33')
        """
        return (Decimal(self.duration_minutes) / 60).quantize(Decimal("0.01"), ROUND_HALF_UP)

    def bill_amount(self, rate: Money | None = None, *, rounding: str = ROUND_HALF_UP) -> Money:
        """``rate × minutes / 60``, rounded once to the currency's minor units.

        Uses the exact minutes (never the rounded ``hours``). ``rate`` defaults to ``bill_rate``.

        Examples:
            >>> TimeEntry(key="t", resource_key="r", project_key="p", work_date=date(2026, 1, 1),
            ...           duration_minutes=20).bill_amount(Money("150.00", "USD"))
            Money('50.00', 'USD')
        """
        rate = rate or self.bill_rate
        if rate is None:
            raise ValueError(f"time entry {self.key!r} has no bill rate")
        return rate.multiply(Decimal(self.duration_minutes) / 60, rounding=rounding)

    def business_warnings(self) -> list[RuleWarning]:
        """More than 24 hours in one entry.

        Examples:
            >>> TimeEntry(key="t", resource_key="r", project_key="p", work_date=date(2026, 1, 1),
            ...           duration_minutes=480).business_warnings()
            []
        """
        if self.duration_minutes > MINUTES_PER_DAY:
            return [
                RuleWarning(
                    code="over_24h",
                    field="duration_minutes",
                    message=f"{self.duration_minutes} minutes in one entry",
                )
            ]
        return []


class ExpenseStatus(StrEnum):
    """Lifecycle of an expense.

    Examples:
        >>> ExpenseStatus.REIMBURSED.value
        'reimbursed'
    """

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    POSTED = "posted"
    REIMBURSED = "reimbursed"
    UNMAPPED = "unmapped"


class Expense(CanonicalModel):
    """An expense a resource incurred on a project.

    Structural: ``tax`` and ``billable_amount`` share the currency of ``amount``.
    Business: a negative amount, an unknown status.

    Examples:
        >>> x = Expense(key="x1", resource_key="r1", project_key="p1",
        ...             expense_date=date(2026, 11, 3), category="Travel",
        ...             amount=Money("412.50", "EUR"), status="approved")
        >>> x.amount
        Money('412.50', 'EUR')
    """

    object_type: ClassVar[str] = "expense"
    _status_fields = {"status": (ExpenseStatus, "status_raw")}  # noqa: RUF012

    resource_key: Key
    project_key: Key
    task_key: Key | None = None
    expense_date: date
    category: str = Field(min_length=1)
    amount: Money
    tax: Money | None = None
    billable_amount: Money | None = None
    billable: bool = True
    reimbursable: bool = True
    status: ExpenseStatus = ExpenseStatus.DRAFT
    status_raw: str | None = None
    description: str | None = None
    receipt_ref: str | None = None

    @model_validator(mode="after")
    def _structure(self) -> Expense:
        check_currency(self.tax, self.amount.currency, "expense tax")
        check_currency(self.billable_amount, self.amount.currency, "billable amount")
        return self

    def business_warnings(self) -> list[RuleWarning]:
        """A negative amount is usually a credit booked as an expense.

        Examples:
            >>> Expense(key="x", resource_key="r", project_key="p", expense_date=date(2026, 1, 1),
            ...         category="Meals", amount=Money("-5", "USD")).warnings[0].code
            'negative_amount'
        """
        if self.amount.amount < 0:
            return [
                RuleWarning(
                    code="negative_amount",
                    field="amount",
                    message=f"expense amount {self.amount} is negative",
                )
            ]
        return []
