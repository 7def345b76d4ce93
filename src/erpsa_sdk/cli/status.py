"""``erpsa status CONFIG``: per pipeline, the last run, records synced, parked (waiting for a
reference), open dead letters by role and the reconciliation state.

Examples:
    >>> from typer.testing import CliRunner
    >>> from erpsa_sdk.cli import app
    >>> CliRunner().invoke(app, ["status", "--help"]).exit_code
    0
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import typer

from erpsa_sdk.cli._app import app
from erpsa_sdk.cli._ops import ConfigArg, JsonOpt, PipelinesOpt
from erpsa_sdk.cli.sync import EXIT_CONFIG, _load_or_exit

__all__ = ["pipeline_status", "status_command"]

_SYNCED = ("created", "updated", "upserted", "unchanged", "deleted", "reversed", "linked")


def pipeline_status(store: Any, name: str, types: list[str] | None = None) -> dict[str, Any]:
    """What ``erpsa status`` shows for one pipeline, from the state store alone.

    Examples:
        >>> from erpsa_sdk.sync import SQLiteStateStore
        >>> pipeline_status(SQLiteStateStore(":memory:"), "p")["last_run"] is None
        True
    """
    from erpsa_sdk.cli.reconcile import HISTORY_SUFFIX
    from erpsa_sdk.sync.reconcile import open_dead_letters

    runs = store.runs(name, limit=1)
    last = runs[0] if runs else None
    try:
        from erpsa_sdk.sync.deadletters import DeadLetterQueue

        letters = DeadLetterQueue(store, name).letters(status="open")
        by_role = Counter(letter.owner for letter in letters)
    except Exception:  # a store without dead-letter states
        by_role = Counter(d.owner for d in store.dead_letters(name, limit=100_000))
    rec = store.runs(f"{name}{HISTORY_SUFFIX}", limit=1)
    # Records waiting for a reference now (they become dead letters after a few runs).
    waiting = sum(len(store.waiting(name, stream)) for stream in types or ())
    return {
        "pipeline": name,
        "last_run": None
        if last is None
        else {
            "status": last.status,
            "started_at": str(last.started_at),
            "finished_at": str(last.finished_at),
            "message": last.message,
        },
        "records_synced": sum((last.stats or {}).get(k, 0) for k in _SYNCED) if last else 0,
        "read": (last.stats or {}).get("read", 0) if last else 0,
        "parked": waiting,
        "dead_letters": dict(sorted(by_role.items())),
        "open_dead_letters": len(open_dead_letters(store, name)),
        "reconciliation": None
        if not rec
        else {
            "state": rec[0].status,
            "at": str(rec[0].finished_at or rec[0].started_at),
            "mismatches": (rec[0].stats or {}).get("mismatches", 0),
        },
    }


@app.command("status")
def status_command(
    config_path: ConfigArg, pipeline: PipelinesOpt = None, as_json: JsonOpt = False
) -> None:
    """Summarise each pipeline: last run, synced, parked, dead letters by role, reconciliation.

    Examples:
        >>> from typer.testing import CliRunner
        >>> from erpsa_sdk.cli import app
        >>> refused = CliRunner().invoke(app, ["status", "/nonexistent.toml"])  # nothing runs
        >>> refused.exit_code
        2
    """
    from erpsa_sdk.errors import ConfigurationError
    from erpsa_sdk.mapping import open_store

    config = _load_or_exit(config_path)
    try:
        names = pipeline or [p.name for p in config.pipelines]
        for n in names:
            config.pipeline(n)
        store = open_store(config)
    except ConfigurationError as exc:
        typer.echo(f"configuration refused:\n{exc.message}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    rows = [pipeline_status(store, n, list(config.pipeline(n).types)) for n in names]
    if as_json:
        typer.echo(json.dumps(rows, sort_keys=True))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Pipelines")
    for col in ("pipeline", "last run", "finished", "synced", "parked", "dead letters by role",
                "reconciliation"):  # fmt: skip
        table.add_column(col, overflow="fold")
    for r in rows:
        last = r["last_run"]
        rec = r["reconciliation"]
        table.add_row(
            r["pipeline"],
            last["status"] if last else "never",
            last["finished_at"] if last else "",
            str(r["records_synced"]),
            str(r["parked"]),
            ", ".join(f"{k} {v}" for k, v in r["dead_letters"].items()) or "none",
            "never" if rec is None else f"{rec['state']} ({rec['mismatches']}) {rec['at']}",
        )
    Console().print(table)
