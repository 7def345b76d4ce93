"""The ``erpsa`` command line.

Each command group lives in its own module and registers itself on :data:`app`; this module
only imports them, so ``erpsa --help`` lists everything.

Example:
    >>> from erpsa_sdk.cli import app
    >>> app.info.name
    'erpsa'
"""

from __future__ import annotations

from erpsa_sdk.cli._app import app

# Command modules register on import (order = order in --help).
from erpsa_sdk.cli import schema as _schema  # noqa: F401  isort: skip
from erpsa_sdk.cli import demo as _demo  # noqa: F401  isort: skip
from erpsa_sdk.cli import connectors as _connectors  # noqa: F401  isort: skip
from erpsa_sdk.cli import simulate as _simulate  # noqa: F401  isort: skip
from erpsa_sdk.cli import sync as _sync  # noqa: F401  isort: skip
from erpsa_sdk.cli import dlq as _dlq  # noqa: F401  isort: skip
from erpsa_sdk.cli import reconcile as _reconcile  # noqa: F401  isort: skip
from erpsa_sdk.cli import lineage as _lineage  # noqa: F401  isort: skip
from erpsa_sdk.cli import diff as _diff  # noqa: F401  isort: skip
from erpsa_sdk.cli import status as _status  # noqa: F401  isort: skip

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``erpsa`` console script."""
    app()
