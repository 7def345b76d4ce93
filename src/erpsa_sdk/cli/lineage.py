"""``erpsa lineage CONFIG KEY``: a record's path from source event to target posting.

``KEY`` is a canonical EntityKey (``ek1:...``) or a source record id, optionally prefixed with
its object type (``time_entry:413``). Prints every ledger entry (WriteKey, source version,
operation, status, attempts, target id, time), every lineage row (run, correlation id) and
dead letter, at every target the record's source feeds.

Examples:
    >>> from typer.testing import CliRunner
    >>> from erpsa_sdk.cli import app
    >>> CliRunner().invoke(app, ["lineage", "--help"]).exit_code
    0
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from erpsa_sdk.cli._app import app
from erpsa_sdk.cli._ops import ConfigArg, JsonOpt, PipelinesOpt, open_runners

__all__ = ["lineage_command"]


@app.command("lineage")
def lineage_command(
    config_path: ConfigArg,
    key: Annotated[str, typer.Argument(help="EntityKey (ek1:...) or [object_type:]source id.")],
    pipeline: PipelinesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a record's lineage: source → canonical → each target posting, with outcomes.

    Examples:
        >>> from typer.testing import CliRunner
        >>> from erpsa_sdk.cli import app
        >>> refused = CliRunner().invoke(app, ["lineage", "/nonexistent.toml", "time_entry:1"])
        >>> refused.exit_code
        2
    """
    from rich.console import Console

    from erpsa_sdk.sync.lineage import LineageStep, resolve_key, trace

    _, store, runners = open_runners(config_path, pipeline)
    entity_key = None
    for runner in runners:
        types = [str(getattr(m, "object_type", m.__name__.lower())) for m in runner.pipeline.types]
        try:
            entity_key = resolve_key(
                store, key, source_system=runner.pipeline.source_connection, object_types=types
            )
            break
        except LookupError:
            continue
        except ValueError as exc:
            typer.echo(f"not an EntityKey: {exc}", err=True)
            raise typer.Exit(2) from None
    if entity_key is None:
        typer.echo(f"no record {key!r} in any pipeline's crosswalk", err=True)
        raise typer.Exit(1)
    from erpsa_sdk.models import EntityKey

    parsed = EntityKey.parse(entity_key)
    source = f"{parsed.system}:{parsed.tenant}"
    feeding = [r for r in runners if r.pipeline.source_connection == source] or runners
    result = trace(store, entity_key, targets=[r.pipeline.target_connection for r in feeding])
    for runner in feeding:
        for letter in store.dead_letters(runner.pipeline.name, limit=100_000):
            if letter.entity_key == entity_key:
                result.steps.append(
                    LineageStep(
                        runner.pipeline.name, "dead_letter", letter.reason,
                        write_key=letter.write_key, at=letter.created_at,
                        detail=f"owner {letter.owner}: {letter.error}",
                    )
                )  # fmt: skip
    if as_json:
        typer.echo(json.dumps(result.to_dict(), sort_keys=True, default=str))
        return
    console = Console()
    console.print(f"[bold]{result.entity_key}[/]  source {result.source}")
    for target, tid in result.targets.items():
        console.print(f"  -> {target}: {tid or '(not written)'}")
    for s in result.steps:
        details = [
            f"{name} {value}"
            for name, value in (
                ("operation", s.operation), ("version", s.version), ("attempts", s.attempts),
                ("target id", s.target_id), ("run", s.run_id),
                ("correlation id", s.correlation_id), ("write key", s.write_key),
                ("detail", s.detail),
            )
            if value is not None
        ]  # fmt: skip
        console.print(f"{s.at or '-'}  [bold]{s.kind}[/] {s.status}  at {s.target}", soft_wrap=True)
        console.print("    " + "; ".join(details), soft_wrap=True)
