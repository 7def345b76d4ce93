"""``erpsa diff CONFIG A B``: two runs fed from the same source, compared record by record.

The parallel validation before a cutover: pipeline ``A`` writes to the current ERP, ``B`` to
the target ERP, from the same PSA. For each source EntityKey it compares what each target
holds (present, minutes, amount) and whether it is parked as a dead letter. With
``--dry-run``, ``B`` is replaced by a dry run of ``A`` (nothing is sent): the diff then shows
what the next run of ``A`` would change. Exit code ``0`` when nothing differs, ``1``
otherwise, ``2`` when the configuration was refused.

Examples:
    >>> from typer.testing import CliRunner
    >>> from erpsa_sdk.cli import app
    >>> CliRunner().invoke(app, ["diff", "--help"]).exit_code
    0
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from erpsa_sdk.cli._app import app
from erpsa_sdk.cli._ops import EXIT_MISMATCH, ConfigArg, JsonOpt, open_runners
from erpsa_sdk.cli.sync import EXIT_CONFIG

if TYPE_CHECKING:
    from erpsa_sdk.connector import Connector

__all__ = ["diff_command", "dry_run_states"]


def dry_run_states(runner: Any, current: dict[str, Any]) -> dict[str, Any]:
    """What the target would hold after a dry run of ``runner``'s pipeline.

    The dry run starts from a fresh in-memory store (so it writes everything it reads) and
    never sends a write; the result is ``current`` with every intended write applied.

    Examples:
        >>> dry_run_states.__name__
        'dry_run_states'
    """
    from dataclasses import replace
    from decimal import Decimal

    from erpsa_sdk.sync import Pipeline, SQLiteStateStore, SyncRunner
    from erpsa_sdk.sync.dryrun import DryRunTarget, RecordState

    p = runner.pipeline
    dry = DryRunTarget(p.target)
    pipeline = Pipeline(
        p.name, source=p.source, target=cast("Connector", dry), namespace=p.namespace,
        types=p.types,
        source_tenant=getattr(p, "source_tenant", None),
    )  # fmt: skip
    SyncRunner(
        pipeline, store=SQLiteStateStore(":memory:"), handle_signals=False,
        policy=runner.policy, validate=False,
    ).run_once()  # fmt: skip
    states = dict(current)
    for write in dry.intended:
        key = write.entity_key
        if write.operation != "upsert":
            states.pop(key, None)
            continue
        payload = write.payload or {}
        amount = (payload.get("amount") or {}).get("amount")
        old = states.get(key)
        new = RecordState(
            key.split(":")[4] if key.count(":") == 5 else write.type_name.lower(),
            old.target_id if old else None,
            payload.get("duration_minutes"),
            None if amount is None else Decimal(str(amount)),
        )
        states[key] = new if old is None else replace(old, minutes=new.minutes, amount=new.amount)
    return states


@app.command("diff")
def diff_command(
    config_path: ConfigArg,
    a: Annotated[str, typer.Argument(help="First pipeline (e.g. the current ERP).")],
    b: Annotated[str | None, typer.Argument(help="Second pipeline (e.g. the target ERP).")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compare A with a dry run of A (nothing sent).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Compare what two pipelines' targets hold, record by record (source EntityKey).

    Examples:
        >>> from typer.testing import CliRunner
        >>> from erpsa_sdk.cli import app
        >>> refused = CliRunner().invoke(app, ["diff", "/nonexistent.toml", "a", "b"])
        >>> refused.exit_code
        2
    """
    from erpsa_sdk.sync.dryrun import diff, snapshot

    if (b is None) == (not dry_run):
        typer.echo("give a second pipeline, or --dry-run (not both)", err=True)
        raise typer.Exit(EXIT_CONFIG)
    _, store, runners = open_runners(config_path, [a] if b is None else [a, b])
    first = runners[0]
    current = snapshot(first.pipeline, store)
    if dry_run:
        other = dry_run_states(first, current)
        label_b = f"{a} (dry run)"
    else:
        second = runners[1]
        if second.pipeline.source_connection != first.pipeline.source_connection:
            typer.echo(
                f"{a} and {b} read different sources ({first.pipeline.source_connection}, "
                f"{second.pipeline.source_connection}); their records cannot be paired",
                err=True,
            )
            raise typer.Exit(EXIT_CONFIG)
        other = snapshot(second.pipeline, store)
        label_b = str(b)
    rows = diff(current, other)
    if as_json:
        typer.echo(json.dumps({"a": a, "b": label_b, "differences": [r.to_dict() for r in rows]},
                              sort_keys=True))  # fmt: skip
    else:
        from rich.console import Console
        from rich.table import Table

        console = Console()
        console.print(f"{a} vs {label_b}: {len(rows)} record(s) differ", soft_wrap=True)
        table = Table()
        for col in ("kind", "type", "EntityKey", "fields (a -> b)"):
            table.add_column(col)
        for row in rows:
            fields = ", ".join(f"{k}: {x} -> {y}" for k, (x, y) in row.fields.items())
            table.add_row(row.kind, row.object_type, row.entity_key, fields)
        if rows:
            console.print(table)
    if rows:
        raise typer.Exit(EXIT_MISMATCH)
