"""``erpsa schema export DIR``: write one versioned JSON Schema per canonical model.

Examples:
    >>> from typer.testing import CliRunner
    >>> import tempfile
    >>> from erpsa_sdk.cli import app
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     result = CliRunner().invoke(app, ["schema", "export", tmp])
    >>> result.exit_code
    0
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from erpsa_sdk.cli._app import app

__all__ = ["export"]

schema_app = typer.Typer(
    name="schema",
    help="Canonical model schemas (versioned JSON Schema).",
    no_args_is_help=True,
)
app.add_typer(schema_app, name="schema")


@schema_app.command("export")
def export(
    directory: Annotated[
        Path,
        typer.Argument(
            help="Directory to write the schemas to (created if missing).", file_okay=False
        ),
    ],
) -> None:
    """Write ``<object_type>.v<version>.schema.json`` for every canonical model into DIRECTORY.

    Each schema's ``$id`` carries the model's schema version; the output is identical across
    runs, so the files can be committed and diffed.

    Examples:
        >>> from typer.testing import CliRunner
        >>> import tempfile, pathlib
        >>> from erpsa_sdk.cli import app
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     _ = CliRunner().invoke(app, ["schema", "export", tmp])
        ...     "invoice.v1.0.0.schema.json" in [p.name for p in pathlib.Path(tmp).iterdir()]
        True
    """
    from erpsa_sdk.mapping import export_config_schema  # the pipeline configuration file
    from erpsa_sdk.models.schema import export_schemas  # keeps `erpsa --help` light

    paths = [*export_schemas(directory), export_config_schema(directory)]
    for path in paths:
        typer.echo(str(path))
    typer.echo(f"wrote {len(paths)} schemas to {directory}", err=True)
