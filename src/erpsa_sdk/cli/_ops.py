"""Shared plumbing of the operations commands (reconcile, lineage, diff, status).

Examples:
    >>> EXIT_MISMATCH
    1
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from erpsa_sdk.cli.sync import EXIT_CONFIG, _load_or_exit

__all__ = ["EXIT_MISMATCH", "ConfigArg", "JsonOpt", "PipelinesOpt", "open_runners"]

#: Reconciliation found a mismatch, or a diff found a difference.
EXIT_MISMATCH = 1

ConfigArg = Annotated[
    Path, typer.Argument(metavar="CONFIG", help="Pipeline configuration file (TOML).")
]
PipelinesOpt = Annotated[
    list[str] | None,
    typer.Option("--pipeline", "-p", help="Pipeline (repeatable; default: every pipeline)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def open_runners(config_path: Path, names: list[str] | None) -> tuple[Any, Any, list[Any]]:
    """(configuration, state store, one runner per pipeline) or exit 2 with the refusal.

    Examples:
        >>> try:
        ...     open_runners(Path("/nonexistent.toml"), None)
        ... except typer.Exit as exc:
        ...     exc.exit_code
        2
    """
    from erpsa_sdk.errors import ConfigurationError
    from erpsa_sdk.mapping import build_runner, open_store

    config = _load_or_exit(config_path)
    try:
        wanted = names or [p.name for p in config.pipelines]
        store = open_store(config)
        runners = [build_runner(config, n, store=store, handle_signals=False) for n in wanted]
    except ConfigurationError as exc:
        typer.echo(f"configuration refused:\n{exc.message}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    return config, store, runners
