"""Shared wiring for the Dynamics 365 tests: a simulator, a client on it, a request log."""

from __future__ import annotations

from typing import Any

import httpx2

from erpsa_dynamics365 import Dynamics365, bearer
from erpsa_dynamics365.simulator import DataverseSimulator, SimulatorConfig
from erpsa_sdk.clock import SimClock


class Recorder:
    """A MockTransport handler that logs (method, raw target, headers) before the simulator."""

    def __init__(self, sim: DataverseSimulator) -> None:
        self.sim = sim
        self.log: list[tuple[str, str, dict[str, str]]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        target = request.url.raw_path.decode("ascii")
        self.log.append((request.method, target, dict(request.headers)))
        return self.sim(request)

    def targets(self, method: str = "GET") -> list[str]:
        return [t for m, t, _ in self.log if m == method]


def make(
    seed: int = 0, *, config: SimulatorConfig | None = None, **client: Any
) -> tuple[DataverseSimulator, Dynamics365, Recorder]:
    clock = SimClock(autojump=True)
    sim = DataverseSimulator(seed=seed, clock=clock, config=config)
    rec = Recorder(sim)
    d365 = Dynamics365(
        sim.environment_url,
        auth=bearer(sim.api_token),
        transport=httpx2.MockTransport(rec),
        clock=clock,
        **client,
    )
    return sim, d365, rec
