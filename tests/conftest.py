"""Shared test fixtures: external services skip with a reason, except under CI=true."""

from __future__ import annotations

import os
import socket

import pytest
from hypothesis import settings

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# CI runs the same Hypothesis examples every time: a landing must not fail on a counterexample
# that an unrelated change happened to draw. Local runs keep exploring new examples (and keep
# what they find in .hypothesis/), which is where such bugs get found and fixed. No deadline:
# a per-example time limit is a timed assertion, and these machines are noisy.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if IN_CI else "dev")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak",
        action="store_true",
        default=False,
        help="long reliability / chaos runs (same as ERPSA_SOAK=1)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # An environment variable, so subprocesses and module-level sizes see it too.
    if config.getoption("--soak", default=False):
        os.environ["ERPSA_SOAK"] = "1"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or, under CI=true, fail) when a service the test needs is not answering."""
    if _port_open(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it")
    pytest.skip(message)


@pytest.fixture
def postgres_url() -> str:
    """A PostgreSQL URL on 127.0.0.1:5432 (user postgres, trust auth)."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    return os.environ.get(
        "ERPSA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )


@pytest.fixture
def redis_url() -> str:
    """A Redis URL on 127.0.0.1:6379."""
    require_service("Redis", "127.0.0.1", 6379)
    return os.environ.get("ERPSA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
