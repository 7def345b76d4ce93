"""``erpsa dlq list | show | discard | replay``: dead letters of a configured pipeline.

``list`` filters by owner role, reason, pipeline and project; ``show`` prints one letter with
its payload; ``discard`` closes one a person decided needs no write (with a note).

``replay`` sends dead letters again with their original WriteKey; one whose record was since
acknowledged at a newer version sends nothing and reports ``superseded``; ``--refresh`` reads
the current source version first. Exit code ``0`` when every replayed letter is resolved,
``3`` when some are still dead letters, ``2`` when the configuration was refused.

Examples:
    >>> from typer.testing import CliRunner
    >>> from erpsa_sdk.cli import app
    >>> CliRunner().invoke(app, ["dlq", "--help"]).exit_code
    0
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from erpsa_sdk.cli._app import app
from erpsa_sdk.cli.sync import EXIT_CONFIG, EXIT_DEAD_LETTERS, _load_or_exit

__all__ = ["discard_letter", "list_letters", "replay_letters", "show_letter"]

dlq_app = typer.Typer(
    name="dlq", help="Dead letters: list them, replay them.", no_args_is_help=True
)
app.add_typer(dlq_app, name="dlq")

ConfigArg = Annotated[
    Path, typer.Argument(metavar="CONFIG", help="Pipeline configuration file (TOML).")
]
PipelineOpt = Annotated[
    str | None, typer.Option("--pipeline", "-p", help="Pipeline (when several).")
]
OwnerOpt = Annotated[
    str | None, typer.Option("--owner", help="Only dead letters for this role (finance, pmo, it).")
]


def _runner(config_path: Path, pipeline: str | None) -> Any:
    from erpsa_sdk.errors import ConfigurationError
    from erpsa_sdk.mapping import build_runner

    config = _load_or_exit(config_path)
    try:
        return build_runner(config, pipeline, handle_signals=False)
    except ConfigurationError as exc:
        typer.echo(f"configuration refused:\n{exc.message}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None


@dlq_app.command("list")
def list_letters(
    config_path: ConfigArg,
    pipeline: PipelineOpt = None,
    owner: OwnerOpt = None,
    every: Annotated[
        bool, typer.Option("--all", help="Include resolved ones (replayed, superseded).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Only this reason code (or its prefix).")
    ] = None,
    project: Annotated[str | None, typer.Option("--project", help="Only this project.")] = None,
) -> None:
    """List open dead letters: id, reason, owner, attempts, first / last seen, EntityKey."""
    from erpsa_sdk.cli._dlq_views import filter_letters, letter_dict, letters_table
    from erpsa_sdk.errors import ConfigurationError
    from erpsa_sdk.mapping import open_store
    from erpsa_sdk.sync.deadletters import DeadLetterQueue

    config = _load_or_exit(config_path)
    try:
        spec = config.pipeline(pipeline)
        store = open_store(config)
    except ConfigurationError as exc:
        typer.echo(f"configuration refused:\n{exc.message}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    letters = DeadLetterQueue(store, spec.name).letters(
        status=None if every else "open", owner=owner
    )
    letters = filter_letters(letters, reason=reason, project=project)
    if as_json:
        for letter in letters:
            typer.echo(json.dumps(letter_dict(letter), sort_keys=True))
    else:
        from rich.console import Console

        Console().print(letters_table(letters, title=f"{spec.name}: dead letters"))
        typer.echo(f"{len(letters)} dead letter(s)", err=True)


@dlq_app.command("replay")
def replay_letters(
    config_path: ConfigArg,
    ids: Annotated[
        list[int] | None, typer.Option("--id", help="Dead letter id (repeatable); default: all.")
    ] = None,
    pipeline: PipelineOpt = None,
    owner: OwnerOpt = None,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Re-read the current source version first.")
    ] = False,
) -> None:
    """Replay dead letters with their original WriteKey (all open ones by default)."""
    from erpsa_sdk.errors import ConfigurationError, ErpsaError
    from erpsa_sdk.sync.deadletters import replay

    runner = _runner(config_path, pipeline)
    try:
        results = replay(runner, ids or None, refresh=refresh, owner=owner)
    except ErpsaError as exc:  # an unknown id; the lease held by a running sync
        typer.echo(f"replay refused: {exc.message}", err=True)
        raise typer.Exit(EXIT_CONFIG if isinstance(exc, ConfigurationError) else 1) from None
    for result in results:
        detail = f"  {result.detail}" if result.detail else ""
        typer.echo(f"{result.id:>6}  {result.outcome:<16} {result.entity_key}{detail}")
    failed = [r for r in results if r.outcome == "failed"]
    typer.echo(
        f"{len(results)} dead letter(s): {sum(r.sent for r in results)} sent, "
        f"{sum(r.outcome == 'superseded' for r in results)} superseded, {len(failed)} failed",
        err=True,
    )
    if failed:
        raise typer.Exit(EXIT_DEAD_LETTERS)


def _queue(config_path: Path, pipeline: str | None) -> Any:
    from erpsa_sdk.errors import ConfigurationError
    from erpsa_sdk.mapping import open_store
    from erpsa_sdk.sync.deadletters import DeadLetterQueue

    config = _load_or_exit(config_path)
    try:
        spec = config.pipeline(pipeline)
        return DeadLetterQueue(open_store(config), spec.name)
    except ConfigurationError as exc:
        typer.echo(f"configuration refused:\n{exc.message}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None


def _get(queue: Any, letter_id: int) -> Any:
    from erpsa_sdk.errors import ErpsaError

    try:
        return queue.get(letter_id)
    except (ErpsaError, LookupError):
        typer.echo(f"no dead letter {letter_id} in {queue.pipeline}", err=True)
        raise typer.Exit(1) from None


@dlq_app.command("show")
def show_letter(
    config_path: ConfigArg,
    letter_id: Annotated[int, typer.Argument(metavar="ID", help="Dead letter id.")],
    pipeline: PipelineOpt = None,
) -> None:
    """Show one dead letter with its payload, error, WriteKey and resolution (JSON)."""
    from erpsa_sdk.cli._dlq_views import letter_dict

    letter = _get(_queue(config_path, pipeline), letter_id)
    typer.echo(json.dumps(letter_dict(letter, payload=True), indent=2, default=str))


@dlq_app.command("discard")
def discard_letter(
    config_path: ConfigArg,
    letter_id: Annotated[int, typer.Argument(metavar="ID", help="Dead letter id.")],
    note: Annotated[str, typer.Option("--note", help="Why no write is needed (kept).")],
    pipeline: PipelineOpt = None,
) -> None:
    """Close a dead letter that needs no write; the note is kept as its resolution."""
    from erpsa_sdk.sync.deadletters import DeadLetterStatus

    queue = _queue(config_path, pipeline)
    letter = _get(queue, letter_id)
    if not letter.is_open:
        typer.echo(f"dead letter {letter_id} is already {letter.status.value}", err=True)
        raise typer.Exit(1)
    queue.mark(letter_id, DeadLetterStatus.DISCARDED, resolution=f"discarded: {note}")
    typer.echo(f"{letter_id}  discarded  {letter.entity_key}")
