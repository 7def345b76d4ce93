"""Serving a simulator on loopback HTTP: real sockets, real dropped connections."""

from __future__ import annotations

import httpx2
import pytest

from erpsa_sdk.errors import ConfigurationError
from erpsa_sdk.testing import FaultPlan, serve
from tests.erpsa_sdk.testing.test_simulator import Shop


def test_served_simulator_answers_and_drops_connections_for_real() -> None:
    sim = Shop(seed=3)
    with serve(sim) as served:
        assert served.base_url.startswith("http://127.0.0.1:")
        headers = {"authorization": served.credentials["authorization"]}
        with httpx2.Client(base_url=served.base_url, headers=headers) as c:
            assert len(c.get("/items").json()["items"]) == 3
            sim.set_faults(FaultPlan.always("commit_then_drop", methods={"POST"}))
            with pytest.raises(httpx2.RemoteProtocolError):
                c.post("/items", json={"name": "lost answer"})
            sim.set_faults(None)
            assert len(c.get("/items").json()["items"]) == 4  # it was committed
            admin = {served.credentials["admin_header"]: served.credentials["admin_key"]}
            assert c.get(f"{served.origin}/_admin/tables", headers=admin).json() == {"items": 4}
        assert served.info()["vendor"] == "shop"


def test_serve_refuses_non_loopback_hosts() -> None:
    with pytest.raises(ConfigurationError, match="loopback"):
        serve(Shop(), host="0.0.0.0")  # noqa: S104 - the point of the test
