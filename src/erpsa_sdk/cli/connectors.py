"""``erpsa connectors``: the installed connector plugins, their versions and capabilities.

A plugin that failed to load is listed as ``skipped`` with its reason; the others still load.

Example:
    >>> from typer.testing import CliRunner
    >>> from erpsa_sdk.cli import app
    >>> result = CliRunner().invoke(app, ["connectors", "--json"])
    >>> result.exit_code
    0
"""

from __future__ import annotations

import json
import warnings
from typing import Annotated, Any

import typer

from erpsa_sdk.cli._app import app

__all__ = ["connectors"]


def _describe(info: Any) -> dict[str, Any]:
    plugin = info.plugin
    return {
        "name": info.name,
        "status": info.status,
        "version": info.version,
        "distribution": info.distribution,
        "entry_point": info.entry_point,
        "reason": info.reason,
        "description": plugin.description if plugin is not None else None,
        "plugin_api_version": plugin.api_version if plugin is not None else None,
        "capabilities": (
            plugin.capabilities.model_dump(mode="json") if plugin is not None else None
        ),
    }


@app.command("connectors")
def connectors(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (one object per plugin) instead of a table.")
    ] = False,
) -> None:
    """List installed connector plugins: name, version, status and capabilities.

    Plugins register in the entry-point group ``erpsa_sdk.connectors``; set
    ``ERPSA_DISABLE_PLUGINS`` (names, or ``__all__``) to turn some off.
    """
    from erpsa_sdk.registry import available_connectors  # keeps `erpsa --help` light

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skipped plugins are listed with their reason below
        infos = available_connectors(refresh=True)
    if as_json:
        typer.echo(json.dumps([_describe(i) for i in infos], indent=2))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="erpsa connector plugins", show_lines=True)
    for column in ("name", "version", "status", "capabilities"):
        table.add_column(column, overflow="fold")
    for info in infos:
        if info.plugin is not None and info.ok:
            caps = info.plugin.capabilities
            lines = [f"{name}: {', '.join(flags)}" for name, flags in caps.summary().items()]
            lines.append(f"rounding: {caps.rounding}; limits: {len(caps.limits)}")
            detail = "\n".join(lines)
            status = "[green]loaded[/green]"
        else:
            detail = info.reason or ""
            status = f"[red]{info.status}[/red]" if info.status == "skipped" else info.status
        table.add_row(escape(info.name), info.version or "?", status, escape(detail))
    console = Console(width=max(100, Console().width))
    if not infos:
        console.print("no connector plugins installed (entry-point group erpsa_sdk.connectors)")
        return
    console.print(table)
