"""``erpsa sync run CONFIG``: run a configured pipeline once, with a progress bar.

Exit codes: ``0`` the run completed and nothing was dead-lettered; ``3`` the run completed
(or stopped cleanly) and some records became dead letters (see ``erpsa dlq list``); ``1`` the
run failed or lost its lease; ``2`` the configuration was refused (nothing ran).

Examples:
    >>> from typer.testing import CliRunner
    >>> from erpsa_sdk.cli import app
    >>> result = CliRunner().invoke(app, ["sync", "run", "examples/pipeline.toml", "--check"])
    >>> result.exit_code, result.output.splitlines()[0]
    (0, 'examples/pipeline.toml: configuration OK (pipelines: psa-to-erp)')
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from erpsa_sdk.cli._app import app

__all__ = ["EXIT_CONFIG", "EXIT_DEAD_LETTERS", "EXIT_FAILED", "run"]

#: The run failed or lost its lease.
EXIT_FAILED = 1
#: The configuration was refused before anything ran.
EXIT_CONFIG = 2
#: The run ended cleanly but dead-lettered some records.
EXIT_DEAD_LETTERS = 3

sync_app = typer.Typer(
    name="sync",
    help="Run configured pipelines (see docs: configure a pipeline).",
    no_args_is_help=True,
)
app.add_typer(sync_app, name="sync")

_SHOWN = ("read", "created", "updated", "unchanged", "upserted", "linked", "dead_lettered")


def _load_or_exit(config_path: Path) -> Any:
    """The checked configuration, or exit with :data:`EXIT_CONFIG` and the refusal."""
    from erpsa_sdk.errors import ConfigurationError
    from erpsa_sdk.mapping import load_config

    try:
        return load_config(config_path)
    except ConfigurationError as exc:
        typer.echo(f"configuration refused:\n{exc.message}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None


def _summary(counts: Mapping[str, int]) -> str:
    parts = [f"{name} {counts[name]}" for name in _SHOWN if counts.get(name)]
    return ", ".join(parts) or "nothing to do"


@sync_app.command("run")
def run(
    config_path: Annotated[
        Path, typer.Argument(metavar="CONFIG", help="Pipeline configuration file (TOML).")
    ],
    pipeline: Annotated[
        str | None, typer.Option("--pipeline", "-p", help="Pipeline to run (when several).")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Only check the configuration; run nothing.")
    ] = False,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, max=64, help="Writer threads.")
    ] = None,
) -> None:
    """Run one pipeline once: read, map, match, validate, write, checkpoint.

    The exit code says whether anything was dead-lettered: 0 none, 3 some, 1 the run failed,
    2 the configuration was refused.
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from erpsa_sdk.errors import ConfigurationError, ErpsaError
    from erpsa_sdk.mapping import build_runner
    from erpsa_sdk.sync.deadletters import DeadLetterQueue

    config = _load_or_exit(config_path)
    if check:
        names = ", ".join(p.name for p in config.pipelines)
        typer.echo(f"{config_path}: configuration OK (pipelines: {names})")
        return
    console = Console(stderr=True)
    options: dict[str, Any] = {} if workers is None else {"workers": workers}
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[step]}"),
        BarColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("sync", total=None, step="starting", counts="")

        def on_progress(update: Any) -> None:
            progress.update(task, step=update.step, counts=_summary(update.counts))

        try:
            runner = build_runner(config, pipeline, on_progress=on_progress, **options)
        except ConfigurationError as exc:
            typer.echo(f"configuration refused:\n{exc.message}", err=True)
            raise typer.Exit(EXIT_CONFIG) from None
        except ErpsaError as exc:  # e.g. the state store cannot be opened
            typer.echo(f"cannot start: {exc.message}", err=True)
            raise typer.Exit(EXIT_FAILED) from None
        queue = DeadLetterQueue(runner.store, runner.pipeline.name)
        try:
            report = runner.run_once()
        except ErpsaError as exc:  # LeaseHeld / LeaseLost: another worker has the pipeline
            typer.echo(f"{runner.pipeline.name}: {exc.message}", err=True)
            raise typer.Exit(EXIT_FAILED) from None
    # Repeats update their letter rather than adding one: "this run" is its last_seen.
    letters = queue.seen_in_run(report.run_id)
    typer.echo(f"{report.pipeline}: {report.status.value} - {_summary(report.counts)}")
    for note in report.notes:
        typer.echo(f"  note: {note}")
    if letters:
        by_reason: dict[tuple[str, str], int] = {}
        for letter in letters:
            key = (letter.reason, letter.owner)
            by_reason[key] = by_reason.get(key, 0) + 1
        typer.echo(f"  dead-lettered {len(letters)} record(s):")
        for (reason, owner), n in sorted(by_reason.items()):
            typer.echo(f"    {n:>5}  {reason}  (owner: {owner})")
    if not report.ok:
        typer.echo(f"run {report.status.value}: {report.error}", err=True)
        raise typer.Exit(EXIT_FAILED)
    if letters:
        raise typer.Exit(EXIT_DEAD_LETTERS)
