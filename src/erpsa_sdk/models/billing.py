"""Billing and revenue: :class:`Invoice` with :class:`InvoiceLine`, and :class:`RevenueEvent`.

Examples:
    >>> from datetime import date
    >>> from decimal import Decimal
    >>> from erpsa_sdk.models import Money
    >>> inv = Invoice.from_lines(key="inv1", customer_key="c1", currency="USD",
    ...     invoice_date=date(2026, 11, 30),
    ...     lines=[InvoiceLine(description="Consulting", quantity=Decimal("7.5"),
    ...                        unit_price=Money("150", "USD"), amount=Money("1125", "USD"))],
    ...     tax_total=Money("90", "USD"))
    >>> inv.total, inv.warnings
    (Money('1215.00', 'USD'), ())
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from erpsa_sdk.models._base import (
    CanonicalModel,
    Currency,
    Key,
    Part,
    RuleWarning,
    check_currency,
    check_range,
)
from erpsa_sdk.models.money import Money, _to_decimal

__all__ = [
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "LineKind",
    "RecognitionMethod",
    "RevenueEvent",
    "RevenueStatus",
]


class LineKind(StrEnum):
    """What an invoice line bills.

    Examples:
        >>> LineKind("time")
        <LineKind.TIME: 'time'>
    """

    TIME = "time"
    EXPENSE = "expense"
    FIXED_FEE = "fixed_fee"
    MILESTONE = "milestone"
    RETAINER = "retainer"
    OTHER = "other"


class InvoiceLine(Part):
    """One line of an invoice.

    ``amount`` is carried as the source states it; ``expected_amount()`` recomputes
    ``quantity × unit_price`` only to check it (a warning on the invoice when they differ).

    Examples:
        >>> line = InvoiceLine(description="Design", quantity=Decimal("2"),
        ...                    unit_price=Money("100", "USD"), amount=Money("200", "USD"))
        >>> line.expected_amount() == line.amount
        True
    """

    line_number: int | None = Field(default=None, ge=1)
    kind: LineKind = LineKind.TIME
    description: str = ""
    quantity: Decimal = Decimal(1)
    unit_price: Money | None = None
    amount: Money
    tax: Money | None = None
    project_key: Key | None = None
    task_key: Key | None = None
    source_keys: tuple[Key, ...] = ()

    @field_validator("quantity", mode="before")
    @classmethod
    def _exact_quantity(cls, value: object) -> Decimal:
        if isinstance(value, float):
            raise ValueError(f"quantity {value!r} is a float; pass a Decimal or a decimal string")
        return _to_decimal(value)

    def expected_amount(self, *, rounding: str = ROUND_HALF_UP) -> Money | None:
        """``quantity × unit_price`` rounded once, or ``None`` without a unit price.

        Examples:
            >>> InvoiceLine(amount=Money(1, "USD")).expected_amount() is None
            True
        """
        if self.unit_price is None:
            return None
        return self.unit_price.multiply(self.quantity, rounding=rounding)


class InvoiceStatus(StrEnum):
    """Lifecycle of an invoice.

    Examples:
        >>> InvoiceStatus.RELEASED.value
        'released'
    """

    DRAFT = "draft"
    APPROVED = "approved"
    RELEASED = "released"
    POSTED = "posted"
    PAID = "paid"
    VOID = "void"
    UNMAPPED = "unmapped"


class Invoice(CanonicalModel):
    """A customer invoice: lines and the totals the source states.

    Structural: every amount (lines, totals) is in the invoice currency; due date is not before
    the invoice date. Business: ``total == subtotal + tax_total - discount_total``, subtotal ==
    sum of line amounts, each line's ``quantity × unit_price`` equals its amount, known status.

    Examples:
        >>> usd = lambda a: Money(a, "USD")
        >>> inv = Invoice(key="i1", customer_key="c1", currency="USD",
        ...               invoice_date=date(2026, 11, 30), subtotal=usd(100), tax_total=usd(8),
        ...               discount_total=usd(0), total=usd(110))
        >>> [w.code for w in inv.warnings]
        ['total_mismatch']
    """

    object_type: ClassVar[str] = "invoice"
    _status_fields = {"status": (InvoiceStatus, "status_raw")}  # noqa: RUF012

    customer_key: Key
    project_key: Key | None = None
    contract_key: Key | None = None
    legal_entity_key: Key | None = None
    number: str | None = None
    currency: Currency
    invoice_date: date
    due_date: date | None = None
    status: InvoiceStatus = InvoiceStatus.DRAFT
    status_raw: str | None = None
    lines: tuple[InvoiceLine, ...] = ()
    subtotal: Money
    tax_total: Money
    discount_total: Money
    total: Money

    @model_validator(mode="after")
    def _structure(self) -> Invoice:
        check_range(self.invoice_date, self.due_date, "invoice due date")
        for name in ("subtotal", "tax_total", "discount_total", "total"):
            check_currency(getattr(self, name), self.currency, name)
        for index, line in enumerate(self.lines):
            for part in ("amount", "unit_price", "tax"):
                check_currency(getattr(line, part), self.currency, f"line {index} {part}")
        return self

    @classmethod
    def from_lines(
        cls,
        *,
        lines: Sequence[InvoiceLine],
        currency: str,
        tax_total: Money | None = None,
        discount_total: Money | None = None,
        **fields: Any,
    ) -> Invoice:
        """Build an invoice whose subtotal and total are computed from ``lines`` (exact sums).

        Examples:
            >>> Invoice.from_lines(key="i1", customer_key="c1", currency="JPY",
            ...     invoice_date=date(2026, 11, 30),
            ...     lines=[InvoiceLine(amount=Money(1000, "JPY"))] * 3).total
            Money('3000', 'JPY')
        """
        zero = Money.zero(currency)
        subtotal = Money.sum((line.amount for line in lines), currency)
        tax = tax_total if tax_total is not None else zero
        discount = discount_total if discount_total is not None else zero
        return cls(
            lines=tuple(lines),
            currency=currency,
            subtotal=subtotal,
            tax_total=tax,
            discount_total=discount,
            total=subtotal + tax - discount,
            **fields,
        )

    def business_warnings(self) -> list[RuleWarning]:
        """Totals that do not add up, lines whose amount is not quantity × price.

        Examples:
            >>> Invoice.from_lines(key="i1", customer_key="c1", currency="USD",
            ...     invoice_date=date(2026, 11, 30), lines=[]).business_warnings()
            []
        """
        result = []
        expected_total = self.subtotal + self.tax_total - self.discount_total
        if self.total != expected_total:
            result.append(
                RuleWarning(
                    code="total_mismatch",
                    field="total",
                    message=f"total {self.total} != subtotal + tax - discount = {expected_total}",
                )
            )
        if self.lines:
            line_sum = Money.sum((line.amount for line in self.lines), self.currency)
            if line_sum != self.subtotal:
                result.append(
                    RuleWarning(
                        code="subtotal_mismatch",
                        field="subtotal",
                        message=f"subtotal {self.subtotal} != sum of lines {line_sum}",
                    )
                )
        for index, line in enumerate(self.lines):
            expected = line.expected_amount()
            if expected is not None and expected != line.amount:
                result.append(
                    RuleWarning(
                        code="line_amount_mismatch",
                        field=f"lines.{index}",
                        message=f"line {index}: {line.quantity} x {line.unit_price} = {expected}, "
                        f"amount is {line.amount}",
                    )
                )
        return result


class RecognitionMethod(StrEnum):
    """How revenue is recognised.

    Examples:
        >>> RecognitionMethod("percent_complete")
        <RecognitionMethod.PERCENT_COMPLETE: 'percent_complete'>
    """

    AS_BILLED = "as_billed"
    TIME_AND_MATERIALS = "time_and_materials"
    PERCENT_COMPLETE = "percent_complete"
    MILESTONE = "milestone"
    STRAIGHT_LINE = "straight_line"
    UNMAPPED = "unmapped"


class RevenueStatus(StrEnum):
    """Whether a revenue event is pending, posted to the ledger or reversed.

    Examples:
        >>> RevenueStatus.POSTED.value
        'posted'
    """

    PENDING = "pending"
    POSTED = "posted"
    REVERSED = "reversed"
    UNMAPPED = "unmapped"


class RevenueEvent(CanonicalModel):
    """Revenue recognised for a project in a period (a negative amount reverses).

    Examples:
        >>> RevenueEvent(key="rev1", project_key="p1", recognition_date=date(2026, 11, 30),
        ...              amount=Money("1125", "USD"), method="time_and_materials").status
        <RevenueStatus.PENDING: 'pending'>
    """

    object_type: ClassVar[str] = "revenue_event"
    _status_fields = {  # noqa: RUF012
        "status": (RevenueStatus, "status_raw"),
        "method": (RecognitionMethod, "method_raw"),
    }

    project_key: Key
    contract_key: Key | None = None
    legal_entity_key: Key | None = None
    recognition_date: date
    period_start: date | None = None
    period_end: date | None = None
    amount: Money
    method: RecognitionMethod
    method_raw: str | None = None
    status: RevenueStatus = RevenueStatus.PENDING
    status_raw: str | None = None
    source_document_key: Key | None = None

    @model_validator(mode="after")
    def _structure(self) -> RevenueEvent:
        check_range(self.period_start, self.period_end, "revenue period")
        return self
