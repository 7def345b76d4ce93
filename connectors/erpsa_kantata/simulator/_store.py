"""In-memory Kantata account: records, list semantics, writes, external references, events.

Pure state and decisions, no HTTP: :mod:`._handler` turns requests into calls here. Rows live
in the test kit's :class:`~erpsa_sdk.testing.store.Table` (one per collection, ids from 1), so
the kit's admin API (insert, update, delete, archive, post, churn) works on them; ``id``,
``created_at`` and ``updated_at`` come from the row's bookkeeping, truncated to the second as
Kantata shows them. Each operation returns ``(status, body)`` with the vendor's JSON shapes
(fact sheet §1.3, §1.7).

Examples:
    >>> store = KantataStore.standalone()
    >>> status, body = store.create("workspace_groups", {"name": "Acme"})
    >>> status, body["count"], body["results"][0]["key"]
    (200, 1, 'workspace_groups')
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from erpsa_kantata.simulator._config import SimulatorConfig
from erpsa_kantata.simulator._schema import (
    COLLECTIONS,
    CURRENCY_BASE_UNITS,
    CURRENCY_SYMBOLS,
    SUBJECT_TYPES,
    Collection,
)
from erpsa_sdk.clock import SimClock
from erpsa_sdk.testing.store import Row, Table

__all__ = ["KantataStore", "Reply", "error_body"]

Record = dict[str, Any]
Reply = tuple[int, dict[str, Any] | None]

ACCOUNT_ID = 6300001
_EVENT_ID_BASE = 1_000_000_000  # event id = collection number * base + row id
_EVENT_SOURCES = (
    "workspaces",
    "workspace_groups",
    "stories",
    "users",
    "workspace_allocations",
    "time_entries",
    "expenses",
    "invoices",
)


def error_body(kind: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The vendor's error envelope (fact sheet §1.7).

    Examples:
        >>> error_body("system", "Not found")
        {'errors': [{'type': 'system', 'message': 'Not found'}]}
    """
    item: dict[str, Any] = {"type": kind, "message": message}
    if field is not None:
        item["field"] = field
    return {"errors": [item]}


def _fmt(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="seconds")


def _second(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(microsecond=0)


def parse_time(value: str) -> datetime:
    """Parse an ISO 8601 query value; a naive one is taken as UTC.

    Examples:
        >>> parse_time("2026-01-01T10:00:00Z").isoformat()
        '2026-01-01T10:00:00+00:00'
    """
    text = value.strip().replace(" ", "+")
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in {"true", "1", "yes", "t"}


class BadRequest(Exception):
    """A request the simulator answers with a vendor error body.

    Examples:
        >>> BadRequest(422, "validation", "required", "title").status
        422
    """

    def __init__(self, status: int, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(kind, message, field)


@dataclass
class _Row:
    """A row as the API sees it: the rendered record and its second-resolution stamps."""

    record: Record
    created: datetime
    updated: datetime


class KantataStore:
    """The state of one simulated Kantata account.

    ``now`` is the clock's ``now``; every mutation stamps ``updated_at`` with it, truncated to
    the second as the API shows it.

    Examples:
        >>> st = KantataStore.standalone()
        >>> st.create("workspaces", {"title": "P1", "creator_role": "maven"})[0]
        200
    """

    def __init__(
        self,
        config: SimulatorConfig,
        *,
        seed: int,
        tables: Mapping[str, Table],
        now: Callable[[], datetime],
        lock: threading.RLock,
    ) -> None:
        self.config = config
        self.seed = seed
        self._now = now
        self.lock = lock
        self.kit = tables
        self._archived_ws: set[str] | None = None
        self._request_no = 0
        self.current_user_id: str | None = None
        # custom_field_id -> (name, type) for the custom field values the account holds.
        self.custom_fields: dict[str, tuple[str, str]] = {"602325": ("Stripe ID", "string")}

    @classmethod
    def standalone(cls, config: SimulatorConfig | None = None, seed: int = 0) -> KantataStore:
        """A store on its own tables and a still :class:`SimClock` (examples, unit tests).

        Examples:
            >>> KantataStore.standalone().list("users", {}, 1)[0]
            200
        """
        clock = SimClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
        names = [n for n in COLLECTIONS if n != "subscribed_events"]
        return cls(
            config or SimulatorConfig(),
            seed=seed,
            tables={n: Table(n, clock) for n in names},
            now=clock.now,
            lock=threading.RLock(),
        )

    # ---------------------------------------------------------------- helpers

    def item(self, collection: str, row: Row) -> _Row:
        """The API view of a kit row: data plus ``id`` and second-resolution stamps.

        Examples:
            >>> st = KantataStore.standalone()
            >>> _, body = st.create("workspace_groups", {"name": "A"})
            >>> st.item("workspace_groups", st.kit["workspace_groups"].get(1)).record["id"]
            '1'
        """
        created, updated = _second(row.created_at), _second(row.modified_at)
        record = dict(row.data)
        record["id"] = str(row.id)
        record["created_at"] = _fmt(created)
        record["updated_at"] = _fmt(updated)
        if collection == "workspaces":
            record["archived"] = bool(row.archived or row.data.get("archived"))
        if row.posted and collection == "time_entries":
            record["approved"] = True
        return _Row(record, created, updated)

    def items(self, collection: str) -> list[_Row]:
        """Views of the live rows of a collection, in id order.

        Examples:
            >>> KantataStore.standalone().items("users")
            []
        """
        if collection == "subscribed_events":
            return self._event_items()
        return [self.item(collection, r) for r in self.kit[collection].live_rows()]

    def _event_items(self) -> list[_Row]:
        # Subscribed events are the tombstones of the last 9 days (fact sheet §1.10).
        horizon = self.now() - self.config.event_retention
        out: list[_Row] = []
        for number, name in enumerate(_EVENT_SOURCES, start=1):
            spec = COLLECTIONS[name]
            for row in self.kit[name]:
                if row.deleted_at is None or row.deleted_at < horizon:
                    continue
                ts = _second(row.deleted_at)
                rec: Record = {
                    "event_type": f"{spec.singular}:deleted",
                    "account_id": ACCOUNT_ID,
                    "user_id": self.current_user_id,
                    "subject_id": row.id,
                    "subject_type": spec.subject_type,
                    "subject_changed_at": _fmt(ts),
                    "subject_ref": {"id": str(row.id), "key": name},
                    "created_at": _fmt(ts),
                    "updated_at": _fmt(ts),
                    "id": str(number * _EVENT_ID_BASE + row.id),
                }
                out.append(_Row(rec, ts, ts))
        return out

    def now(self) -> datetime:
        """The clock's time truncated to the second (Kantata timestamps carry seconds).

        Examples:
            >>> KantataStore.standalone().now().microsecond
            0
        """
        return _second(self._now())

    def next_request(self) -> int:
        """Count a request (ties are shuffled differently on each one).

        Examples:
            >>> KantataStore.standalone().next_request()
            1
        """
        with self.lock:
            self._request_no += 1
            return self._request_no

    def get(self, collection: str, record_id: str) -> Record | None:
        """The API view of a live record, or ``None``.

        Examples:
            >>> KantataStore.standalone().get("users", "1") is None
            True
        """
        row = self.kit[collection].get(str(record_id))
        return self.item(collection, row).record if row is not None else None

    def archived_workspaces(self) -> set[str]:
        """Ids of archived workspaces (cached for the duration of one list request).

        Examples:
            >>> KantataStore.standalone().archived_workspaces()
            set()
        """
        if self._archived_ws is not None:
            return self._archived_ws
        return {
            str(r.id)
            for r in self.kit["workspaces"].live_rows()
            if r.archived or r.data.get("archived")
        }

    def _workspace_archived(self, record: Record, collection: str) -> bool:
        if collection == "workspaces":
            return bool(record.get("archived"))
        ws_id = record.get("workspace_id")
        return ws_id is not None and str(ws_id) in self.archived_workspaces()

    def _subject_archived(self, subject_type: str, subject_id: str) -> bool:
        coll = SUBJECT_TYPES.get(subject_type)
        if coll is None:
            return False
        rec = self.get(coll, subject_id)
        return rec is not None and self._workspace_archived(rec, coll)

    def _locked(self, collection: str, record: Record, row: Row | None = None) -> str | None:
        posted = row is not None and row.posted
        if collection == "time_entries" and (
            posted or record.get("is_invoiced") or record.get("approved")
        ):
            return "This time entry is approved or invoiced and can no longer be changed"
        if collection == "expenses" and (posted or record.get("is_invoiced")):
            return "This expense is approved or invoiced and can no longer be changed"
        return None

    # ----------------------------------------------------------------- render

    def _computed_ids(self, collection: str, record: Record, fk: str) -> list[str] | None:
        rid = record["id"]
        if fk == "external_reference_ids":
            subject = COLLECTIONS[collection].subject_type
            return [
                str(r.id)
                for r in self.kit["external_references"].live_rows()
                if r.data["subject_type"] == subject and str(r.data["subject_id"]) == rid
            ]
        if fk == "custom_field_value_ids":
            subject = COLLECTIONS[collection].singular
            return [
                str(r.id)
                for r in self.kit["custom_field_values"].live_rows()
                if r.data["subject_type"] == subject and str(r.data["subject_id"]) == rid
            ]
        if collection == "workspace_groups" and fk == "workspace_ids":
            return [
                str(r.id)
                for r in self.kit["workspaces"].live_rows()
                if rid in r.data.get("workspace_group_ids", [])
            ]
        if collection == "invoices" and fk == "workspace_ids":
            return [str(record["workspace_id"])]
        return None

    def render(self, collection: str, record: Record, includes: Iterable[str] = ()) -> Record:
        """The record as the API shows it: list foreign keys appear only when included.

        Examples:
            >>> KantataStore.standalone().render("users", {"id": "1", "full_name": "A"})
            {'full_name': 'A', 'id': '1'}
        """
        spec = COLLECTIONS[collection]
        out = {k: v for k, v in record.items() if not k.endswith("_ids") and k != "id"}
        for name in includes:
            fk, _target = spec.associations[name]
            if fk.endswith("_ids"):
                computed = self._computed_ids(collection, record, fk)
                out[fk] = computed if computed is not None else list(record.get(fk, []))
        if collection in {"time_entries", "expenses"}:
            out["user_can_edit"] = self._locked(collection, record) is None
        out["id"] = record["id"]
        return out

    # ------------------------------------------------------------------- read

    def _sort_key(self, collection: str, field: str) -> Callable[[_Row], Any]:
        if field == "updated_at":
            return lambda row: row.updated
        if field == "created_at":
            return lambda row: row.created
        if field == "id":
            return lambda row: int(row.record["id"])

        def key(row: _Row) -> Any:
            value = row.record.get(field)
            return (value is None, "" if value is None else str(value))

        return key

    def _tiebreak(self, request_no: int, record_id: str) -> bytes:
        if not self.config.shuffle_ties:
            return int(record_id).to_bytes(8, "big")
        token = f"{self.seed}:{request_no}:{record_id}".encode()
        return hashlib.blake2b(token, digest_size=8).digest()

    def _filter(self, spec: Collection, rows: list[_Row], params: Mapping[str, str]) -> list[_Row]:
        p = params
        name = spec.name
        out = rows

        def keep(pred: Callable[[_Row], bool]) -> None:
            nonlocal out
            out = [r for r in out if pred(r)]

        if "only" in p:
            wanted = {v.strip() for v in p["only"].split(",") if v.strip()}
            keep(lambda r: r.record["id"] in wanted)
        inclusive = self.config.updated_after_inclusive
        for param, attr, after in (
            ("updated_after", "updated", True),
            ("updated_before", "updated", False),
            ("created_after", "created", True),
            ("created_before", "created", False),
        ):
            if param in p:
                try:
                    bound = parse_time(p[param])
                except ValueError as exc:
                    raise BadRequest(400, "system", f"Invalid {param}: {p[param]!r}") from exc
                if after and inclusive:
                    keep(lambda r, a=attr, b=bound: getattr(r, a) >= b)  # type: ignore[misc]
                elif after:
                    keep(lambda r, a=attr, b=bound: getattr(r, a) > b)  # type: ignore[misc]
                else:
                    keep(lambda r, a=attr, b=bound: getattr(r, a) < b)  # type: ignore[misc]
        if "workspace_id" in p and name != "workspaces":
            ws = p["workspace_id"]
            keep(lambda r: str(r.record.get("workspace_id")) == ws)
        if "workspace_ids" in p and name != "workspaces":
            wss = set(p["workspace_ids"].split(","))
            keep(lambda r: str(r.record.get("workspace_id")) in wss)
        if "search" in p:
            needle = p["search"].lower()
            keep(
                lambda r: any(
                    needle in str(r.record.get(f) or "").lower()
                    for f in ("title", "name", "full_name", "notes")
                )
            )
        if name == "workspaces" and "workspace_groups" in p:
            gid = p["workspace_groups"]
            keep(lambda r: gid in r.record.get("workspace_group_ids", []))
        if name == "stories":
            if _truthy(p.get("parents_only")):
                keep(lambda r: r.record.get("parent_id") is None)
            if "story_type" in p:
                keep(lambda r: r.record.get("story_type") == p["story_type"])
        if name == "users" and "participant_in" in p:
            ws_rec = self.get("workspaces", p["participant_in"])
            members = set(ws_rec.get("participant_ids", [])) if ws_rec else set()
            keep(lambda r: r.record["id"] in members)
        if name == "time_entries":
            out = self._filter_time_entries(out, p)
        if name == "external_references":
            for fld in ("service_name", "service_model", "service_model_ref", "status"):
                if fld in p:
                    keep(lambda r, f=fld: str(r.record.get(f)) == p[f])  # type: ignore[misc]
            if "subject_id" in p:
                keep(lambda r: str(r.record["subject_id"]) == p["subject_id"])
            if self.config.external_references_hide_archived:
                keep(
                    lambda r: (
                        not self._subject_archived(
                            r.record["subject_type"], str(r.record["subject_id"])
                        )
                    )
                )
        if name == "custom_field_values" and "subject_id" in p:
            keep(lambda r: str(r.record["subject_id"]) == p["subject_id"])
        if name == "subscribed_events" and "event_type" in p:
            types = set(p["event_type"].split(","))
            keep(lambda r: r.record["event_type"] in types)
        return out

    def _filter_time_entries(self, rows: list[_Row], p: Mapping[str, str]) -> list[_Row]:
        out = rows
        if "date_performed_between" in p:
            try:
                lo, hi = (date.fromisoformat(x) for x in p["date_performed_between"].split(":"))
            except ValueError as exc:
                raise BadRequest(400, "system", "Invalid date_performed_between") from exc
            out = [r for r in out if lo <= date.fromisoformat(r.record["date_performed"]) <= hi]
        for flag in ("approved", "billable"):
            if flag in p:
                want = _truthy(p[flag])
                out = [r for r in out if bool(r.record.get(flag)) == want]
        if "invoiced" in p:
            out = [r for r in out if bool(r.record.get("is_invoiced")) == _truthy(p["invoiced"])]
        if _truthy(p.get("uninvoiced")):
            out = [r for r in out if not r.record.get("is_invoiced")]
        if "with_user_ids" in p:
            users = set(p["with_user_ids"].split(","))
            out = [r for r in out if str(r.record.get("user_id")) in users]
        ext_filters = {
            k[len("external_reference_") :]: v
            for k, v in p.items()
            if k.startswith("external_reference_")
        }
        has_ext = p.get("has_external_references")
        without = p.get("without_external_reference_service_name")
        if ext_filters or has_ext is not None or without is not None:
            refs_by_subject: dict[str, list[Record]] = {}
            for ref in self.kit["external_references"].live_rows():
                if ref.data["subject_type"] == "TimeEntry":
                    refs_by_subject.setdefault(str(ref.data["subject_id"]), []).append(ref.data)

            def matches(ref: Record) -> bool:
                for key, value in ext_filters.items():
                    if key == "service_model_refs":
                        if str(ref.get("service_model_ref")) not in value.split(","):
                            return False
                    elif str(ref.get(key)) != value:
                        return False
                return True

            def wanted(row: _Row) -> bool:
                refs = refs_by_subject.get(row.record["id"], [])
                if has_ext is not None and bool(refs) != _truthy(has_ext):
                    return False
                if without is not None and any(r.get("service_name") == without for r in refs):
                    return False
                return not ext_filters or any(matches(r) for r in refs)

            out = [r for r in out if wanted(r)]
        return out

    def _hidden(self, spec: Collection, record: Record, params: Mapping[str, str]) -> bool:
        if spec.archived_scope == "self":
            return bool(record.get("archived")) and not _truthy(params.get("include_archived"))
        if spec.archived_scope == "workspace":
            if spec.name == "expenses" and not self.config.expenses_accept_from_archived:
                flag = False
            else:
                flag = _truthy(params.get("from_archived_workspaces"))
            return not flag and self._workspace_archived(record, spec.name)
        return False

    def _includes(self, spec: Collection, params: Mapping[str, str]) -> list[str]:
        raw = params.get("include", "")
        names = [n.strip() for n in raw.split(",") if n.strip()]
        for n in names:
            if n not in spec.associations:
                raise BadRequest(400, "system", f"Invalid include: {n}")
        return names

    def _envelope(
        self,
        spec: Collection,
        rows: list[_Row],
        *,
        total: int,
        page: int,
        per_page: int,
        includes: list[str],
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "count": total,
            "results": [{"key": spec.name, "id": r.record["id"]} for r in rows],
            spec.name: {r.record["id"]: self.render(spec.name, r.record, includes) for r in rows},
        }
        for inc in includes:
            fk, target = spec.associations[inc]
            bucket: dict[str, Any] = body.setdefault(target, {})
            for r in rows:
                ids: list[str]
                if fk.endswith("_ids"):
                    computed = self._computed_ids(spec.name, r.record, fk)
                    ids = computed if computed is not None else list(r.record.get(fk, []))
                else:
                    one = r.record.get(fk)
                    ids = [] if one is None else [str(one)]
                for rid in ids:
                    tgt = self.get(target, rid)
                    if tgt is not None and rid not in bucket:
                        bucket[rid] = self.render(target, tgt)
        body["meta"] = {
            "count": total,
            "page_count": math.ceil(total / per_page) if per_page else 0,
            "page_number": page,
            "page_size": per_page,
        }
        return body

    def list(self, collection: str, params: Mapping[str, str], request_no: int) -> Reply:
        """``GET /{collection}``: filter, order, page, side-load.

        Examples:
            >>> KantataStore.standalone().list("users", {}, 1)[1]["meta"]
            {'count': 0, 'page_count': 0, 'page_number': 1, 'page_size': 20}
        """
        spec = COLLECTIONS[collection]
        try:
            page = max(1, int(params.get("page", "1")))
            per_page = int(params.get("per_page", str(self.config.default_per_page)))
        except ValueError:
            return 400, error_body("system", "page and per_page must be integers")
        per_page = min(max(per_page, 1), self.config.max_per_page)
        if collection == "external_references" and "subject_type" not in params:
            return 422, error_body("validation", "subject_type is required", "subject_type")
        if collection == "custom_field_values" and "subject_type" not in params:
            return 422, error_body("validation", "subject_type is required", "subject_type")
        try:
            includes = self._includes(spec, params)
            with self.lock:
                self._archived_ws = None
                self._archived_ws = self.archived_workspaces()
                rows = self.items(collection)
                if collection == "external_references":
                    st = params["subject_type"]
                    rows = [r for r in rows if r.record["subject_type"] == st]
                if collection == "custom_field_values":
                    st = params["subject_type"].lower()
                    rows = [r for r in rows if r.record["subject_type"] == st]
                rows = [r for r in rows if not self._hidden(spec, r.record, params)]
                rows = self._filter(spec, rows, params)
                limit = self.config.scan_limit
                # The server sorts the whole result set before it pages: a large one runs into
                # the 3-minute timeout whatever the page size.
                if limit is not None and len(rows) > limit:
                    return 504, error_body(
                        "system", "The request took too long; narrow it with date filters"
                    )
                order_field, desc = spec.default_order
                if "order" in params:
                    order_field, _, direction = params["order"].partition(":")
                    if order_field not in spec.orders or direction not in {"", "asc", "desc"}:
                        return 400, error_body("system", f"Invalid order: {params['order']}")
                    desc = direction == "desc"
                key = self._sort_key(collection, order_field)
                # Equal keys get a tie-break that changes with every request.
                rows.sort(key=lambda r: self._tiebreak(request_no, r.record["id"]))
                rows.sort(key=key, reverse=desc)
                total = len(rows)
                chunk = rows[(page - 1) * per_page : page * per_page]
                return 200, self._envelope(
                    spec, chunk, total=total, page=page, per_page=per_page, includes=includes
                )
        except BadRequest as exc:
            return exc.status, exc.body
        finally:
            self._archived_ws = None

    def show(self, collection: str, record_id: str, params: Mapping[str, str]) -> Reply:
        """``GET /{collection}/{id}``; 404 with the system error when missing.

        Examples:
            >>> KantataStore.standalone().show("users", "9", {})
            (404, {'errors': [{'type': 'system', 'message': 'Not found'}]})
        """
        spec = COLLECTIONS[collection]
        try:
            includes = self._includes(spec, params)
        except BadRequest as exc:
            return exc.status, exc.body
        with self.lock:
            if collection == "subscribed_events":
                found = [r for r in self._event_items() if r.record["id"] == record_id]
                if not found:
                    return 404, error_body("system", "Not found")
                row = found[0]
            else:
                kit_row = self.kit[collection].get(record_id)
                if kit_row is None:
                    return 404, error_body("system", "Not found")
                row = self.item(collection, kit_row)
            hidden = spec.archived_scope == "workspace" and self.config.show_hides_archived
            if hidden and self._hidden(spec, row.record, params):
                return 404, error_body("system", "Not found")
            return 200, self._envelope(
                spec,
                [row],
                total=1,
                page=1,
                per_page=self.config.default_per_page,
                includes=includes,
            )

    # ------------------------------------------------------------------ write

    def _check_refs(self, collection: str, attrs: Record) -> None:
        refs = {
            "workspace_id": "workspaces",
            "user_id": "users",
            "story_id": "stories",
            "parent_id": "stories",
            "resource_id": "users",
        }
        for fk, target in refs.items():
            value = attrs.get(fk)
            if value not in (None, "") and self.get(target, str(value)) is None:
                raise BadRequest(422, "validation", f"{fk} does not exist", fk)
        for gid in attrs.get("workspace_group_ids") or []:
            if self.get("workspace_groups", str(gid)) is None:
                raise BadRequest(422, "validation", "workspace group does not exist", "groups")

    def _apply(self, collection: str, record: Record, attrs: Record) -> None:
        spec = COLLECTIONS[collection]
        for key, value in attrs.items():
            if key in {"external_reference", "add_workspace_ids", "remove_workspace_ids"}:
                continue
            if key == "creator_role" or key == "price":
                if key == "price" and value not in (None, ""):
                    record["price_in_cents"] = int(value)
                continue
            if key == "status_key":
                record["status"] = {"color": "grey", "key": int(value), "message": "Custom"}
                continue
            if key.endswith("_id") and value not in (None, ""):
                value = str(value)
            if key.endswith("_ids") and isinstance(value, list):
                value = [str(v) for v in value]
            elif isinstance(value, list):
                # Rails forms repeat a field as ``field[]``; the scalar is their concatenation.
                value = "".join(str(v) for v in value)
            if key in {"time_in_minutes", "rate_in_cents", "cost_rate_in_cents"} or key in {
                "amount_in_cents",
                "minutes",
                "budget_estimate_in_cents",
                "time_estimate_in_minutes",
                "percentage_complete",
            }:
                try:
                    value = int(value)
                except (TypeError, ValueError) as exc:
                    raise BadRequest(
                        422, "validation", f"{key} must be a whole number", key
                    ) from exc
            if key in {"billable", "archived", "hard", "reimbursable", "draft", "budgeted"}:
                value = value if isinstance(value, bool) else _truthy(str(value))
            dated = {"date_performed", "date", "start_date", "due_date", "end_date"}
            if key in dated and value not in (None, ""):
                # A recorded create sends 2012/01/01 and is accepted: slashes are read too.
                try:
                    value = date.fromisoformat(str(value).replace("/", "-")).isoformat()
                except ValueError as exc:
                    raise BadRequest(422, "validation", f"{key} is not a date", key) from exc
            record[key] = value
        if collection == "custom_field_values":
            name, kind = self.custom_fields.get(
                str(record.get("custom_field_id")), ("Custom field", "string")
            )
            record["subject_type"] = str(record["subject_type"]).lower()
            record["subject_id"] = int(record["subject_id"])
            record.update(custom_field_name=name, type=kind, display_value=record.get("value"))
        if spec.name in {"time_entries", "expenses"}:
            ws = self.get("workspaces", str(record["workspace_id"]))
            assert ws is not None
            record["currency"] = ws["currency"]
            record["currency_symbol"] = ws["currency_symbol"]
            record["currency_base_unit"] = ws["currency_base_unit"]

    def _defaults(self, collection: str, record: Record, attrs: Record) -> None:
        if collection == "workspaces":
            currency = str(attrs.get("currency") or "USD").upper()
            record.update(
                archived=False,
                description="",
                budgeted=False,
                currency=currency,
                currency_symbol=CURRENCY_SYMBOLS.get(currency, currency),
                currency_base_unit=CURRENCY_BASE_UNITS.get(currency, 100),
                account_id=ACCOUNT_ID,
                start_date="",
                due_date="",
                price_in_cents=0,
                status={"color": "grey", "key": 130, "message": "Not Started"},
                creator_id=self.current_user_id,
                primary_counterpart_id=None,
                workspace_group_ids=[],
                participant_ids=[self.current_user_id] if self.current_user_id else [],
            )
        elif collection == "workspace_groups":
            record.update(
                company=False,
                contact_name=None,
                email=None,
                phone_number=None,
                address=None,
                website=None,
                notes="",
            )
        elif collection == "time_entries":
            record.update(
                location=None,
                billable=False,
                notes="",
                rate_in_cents=0,
                cost_rate_in_cents=0,
                approved=False,
                taxable=False,
                is_invoiced=False,
                story_id=None,
                user_id=self.current_user_id,
                active_submission_id=None,
                recent_submission_id=None,
                role_id=None,
                invoice_id=None,
            )
        elif collection == "expenses":
            record.update(
                notes="",
                is_invoiced=False,
                is_billable=True,
                taxable=False,
                reimbursable=False,
                foreign_exchange_amount={},
                story_id=None,
                user_id=self.current_user_id,
                active_submission_id=None,
                recent_submission_id=None,
                expense_category_id=None,
            )
        elif collection == "stories":
            record.update(
                description="",
                due_date=None,
                start_date=None,
                state="not started",
                archived=False,
                deleted_at=None,
                parent_id=None,
                priority="normal",
                percentage_complete=0,
                billable=True,
                time_estimate_in_minutes=0,
                budget_estimate_in_cents=0,
                creator_id=self.current_user_id,
                assignee_ids=[],
            )
        elif collection == "workspace_allocations":
            record.update(hard=False, notes="", percentage=None, creator_id=self.current_user_id)
        elif collection == "invoices":
            record.update(
                status="new",
                draft=True,
                payment_schedule=30,
                tax_rate=0.0,
                purchase_order=None,
                message=None,
                user_id=self.current_user_id,
                recipient_id=None,
                time_entry_ids=[],
                expense_ids=[],
            )
        elif collection == "custom_field_values":
            record.update(account_id=ACCOUNT_ID, can_edit=True, setter_id=self.current_user_id)

    def _ext_ref_attrs(self, value: Any) -> Record:
        if not isinstance(value, Mapping):
            raise BadRequest(
                422, "validation", "external_reference must be an object", "external_reference"
            )
        attrs = dict(value)
        for required in ("service_name", "service_model", "service_model_ref"):
            if not attrs.get(required):
                raise BadRequest(422, "validation", f"{required} can't be blank", required)
        return attrs

    def _link_groups(self, group_id: str, attrs: Record) -> None:
        table = self.kit["workspaces"]
        for wid in attrs.get("add_workspace_ids") or []:
            row = table.get(str(wid))
            if row is not None and group_id not in row.data.setdefault("workspace_group_ids", []):
                row.data["workspace_group_ids"].append(group_id)
                table.touch(row)
        for wid in attrs.get("remove_workspace_ids") or []:
            row = table.get(str(wid))
            if row is not None and group_id in row.data.get("workspace_group_ids", []):
                row.data["workspace_group_ids"].remove(group_id)
                table.touch(row)

    def _upsert_ext_ref(self, subject_type: str, subject_id: str, attrs: Record) -> Row:
        # Keyed by (subject, service_name, service_model): a second call updates the ref.
        table = self.kit["external_references"]
        for row in table.live_rows():
            r = row.data
            if (
                r["subject_type"] == subject_type
                and str(r["subject_id"]) == subject_id
                and r["service_name"] == attrs["service_name"]
                and r["service_model"] == attrs["service_model"]
            ):
                for k in (
                    "service_model_ref",
                    "status",
                    "external_link",
                    "external_status",
                    "external_message",
                    "locked",
                ):
                    if k in attrs:
                        r[k] = attrs[k] if k != "service_model_ref" else str(attrs[k])
                r["last_synced_at"] = _fmt(self.now())
                table.touch(row)
                return row
        return table.insert(
            {
                "service_name": attrs["service_name"],
                "service_model": attrs["service_model"],
                "service_model_ref": str(attrs["service_model_ref"]),
                "subject_id": int(subject_id),
                "subject_type": subject_type,
                "status": attrs.get("status", "successful"),
                "external_link": attrs.get("external_link"),
                "external_message": attrs.get("external_message"),
                "external_status": attrs.get("external_status"),
                "locked": bool(attrs.get("locked", False)),
                "last_synced_at": _fmt(self.now()),
            }
        )

    def _one(self, collection: str, row: Row) -> dict[str, Any]:
        return self._envelope(
            COLLECTIONS[collection],
            [self.item(collection, row)],
            total=1,
            page=1,
            per_page=self.config.default_per_page,
            includes=[],
        )

    def prepare(self, collection: str, attrs: Record) -> dict[str, Any]:
        """The stored data a create with ``attrs`` would hold (defaults and normalisation),
        without storing it: the kit's churn inserts such rows directly.

        Examples:
            >>> KantataStore.standalone().prepare("workspace_groups", {"name": "A"})["name"]
            'A'
        """
        record: Record = {"id": "0"}
        with self.lock:
            self._defaults(collection, record, attrs)
            self._apply(collection, record, attrs)
        del record["id"]
        return record

    def create(self, collection: str, attrs: Record) -> Reply:
        """``POST /{collection}``: validate, store, stamp, link an inline external reference.

        There is no de-duplication: the same body twice makes two records (fact sheet §1.6).

        Examples:
            >>> KantataStore.standalone().create("workspace_groups", {})[0]
            422
        """
        spec = COLLECTIONS[collection]
        if spec.create is None:
            return 404, error_body("system", "Not found")
        allowed = {k: v for k, v in attrs.items() if k in spec.create}
        missing = [f for f in spec.required if allowed.get(f) in (None, "")]
        if missing:
            errors = [
                {"type": "validation", "message": f"{f} can't be blank", "field": f}
                for f in missing
            ]
            return 422, {"errors": errors}
        try:
            with self.lock:
                self._check_refs(collection, allowed)
                ext = allowed.get("external_reference")
                ext_attrs = self._ext_ref_attrs(ext) if ext is not None else None
                refused = (
                    spec.archived_scope == "workspace"
                    and self.config.archived_writes == "refuse"
                    and str(allowed.get("workspace_id")) in self.archived_workspaces()
                )
                if refused:
                    raise BadRequest(422, "validation", "The project is archived", "workspace_id")
                if collection == "workspace_allocations":
                    allowed = dict(allowed)
                    allowed["user_id"] = allowed.pop("resource_id")
                    if "workspace_id" not in allowed:
                        raise BadRequest(
                            422, "validation", "workspace_id can't be blank", "workspace_id"
                        )
                record: Record = {"id": "0"}
                self._defaults(collection, record, allowed)
                self._apply(collection, record, allowed)
                if collection == "invoices":
                    self._check_invoice(allowed)
                del record["id"]
                row = self.kit[collection].insert(record)
                rid = str(row.id)
                if collection == "invoices":
                    self._attach_invoice(row, allowed)
                if collection == "workspace_groups":
                    self._link_groups(rid, allowed)
                if ext_attrs is not None:
                    self._upsert_ext_ref(spec.subject_type, rid, ext_attrs)
                return 200, self._one(collection, row)
        except BadRequest as exc:
            return exc.status, exc.body

    def _check_invoice(self, attrs: Record) -> None:
        for coll, fk in (("time_entries", "time_entry_ids"), ("expenses", "expense_ids")):
            for item_id in attrs.get(fk) or []:
                row = self.kit[coll].get(str(item_id))
                if row is None:
                    raise BadRequest(422, "validation", f"{fk} contains an unknown id", fk)
                if row.data.get("is_invoiced") or row.posted:
                    raise BadRequest(422, "validation", "already invoiced", fk)

    def _attach_invoice(self, invoice: Row, attrs: Record) -> None:
        total = 0
        record = invoice.data
        ws = self.get("workspaces", str(attrs["workspace_id"]))
        assert ws is not None
        for coll, fk in (("time_entries", "time_entry_ids"), ("expenses", "expense_ids")):
            table = self.kit[coll]
            ids = [str(i) for i in attrs.get(fk) or []]
            record[fk] = ids
            for item_id in ids:
                row = table.get(item_id)
                assert row is not None
                row.data["is_invoiced"] = True
                if coll == "time_entries":
                    row.data["invoice_id"] = str(invoice.id)
                    total += row.data["time_in_minutes"] * row.data["rate_in_cents"] // 60
                else:
                    total += row.data["amount_in_cents"]
                table.touch(row)
        today = self.now().date()
        record["balance_in_cents"] = total
        record["currency"] = ws["currency"]
        record["currency_symbol"] = ws["currency_symbol"]
        record["currency_base_unit"] = ws["currency_base_unit"]
        record.setdefault("invoice_date", today.isoformat())
        days = int(record["payment_schedule"])
        record["due_date"] = (
            date.fromisoformat(record["invoice_date"]) + timedelta(days=days)
        ).isoformat()
        record["title"] = f"Invoice #{invoice.id}"

    def update(self, collection: str, record_id: str, attrs: Record) -> Reply:
        """``PUT /{collection}/{id}``: change the allowed attributes and stamp ``updated_at``.

        Examples:
            >>> KantataStore.standalone().update("workspace_groups", "404", {"name": "x"})[0]
            404
        """
        spec = COLLECTIONS[collection]
        if spec.update is None:
            return 404, error_body("system", "Not found")
        try:
            with self.lock:
                table = self.kit[collection]
                row = table.get(record_id)
                if row is None:
                    return 404, error_body("system", "Not found")
                allowed = {k: v for k, v in attrs.items() if k in spec.update}
                current = self.item(collection, row).record
                locked = self._locked(collection, current, row)
                if locked and any(k != "external_reference" for k in allowed):
                    raise BadRequest(422, "validation", locked, "base")
                if (
                    spec.archived_scope == "workspace"
                    and self.config.archived_writes == "refuse"
                    and self._workspace_archived(current, collection)
                ):
                    raise BadRequest(422, "validation", "The project is archived", "workspace_id")
                self._check_refs(collection, allowed)
                ext = allowed.get("external_reference")
                ext_attrs = self._ext_ref_attrs(ext) if ext is not None else None
                changed = dict(row.data)
                changed["id"] = record_id
                self._apply(collection, changed, allowed)
                del changed["id"]
                row.data = changed
                if collection == "workspaces" and "archived" in allowed:
                    row.archived = bool(changed.get("archived"))
                if collection == "workspace_groups":
                    self._link_groups(record_id, allowed)
                table.touch(row)
                if ext_attrs is not None:
                    self._upsert_ext_ref(spec.subject_type, record_id, ext_attrs)
                return 200, self._one(collection, row)
        except BadRequest as exc:
            return exc.status, exc.body

    def delete(self, collection: str, record_id: str) -> Reply:
        """``DELETE /{collection}/{id}``: 204, its external references gone, an event recorded.

        Examples:
            >>> KantataStore.standalone().delete("time_entries", "1")[0]
            404
        """
        spec = COLLECTIONS[collection]
        with self.lock:
            table = self.kit.get(collection)
            row = table.get(record_id) if table is not None else None
            if table is None or row is None:
                return 404, error_body("system", "Not found")
            locked = self._locked(collection, row.data, row)
            if locked:
                return 422, error_body("validation", locked, "base")
            table.delete(record_id)
            if collection != "external_references":
                refs = self.kit["external_references"]
                for ref in refs.live_rows():
                    if (
                        ref.data["subject_type"] == spec.subject_type
                        and str(ref.data["subject_id"]) == record_id
                    ):
                        refs.delete(ref.id)
            return 204, None

    def create_or_update_reference(self, attrs: Record) -> Reply:
        """``POST /external_references/create_or_update``.

        Examples:
            >>> KantataStore.standalone().create_or_update_reference({"subject_type": "X"})[0]
            422
        """
        for required in (
            "subject_type",
            "subject_id",
            "service_name",
            "service_model",
            "service_model_ref",
        ):
            if attrs.get(required) in (None, ""):
                return 422, error_body("validation", f"{required} can't be blank", required)
        subject_type = str(attrs["subject_type"])
        subject_id = str(attrs["subject_id"])
        coll = SUBJECT_TYPES.get(subject_type)
        with self.lock:
            if coll is None or coll not in self.kit or self.get(coll, subject_id) is None:
                return 422, error_body("validation", "subject does not exist", "subject_id")
            row = self._upsert_ext_ref(subject_type, subject_id, attrs)
            return 200, self._one("external_references", row)
