"""AsyncDynamics365: the same decisions as the sync client (reads, upserts, deletes, limits)."""

from __future__ import annotations

import asyncio

import httpx2
import pytest

from erpsa_dynamics365 import AsyncDynamics365, bearer
from erpsa_dynamics365.simulator import DataverseSimulator, SimulatorConfig
from erpsa_sdk.clock import SimClock
from erpsa_sdk.errors import ConflictError, NotFoundError
from erpsa_sdk.http.odata import ODataQuery
from erpsa_sdk.models import Resource

ROW = "5b7e0d0e-8f57-5d1e-9c3a-2f6b9b1c4d01"


def _client(sim: DataverseSimulator, **options: object) -> AsyncDynamics365:
    return AsyncDynamics365(
        sim.environment_url,
        auth=bearer(sim.api_token),
        transport=httpx2.MockTransport(sim),
        clock=sim.clock,
        **options,
    )  # type: ignore[arg-type]


def test_async_writes_follow_the_same_semantics() -> None:
    sim = DataverseSimulator(clock=SimClock(autojump=True))

    async def main() -> None:
        async with _client(sim) as d365:
            created = await d365.upsert("accounts", ROW, {"name": "A"})
            assert (created.status, created.created) == (201, True)
            with pytest.raises(ConflictError):
                await d365.upsert("accounts", ROW, {"name": "A"}, mode="create")
            updated = await d365.upsert("accounts", ROW, {"name": "B"}, mode="update")
            assert updated.created is False
            by_key = await d365.upsert_by_key("accounts", {"accountnumber": "K-1"}, {"name": "K"})
            assert by_key.created is True
            assert (await d365.get("accounts", ROW, select=("name",)))["name"] == "B"  # type: ignore[index]
            assert await d365.delete("accounts", ROW) is True
            assert await d365.delete("accounts", ROW) is False
            with pytest.raises(NotFoundError):
                await d365.upsert("accounts", ROW, {"name": "C"}, mode="update")

    asyncio.run(main())


def test_async_pages_follow_next_links_and_resume() -> None:
    sim = DataverseSimulator(clock=SimClock(autojump=True))

    async def main() -> tuple[list[str], list[str]]:
        async with _client(sim, page_size=2) as d365:
            rows = [r["name"] async for r in d365.query("accounts", ODataQuery(select=("name",)))]
            pager = d365.read(Resource)
            pages = pager.iter_pages().__aiter__()
            page = await pages.__anext__()
            first = [r.name for r in page.items if isinstance(r, Resource)]
            await pages.__anext__()  # asking for page 2 hands page 1 over
            cursor = pager.cursor
            rest = [
                r.name async for r in d365.read(Resource, since=cursor) if isinstance(r, Resource)
            ]
            return rows, first + rest

    rows, resources = asyncio.run(main())
    assert len(rows) == 5
    assert len(resources) == len(set(resources)) == 5


def test_async_client_waits_out_a_throttle() -> None:
    sim = DataverseSimulator(
        clock=SimClock(autojump=True), config=SimulatorConfig(requests=1, window=20)
    )

    async def main() -> float:
        async with _client(sim) as d365:
            await d365.get("accounts", ROW)
            start = sim.clock.monotonic()
            await d365.get("accounts", ROW)
            return sim.clock.monotonic() - start

    assert asyncio.run(main()) >= 20
