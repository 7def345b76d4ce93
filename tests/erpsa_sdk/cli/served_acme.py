"""Acme simulators served over loopback and a pipeline file pointing at them (CLI tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from acme_psa_erp import ACMEERP, ACMEPSA

from erpsa_sdk.clock import SystemClock
from erpsa_sdk.testing import SimRequest, serve


@dataclass
class Served:
    psa_sim: Any
    erp_sim: Any
    config: Path
    requests: list[tuple[str, str]]

    def posts(self, part: str) -> int:
        return sum(1 for method, path in self.requests if method == "POST" and part in path)


def pipeline_toml(psa_url: str, erp_url: str, state: Path, *, types: str) -> str:
    return f"""
namespace = "cli-test"
state = "sqlite:///{state}"

[connections.psa]
connector = "acmepsa"
tenant = "sim"
settings = {{ base_url = "{psa_url}", api_token = {{ env = "CLI_PSA_TOKEN" }} }}

[connections.erp]
connector = "acmeerp"
tenant = "sim"
settings = {{ base_url = "{erp_url}", api_token = {{ env = "CLI_ERP_TOKEN" }} }}

[value_maps.expense_category]
travel = "EXP-TRAVEL"
meals = "EXP-MEALS"
lodging = "EXP-LODGING"
software = "EXP-SOFTWARE"

[[pipelines]]
name = "psa-to-erp"
source = "psa"
target = "erp"
types = {types}
natural_keys = {{ Resource = ["email"] }}
value_maps = {{ "Expense.category" = "expense_category" }}
"""


@contextmanager
def served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, types: str = '["Customer", "Project"]'
) -> Iterator[Served]:
    clock = SystemClock()
    psa_sim = ACMEPSA.simulator(seed=3, clock=clock)
    erp_sim = ACMEERP.simulator(seed=3, clock=clock)
    requests: list[tuple[str, str]] = []

    def log(req: SimRequest) -> None:
        requests.append((req.method, req.path))

    erp_sim.before_request(log)
    monkeypatch.setenv("CLI_PSA_TOKEN", psa_sim.api_token)
    monkeypatch.setenv("CLI_ERP_TOKEN", erp_sim.api_token)
    with serve(psa_sim) as psa, serve(erp_sim) as erp:
        config = tmp_path / "pipeline.toml"
        config.write_text(
            pipeline_toml(psa.base_url, erp.base_url, tmp_path / "state.db", types=types),
            encoding="utf-8",
        )
        yield Served(psa_sim, erp_sim, config, requests)
