"""`erpsa demo`: an invoice from time entries, printed and as JSON."""

from __future__ import annotations

from typer.testing import CliRunner

from erpsa_sdk.cli import app
from erpsa_sdk.cli.demo import build_demo_invoice
from erpsa_sdk.models import Invoice, Money


def test_demo_invoice_adds_up() -> None:
    invoice, entries = build_demo_invoice()
    assert invoice.warnings == ()
    assert all(e.status == "approved" for e in entries)
    billed = sum(e.bill_amount() for e in entries)
    # Rounding once per line (exact minutes summed first) equals the per-entry exact sum here
    # because every line's hours are exact; the totals add up to the cent.
    assert Money.sum((line.amount for line in invoice.lines), "USD") == invoice.subtotal
    assert billed == invoice.subtotal
    assert invoice.total == Money("12425.34", "USD")


def test_demo_prints_the_invoice_and_its_json() -> None:
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "INV-2026-11-001" in result.output
    assert "12425.34 USD" in result.output


def test_demo_json_is_a_valid_invoice() -> None:
    result = CliRunner().invoke(app, ["demo", "--json"])
    assert result.exit_code == 0
    invoice = Invoice.model_validate_json(result.output)
    assert invoice == build_demo_invoice()[0]
