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

import tempfile
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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

    from erpsa_sdk.demo import run_drills, run_scenario, summarize

    logging.getLogger("erpsa_sdk").setLevel(logging.ERROR)
    console = Console(stderr=json_only)
    with tempfile.TemporaryDirectory(prefix="erpsa-demo-") as workdir:
        if json_only:
            run = run_scenario(seed=seed, weeks=weeks, workdir=Path(workdir))
        else:
            run = _with_progress(console, seed, weeks, Path(workdir))
        summary = summarize(run)
        summary["drills"] = run_drills(run)
        run.store.close()
    clean = (
        summary["missing_at_target"] == 0
        and summary["duplicates_at_target"] == 0
        and summary["unexpected_at_target"] == 0
        and summary["reconciliation"]["mismatches"] == 0
    )
    if json_only:
        typer.echo(json.dumps(summary, sort_keys=True, default=str))
        raise typer.Exit(0 if clean else 1)
    _print_report(console, run, summary)
    raise typer.Exit(0 if clean else 1)


_FAULT_LABELS = {"commit_then_drop": "lost", "rate_limit": "429", "server_error": "5xx"}


def _same(a: Any, b: Any) -> str:
    return f"{a} ✓" if a == b else f"[red]{a} ≠ {b}[/]"


def _print_report(console: Any, run: Any, summary: dict[str, Any]) -> None:
    """The demo's tables: what landed, faults, dead letters, reconciliation, diff, lineage."""
    from rich.table import Table

    firm = summary["firm"]
    console.print(
        f"[bold]Firm[/] {firm['legal_entities']} legal entities, {firm['customers']} customers, "
        f"{firm['projects']} projects, {firm['consultants']} consultants, {firm['weeks']} weeks: "
        f"{firm['time_entries']} time entries, {firm['expenses']} expenses (+ planted records)"
    )
    names = {n: p["target"] for n, p in summary["pipelines"].items()}
    table = Table(title="Landed at each ERP (independent checker)")
    table.add_column("type")
    for target in names.values():
        table.add_column(f"{target}\nseeded - dead - skipped = expected: landed", justify="right")
    types = list(dict.fromkeys(t for p in summary["pipelines"].values() for t in p["seeded"]))
    for type_name in types:
        cells = []
        for p in summary["pipelines"].values():
            if type_name not in p["seeded"]:
                cells.append("linked" if type_name in p["linked_by_initial_match"] else "-")
                continue
            seeded, expected = p["seeded"][type_name], p["expected_at_target"][type_name]
            skipped = p["skipped_unsupported"].get(type_name, 0)
            dead = seeded - expected - skipped
            landed = p["landed_at_target"].get(type_name, 0)
            cells.append(f"{seeded} - {dead} - {skipped} = {expected}: {_same(landed, expected)}")
        table.add_row(type_name, *cells)
    table.add_row(
        "linked", *(", ".join(f"{k} {v}" for k, v in p["linked_by_initial_match"].items())
                    for p in summary["pipelines"].values()),
    )  # fmt: skip
    console.print(table)
    faults = Table(title="Runs under faults (429, 5xx, answers lost after commit)")
    # "lost": the ERP committed the write and the answer never arrived.
    for col in ("target", "runs", "requests", "faults", "of which", "retries", "created"):
        faults.add_column(col, justify="left" if col in ("target", "of which") else "right")
    for p in summary["pipelines"].values():
        kinds = " ".join(f"{_FAULT_LABELS.get(k, k)} {v}" for k, v in p["faults_by_kind"].items())
        share = p["faults_injected"] / max(p["requests"], 1)
        faults.add_row(p["target"], str(p["runs"]), str(p["requests"]),
                       f"{p['faults_injected']} ({share:.1%})", kinds, str(p["retries"]),
                       str(p["master_data_created_at_erp"]))  # fmt: skip
    console.print(faults)
    console.print(
        f"  Kantata reads retried {summary['source_retries']} time(s); 'created' counts master "
        "data the demo created at the ERP (subsidiaries, employees, ...): none"
    )
    letters = Table(title="Dead letters by owner (exactly the planted records)")
    for col in ("owner", "reason", "Kantata id", *names.values()):
        letters.add_column(col)
    rows: dict[tuple[str, str, str], set[str]] = {}
    for p in summary["pipelines"].values():
        for d in p["dead_letters"]:
            rows.setdefault((d["owner"], d["reason"], d["source_id"]), set()).add(p["target"])
    for (owner, reason, source_id), where in sorted(rows.items()):
        letters.add_row(owner, reason, source_id, *("✓" if t in where else "-"
                                                    for t in names.values()))  # fmt: skip
    console.print(letters)
    rec = Table(title="Reconciliation: Kantata = ERP, by legal entity")
    for col in ("target", "legal entity", "records", "minutes", "amount", "parked"):
        rec.add_column(col, justify="left" if col in ("target", "legal entity") else "right")
    for run_ in run.pipelines:
        if run_.reconciliation is None:
            continue
        for g in run_.reconciliation.by_legal_entity().values():
            entity = "(no project)" if g.group[0] == "?" else f"{g.group[0]} {g.group[2]}"
            rec.add_row(
                run_.vendor, entity, _same(g.source_count, g.target_count),
                _same(g.source_minutes, g.target_minutes),
                _same(g.source_amount, g.target_amount), str(g.parked),
            )  # fmt: skip
    console.print(rec)
    by_project = Table(title="Reconciliation by project: records, minutes (Kantata = ERP)")
    by_project.add_column("legal entity")
    by_project.add_column("project")
    per_project: dict[tuple[str, str], dict[str, str]] = {}
    for run_ in run.pipelines:
        by_project.add_column(run_.vendor, justify="right")
        for g in run_.reconciliation.groups if run_.reconciliation else ():
            if g.group[0] == "?":
                continue
            ok = "✓" if g.balanced else "[red]✗[/]"
            per_project.setdefault(g.group[:2], {})[run_.vendor] = (
                f"{g.target_count}, {g.target_minutes} {ok}"
            )
    for (entity, project), values in sorted(per_project.items()):
        by_project.add_row(entity, project, *(values.get(r.vendor, "-") for r in run.pipelines))
    console.print(by_project)
    for key, why in summary["not_reconciled"].items():
        console.print(f"  [yellow]not reconciled[/] {key}: {why}")
    dual = summary["dual_run_diff"]
    if dual:
        console.print(
            f"[bold]Dual-run diff[/] {names.get(dual['a'], dual['a'])} vs "
            f"{names.get(dual['b'], dual['b'])} ({', '.join(dual['types'])}): "
            f"{dual['differences']} record(s) differ"
        )
        for row in dual["records"][:10]:
            console.print(f"  {row['kind']:<10} {row['entity_key']}", soft_wrap=True)
    lineage = summary["lineage"]
    if lineage:
        console.print(f"[bold]Lineage[/] of the edited time entry (Kantata {lineage['source_id']})")
        canonical = lineage.get("canonical") or {}
        if canonical:
            shown = ("work_date", "duration_minutes", "status", "project_key", "resource_key")
            console.print(
                "  canonical TimeEntry: "
                + ", ".join(f"{k}={canonical[k]}" for k in shown if k in canonical),
                soft_wrap=True,
            )
        for step in lineage["steps"]:
            if step["kind"] != "ledger":
                continue
            console.print(
                f"  {step['target']}: {step['operation']} v{step['version']} -> "
                f"{step['status']} {step.get('target_id', '')} (attempts {step['attempts']})",
                soft_wrap=True,
            )
    drills = summary["drills"]
    if drills:
        console.print(
            f"[bold]Drill[/] on {names.get(drills['pipeline'], drills['pipeline'])}: changed "
            "behind the runner's back, and a source deletion after the event feed expired"
        )
        for m in drills["found"]:
            console.print(f"  [red]{m['kind']:<18}[/] {m['object_type']} "
                          f"{m['source_id'] or m['target_id']}: {m['detail']}")  # fmt: skip
    console.print(
        f"[bold]missing {summary['missing_at_target']}, duplicates "
        f"{summary['duplicates_at_target']}, unexpected {summary['unexpected_at_target']}, "
        f"mismatches {summary['reconciliation']['mismatches']}[/] in {summary['seconds']} s"
    )


def _with_progress(console: Any, seed: int, weeks: int, workdir: Path) -> Any:
    """Run the scenario with one progress bar per pipeline (records read in its runs)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from erpsa_sdk.demo import run_scenario

    columns = (TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[note]}"))  # fmt: skip
    with Progress(*columns, console=console, transient=False) as bar:
        tasks: dict[str, Any] = {}
        seen: dict[str, int] = {}

        def on_progress(run: Any, progress: Any) -> None:
            if run.name not in tasks:
                total = sum(len(v) for k, v in run_ids.items() if k in _PROGRESS_TYPES)
                tasks[run.name] = bar.add_task(run.name, total=total, note="")
                seen[run.name] = 0
            read = int(progress.counts.get("read", 0))
            if read > seen[run.name]:
                seen[run.name] = read
            bar.update(
                tasks[run.name], completed=min(seen[run.name], bar.tasks[tasks[run.name]].total
                                               or seen[run.name]),
                note=f"{progress.step}, run batch {progress.batch}",
            )  # fmt: skip

        def on_event(kind: str, data: Any) -> None:
            if kind == "seeded":
                run_ids.update(data["kantata"])
            elif kind == "mid_run":
                console.print("  mid-run: one synced entry edited, two deleted at Kantata "
                              "(one already posted at the ERPs)")  # fmt: skip
            elif kind == "run_done":
                run, report = data
                if run.name in tasks:
                    task = tasks[run.name]
                    bar.update(task, completed=bar.tasks[task].total,
                               note=f"run {len(run.reports)}: {report.status.value}")  # fmt: skip

        run_ids: dict[str, dict[str, str]] = {}
        return run_scenario(seed=seed, weeks=weeks, workdir=workdir, on_event=on_event,
                            on_progress=on_progress)  # fmt: skip


_PROGRESS_TYPES = ("Resource", "Customer", "Project", "TimeEntry", "Expense")


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
