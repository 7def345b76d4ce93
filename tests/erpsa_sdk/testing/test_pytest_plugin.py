"""The pytest plugin's fixtures, loaded through the pytest11 entry point."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from erpsa_sdk.clock import SimClock
from erpsa_sdk.connector import Capabilities, ConnectorPlugin, ConnectorSettings
from erpsa_sdk.testing import Simulator
from tests.erpsa_sdk.testing.test_simulator import Shop

SHOP = ConnectorPlugin(
    name="shop",
    connector=lambda settings, **kw: None,
    settings=ConnectorSettings,
    capabilities=Capabilities(),
    simulator_factory=lambda seed=0, faults=None, clock=None: Shop(seed=seed, faults=faults,
                                                                    clock=clock),
)  # fmt: skip


def test_simulator_fixture_uses_the_session_clock(
    erpsa_simulator: Callable[..., Simulator], erpsa_clock: SimClock
) -> None:
    sim = erpsa_simulator(SHOP, seed=4, faults="server_error=1")
    assert sim.clock is erpsa_clock
    assert sim.faults.rates
    erpsa_clock.advance(30)
    assert sim.admin.update("items", 1, {"price": 1})["modified_at"].startswith(
        "2026-01-01T00:00:30"
    )


def test_serve_fixture_serves_on_loopback(
    erpsa_simulator: Callable[..., Simulator], erpsa_serve: Callable[..., Any]
) -> None:
    served = erpsa_serve(erpsa_simulator(SHOP))
    headers = {"authorization": served.credentials["authorization"]}
    assert httpx2.get(f"{served.base_url}/items", headers=headers).status_code == 200


def test_connect_fixture_needs_an_installed_plugin(erpsa_connect: Callable[..., Any]) -> None:
    from erpsa_sdk.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="no connector plugin named 'nope'"):
        erpsa_connect("nope", Shop())
