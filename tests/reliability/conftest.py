"""Reliability suite options: small by default (runs in ``make test``), ``--soak`` for long runs.

``--soak`` (registered in ``tests/conftest.py``, so it works from anywhere) or
``ERPSA_SOAK=1`` switches every reliability test to its long version.
"""

from __future__ import annotations

import os


def soak() -> bool:
    """Whether this session runs the long versions."""
    return os.environ.get("ERPSA_SOAK", "").lower() in {"1", "true", "yes"}


def scale(small: int, large: int) -> int:
    """``small`` normally, ``large`` under ``--soak``."""
    return large if soak() else small
