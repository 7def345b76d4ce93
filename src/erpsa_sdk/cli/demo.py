"""``erpsa demo``: the canonical model at work, offline, in well under a second.

It builds a consulting invoice from a week of time entries: exact minutes, dated bill rates,
``Money × Decimal`` rounded once per line, totals that add up, and prints the invoice (Rich)
and its JSON.

Examples:
    >>> invoice, entries = build_demo_invoice()
    >>> invoice.total, len(entries)
    (Money('12425.34', 'USD'), 10)
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import typer

from erpsa_sdk.cli._app import app

if TYPE_CHECKING:
    from erpsa_sdk.models import Invoice, TimeEntry

__all__ = ["build_demo_invoice", "demo"]

_TAX_RATE = Decimal("0.0825")
_DISCOUNT_RATE = Decimal("0.05")


def build_demo_invoice() -> tuple[Invoice, list[TimeEntry]]:
    """The demo's invoice and the approved time entries it bills (deterministic, offline).

    Examples:
        >>> invoice, _ = build_demo_invoice()
        >>> invoice.total == invoice.subtotal + invoice.tax_total - invoice.discount_total
        True
    """
    from erpsa_sdk.models import (
        Invoice,
        InvoiceLine,
        LineKind,
        Money,
        RatePeriod,
        Resource,
        SourceRef,
        TimeEntry,
    )

    monday = date(2026, 11, 2)
    team = [
        Resource(
            key="res-ada",
            name="Ada Lovelace",
            role="Principal Consultant",
            bill_rates=[RatePeriod(rate=Money("210.00", "USD"), effective_from=date(2026, 1, 1))],
        ),
        Resource(
            key="res-grace",
            name="Grace Hopper",
            role="Data Engineer",
            bill_rates=[RatePeriod(rate=Money("150.00", "USD"), effective_from=date(2026, 1, 1))],
        ),
    ]
    minutes = {"res-ada": [450, 480, 390, 510, 240], "res-grace": [480, 465, 500, 455, 35]}
    entries: list[TimeEntry] = []
    for resource in team:
        for day, duration in enumerate(minutes[resource.key]):
            work_date = monday + timedelta(days=day)
            start = datetime(work_date.year, work_date.month, work_date.day, 9, tzinfo=UTC)
            entries.append(
                TimeEntry(
                    key=f"te-{resource.key}-{day}",
                    resource_key=resource.key,
                    project_key="prj-data-platform",
                    work_date=work_date,
                    duration_minutes=duration,
                    started_at=start,
                    ended_at=start + timedelta(minutes=duration),
                    status="approved",
                    role=resource.role,
                    bill_rate=resource.bill_rate_on(work_date),
                    source_refs=[SourceRef(system="kantata", tenant="demo", id=f"{1000 + day}")],
                )
            )

    # One line per resource: exact minutes summed first, then rate x hours rounded once.
    by_resource: dict[str, list[TimeEntry]] = defaultdict(list)
    for entry in entries:
        by_resource[entry.resource_key].append(entry)
    lines = []
    for number, resource in enumerate(team, start=1):
        booked = by_resource[resource.key]
        total_minutes = sum(e.duration_minutes for e in booked)
        rate = resource.bill_rate_on(monday)
        assert rate is not None
        quantity = Decimal(total_minutes) / 60
        lines.append(
            InvoiceLine(
                line_number=number,
                kind=LineKind.TIME,
                description=f"{resource.role}: {resource.name} ({total_minutes} min)",
                quantity=quantity,
                unit_price=rate,
                amount=rate.multiply(quantity),
                project_key="prj-data-platform",
                source_keys=tuple(e.key for e in booked),
            )
        )
    subtotal = Money.sum((line.amount for line in lines), "USD")
    invoice = Invoice.from_lines(
        key="inv-2026-11-001",
        number="INV-2026-11-001",
        customer_key="cus-acme",
        project_key="prj-data-platform",
        currency="USD",
        invoice_date=date(2026, 11, 6),
        due_date=date(2026, 12, 6),
        status="approved",
        lines=lines,
        discount_total=subtotal.multiply(_DISCOUNT_RATE),
        tax_total=(subtotal - subtotal.multiply(_DISCOUNT_RATE)).multiply(_TAX_RATE),
    )
    return invoice, entries


@app.command("demo")
def demo(
    json_only: Annotated[
        bool, typer.Option("--json", help="Print only the invoice JSON (for piping).")
    ] = False,
) -> None:
    """Build a consulting invoice from a week of time entries and print it and its JSON.

    Examples:
        >>> from typer.testing import CliRunner
        >>> from erpsa_sdk.cli import app
        >>> result = CliRunner().invoke(app, ["demo", "--json"])
        >>> '"total"' in result.output
        True
    """
    invoice, entries = build_demo_invoice()
    payload = invoice.model_dump_json(indent=2)
    if json_only:
        typer.echo(payload)
        return

    from rich.console import Console
    from rich.json import JSON
    from rich.table import Table

    console = Console()
    total_minutes = sum(e.duration_minutes for e in entries)
    console.print(
        f"[bold]{len(entries)} approved time entries[/], {total_minutes} minutes "
        f"(exact integers; {Decimal(total_minutes) / 60:.2f} h for display)"
    )
    table = Table(title=f"Invoice {invoice.number} for {invoice.customer_key}")
    table.add_column("#", justify="right")
    table.add_column("Description")
    table.add_column("Hours", justify="right")
    table.add_column("Rate", justify="right")
    table.add_column("Amount", justify="right")
    for line in invoice.lines:
        table.add_row(
            str(line.line_number),
            line.description,
            f"{line.quantity:.2f}",
            str(line.unit_price),
            str(line.amount),
        )
    table.add_section()
    table.add_row("", "Subtotal", "", "", str(invoice.subtotal))
    table.add_row("", f"Discount ({_DISCOUNT_RATE:%})", "", "", str(-invoice.discount_total))
    table.add_row("", f"Tax ({_TAX_RATE:%}, ROUND_HALF_UP)", "", "", str(invoice.tax_total))
    table.add_row("", "[bold]Total[/]", "", "", f"[bold]{invoice.total}[/]")
    console.print(table)
    console.print(
        "Warnings: " + (", ".join(w.code for w in invoice.warnings) or "none (totals add up)")
    )
    console.print(JSON(payload))
