"""`erpsa demo`: the Kantata -> NetSuite / Dynamics 365 dual run, and the invoice example."""

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
    result = CliRunner().invoke(app, ["demo", "--invoice"])
    assert result.exit_code == 0, result.output
    assert "INV-2026-11-001" in result.output
    assert "12425.34 USD" in result.output


def test_demo_json_is_a_valid_invoice() -> None:
    result = CliRunner().invoke(app, ["demo", "--invoice", "--json"])
    assert result.exit_code == 0
    invoice = Invoice.model_validate_json(result.output)
    assert invoice == build_demo_invoice()[0]


def test_demo_json_has_the_keys_the_issue_lists() -> None:
    import json

    result = CliRunner().invoke(app, ["demo", "--json", "--weeks", "2"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    for key in ("reconciliation", "missing_at_target", "duplicates_at_target",
                "unexpected_at_target"):  # fmt: skip
        assert key in summary
    assert isinstance(summary["reconciliation"]["mismatches"], int)
    for pipeline in summary["pipelines"].values():
        for key in ("seeded", "expected_at_target", "skipped_unsupported", "dead_letters"):
            assert key in pipeline
        assert all({"source_id", "reason"} <= set(d) for d in pipeline["dead_letters"])
