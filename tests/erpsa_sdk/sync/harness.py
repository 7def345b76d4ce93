"""Loopback set-up shared by the crash and lease tests: served Acme simulators, child runners."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("acme_psa_erp", reason="install examples/third_party_connector (make venv)")

from acme_psa_erp import ACMEERP, ACMEPSA

from erpsa_sdk.clock import SystemClock
from erpsa_sdk.testing import serve
from erpsa_sdk.testing.faults import FaultPlan

from .checker import Checker

ROOT = Path(__file__).resolve().parents[3]
NAMESPACE = "crash"
#: checkpoint stream -> AcmePSA table
STREAMS = {
    "Customer": "customers",
    "Project": "projects",
    "TimeEntry": "time_entries",
    "Expense": "expenses",
}


@dataclass
class Loopback:
    psa_sim: Any
    erp_sim: Any
    psa: Any
    erp: Any

    @property
    def checker(self) -> Checker:
        return Checker(self.psa_sim, self.erp_sim, namespace=NAMESPACE, tenant=self.psa_sim.tenant)

    def command(self, state: str, *extra: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "tests.erpsa_sdk.sync.crash_child",
            "--state",
            state,
            "--psa",
            self.psa.base_url,
            "--erp",
            self.erp.base_url,
            "--psa-token",
            self.psa_sim.api_token,
            "--erp-token",
            self.erp_sim.api_token,
            "--psa-tenant",
            self.psa_sim.tenant,
            "--erp-tenant",
            self.erp_sim.tenant,
            "--namespace",
            NAMESPACE,
            *extra,
        ]

    def start(self, state: str, *extra: str, crash_at: str | None = None) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if k != "ERPSA_CRASH_AT"}
        if crash_at:
            env["ERPSA_CRASH_AT"] = crash_at
        return subprocess.Popen(
            self.command(state, *extra),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@contextmanager
def loopback(*, seed: int, faults: FaultPlan | None) -> Iterator[Loopback]:
    clock = SystemClock()
    psa_sim = ACMEPSA.simulator(seed=seed, clock=clock)
    erp_sim = ACMEERP.simulator(seed=seed, faults=faults, clock=clock)
    with serve(psa_sim) as psa, serve(erp_sim) as erp:
        yield Loopback(psa_sim, erp_sim, psa, erp)


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, dict[str, Any]]:
    """Wait for a child; return its exit code and its JSON report (empty when killed)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"runner did not finish in {timeout}s: {err[-2000:]}") from None
    lines = [line for line in out.splitlines() if line.startswith("{")]
    report = json.loads(lines[-1]) if lines else {"stderr": err[-2000:]}
    return proc.returncode, report


def kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)


def wait_until(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
