"""``erpsa reconcile CONFIG``: source against target, by legal entity, project and currency.

Prints counts and control totals (minutes, amounts) per group and names the records behind
every mismatch. Exit code ``0`` when every pipeline balances, ``1`` on a mismatch (or when a
pipeline has nothing that both sides can read, so nothing could be compared), ``2`` when the
configuration was refused. The outcome is kept in the run history (``erpsa status``).

Examples:
    >>> from typer.testing import CliRunner
    >>> from erpsa_sdk.cli import app
    >>> CliRunner().invoke(app, ["reconcile", "--help"]).exit_code
    0
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Annotated, Any

import typer

from erpsa_sdk.cli._app import app
from erpsa_sdk.cli._ops import EXIT_MISMATCH, ConfigArg, JsonOpt, PipelinesOpt, open_runners

__all__ = ["reconcile_command", "record_outcome"]

#: Suffix of the run-history entries that keep reconciliation outcomes.
HISTORY_SUFFIX = "#reconcile"


def record_outcome(store: Any, result: Any) -> None:
    """Keep a reconciliation's outcome in the run history of ``<pipeline>#reconcile``.

    Examples:
        >>> from erpsa_sdk.sync import SQLiteStateStore
        >>> from erpsa_sdk.sync.reconcile import Reconciliation
        >>> store = SQLiteStateStore(":memory:")
        >>> record_outcome(store, Reconciliation("p"))
        >>> store.runs("p#reconcile")[0].status
        'not_compared'
    """
    from erpsa_sdk.sync import RunRecord

    name = f"{result.pipeline}{HISTORY_SUFFIX}"
    lease = store.acquire_lease(name, holder="erpsa-reconcile", ttl=60)
    try:
        run_id = uuid.uuid4().hex
        store.start_run(lease, RunRecord(run_id, name, "erpsa-reconcile", "running"))
        store.finish_run(
            run_id,
            status=_state(result),
            stats={"mismatches": len(result.mismatches), "parked": result.parked},
        )
    finally:
        store.release_lease(lease)


def _state(result: Any) -> str:
    if not result.compared:
        return "not_compared"
    return "balanced" if result.ok else "mismatch"


@app.command("reconcile")
def reconcile_command(
    config_path: ConfigArg,
    pipeline: PipelinesOpt = None,
    start: Annotated[
        str | None, typer.Option("--from", help="First day of the period (YYYY-MM-DD).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day of the period (YYYY-MM-DD).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare source and target of each pipeline; name every record behind a mismatch.

    Examples:
        >>> from typer.testing import CliRunner
        >>> from erpsa_sdk.cli import app
        >>> refused = CliRunner().invoke(app, ["reconcile", "/nonexistent.toml"])  # nothing runs
        >>> refused.exit_code
        2
    """
    from rich.console import Console
    from rich.table import Table

    from erpsa_sdk.sync.reconcile import reconcile

    period = None
    if start or end:
        try:
            period = (date.fromisoformat(start or "0001-01-01"),
                      date.fromisoformat(end or "9999-12-31"))  # fmt: skip
        except ValueError as exc:
            typer.echo(f"bad period: {exc}", err=True)
            raise typer.Exit(2) from None
    _, store, runners = open_runners(config_path, pipeline)
    console = Console()
    results = []
    for runner in runners:
        result = reconcile(runner.pipeline, store, period=period, policy=runner.policy)
        record_outcome(store, result)
        results.append(result)
        if as_json:
            continue
        table = Table(title=f"{result.pipeline}: source / target")
        for col in ("legal entity", "project", "currency", "records", "minutes", "amount",
                    "parked", "mismatches"):  # fmt: skip
            table.add_column(col, justify="left" if col in ("legal entity", "project") else "right")
        for g in result.groups:
            table.add_row(
                g.group[0], g.group[1], g.group[2], f"{g.source_count} / {g.target_count}",
                f"{g.source_minutes} / {g.target_minutes}",
                f"{g.source_amount} / {g.target_amount}", str(g.parked), str(g.mismatches),
                style=None if g.balanced else "bold red",
            )  # fmt: skip
        console.print(table)
        for m in result.mismatches:
            console.print(
                f"  [red]{m.kind}[/] {m.object_type} source {m.source_id or '-'} "
                f"target {m.target_id or '-'} ({m.detail})  {m.entity_key}"
            )
        for type_name, why in result.skipped.items():
            console.print(f"  [yellow]not compared[/] {type_name}: {why}")
        for type_name, n in result.unreadable.items():
            console.print(f"  [yellow]unreadable[/] {n} {type_name} row(s) at the target")
        console.print(
            f"{result.pipeline}: {_state(result).upper().replace('_', ' ')} "
            f"({len(result.mismatches)} mismatch(es), {result.parked} parked; compared: "
            f"{', '.join(result.compared) or 'nothing'})"
        )
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in results], sort_keys=True))
    if any(_state(r) != "balanced" for r in results):
        raise typer.Exit(EXIT_MISMATCH)
