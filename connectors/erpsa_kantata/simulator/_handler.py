"""The Kantata simulator as a sans-IO handler: ``httpx2.Request -> httpx2.Response``.

Example:
    >>> import httpx2
    >>> sim = KantataSimulator(seed=7)
    >>> client = httpx2.Client(transport=httpx2.MockTransport(sim), base_url=sim.base_url)
    >>> resp = client.get("workspaces", headers=sim.auth_headers())
    >>> resp.status_code, sorted(resp.json())
    (200, ['count', 'meta', 'results', 'workspaces'])
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from collections import deque
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qsl

import httpx2

from erpsa_kantata.simulator._config import DEFAULT_TOKEN, RateLimit, SimulatorConfig
from erpsa_kantata.simulator._schema import COLLECTIONS, EXTRA_LIMITED
from erpsa_kantata.simulator._store import KantataStore, Record, Reply, error_body

__all__ = ["BASE_URL", "KantataSimulator"]

BASE_URL = "https://api.mavenlink.com/api/v1/"
_PREFIX = "/api/v1/"
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


class _NowClock(Protocol):
    def now(self) -> datetime: ...


class _FixedStartClock:
    """A clock that only moves when told to (the default when no clock is given)."""

    def __init__(self) -> None:
        self._now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


def parse_rails_form(body: str) -> dict[str, Any]:
    """Decode a Rails structured form body (``time_entry[notes]=x``) into nested dicts.

    Example:
        >>> parse_rails_form("time_entry[time_in_minutes]=34&time_entry[billable]=true")
        {'time_entry': {'time_in_minutes': '34', 'billable': 'true'}}
        >>> parse_rails_form("invoice[time_entry_ids][]=1&invoice[time_entry_ids][]=2")
        {'invoice': {'time_entry_ids': ['1', '2']}}
    """
    out: dict[str, Any] = {}
    for raw_key, value in parse_qsl(body, keep_blank_values=True):
        match = _KEY.match(raw_key)
        if match is None:
            continue
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt = None if last else parts[i + 1]
            if part == "":
                if last:
                    node.append(value)
                    break
                if not node or not isinstance(node[-1], dict) or (nxt in node[-1]):
                    node.append({})
                node = node[-1]
                continue
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, [] if nxt == "" else {})
    return out


class KantataSimulator:
    """A faithful, stateful stand-in for ``https://api.mavenlink.com/api/v1/``.

    Use it as ``httpx2.MockTransport(sim)``. It keeps a small seeded data set, enforces bearer
    auth, pages with ``page`` / ``per_page`` (capped at 200), side-loads ``include=``, filters,
    orders (ties in a different seeded order on every request), hides archived workspaces and
    their rows unless asked, answers the vendor's error bodies, records subscribed events for 9
    days of clock time, and — like the real API — never de-duplicates a repeated POST.

    Parameters:
        seed: drives the data set, tie order and request ids.
        faults: a fault plan (applied by the test kit's wrapper when present).
        clock: anything with ``now()`` (a ``SimClock``); a still clock by default.
        config: switches for unverified behaviour (:class:`SimulatorConfig`).
        seed_data: load the small seeded data set (default ``True``).

    Example:
        >>> sim = KantataSimulator(seed=1)
        >>> sorted(sim.records("workspaces"))[:1] != []
        True
    """

    base_url = BASE_URL

    def __init__(
        self,
        *,
        seed: int = 0,
        faults: Any = None,
        clock: _NowClock | None = None,
        config: SimulatorConfig | None = None,
        seed_data: bool = True,
    ) -> None:
        self.seed = seed
        self.faults = faults
        self.clock: _NowClock = clock if clock is not None else _FixedStartClock()
        self.config = config or SimulatorConfig()
        self.store = KantataStore(self.config, seed=seed, now=self.clock.now)
        self._revoked: set[str] = set()
        self._hits: dict[tuple[str, str], deque[datetime]] = {}
        self._limit_lock = threading.Lock()
        self.requests_seen = 0
        if seed_data:
            from erpsa_kantata.simulator._seed import load_seed

            load_seed(self, seed)

    # ------------------------------------------------------------ public API

    @property
    def token(self) -> str:
        """A bearer token the simulator accepts.

        Example:
            >>> KantataSimulator(seed_data=False).token
            'kantata-sim-token'
        """
        return DEFAULT_TOKEN if DEFAULT_TOKEN in self.config.tokens else min(self.config.tokens)

    def auth_headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}`` for a plain HTTP client.

        Example:
            >>> KantataSimulator(seed_data=False).auth_headers()["Authorization"][:7]
            'Bearer '
        """
        return {"Authorization": f"Bearer {self.token}"}

    def revoke(self, token: str) -> None:
        """Revoke a token: from now on it gets 401 (the user revoked the app's access).

        Example:
            >>> sim = KantataSimulator(seed_data=False)
            >>> sim.revoke(sim.token)
        """
        self._revoked.add(token)

    def records(self, collection: str) -> dict[str, Record]:
        """A snapshot (copies) of every stored record of one collection, by id.

        Example:
            >>> KantataSimulator(seed_data=False).records("time_entries")
            {}
        """
        with self.store.lock:
            return {k: dict(r.record) for k, r in self.store.tables[collection].items()}

    def record(self, collection: str, record_id: str) -> Record:
        """A copy of one stored record (``KeyError`` when absent).

        Example:
            >>> sim = KantataSimulator(seed=1)
            >>> uid = next(iter(sim.records("users")))
            >>> sim.record("users", uid)["full_name"]
            'Ada Lovelace'
        """
        with self.store.lock:
            return dict(self.store.tables[collection][str(record_id)].record)

    def create(self, collection: str, **attrs: Any) -> Record:
        """Admin: create a record as a user of the web app would (stamped with the clock).

        Example:
            >>> sim = KantataSimulator(seed_data=False)
            >>> sim.create("workspace_groups", name="Acme")["name"]
            'Acme'
        """
        status, body = self.store.create(collection, attrs)
        if status != 200 or body is None:
            raise ValueError(f"admin create of {collection} failed: {body}")
        return self.record(collection, body["results"][0]["id"])

    def update(self, collection: str, record_id: str, **attrs: Any) -> Record:
        """Admin: edit a record (its ``updated_at`` becomes the clock's now).

        Example:
            >>> sim = KantataSimulator(seed_data=False)
            >>> g = sim.create("workspace_groups", name="Acme")
            >>> sim.update("workspace_groups", g["id"], name="Acme Ltd")["name"]
            'Acme Ltd'
        """
        status, body = self.store.update(collection, str(record_id), attrs)
        if status != 200:
            raise ValueError(f"admin update of {collection}/{record_id} failed: {body}")
        return self.record(collection, str(record_id))

    def touch(self, collection: str, record_id: str) -> None:
        """Admin: stamp a record as modified now without changing a field.

        Example:
            >>> sim = KantataSimulator(seed_data=False)
            >>> g = sim.create("workspace_groups", name="Acme")
            >>> sim.touch("workspace_groups", g["id"])
        """
        with self.store.lock:
            row = self.store.tables[collection][str(record_id)]
            row.updated = self.store.now()
            row.record["updated_at"] = row.updated.isoformat(timespec="seconds")

    def delete(self, collection: str, record_id: str) -> None:
        """Admin: delete a record (a ``*:deleted`` subscribed event is recorded).

        Example:
            >>> sim = KantataSimulator(seed_data=False)
            >>> g = sim.create("workspace_groups", name="Acme")
            >>> sim.delete("workspace_groups", g["id"])
        """
        status, body = self.store.delete(collection, str(record_id))
        if status != 204:
            raise ValueError(f"admin delete of {collection}/{record_id} failed: {body}")

    def archive_workspace(self, workspace_id: str, archived: bool = True) -> None:
        """Admin: archive (or restore) a workspace; its rows leave default lists.

        Example:
            >>> sim = KantataSimulator(seed_data=False)
            >>> ws = sim.create("workspaces", title="P", creator_role="maven")
            >>> sim.archive_workspace(ws["id"])
        """
        self.update("workspaces", workspace_id, archived=archived)

    def approve(self, time_entry_id: str) -> None:
        """Admin: approve a time entry (it is then locked against edits and deletes).

        Example:
            >>> sim = KantataSimulator(seed=3)
            >>> te = next(iter(sim.records("time_entries")))
            >>> sim.approve(te)
        """
        with self.store.lock:
            row = self.store.tables["time_entries"][str(time_entry_id)]
            row.record["approved"] = True
            row.updated = self.store.now()
            row.record["updated_at"] = row.updated.isoformat(timespec="seconds")

    # --------------------------------------------------------------- handler

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        """Answer one request.

        Example:
            >>> import httpx2
            >>> sim = KantataSimulator(seed_data=False)
            >>> sim(httpx2.Request("GET", sim.base_url + "users")).status_code
            401
        """
        request_no = self.store.next_request()
        self.requests_seen += 1
        status, body = self._dispatch(request, request_no)
        return self._response(request, status, body, request_no)

    def _response(
        self, request: httpx2.Request, status: int, body: dict[str, Any] | None, request_no: int
    ) -> httpx2.Response:
        rid = uuid.UUID(bytes=hashlib.md5(f"{self.seed}:{request_no}".encode()).digest())  # noqa: S324 - an id, not a hash for security
        headers = {
            "X-Request-Id": str(rid),
            "X-Runtime": "0.012345",
            "Cache-Control": "no-cache, no-store",
        }
        if body is None:
            return httpx2.Response(status, headers=headers, request=request)
        content = json.dumps(body, separators=(",", ":")).encode()
        headers["Content-Type"] = "application/json; charset=utf-8"
        if status == 200:
            headers["Etag"] = f'W/"{hashlib.md5(content).hexdigest()}"'  # noqa: S324
        return httpx2.Response(status, headers=headers, content=content, request=request)

    def _authorized(self, request: httpx2.Request) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or token not in self.config.tokens:
            return None
        if token in self._revoked:
            return None
        return token

    def _throttled(self, token: str, method: str, segments: list[str]) -> bool:
        path = segments[0] if segments else ""
        if len(segments) >= 3:
            path = f"{segments[0]}/{segments[2]}"
        extra = (method, path) in EXTRA_LIMITED
        limits: list[tuple[str, RateLimit | None]] = [("general", self.config.rate_limit)]
        if extra:
            limits.append((f"{method} {path}", self.config.extra_rate_limit))
        now = self.clock.now()
        with self._limit_lock:
            for scope, limit in limits:
                if limit is None:
                    continue
                window = self._hits.setdefault((token, scope), deque())
                horizon = now - timedelta(seconds=limit.window_seconds)
                while window and window[0] <= horizon:
                    window.popleft()
                if len(window) >= limit.requests:
                    return True
            for scope, limit in limits:
                if limit is not None:
                    self._hits[(token, scope)].append(now)
        return False

    def _dispatch(self, request: httpx2.Request, request_no: int) -> Reply:
        path = request.url.path
        if not path.startswith(_PREFIX):
            return 404, error_body("system", "Not found")
        token = self._authorized(request)
        if token is None:
            return 401, error_body("oauth", "Invalid OAuth 2 Request")
        segments = [s for s in path[len(_PREFIX) :].split("/") if s]
        if segments:
            segments[-1] = segments[-1].removesuffix(".json")
        method = request.method.upper()
        if self._throttled(token, method, segments):
            return 429, error_body("system", "Too many requests. Please retry after a short delay")
        if not segments or segments[0] not in COLLECTIONS:
            return 404, error_body("system", "Not found")
        collection = segments[0]
        params = dict(request.url.params.multi_items())
        store = self.store
        if method == "GET" and len(segments) == 1:
            return store.list(collection, params, request_no)
        if method == "GET" and len(segments) == 2:
            return store.show(collection, segments[1], params)
        if method in {"POST", "PUT", "PATCH"}:
            try:
                payload = self._payload(request)
            except ValueError:
                return 400, error_body("system", "Could not parse the request body")
            singular = COLLECTIONS[collection].singular
            attrs = payload.get(singular)
            if not isinstance(attrs, Mapping):
                return 422, error_body("validation", f"{singular} is required", singular)
            if collection == "external_references" and segments[1:] == ["create_or_update"]:
                return store.create_or_update_reference(dict(attrs))
            if method == "POST" and len(segments) == 1:
                return store.create(collection, dict(attrs))
            if method in {"PUT", "PATCH"} and len(segments) == 2:
                return store.update(collection, segments[1], dict(attrs))
        if method == "DELETE" and len(segments) == 2:
            return store.delete(collection, segments[1])
        return 404, error_body("system", "Not found")

    @staticmethod
    def _payload(request: httpx2.Request) -> dict[str, Any]:
        raw = request.content.decode("utf-8") if request.content else ""
        if not raw:
            return {}
        ctype = request.headers.get("content-type", "")
        if "json" in ctype or raw.lstrip().startswith("{"):
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("body is not an object")
            return data
        return parse_rails_form(raw)

    def __repr__(self) -> str:
        counts = {k: len(v) for k, v in self.store.tables.items() if v}
        return f"KantataSimulator(seed={self.seed}, records={counts})"


def _date(value: date) -> str:
    return value.isoformat()
