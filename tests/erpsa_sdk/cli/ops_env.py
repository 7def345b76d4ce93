"""Served simulators and pipeline files for the operations CLI tests (reconcile, lineage, diff,
status): the Kantata simulator feeding two Dynamics 365 simulators (a dual run), all over
loopback HTTP, plus the example plugin's Acme pair."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from erpsa_sdk.clock import SystemClock
from erpsa_sdk.registry import get_plugin
from erpsa_sdk.testing import serve

TYPES = '["Customer", "Project", "TimeEntry"]'


@dataclass
class Dual:
    kantata: Any
    current: Any
    target: Any
    config: Path


def dual_toml(kantata: str, current: str, target: str, state: Path) -> str:
    return f"""
namespace = "ops-test"
state = "sqlite:///{state}"

[connections.psa]
connector = "kantata"
tenant = "firm"
settings = {{ base_url = "{kantata}/", token = {{ env = "OPS_KANTATA_TOKEN" }} }}

[connections.current]
connector = "dynamics365"
tenant = "current"

[connections.current.settings]
environment_url = "{current}"
token = {{ env = "OPS_CURRENT_TOKEN" }}
lag_seconds = 0  # the tests reconcile at once; the default 5 s read lag would hide writes

[connections.target]
connector = "dynamics365"
tenant = "target"

[connections.target.settings]
environment_url = "{target}"
token = {{ env = "OPS_TARGET_TOKEN" }}
lag_seconds = 0  # the tests reconcile at once; the default 5 s read lag would hide writes

[[pipelines]]
name = "psa-to-current"
source = "psa"
target = "current"
types = {TYPES}
natural_keys = {{ Resource = ["email"] }}

[[pipelines]]
name = "psa-to-target"
source = "psa"
target = "target"
types = {TYPES}
natural_keys = {{ Resource = ["email"] }}
"""


@contextmanager
def dual(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dual]:
    """Kantata's small seeded account; both Dataverse environments already hold its people."""
    clock = SystemClock()
    kantata = get_plugin("kantata").simulator(seed=5, clock=clock)
    erps = [get_plugin("dynamics365").simulator(seed=s, clock=clock) for s in (5, 6)]
    for erp in erps:
        for user in kantata.records("users").values():
            erp.admin.insert(
                "bookableresource",
                {"name": user["full_name"], "msdyn_primaryemail": user["email_address"],
                 "resourcetype": 3, "statecode": 0},
            )  # fmt: skip
    monkeypatch.setenv("OPS_KANTATA_TOKEN", kantata.api_token)
    monkeypatch.setenv("OPS_CURRENT_TOKEN", erps[0].api_token)
    monkeypatch.setenv("OPS_TARGET_TOKEN", erps[1].api_token)
    with serve(kantata) as k, serve(erps[0]) as a, serve(erps[1]) as b:
        config = tmp_path / "pipeline.toml"
        config.write_text(
            dual_toml(k.base_url.rstrip("/"), a.base_url.rstrip("/"), b.base_url.rstrip("/"),
                      tmp_path / "state.db"),
            encoding="utf-8",
        )  # fmt: skip
        yield Dual(kantata, erps[0], erps[1], config)


def written_rows(sim: Any, table: str = "msdyn_timeentry") -> list[dict[str, Any]]:
    """Rows the pipeline wrote (the simulator's own seed rows are a month old)."""
    recent = datetime.now(UTC) - timedelta(hours=1)
    return [
        r for r in sim.admin.rows(table)
        if datetime.fromisoformat(r["created_at"].replace("Z", "+00:00")) > recent
    ]  # fmt: skip
