"""The Typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="erpsa",
    help="erpsa-sdk: sync PSA and ERP systems, run vendor simulators, inspect sync state.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)
