"""A frozen snapshot of three vendor APIs, served fast over loopback (bare ASGI on uvicorn).

Every record is rendered to JSON bytes once at start-up and every page body is a bytes join
cached after its first request, so a request costs a lookup and a socket write: the server is
never what a benchmark measures (``bench`` reports its ceiling beside the clients).

Routes (just enough of each vendor for its connector's read path and for raw clients):

* NetSuite ``POST /services/rest/query/v1/suiteql?limit=`` - keyset pages: the row after the
  id in ``params[2]`` (the connector's ``(timestamp, id)`` keyset; ids follow timestamps).
* Kantata ``GET /api/v1/time_entries`` - ``updated_after`` (exclusive), ``updated_before``,
  ``page`` / ``per_page``, in the ``results`` + map envelope with ``meta``.
* Dataverse ``GET /api/data/v9.2/msdyn_timeentries`` - ``Prefer: odata.maxpagesize``, then
  ``@odata.nextLink`` with a ``$skiptoken``.

Run: ``python -m bench._server --records 100000 --port 0`` prints one JSON line (base URL)
when it is ready.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import re
import socket
import sys
import urllib.parse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from bench import _shapes

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

SUITEQL = "/services/rest/query/v1/suiteql"
KANTATA = "/api/v1/time_entries"
DATAVERSE = "/api/data/v9.2/msdyn_timeentries"
_MAXPAGESIZE = re.compile(rb"odata\.maxpagesize=(\d+)")


class Snapshot:
    """Pre-rendered records of every vendor and the page bodies built from them."""

    def __init__(self, n: int, origin: str, vendors: tuple[str, ...] = _shapes.VENDORS) -> None:
        self.n = n
        self.origin = origin
        self.records = {v: _shapes.render(v, n) for v in vendors}
        if "kantata" in self.records:
            self.kantata_ts = [_shapes.kantata_ts(i) for i in range(n)]
            self.kantata_frag = [
                b'"' + _shapes.kantata_id(i).encode() + b'":' + r
                for i, r in enumerate(self.records["kantata"])
            ]
        self.cache: dict[tuple[Any, ...], bytes] = {}

    # -- page bodies ---------------------------------------------------------------------

    def netsuite(self, start: int, limit: int) -> bytes:
        key = ("netsuite", start, limit)
        body = self.cache.get(key)
        if body is None:
            rows = self.records["netsuite"][start : start + limit]
            more = start + len(rows) < self.n
            link = f"{self.origin}{SUITEQL}?limit={limit}&offset=0"
            body = b"".join(
                [
                    b'{"links":[{"rel":"self","href":' + json.dumps(link).encode() + b"}]",
                    b',"count":' + str(len(rows)).encode(),
                    b',"hasMore":' + (b"true" if more else b"false"),
                    b',"items":[' + b",".join(rows) + b"]",
                    b',"offset":0,"totalResults":' + str(self.n - start).encode() + b"}",
                ]
            )
            self.cache[key] = body
        return body

    def kantata(self, start: int, end: int, page: int, per_page: int) -> bytes:
        key = ("kantata", start, end, page, per_page)
        body = self.cache.get(key)
        if body is None:
            count = max(0, end - start)
            lo = start + (page - 1) * per_page
            hi = min(end, lo + per_page)
            ids = range(lo, max(lo, hi))
            results = b",".join(
                b'{"key":"time_entries","id":"' + _shapes.kantata_id(i).encode() + b'"}'
                for i in ids
            )
            page_count = max(1, -(-count // per_page))
            meta = {
                "count": count,
                "page_count": page_count,
                "page_number": page,
                "page_size": per_page,
            }
            body = b"".join(
                [
                    b'{"count":' + str(count).encode(),
                    b',"results":[' + results + b"]",
                    b',"time_entries":{' + b",".join(self.kantata_frag[lo:hi]) + b"}",
                    b',"meta":' + json.dumps(meta).encode() + b"}",
                ]
            )
            self.cache[key] = body
        return body

    def dataverse(self, start: int, size: int) -> bytes:
        key = ("dynamics365", start, size)
        body = self.cache.get(key)
        if body is None:
            rows = self.records["dynamics365"][start : start + size]
            parts = [
                b'{"@odata.context":"' + self.origin.encode() + b"/api/data/v9.2/$metadata"
                b'#msdyn_timeentries","value":[' + b",".join(rows) + b"]"
            ]
            if start + size < self.n:
                link = f"{self.origin}{DATAVERSE}?$skiptoken={start + size}"
                parts.append(b',"@odata.nextLink":' + json.dumps(link).encode())
            body = b"".join(parts) + b"}"
            self.cache[key] = body
        return body

    def prerender(self, size: int = 1000, kantata_size: int = 200) -> None:
        """Build the plain page sequence of every vendor (what raw clients ask for)."""
        for start in range(0, self.n, size):
            if "netsuite" in self.records:
                self.netsuite(start, size)
            if "dynamics365" in self.records:
                self.dataverse(start, size)
        if "kantata" in self.records:
            for page in range(1, self.n // kantata_size + 2):
                self.kantata(0, self.n, page, kantata_size)

    # -- routing -------------------------------------------------------------------------

    def route(
        self, method: str, path: str, query: bytes, headers: dict[bytes, bytes], body: bytes
    ) -> tuple[int, bytes]:
        q = urllib.parse.parse_qs(query.decode()) if query else {}
        if path == SUITEQL and method == "POST":
            limit = int(q.get("limit", ["1000"])[0])
            params = json.loads(body or b"{}").get("params") or []
            after = str(params[2]) if len(params) > 2 else "0"
            start = int(after) - 100_000 + 1 if after.isdigit() and int(after) >= 100_000 else 0
            return 200, self.netsuite(start, limit)
        if path == KANTATA and method == "GET":
            per_page = int(q.get("per_page", ["20"])[0])
            page = int(q.get("page", ["1"])[0])
            start = 0
            end = self.n
            if "updated_after" in q:
                start = bisect.bisect_right(self.kantata_ts, q["updated_after"][0])
            if "updated_before" in q:
                end = bisect.bisect_left(self.kantata_ts, q["updated_before"][0])
            return 200, self.kantata(start, end, page, per_page)
        if path == DATAVERSE and method == "GET":
            match = _MAXPAGESIZE.search(headers.get(b"prefer", b""))
            size = int(match.group(1)) if match else 5000
            start = int(q.get("$skiptoken", ["0"])[0])
            if "$skiptoken" in q:
                size = int(q.get("$size", [str(size)])[0])
            return 200, self.dataverse(start, size)
        if path == "/meta":
            return 200, json.dumps({"records": self.n, "pid": os.getpid()}).encode()
        return 404, b'{"error":"not found"}'

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        if scope["method"] == "POST":
            more = True
            while more:
                message = await receive()
                body += message.get("body", b"")
                more = message.get("more_body", False)
        try:
            status, payload = self.route(
                scope["method"],
                scope["path"],
                scope["query_string"],
                dict(scope["headers"]),
                body,
            )
        except (ValueError, KeyError, IndexError) as exc:
            status, payload = 400, json.dumps({"error": str(exc)}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json; charset=utf-8"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def main(argv: list[str] | None = None) -> None:
    """Render, bind, print ``{"base_url", "pid"}`` and serve until killed."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--vendors", default=",".join(_shapes.VENDORS))
    a = ap.parse_args(argv)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", a.port))
    origin = f"http://127.0.0.1:{sock.getsockname()[1]}"
    snap = Snapshot(a.records, origin, tuple(v for v in a.vendors.split(",") if v))
    snap.prerender()
    sock.listen(128)
    import uvicorn

    config = uvicorn.Config(snap, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    print(json.dumps({"base_url": origin, "pid": os.getpid()}), flush=True)
    sys.stdout.flush()
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
