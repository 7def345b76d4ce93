"""One read-path client, run in its own process: pages every record from the frozen server.

Clients (``--client``), all on ``httpx2`` against the same pages:

* ``bytes`` - fetch only, the next request by arithmetic (what the transport can do).
* ``json``  - ``json.loads`` per page, items walked as dicts (the untyped baseline).
* ``model`` - one ``validate_json`` per page into the *same canonical page model* the connector
  uses (its own before-validator reshaping each vendor row into a canonical ``TimeEntry``);
  a page that fails falls back to item-by-item validation, so it is as complete as the SDK.
* ``sdk``   - the connector's client: ``read(TimeEntry)`` through ``Pager`` / ``KantataPager``.

Prints one JSON line: records, rejected, unique ids, fetch seconds, CPU seconds, peak RSS.
Only the fetch loop is timed; imports and set-up are ``startup_s``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

CLIENTS = ("bytes", "json", "model", "sdk")
NS_QUERY = "SELECT id, lastmodified FROM timebill ORDER BY lastmodifieddate, id"
_FLOOR = ["1970-01-01 00:00:00", "1970-01-01 00:00:00", "0", "2999-01-01 00:00:00"]


def _process_start() -> float:
    """Wall-clock time this process started (from /proc; falls back to now)."""
    try:
        with open(f"/proc/{os.getpid()}/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.time()


class Tally:
    """What a walk saw: canonical records, rejected ones (with their source ids), all ids."""

    def __init__(self) -> None:
        self.records = 0
        self.rejected_ids: list[str] = []
        self.ids: list[str] = []


class _Sink(list):  # type: ignore[type-arg]
    """An id list that keeps nothing, so a memory run measures the reader, not the tally."""

    def append(self, _item: object) -> None:
        pass


# -- raw clients -----------------------------------------------------------------------------


def _ns_body(after: str) -> dict[str, Any]:
    params = list(_FLOOR)
    if after:
        params = ["2000-01-01 00:00:00", "2000-01-01 00:00:00", after, _FLOOR[3]]
    return {"q": NS_QUERY, "params": params}


def _http() -> Any:
    import httpx2

    return httpx2.Client(timeout=60)


def _pages_raw(
    http: Any, vendor: str, base: str, n: int, parse: Callable[[bytes], Any] | None
) -> Iterator[tuple[bytes, Any]]:
    """Yield (body, parsed or None) for every page; the next request from the page itself
    (or by arithmetic when ``parse`` is None)."""
    with http:
        if vendor == "netsuite":
            after, start = "", 0
            while True:
                r = http.post(
                    f"{base}/services/rest/query/v1/suiteql?limit=1000&offset=0",
                    json=_ns_body(after),
                    headers={"Prefer": "transient"},
                )
                r.raise_for_status()
                doc = parse(r.content) if parse else None
                yield r.content, doc
                start += 1000
                if doc is None:
                    if start >= n:
                        return
                    after = str(100_000 + start - 1)
                    continue
                if not doc["hasMore"]:
                    return
                after = doc["last_id"] if "last_id" in doc else doc["items"][-1]["id"]
        elif vendor == "kantata":
            page = 1
            while True:
                r = http.get(
                    f"{base}/api/v1/time_entries",
                    params={
                        "order": "updated_at:asc",
                        "per_page": "200",
                        "page": str(page),
                        "from_archived_workspaces": "true",
                    },
                )
                r.raise_for_status()
                doc = parse(r.content) if parse else None
                yield r.content, doc
                if doc is None:
                    if page * 200 >= n:
                        return
                elif doc["meta"]["page_number"] >= doc["meta"]["page_count"]:
                    return
                page += 1
        else:
            url: str | None = f"{base}/api/data/v9.2/msdyn_timeentries?$select=msdyn_timeentryid"
            start = 0
            headers = {"Prefer": "odata.maxpagesize=1000", "OData-Version": "4.0"}
            while url:
                r = http.get(url, headers=headers)
                r.raise_for_status()
                doc = parse(r.content) if parse else None
                yield r.content, doc
                start += 1000
                if doc is None:
                    url = (
                        f"{base}/api/data/v9.2/msdyn_timeentries?$skiptoken={start}"
                        if start < n
                        else None
                    )
                else:
                    url = doc.get("@odata.nextLink")


_ITEMS = {"netsuite": "items", "kantata": "time_entries", "dynamics365": "value"}
_ID = {"netsuite": "id", "kantata": "id", "dynamics365": "msdyn_timeentryid"}


Walk = Callable[[], None]


def run_bytes(vendor: str, base: str, n: int, tally: Tally) -> Walk:
    size = 200 if vendor == "kantata" else 1000
    http = _http()

    def walk() -> None:
        pages = 0
        for _body, _ in _pages_raw(http, vendor, base, n, None):
            pages += 1
        tally.records = min(n, pages * size)  # counted by arithmetic: nothing is parsed

    return walk


def run_json(vendor: str, base: str, n: int, tally: Tally) -> Walk:
    items_key, id_key = _ITEMS[vendor], _ID[vendor]
    http = _http()

    def walk() -> None:
        for _, doc in _pages_raw(http, vendor, base, n, json.loads):
            items = doc[items_key]
            rows = items.values() if isinstance(items, dict) else items
            for row in rows:
                tally.records += 1
                tally.ids.append(row[id_key])

    return walk


def page_model(vendor: str) -> tuple[Any, Any]:
    """(page TypeAdapter, item TypeAdapter) over the connector's own canonical item type."""
    from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model

    from erpsa_sdk.models import TimeEntry

    item: Any
    fields: dict[str, Any]
    if vendor == "netsuite":
        from erpsa_netsuite import NetSuite

        item = NetSuite("1234567", base_url="http://127.0.0.1:1").core.item_type("TimeEntry")
        fields = {"items": (list[item], ...), "hasMore": (bool, ...)}
    elif vendor == "kantata":
        from typing import Annotated

        from pydantic import BeforeValidator

        from erpsa_kantata.resources import RESOURCES, Envelope

        spec = RESOURCES["TimeEntry"]
        env = Envelope(count=0, results=(), maps={}, meta={})

        def reshape(raw: Any) -> Any:
            return spec.fields_of(raw, "default", env)[1] if isinstance(raw, dict) else raw

        item = Annotated[TimeEntry, BeforeValidator(reshape)]
        fields = {
            "time_entries": (dict[str, item], ...),
            "results": (list[dict[str, str]], ...),
            "meta": (dict[str, int], ...),
        }
    else:
        from erpsa_dynamics365 import Dynamics365, bearer

        d365 = Dynamics365("http://127.0.0.1:1", auth=bearer("t"))
        item = d365._core.item_type(TimeEntry)
        fields = {
            "value": (list[item], ...),
            "next": (str | None, Field(default=None, alias="@odata.nextLink")),
        }

    class _Base(BaseModel):
        model_config = ConfigDict(extra="ignore")

    page = create_model(f"{vendor.title()}Page", __base__=_Base, **fields)
    return TypeAdapter(page), TypeAdapter(item)


def run_model(vendor: str, base: str, n: int, tally: Tally) -> Walk:
    from pydantic import ValidationError

    page_adapter, item_adapter = page_model(vendor)
    items_key, id_key = _ITEMS[vendor], _ID[vendor]

    def parse(body: bytes) -> Any:
        try:
            page = page_adapter.validate_json(body)
        except ValidationError:
            # The page holds a bad record: validate its items one by one (no second request).
            raw = json.loads(body)
            rows = raw[items_key]
            good = []
            for row in rows.values() if isinstance(rows, dict) else rows:
                try:
                    good.append(item_adapter.validate_python(row))
                except ValidationError:
                    tally.rejected_ids.append(str(row[id_key]))
                    tally.ids.append(str(row[id_key]))
            objs = good
            doc = {k: v for k, v in raw.items() if k != items_key}
        else:
            items = getattr(page, items_key)
            objs = list(items.values()) if isinstance(items, dict) else items
            doc = {
                "hasMore": getattr(page, "hasMore", None),
                "meta": getattr(page, "meta", None),
                "@odata.nextLink": getattr(page, "next", None),
            }
        for obj in objs:
            tally.records += 1
            tally.ids.append(obj.key)
        if vendor == "netsuite" and objs:
            doc["last_id"] = max(objs[-1].key, *(tally.rejected_ids[-1:] or ["0"]), key=int)
        return doc

    http = _http()

    def walk() -> None:
        for _ in _pages_raw(http, vendor, base, n, parse):
            pass

    return walk


def run_sdk(vendor: str, base: str, n: int, tally: Tally) -> Walk:
    from erpsa_sdk.models import Rejected, TimeEntry

    pager: Any
    if vendor == "netsuite":
        from erpsa_netsuite import NetSuite, bearer

        pager = NetSuite("1234567", auth=bearer("t"), base_url=base).time_entries.list()
    elif vendor == "kantata":
        from erpsa_kantata import Kantata

        pager = Kantata(token="t", base_url=f"{base}/api/v1/").read(TimeEntry)
    else:
        from erpsa_dynamics365 import Dynamics365
        from erpsa_dynamics365 import bearer as d_bearer

        pager = Dynamics365(base, auth=d_bearer("t")).read(TimeEntry)

    def walk() -> None:
        for item in pager:
            if isinstance(item, Rejected):
                rid = item.source_ref.id if item.source_ref else "?"
                tally.rejected_ids.append(rid)
                tally.ids.append(rid)
            else:
                tally.records += 1
                tally.ids.append(item.source_refs[0].id)

    return walk


RUNNERS = {"bytes": run_bytes, "json": run_json, "model": run_model, "sdk": run_sdk}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run one client once and print its result line."""
    started = _process_start()
    ap = argparse.ArgumentParser()
    ap.add_argument("--vendor", required=True)
    ap.add_argument("--client", required=True, choices=CLIENTS)
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--count-only", action="store_true", help="keep no ids (memory runs)")
    a = ap.parse_args(argv)
    from bench import _shapes

    tally = Tally()
    walk = RUNNERS[a.client](a.vendor, a.base_url.rstrip("/"), a.records, tally)
    startup = time.time() - started
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    if a.count_only:
        tally.ids = _Sink()
    walk()
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    poison = _shapes.IDS[a.vendor](_shapes.poison_index(a.records))
    unique = None if a.count_only or not tally.ids else len(set(tally.ids))
    total = tally.records + len(tally.rejected_ids)
    complete = total == a.records and (unique is None or unique == a.records)
    validated = a.client in ("json", "bytes") or tally.rejected_ids == [poison]
    out = {
        "vendor": a.vendor,
        "client": a.client,
        "records": tally.records,
        "rejected": len(tally.rejected_ids),
        "poison_rejected": poison in tally.rejected_ids,
        "unique_ids": unique,
        "seconds": round(seconds, 4),
        "records_per_s": round(a.records / seconds, 1) if seconds > 0 else None,
        "cpu_s": round(cpu, 4),
        "cpu_us_per_record": round(1e6 * cpu / a.records, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "startup_s": round(startup, 3),
        "ok": complete and validated,
    }
    print(json.dumps(out), flush=True)
    return out


if __name__ == "__main__":
    sys.exit(0 if main()["ok"] else 1)
