"""Invoice, InvoiceLine, RevenueEvent: one currency per document, totals checked."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from erpsa_sdk.models import Invoice, InvoiceLine, Money, RevenueEvent, RevenueStatus

amounts = st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False)


def usd(amount: object) -> Money:
    return Money(amount, "USD")  # type: ignore[arg-type]


def invoice(**fields: object) -> Invoice:
    base: dict[str, object] = {
        "key": "i1",
        "customer_key": "c1",
        "currency": "USD",
        "invoice_date": date(2026, 11, 30),
        "subtotal": usd(100),
        "tax_total": usd(8),
        "discount_total": usd(3),
        "total": usd(105),
    }
    return Invoice.model_validate({**base, **fields})


def test_totals_that_add_up_have_no_warning() -> None:
    assert invoice().warnings == ()


def test_total_mismatch_is_a_business_warning() -> None:
    assert [w.code for w in invoice(total=usd(106)).warnings] == ["total_mismatch"]


def test_lines_in_another_currency_are_structural_errors() -> None:
    line = InvoiceLine(amount=Money(100, "EUR"))
    with pytest.raises(ValidationError, match="EUR"):
        invoice(lines=[line])
    with pytest.raises(ValidationError, match="EUR"):
        invoice(tax_total=Money(8, "EUR"))


def test_due_date_before_invoice_date_is_structural() -> None:
    with pytest.raises(ValidationError, match="before start"):
        invoice(due_date=date(2026, 11, 1))


def test_line_and_subtotal_checks() -> None:
    lines = [
        InvoiceLine(quantity=Decimal(2), unit_price=usd(30), amount=usd(61)),
        InvoiceLine(amount=usd(39)),
    ]
    codes = sorted(w.code for w in invoice(lines=lines).warnings)
    assert codes == ["line_amount_mismatch"]
    codes = sorted(w.code for w in invoice(lines=lines[1:]).warnings)
    assert codes == ["subtotal_mismatch"]


def test_float_quantity_is_rejected() -> None:
    with pytest.raises(ValidationError, match="float"):
        InvoiceLine(quantity=1.5, amount=usd(1))


@given(st.lists(amounts, max_size=20), amounts, amounts)
def test_from_lines_adds_up_exactly(values: list[Decimal], tax: Decimal, discount: Decimal) -> None:
    lines = [InvoiceLine(amount=usd(v)) for v in values]
    inv = Invoice.from_lines(
        key="i",
        customer_key="c",
        currency="USD",
        invoice_date=date(2026, 1, 1),
        lines=lines,
        tax_total=usd(tax),
        discount_total=usd(discount),
    )
    assert inv.subtotal.amount == sum(values, Decimal(0))
    assert inv.total.amount == sum(values, Decimal(0)) + tax - discount
    assert inv.warnings == ()
    assert Invoice.model_validate_json(inv.model_dump_json()) == inv


def test_revenue_event_unknown_method_is_unmapped() -> None:
    rev = RevenueEvent(
        key="r",
        project_key="p",
        recognition_date=date(2026, 11, 30),
        amount=usd("-10"),
        method="POC-weighted",
        status="posted",
    )
    assert rev.method == "unmapped"
    assert rev.method_raw == "POC-weighted"
    assert rev.status is RevenueStatus.POSTED
    with pytest.raises(ValidationError):
        RevenueEvent(
            key="r",
            project_key="p",
            recognition_date=date(2026, 11, 30),
            amount=usd(1),
            method="milestone",
            period_start=date(2026, 11, 30),
            period_end=date(2026, 11, 1),
        )
