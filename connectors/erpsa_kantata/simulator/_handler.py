"""The Kantata simulator on the test kit's :class:`~erpsa_sdk.testing.Simulator` base.

A sans-IO handler (``httpx2.Request -> httpx2.Response``) over in-memory tables on
``https://api.mavenlink.com/api/v1/``; the kit adds the admin API, reproducible fault plans,
the clock and loopback serving.

Examples:
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
import random
import re
import uuid
from collections import deque
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode

from erpsa_kantata.simulator._config import RateLimit, SimulatorConfig
from erpsa_kantata.simulator._schema import COLLECTIONS, EXTRA_LIMITED
from erpsa_kantata.simulator._store import KantataStore, Record, Reply, error_body
from erpsa_sdk.clock import Clock
from erpsa_sdk.testing.faults import FaultPlan
from erpsa_sdk.testing.simulator import SimReply, SimRequest, SimResponse, Simulator, route
from erpsa_sdk.testing.store import Row

__all__ = ["BASE_URL", "KantataSimulator", "parse_rails_form"]

BASE_URL = "https://api.mavenlink.com/api/v1/"
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")

# Canonical type -> collection, for the contract suite and checkers.
_TYPES: Mapping[str, str] = {
    "Customer": "workspace_groups",
    "Project": "workspaces",
    "ProjectTask": "stories",
    "Milestone": "stories",
    "Resource": "users",
    "Assignment": "workspace_allocations",
    "TimeEntry": "time_entries",
    "Expense": "expenses",
    "Invoice": "invoices",
}


def parse_rails_form(body: str) -> dict[str, Any]:
    """Decode a Rails structured form body (``time_entry[notes]=x``) into nested dicts.

    Examples:
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


class KantataSimulator(Simulator):
    """A faithful, stateful stand-in for ``https://api.mavenlink.com/api/v1/``.

    Use it as ``httpx2.MockTransport(sim)`` or serve it with :func:`erpsa_sdk.testing.serve`.
    It keeps a small seeded data set, enforces bearer auth (tokens never expire), pages with
    ``page`` / ``per_page`` (capped at 200), side-loads ``include=``, filters, orders (ties in
    a different seeded order on every request), hides archived workspaces and their rows unless
    asked, answers the vendor's error bodies (429 without headers), keeps ``*:deleted``
    subscribed events for 9 days of clock time and — like the real API — never de-duplicates a
    repeated POST.

    Parameters:
        seed: drives the data set, tie order, request ids and the fault plan.
        faults: a :class:`~erpsa_sdk.testing.FaultPlan` (or its text form).
        clock: the clock stamping rows (a ``SimClock`` by default).
        config: switches for unverified behaviour (:class:`SimulatorConfig`).

    Examples:
        >>> sim = KantataSimulator(seed=1)
        >>> len(sim.records("workspaces")), sim.base_url
        (3, 'https://api.mavenlink.com/api/v1/')
    """

    vendor = "kantata"
    base_path = "/api/v1"
    tables = tuple(n for n in COLLECTIONS if n != "subscribed_events")
    sends_retry_after = False
    token_ttl = 10.0 * 365 * 24 * 3600  # Kantata tokens do not expire (fact sheet §1.2)
    base_url: ClassVar[str] = BASE_URL
    entity_key_fields: ClassVar[dict[str, tuple[str, str]]] = {
        name: (coll, "external_reference") for name, coll in _TYPES.items()
    }
    source_tables: ClassVar[dict[str, str]] = dict(_TYPES)

    store: KantataStore

    def __init__(
        self,
        *,
        seed: int = 0,
        faults: FaultPlan | str | None = None,
        clock: Clock | None = None,
        config: SimulatorConfig | None = None,
        tenant: str = "kantata",
    ) -> None:
        self.config = config or SimulatorConfig()
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._codes: dict[str, tuple[str, float]] = {}  # code -> (redirect_uri, expires)
        super().__init__(seed=seed, faults=faults, clock=clock, tenant=tenant)

    # ---------------------------------------------------------------- kit hooks

    def seed_data(self, rng: random.Random) -> None:
        """Build the store on the kit's tables and load the small seeded account."""
        self.store = KantataStore(
            self.config, seed=self.seed, tables=self._tables, now=self.clock.now, lock=self._lock
        )
        from erpsa_kantata.simulator._seed import load_seed

        load_seed(self, rng)

    def error_body(self, status: int, code: str, message: str) -> Any:
        """Kantata's ``{"errors": [{type, message}]}`` (``oauth`` for a 401, else ``system``).

        Examples:
            >>> KantataSimulator(seed=0).error_body(401, "UNAUTHORIZED", "x")
            {'errors': [{'type': 'oauth', 'message': 'Invalid OAuth 2 Request'}]}
        """
        if status == 401:
            return error_body("oauth", "Invalid OAuth 2 Request")
        if status == 404:
            return error_body("system", "Not found")
        return error_body("system", message)

    def sample_row(self, table: str, rng: random.Random) -> dict[str, Any]:
        """A new, valid stored row for ``table`` (the kit's churn and the contract suite).

        Examples:
            >>> sim = KantataSimulator(seed=0)
            >>> sorted(sim.sample_row("time_entries", random.Random(1)))[:3]
            ['active_submission_id', 'approved', 'billable']
        """
        ws = self._visible_workspace("USD")
        user = min(self.table("users").live_rows(), key=lambda r: r.id)
        n = rng.randint(1, 10**6)
        by_table: dict[str, dict[str, Any]] = {
            "workspace_groups": {"name": f"Client {n}"},
            "workspaces": {"title": f"Project {n}", "creator_role": "maven", "currency": "USD"},
            "stories": {"title": f"Task {n}", "story_type": "task", "workspace_id": ws},
            "users": {},
            "time_entries": {
                "workspace_id": ws,
                "user_id": str(user.id),
                "date_performed": "2026-01-05",
                "time_in_minutes": rng.randint(1, 480),
                "rate_in_cents": 15000,
                "notes": f"entry {n}",
            },
            "expenses": {
                "workspace_id": ws,
                "user_id": str(user.id),
                "date": "2026-01-05",
                "category": "Travel",
                "amount_in_cents": rng.randint(100, 100000),
                "notes": f"expense {n}",
            },
            "workspace_allocations": {
                "user_id": str(user.id),
                "workspace_id": ws,
                "start_date": "2026-01-05",
                "end_date": "2026-02-27",
                "minutes": 600,
            },
        }
        attrs = by_table.get(table, {})
        if table == "users":
            return self._user_data(f"Person {n}", f"person{n}@example.com")
        return self.store.prepare(table, attrs)

    def mutate_row(self, table: str, data: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
        """A visible change to an existing row.

        Examples:
            >>> KantataSimulator(seed=0).mutate_row("time_entries", {}, random.Random(1))
            {'notes': 'edited 18'}
        """
        field = {
            "workspace_groups": "name",
            "workspaces": "title",
            "stories": "title",
            "users": "full_name",
        }.get(table, "notes")
        return {field: f"edited {rng.randint(1, 99)}"}

    def on_post(self, table: str, row: Row) -> None:
        """Posting locks a row: a time entry is approved, an expense counts as invoiced."""
        if table == "time_entries":
            row.data["approved"] = True
        if table == "expenses":
            row.data["is_invoiced"] = True

    def bad_row(self, table: str) -> dict[str, Any]:
        """A stored row the connector must read as ``Rejected``.

        Examples:
            >>> KantataSimulator(seed=0).bad_row("time_entries")["time_in_minutes"]
            12.5
        """
        data = self.sample_row(table, random.Random(0))  # noqa: S311 - test data
        corrupt: dict[str, dict[str, Any]] = {
            "time_entries": {"time_in_minutes": 12.5},
            "expenses": {"amount_in_cents": "12.5"},
            "workspaces": {"currency": "ZZZ"},
            "workspace_groups": {"name": ""},
            "users": {"full_name": ""},
            "stories": {"title": ""},
            "workspace_allocations": {"start_date": "someday"},
        }
        if table not in corrupt:
            raise NotImplementedError(f"no bad row for {table}")
        data.update(corrupt[table])
        return data

    def naive_create(self, type_name: str, index: int) -> tuple[str, str, Any]:
        """A keyless create, as a naive integrator sends it (the contract's negative control).

        Examples:
            >>> KantataSimulator(seed=0).naive_create("Customer", 1)
            ('POST', '/api/v1/workspace_groups', {'workspace_group': {'name': 'Naive 1'}})
        """
        ws = self._visible_workspace("USD")
        coll = _TYPES[type_name]
        by_table: dict[str, dict[str, Any]] = {
            "workspace_groups": {"name": f"Naive {index}"},
            "workspaces": {"title": f"Naive {index}", "creator_role": "maven"},
            "stories": {"title": f"Naive {index}", "story_type": "task", "workspace_id": ws},
            "time_entries": {
                "workspace_id": ws,
                "date_performed": "2026-01-05",
                "time_in_minutes": 30,
                "notes": f"Naive {index}",
            },
            "expenses": {
                "workspace_id": ws,
                "date": "2026-01-05",
                "category": "Travel",
                "amount_in_cents": 1000,
            },
        }
        attrs = by_table[coll]
        return "POST", f"{self.base_path}/{coll}", {COLLECTIONS[coll].singular: attrs}

    def rows_with_entity_key(self, type_name: str, entity_key: str) -> list[dict[str, Any]]:
        """Live rows of ``type_name`` carrying ``entity_key`` in an external reference.

        Examples:
            >>> KantataSimulator(seed=0).rows_with_entity_key("TimeEntry", "nope")
            []
        """
        coll = _TYPES[type_name]
        subject = COLLECTIONS[coll].subject_type
        with self._lock:
            ids = {
                str(r.data["subject_id"])
                for r in self.table("external_references").live_rows()
                if r.data["subject_type"] == subject and r.data["service_model_ref"] == entity_key
            }
            table = self.table(coll)
            return [row.snapshot() for i in sorted(ids, key=int) if (row := table.get(i))]

    # ------------------------------------------------------------------ OAuth

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> SimReply:
        """The sans-IO core; ``/oauth/…`` (``app.mavenlink.com``) is served beside the API."""
        if target.startswith("/oauth/"):
            target = self.base_path + target
        return super().handle(method, target, headers, body)

    def credentials(self, base_url: str = "http://127.0.0.1") -> dict[str, Any]:
        """A ready ``authorization`` value, and what the authorization-code flow needs.

        Examples:
            >>> creds = KantataSimulator(seed=0).credentials("http://127.0.0.1:9")
            >>> creds["grant_type"], creds["token_url"]
            ('authorization_code', 'http://127.0.0.1:9/oauth/token')
        """
        root = base_url.rstrip("/").removesuffix(self.base_path)
        return {
            **super().credentials(base_url),
            "token_url": f"{root}/oauth/token",
            "authorize_url": f"{root}/oauth/authorize",
            "grant_type": "authorization_code",
            "redirect_uri": min(self.config.redirect_uris),
        }

    @route("GET", "/oauth/authorize", auth=False)
    def _authorize(self, req: SimRequest) -> SimResponse:
        q = req.query
        redirect = q.get("redirect_uri", "")
        if q.get("client_id") != self.client_id or redirect not in self.config.redirect_uris:
            # Never redirect to an unregistered URI: answer the error here.
            return SimResponse.json({"error": "invalid_client"}, status=400)
        if q.get("response_type") != "code":
            where = f"{redirect}?{urlencode({'error': 'unsupported_response_type'})}"
            return SimResponse(302, b"", {"location": where})
        # The simulated account admin approves at once.
        code = hashlib.sha256(f"{self.seed}:{len(self._codes)}:{q}".encode()).hexdigest()[:24]
        self._codes[code] = (redirect, self.clock.monotonic() + self.config.code_ttl)
        params = {"code": code, **({"state": q["state"]} if "state" in q else {})}
        return SimResponse(302, b"", {"location": f"{redirect}?{urlencode(params)}"})

    @route("POST", "/oauth/token", auth=False)
    def _oauth_token(self, req: SimRequest) -> SimResponse:
        data = req.form()
        if data.get("grant_type") != "authorization_code":
            return SimResponse.json({"error": "unsupported_grant_type"}, status=400)
        if data.get("client_id") != self.client_id or data.get("client_secret") != (
            self.client_secret
        ):
            return SimResponse.json({"error": "invalid_client"}, status=401)
        found = self._codes.pop(data.get("code", ""), None)  # single use
        if (
            found is None
            or found[1] <= self.clock.monotonic()
            or found[0] != data.get("redirect_uri")
        ):
            return SimResponse.json({"error": "invalid_grant"}, status=400)
        token = hashlib.sha256(f"{self.api_token}:{len(self._tokens)}".encode()).hexdigest()
        self._tokens[token] = self.clock.monotonic() + self.token_ttl
        # No expires_in and no refresh_token: Kantata tokens do not expire.
        return SimResponse.json({"access_token": token, "token_type": "bearer"})

    # ------------------------------------------------------------ public API

    @property
    def token(self) -> str:
        """The bearer token the simulator accepts (tokens never expire).

        Examples:
            >>> KantataSimulator(seed=0).token.startswith("kantata-test-token-")
            True
        """
        return self.api_token

    def auth_headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}`` for a plain HTTP client.

        Examples:
            >>> KantataSimulator(seed=0).auth_headers()["Authorization"][:7]
            'Bearer '
        """
        return {"Authorization": f"Bearer {self.api_token}"}

    def revoke(self) -> None:
        """Revoke the token (the user revoked the app's access): requests now get 401.

        Examples:
            >>> sim = KantataSimulator(seed=0)
            >>> old = sim.token
            >>> sim.revoke()
            >>> sim.token != old
            True
        """
        self.api_token = f"{self.api_token}-revoked"

    def records(self, collection: str) -> dict[str, Record]:
        """API views of every live record of one collection, by id.

        Examples:
            >>> len(KantataSimulator(seed=0).records("users"))
            5
        """
        with self._lock:
            return {it.record["id"]: it.record for it in self.store.items(collection)}

    def record(self, collection: str, record_id: str) -> Record:
        """The API view of one live record (``KeyError`` when absent).

        Examples:
            >>> sim = KantataSimulator(seed=1)
            >>> sim.record("users", "1")["full_name"]
            'Ada Lovelace'
        """
        with self._lock:
            found = self.store.get(collection, str(record_id))
        if found is None:
            raise KeyError(f"{collection}/{record_id}")
        return found

    def create(self, collection: str, **attrs: Any) -> Record:
        """Create a record through the vendor's own rules (stamped with the clock).

        Examples:
            >>> sim = KantataSimulator(seed=0)
            >>> sim.create("workspace_groups", name="Acme")["name"]
            'Acme'
        """
        status, body = self.store.create(collection, attrs)
        if status != 200 or body is None:
            raise ValueError(f"create of {collection} failed: {body}")
        return self.record(collection, body["results"][0]["id"])

    def update(self, collection: str, record_id: str, **attrs: Any) -> Record:
        """Edit a record through the vendor's rules (its ``updated_at`` becomes now).

        Examples:
            >>> sim = KantataSimulator(seed=0)
            >>> sim.update("workspace_groups", "1", name="Northwind Ltd")["name"]
            'Northwind Ltd'
        """
        status, body = self.store.update(collection, str(record_id), attrs)
        if status != 200:
            raise ValueError(f"update of {collection}/{record_id} failed: {body}")
        return self.record(collection, str(record_id))

    def delete(self, collection: str, record_id: str) -> None:
        """Delete a record through the vendor's rules (a ``*:deleted`` event follows).

        Examples:
            >>> KantataSimulator(seed=0).delete("time_entries", "1")
        """
        status, body = self.store.delete(collection, str(record_id))
        if status != 204:
            raise ValueError(f"delete of {collection}/{record_id} failed: {body}")

    def archive_workspace(self, workspace_id: str, archived: bool = True) -> None:
        """Archive (or restore) a workspace; its rows leave default lists.

        Examples:
            >>> KantataSimulator(seed=0).archive_workspace("1")
        """
        self.update("workspaces", workspace_id, archived=archived)

    def approve(self, time_entry_id: str) -> None:
        """Approve a time entry: it is then locked against edits and deletes.

        Examples:
            >>> KantataSimulator(seed=0).approve("1")
        """
        with self._lock:
            table = self.table("time_entries")
            row = table.get(time_entry_id)
            if row is None:
                raise KeyError(f"time_entries/{time_entry_id}")
            row.data["approved"] = True
            table.touch(row)

    # ---------------------------------------------------------------- routes

    def _reply(self, reply: Reply) -> SimResponse:
        status, body = reply
        n = self.stats.requests
        rid = uuid.UUID(bytes=hashlib.md5(f"{self.seed}:{n}".encode()).digest())  # noqa: S324 - an id, not security
        headers = {
            "X-Request-Id": str(rid),
            "X-Runtime": "0.012345",
            "Cache-Control": "no-cache, no-store",
        }
        if body is None:
            return SimResponse(status, b"", headers)
        content = json.dumps(body, separators=(",", ":")).encode()
        headers["content-type"] = "application/json; charset=utf-8"
        if status == 200:
            headers["Etag"] = f'W/"{hashlib.md5(content).hexdigest()}"'  # noqa: S324
        return SimResponse(status, content, headers)

    def _limited(self, req: SimRequest, collection: str, extra: str | None) -> SimResponse | None:
        # Reactive limits per token and endpoint class; Kantata answers 429 with no headers.
        scopes: list[tuple[str, RateLimit | None]] = [("general", self.config.rate_limit)]
        path = collection if extra is None else f"{collection}/{extra}"
        if (req.method, path) in EXTRA_LIMITED:
            scopes.append((f"{req.method} {path}", self.config.extra_rate_limit))
        token = req.headers.get("authorization", "")
        now = self.clock.monotonic()
        for scope, limit in scopes:
            if limit is None:
                continue
            window = self._hits.setdefault((token, scope), deque())
            while window and window[0] <= now - limit.window_seconds:
                window.popleft()
            if len(window) >= limit.requests:
                self.stats.limit_violations += 1
                return self._reply(
                    (429, error_body("system", "Too many requests; retry after a short delay"))
                )
        for scope, limit in scopes:
            if limit is not None:
                self._hits[(token, scope)].append(now)
        return None

    @staticmethod
    def _collection(raw: str) -> str | None:
        name = raw.removesuffix(".json")
        return name if name in COLLECTIONS else None

    def _payload(self, req: SimRequest, collection: str) -> Record | SimResponse:
        raw = req.body.decode("utf-8") if req.body else ""
        try:
            if not raw:
                data: Any = {}
            elif "json" in req.headers.get("content-type", "") or raw.lstrip().startswith("{"):
                data = json.loads(raw)
            else:
                data = parse_rails_form(raw)
        except ValueError:
            return self._reply((400, error_body("system", "Could not parse the request body")))
        singular = COLLECTIONS[collection].singular
        attrs = data.get(singular) if isinstance(data, dict) else None
        if not isinstance(attrs, Mapping):
            return self._reply((422, error_body("validation", f"{singular} is required", singular)))
        return dict(attrs)

    @route("GET", "/{collection}")
    def _list(self, req: SimRequest) -> SimResponse:
        coll = self._collection(req.params["collection"])
        if coll is None:
            return self._reply((404, error_body("system", "Not found")))
        limited = self._limited(req, coll, None)
        if limited is not None:
            return limited
        return self._reply(self.store.list(coll, req.query, self.store.next_request()))

    @route("GET", "/{collection}/{record_id}")
    def _show(self, req: SimRequest) -> SimResponse:
        coll = self._collection(req.params["collection"])
        if coll is None:
            return self._reply((404, error_body("system", "Not found")))
        limited = self._limited(req, coll, None)
        if limited is not None:
            return limited
        record_id = req.params["record_id"].removesuffix(".json")
        return self._reply(self.store.show(coll, record_id, req.query))

    @route("POST", "/external_references/create_or_update")
    def _create_or_update(self, req: SimRequest) -> SimResponse:
        attrs = self._payload(req, "external_references")
        if isinstance(attrs, SimResponse):
            return attrs
        return self._reply(self.store.create_or_update_reference(attrs))

    def _write_request(self, req: SimRequest) -> tuple[Any, Any] | SimResponse:
        """The collection and attributes of a create or update, or the answer refusing it."""
        coll = self._collection(req.params["collection"])
        if coll is None:
            return self._reply((404, error_body("system", "Not found")))
        limited = self._limited(req, coll, None)
        if limited is not None:
            return limited
        attrs = self._payload(req, coll)
        if isinstance(attrs, SimResponse):
            return attrs
        return coll, attrs

    @route("POST", "/{collection}")
    def _create(self, req: SimRequest) -> SimResponse:
        checked = self._write_request(req)
        if isinstance(checked, SimResponse):
            return checked
        coll, attrs = checked
        return self._reply(self.store.create(coll, attrs))

    @route("PUT", "/{collection}/{record_id}")
    def _update(self, req: SimRequest) -> SimResponse:
        checked = self._write_request(req)
        if isinstance(checked, SimResponse):
            return checked
        coll, attrs = checked
        record_id = req.params["record_id"].removesuffix(".json")
        return self._reply(self.store.update(coll, record_id, attrs))

    @route("PATCH", "/{collection}/{record_id}")
    def _patch(self, req: SimRequest) -> SimResponse:
        return self._update(req)

    @route("DELETE", "/{collection}/{record_id}")
    def _delete(self, req: SimRequest) -> SimResponse:
        coll = self._collection(req.params["collection"])
        if coll is None:
            return self._reply((404, error_body("system", "Not found")))
        limited = self._limited(req, coll, None)
        if limited is not None:
            return limited
        record_id = req.params["record_id"].removesuffix(".json")
        return self._reply(self.store.delete(coll, record_id))

    # ---------------------------------------------------------------- helpers

    def _visible_workspace(self, currency: str) -> str:
        rows = self.table("workspaces").live_rows()
        for row in rows:
            if not (row.archived or row.data.get("archived")) and row.data["currency"] == currency:
                return str(row.id)
        raise LookupError(f"no visible {currency} workspace")

    def _user_data(self, full_name: str, email: str) -> dict[str, Any]:
        return {
            "full_name": full_name,
            "photo_path": "https://app.mavenlink.com/images/default_profile_photo/default.png",
            "email_address": email,
            "headline": None,
            "disabled": False,
            "account_id": 6300001,
        }

    def __repr__(self) -> str:
        counts = {name: len(t) for name, t in self._tables.items() if len(t)}
        return f"KantataSimulator(seed={self.seed}, records={counts})"
