"""The simulated SuiteQL subset: parsing, evaluation, and the indexed fast path vs brute force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erpsa_netsuite.simulator import NetSuiteSimulator
from erpsa_netsuite.simulator._suiteql import SuiteQLError, parse

T0 = datetime(2026, 2, 1, tzinfo=UTC)
FMT = "YYYY-MM-DD HH24:MI:SS"
KEYSET = (
    "SELECT id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS ts FROM timebill "
    "WHERE (lastmodifieddate > TO_TIMESTAMP(?, 'YYYY-MM-DD HH24:MI:SS') OR "
    "(lastmodifieddate = TO_TIMESTAMP(?, 'YYYY-MM-DD HH24:MI:SS') AND id > ?)) "
    "AND lastmodifieddate < TO_TIMESTAMP(?, 'YYYY-MM-DD HH24:MI:SS') "
    "ORDER BY lastmodifieddate, id"
)


def _client(sim: NetSuiteSimulator) -> httpx2.Client:
    return httpx2.Client(
        transport=httpx2.MockTransport(sim),
        base_url=sim.base_url,
        headers={"Authorization": sim.bearer_header, "Prefer": "transient"},
    )


def _query(
    client: httpx2.Client, q: str, params: list[str], limit: int = 1000, offset: int = 0
) -> httpx2.Response:
    return client.post(
        "/services/rest/query/v1/suiteql",
        params={"limit": limit, "offset": offset},
        json={"q": q, "params": params},
    )


def _text(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize(
    "bad",
    [
        "SELECT * FROM timebill",
        "SELECT id FROM timebill t JOIN employee e ON t.employee = e.id",
        "SELECT id FROM timebill GROUP BY id",
        "SELECT COUNT(id) FROM timebill",
        "SELECT id FROM",
    ],
)
def test_outside_the_subset_is_refused_clearly(bad: str) -> None:
    with pytest.raises(SuiteQLError):
        parse(bad)


def test_unknown_columns_and_tables_answer_400_invalid_parameter() -> None:
    client = _client(NetSuiteSimulator(seed=1))
    for q in ("SELECT nosuch FROM timebill", "SELECT id FROM nosuchtable"):
        r = _query(client, q, [])
        assert r.status_code == 400
        assert r.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_PARAMETER"


def test_values_come_back_as_strings_and_nulls_are_omitted() -> None:
    sim = NetSuiteSimulator(seed=1)
    sim.modify("timebill", 2, memo=None)
    r = _query(
        _client(sim),
        "SELECT id, hours, isbillable, memo, trandate FROM timebill WHERE id IN (?, ?) ORDER BY id",
        ["1", "2"],
    )
    items = r.json()["items"]
    assert all(isinstance(v, str) for item in items for k, v in item.items() if k != "links")
    assert "memo" in items[0]
    assert "memo" not in items[1]
    assert items[0]["isbillable"] == "T"
    # A bare date renders with the user's date preference (why readers use TO_CHAR).
    assert items[0]["trandate"] == "01/05/2026"


def test_builtin_df_gives_the_display_name() -> None:
    r = _query(
        _client(NetSuiteSimulator(seed=1)),
        "SELECT id, BUILTIN.DF(employee) AS who FROM timebill WHERE id = ?",
        ["1"],
    )
    assert r.json()["items"][0]["who"] == "Ada Lovelace"


def test_conditions_like_between_is_null_not() -> None:
    client = _client(NetSuiteSimulator(seed=1))
    r = _query(
        client,
        "SELECT id FROM employee WHERE lastname LIKE ? AND NOT id BETWEEN ? AND ? "
        "AND email IS NOT NULL ORDER BY id DESC",
        ["%o%", "3", "5"],
    )
    ids = [item["id"] for item in r.json()["items"]]
    assert ids == sorted(ids, key=int, reverse=True)
    assert "4" not in ids
    assert "2" in ids


def test_paging_rules_limit_and_offset() -> None:
    client = _client(NetSuiteSimulator(seed=1))
    assert _query(client, "SELECT id FROM timebill", [], limit=1001).status_code == 400
    assert _query(client, "SELECT id FROM timebill", [], limit=10, offset=5).status_code == 400
    page = _query(client, "SELECT id FROM timebill ORDER BY id", [], limit=5, offset=15).json()
    assert page["count"] == 5
    assert page["hasMore"] is False
    assert page["totalResults"] == 20
    assert any(link["rel"] == "prev" for link in page["links"])


def test_prefer_transient_is_required() -> None:
    sim = NetSuiteSimulator(seed=1)
    client = httpx2.Client(
        transport=httpx2.MockTransport(sim),
        base_url=sim.base_url,
        headers={"Authorization": sim.bearer_header},
    )
    r = client.post("/services/rest/query/v1/suiteql", json={"q": "SELECT id FROM timebill"})
    assert r.status_code == 400


def test_results_beyond_the_cap_cannot_be_reached() -> None:
    from erpsa_netsuite.simulator import SimConfig

    sim = NetSuiteSimulator(seed=1, config=SimConfig(query_cap=10))
    client = _client(sim)
    page = _query(client, "SELECT id FROM timebill ORDER BY id", [], limit=5, offset=5).json()
    assert page["hasMore"] is False
    assert page["totalResults"] == 20
    assert _query(client, "SELECT id FROM timebill", [], limit=5, offset=10).status_code == 400


def test_pages_are_re_evaluated_unless_snapshot_is_configured() -> None:
    from erpsa_netsuite.simulator import SimConfig

    for snapshot, expected_second_page_first in ((False, "7"), (True, "6")):
        sim = NetSuiteSimulator(seed=1, config=SimConfig(suiteql_snapshot=snapshot))
        client = _client(sim)
        q = "SELECT id FROM timebill ORDER BY id"
        _query(client, q, [], limit=5, offset=0)
        sim.remove("timebill", 1)
        second = _query(client, q, [], limit=5, offset=5).json()["items"]
        assert second[0]["id"] == expected_second_page_first


rows = st.lists(st.integers(0, 40), min_size=0, max_size=120)


@settings(max_examples=60, deadline=None)
@given(
    rows=rows,
    after=st.tuples(st.integers(-1, 41), st.integers(0, 130)),
    horizon=st.integers(0, 45),
    limit=st.integers(1, 20),
)
def test_indexed_keyset_equals_brute_force(
    rows: list[int], after: tuple[int, int], horizon: int, limit: int
) -> None:
    sim = NetSuiteSimulator(seed=0, seed_data=False)
    stored = []
    for sec in rows:
        ts = T0 + timedelta(seconds=sec)
        stored.append((ts, sim.table("timebill").insert({"employee": 1}, at=ts).id))
    a_ts = T0 + timedelta(seconds=after[0])
    h_ts = T0 + timedelta(seconds=horizon)
    expected = sorted((ts, rid) for ts, rid in stored if (ts, rid) > (a_ts, after[1]) and ts < h_ts)
    params = [_text(a_ts), _text(a_ts), str(after[1]), _text(h_ts)]
    body = _query(_client(sim), KEYSET, params, limit=limit).json()
    got = [(item["ts"], int(item["id"])) for item in body["items"]]
    assert got == [(_text(ts), rid) for ts, rid in expected[:limit]]
    assert body["totalResults"] == len(expected)
    assert body["hasMore"] == (len(expected) > limit)
