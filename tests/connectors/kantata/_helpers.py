"""Shared helpers for the Kantata tests: a simulator on a SimClock and a client on it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx2

from erpsa_kantata import Kantata, KantataSimulator, SimulatorConfig
from erpsa_sdk.clock import SimClock
from erpsa_sdk.http import RetryPolicy

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def make_sim(seed: int = 1, **config: Any) -> KantataSimulator:
    """A simulator on a SimClock that moves when a test advances it or a client sleeps."""
    clock = SimClock(START, autojump=True)
    return KantataSimulator(seed=seed, clock=clock, config=SimulatorConfig(**config))


def client(
    sim: KantataSimulator, transport: httpx2.BaseTransport | None = None, **kw: Any
) -> Kantata:
    """A Kantata client on the simulator, sleeping on the simulator's clock."""
    clock = sim.clock if isinstance(sim.clock, SimClock) else None
    return Kantata(
        token=sim.token,
        tenant="acme",
        transport=transport or httpx2.MockTransport(sim),
        clock=clock,
        retry=RetryPolicy(initial_delay=0.0, max_delay=0.0),
        **kw,
    )


class DropAfterCommit(httpx2.BaseTransport):
    """Hands each request to the simulator, then loses the response when ``drop(request)``.

    The simulator has committed the write; the client sees a read timeout.
    """

    def __init__(self, sim: KantataSimulator, drop: Callable[[httpx2.Request], bool]) -> None:
        self.sim = sim
        self.drop = drop
        self.dropped = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        response = self.sim(request)
        if self.drop(request):
            self.dropped += 1
            raise httpx2.ReadTimeout("response lost after commit", request=request)
        return response
