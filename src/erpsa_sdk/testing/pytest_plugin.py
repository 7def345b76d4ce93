"""The erpsa-sdk pytest plugin (registered through the ``pytest11`` entry point).

Installed with ``erpsa-sdk[testing]``, it gives every test session these fixtures:

* ``erpsa_clock`` — a :class:`~erpsa_sdk.clock.SimClock` in autojump mode.
* ``erpsa_simulator`` — ``erpsa_simulator("acmeerp", seed=0, faults=None)``: a fresh simulator
  of an installed connector plugin, on ``erpsa_clock``.
* ``erpsa_connect`` — ``erpsa_connect("acmeerp", sim, settings)``: the connector wired to ``sim``
  through ``httpx2.MockTransport`` and the simulator's clock; closed after the test.
* ``erpsa_serve`` — ``erpsa_serve(sim)``: the simulator on loopback HTTP, stopped after the test.

Connector authors subclass :class:`erpsa_sdk.testing.ContractSuite` for the contract suite.

Example:
    >>> from erpsa_sdk.testing import pytest_plugin
    >>> sorted(n for n in dir(pytest_plugin) if n.startswith("erpsa_"))
    ['erpsa_clock', 'erpsa_connect', 'erpsa_serve', 'erpsa_simulator']
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx2
import pytest

from erpsa_sdk.clock import SimClock
from erpsa_sdk.connector import Connector, ConnectorPlugin, ConnectorSettings
from erpsa_sdk.registry import get_plugin
from erpsa_sdk.testing.faults import FaultPlan
from erpsa_sdk.testing.simulator import Simulator

__all__ = ["erpsa_clock", "erpsa_connect", "erpsa_serve", "erpsa_simulator"]


def _plugin(name: str | ConnectorPlugin) -> ConnectorPlugin:
    return name if isinstance(name, ConnectorPlugin) else get_plugin(name)


@pytest.fixture
def erpsa_clock() -> SimClock:
    """A simulated clock in autojump mode: sleeps and waits take no real time."""
    return SimClock(autojump=True)


@pytest.fixture
def erpsa_simulator(erpsa_clock: SimClock) -> Callable[..., Simulator]:
    """Factory: ``erpsa_simulator(name_or_plugin, *, seed=0, faults=None)``."""

    def make(
        name: str | ConnectorPlugin, *, seed: int = 0, faults: FaultPlan | str | None = None
    ) -> Simulator:
        sim = _plugin(name).simulator(seed=seed, faults=faults, clock=erpsa_clock)
        if not isinstance(sim, Simulator):
            raise TypeError(f"{name!r} returned {type(sim).__name__}, not a Simulator")
        return sim

    return make


@pytest.fixture
def erpsa_connect() -> Iterator[Callable[..., Connector]]:
    """Factory: ``erpsa_connect(name_or_plugin, sim, settings)`` -> a connector on ``sim``."""
    made: list[Connector] = []

    def make(
        name: str | ConnectorPlugin,
        sim: Simulator,
        settings: ConnectorSettings | Mapping[str, Any] | None = None,
    ) -> Connector:
        conn = _plugin(name).create(settings, transport=httpx2.MockTransport(sim), clock=sim.clock)
        made.append(conn)
        return conn

    yield make
    for conn in made:
        conn.close()


@pytest.fixture
def erpsa_serve() -> Iterator[Callable[..., Any]]:
    """Factory: ``erpsa_serve(sim, port=0)`` -> a :class:`~erpsa_sdk.testing.ServedSimulator`."""
    from erpsa_sdk.testing.loopback import ServedSimulator, serve

    served: list[ServedSimulator] = []

    def start(sim: Simulator, port: int = 0) -> ServedSimulator:
        handle = serve(sim, port)
        served.append(handle)
        return handle

    yield start
    for handle in served:
        handle.stop()
