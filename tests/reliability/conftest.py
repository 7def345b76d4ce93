"""Reliability suite options: small by default (runs in ``make test``), ``--soak`` for long runs.

``--soak`` is read when pytest is pointed at this directory
(``pytest tests/reliability -m reliability --soak``); ``ERPSA_SOAK=1`` does the same from
anywhere (``make test PYTEST_ARGS=...`` included).
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak",
        action="store_true",
        default=False,
        help="reliability suite: long runs (more records, more fuzzing examples)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--soak", default=False):
        os.environ["ERPSA_SOAK"] = "1"


def soak() -> bool:
    """Whether this session runs the long versions."""
    return os.environ.get("ERPSA_SOAK", "").lower() in {"1", "true", "yes"}


def scale(small: int, large: int) -> int:
    """``small`` normally, ``large`` under ``--soak``."""
    return large if soak() else small
