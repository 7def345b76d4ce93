"""The simulator over loopback HTTP: the `erpsa simulate` line, and TBA / M2M on a real socket."""

from __future__ import annotations

import httpx2

from erpsa_netsuite import NetSuiteSettings, connector
from erpsa_netsuite.simulator import NetSuiteSimulator
from erpsa_sdk.clock import SimClock
from erpsa_sdk.models import LegalEntity
from erpsa_sdk.testing import serve


def test_a_plain_client_pages_through_suiteql_with_only_the_printed_line() -> None:
    with serve(NetSuiteSimulator(seed=3)) as served:
        line = served.info()
        client = httpx2.Client(base_url=line["base_url"],
                               headers={"authorization": line["credentials"]["authorization"],
                                        "prefer": "transient"})  # fmt: skip
        ids: list[str] = []
        offset = 0
        while True:
            query = {"q": "SELECT id FROM timebill ORDER BY id"}
            page = client.post(
                "/query/v1/suiteql", params={"limit": 6, "offset": offset}, json=query
            ).json()
            ids += [item["id"] for item in page["items"]]
            if not page["hasMore"]:
                break
            offset += 6
        client.close()
    assert ids == [str(i) for i in range(1, 21)]


def test_tba_and_m2m_work_over_a_real_socket() -> None:
    clock = SimClock(autojump=True)
    sim = NetSuiteSimulator(seed=3, clock=clock)
    with serve(sim) as served:
        creds = served.credentials
        tba = {k: creds["tba"][k] for k in ("consumer_key", "consumer_secret", "token_id",
                                            "token_secret")}  # fmt: skip
        m2m = {"client_id": creds["m2m"]["client_id"],
               "certificate_id": creds["m2m"]["certificate_id"],
               "private_key": creds["m2m"]["private_key_pem"], "algorithm": "ES256"}  # fmt: skip
        for auth in (tba, m2m):
            settings = NetSuiteSettings(account_id=sim.tenant, max_concurrency=2,
                                        base_url=served.origin, lag_seconds=0, **auth)  # fmt: skip
            conn = connector.create(settings, clock=clock)
            try:
                assert conn.health().ok
                assert [r.id for r in conn.match(LegalEntity, name="Acme UK")] == ["2"]
            finally:
                conn.close()
    refused = [k for k in sim.stats.by_route if k.startswith(("auth refused", "token refused"))]
    assert refused == []
