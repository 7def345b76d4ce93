"""``erpsa demo``: a firm synced from Kantata to NetSuite and Dynamics 365, checked, offline.

It seeds the Kantata simulator with a professional services firm, runs Kantata → NetSuite and
Kantata → Dynamics 365 (a dual run) under faults with planted bad records, a mid-run edit and
two deletions, then prints counts, dead letters by owner, reconciliation, the dual-run diff and
one record's lineage (``--json``: one JSON object computed by an independent checker).
``erpsa demo --invoice`` prints the canonical-model invoice example instead.

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
        bool, typer.Option("--json", help="Print one JSON summary object (for piping).")
    ] = False,
    invoice: Annotated[
        bool, typer.Option("--invoice", help="Print the invoice example instead.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the firm and the faults.")] = 7,
    weeks: Annotated[int, typer.Option(help="Weeks of time and expenses.")] = 6,
) -> None:
    """Sync a seeded firm from Kantata to NetSuite and Dynamics 365 on simulators and check it.

    Exit code 0 when the checker finds nothing missing, duplicated or unexpected and
    reconciliation has no mismatch; 1 otherwise.

    Examples:
        >>> from typer.testing import CliRunner
        >>> from erpsa_sdk.cli import app
        >>> result = CliRunner().invoke(app, ["demo", "--invoice", "--json"])
        >>> '"total"' in result.output
        True
    """
    if invoice:
        _invoice(json_only)
        return
    import json
    import logging

    from rich.console import Console
    from rich.table import Table

    from erpsa_sdk.demo import run_drills, run_scenario, summarize

    logging.getLogger("erpsa_sdk").setLevel(logging.ERROR)
    console = Console(stderr=json_only)
    with console.status("Seeding Kantata and running both pipelines under faults..."):
        run = run_scenario(seed=seed, weeks=weeks)
        summary = summarize(run)
        summary["drills"] = run_drills(run)
    clean = (
        summary["missing_at_target"] == 0
        and summary["duplicates_at_target"] == 0
        and summary["unexpected_at_target"] == 0
        and summary["reconciliation"]["mismatches"] == 0
    )
    if json_only:
        typer.echo(json.dumps(summary, sort_keys=True, default=str))
        raise typer.Exit(0 if clean else 1)
    firm = summary["firm"]
    console.print(
        f"[bold]Firm[/]: {firm['legal_entities']} legal entities, {firm['customers']} customers, "
        f"{firm['projects']} projects, {firm['consultants']} consultants, {firm['weeks']} weeks "
        f"({firm['time_entries']} time entries, {firm['expenses']} expenses)"
    )
    table = Table(title="Pipelines (checker: seeded -> expected -> landed)")
    for col in ("pipeline", "type", "seeded", "dead letters", "skipped", "expected", "landed"):
        table.add_column(col, justify="left" if col in ("pipeline", "type") else "right")
    for name, p in summary["pipelines"].items():
        for type_name, seeded in p["seeded"].items():
            expected = p["expected_at_target"][type_name]
            table.add_row(
                name, type_name, str(seeded),
                str(seeded - expected - p["skipped_unsupported"].get(type_name, 0)),
                str(p["skipped_unsupported"].get(type_name, 0)), str(expected),
                str(p["landed_at_target"].get(type_name, 0)),
            )  # fmt: skip
    console.print(table)
    faults = Table(title="Runs and faults")
    for col in ("pipeline", "runs", "requests", "faults injected", "linked", "written"):
        faults.add_column(col, justify="right" if col != "pipeline" else "left")
    for name, p in summary["pipelines"].items():
        c = p["counts"]
        written = sum(c.get(k, 0) for k in ("created", "updated", "upserted", "deleted"))
        faults.add_row(name, str(p["runs"]), str(p["requests"]), str(p["faults_injected"]),
                       str(c.get("linked", 0)), str(written))  # fmt: skip
    console.print(faults)
    letters = Table(title="Dead letters by owner")
    for col in ("pipeline", "owner", "reason", "source id"):
        letters.add_column(col)
    for name, p in summary["pipelines"].items():
        for letter in p["dead_letters"]:
            letters.add_row(name, letter["owner"], letter["reason"], letter["source_id"])
    console.print(letters)
    rec = Table(title="Reconciliation by legal entity (source = target)")
    for col in ("pipeline", "legal entity", "currency", "records", "minutes", "amount",
                "parked", "mismatches"):  # fmt: skip
        rec.add_column(col, justify="left" if col in ("pipeline", "legal entity") else "right")
    for run_ in run.pipelines:
        if run_.reconciliation is None:
            continue
        for g in run_.reconciliation.by_legal_entity().values():
            rec.add_row(
                run_.name, g.group[0], g.group[2], f"{g.source_count}/{g.target_count}",
                f"{g.source_minutes}/{g.target_minutes}", f"{g.source_amount}/{g.target_amount}",
                str(g.parked), str(g.mismatches),
            )  # fmt: skip
    console.print(rec)
    dual = summary["dual_run_diff"]
    if dual:
        console.print(
            f"[bold]Dual-run diff[/] {dual['a']} vs {dual['b']}: {dual['differences']} "
            "record(s) differ"
        )
        for row in dual["records"][:10]:
            console.print(f"  {row['kind']:<10} {row['entity_key']}")
    lineage = summary["lineage"]
    if lineage:
        console.print(f"[bold]Lineage[/] of the edited time entry {lineage['source_id']}:")
        for step in lineage["steps"]:
            console.print(
                f"  {step.get('at', ''):<34} {step['target']:<40} {step['kind']:<8} "
                f"{step['status']:<10} {step.get('target_id', '')}"
            )
    drills = summary["drills"]
    if drills:
        console.print(f"[bold]Reconciliation drill[/] on {drills['pipeline']} (behind the "
                      "runner's back, and after the Kantata event feed expired):")  # fmt: skip
        for m in drills["found"]:
            console.print(f"  {m['kind']:<20} {m['entity_key']}  ({m['detail']})")
    for key, why in summary["not_reconciled"].items():
        console.print(f"[yellow]not reconciled[/] {key}: {why}")
    console.print(
        f"missing {summary['missing_at_target']}, duplicates {summary['duplicates_at_target']}, "
        f"unexpected {summary['unexpected_at_target']}, reconciliation mismatches "
        f"{summary['reconciliation']['mismatches']} - {summary['seconds']} s"
    )
    raise typer.Exit(0 if clean else 1)


def _invoice(json_only: bool) -> None:
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
