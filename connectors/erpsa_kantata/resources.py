"""Kantata resources: the response envelope, the error parser, and one spec per canonical type.

The envelope is ``count``, ``results`` (``[{key, id}]``, the order to iterate), one map per type
keyed by string id (requested and side-loaded records together, so never iterate the maps) and
``meta`` page info. :func:`parse_envelope` checks that shape; :func:`parse_error` maps the
vendor's ``{"errors": [{type, message, field}]}`` bodies onto the SDK's error tree.

Examples:
    >>> env = parse_envelope({"count": 1, "results": [{"key": "users", "id": "2"}],
    ...                       "users": {"2": {"id": "2", "full_name": "Ada"}},
    ...                       "meta": {"count": 1, "page_count": 1, "page_number": 1,
    ...                                "page_size": 20}})
    >>> [r["full_name"] for r in env.records()]
    ['Ada']
    >>> RESOURCES["TimeEntry"].collection
    'time_entries'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pydantic_core

from erpsa_kantata import mapping
from erpsa_sdk.errors import (
    ApiError,
    AuthError,
    ErpsaError,
    ForbiddenError,
    NotFoundError,
    RateLimited,
    ResponseFormatError,
    ServerError,
    ValidationFailed,
)
from erpsa_sdk.http.classify import parse_json
from erpsa_sdk.models import (
    Assignment,
    CanonicalModel,
    Customer,
    Expense,
    Invoice,
    Milestone,
    Project,
    ProjectTask,
    Resource,
    TimeEntry,
)

__all__ = [
    "ARCHIVED_FLAGS",
    "RESOURCES",
    "Envelope",
    "ResourceSpec",
    "decoded_json",
    "parse_envelope",
    "parse_error",
]

Record = Mapping[str, Any]

#: Every read and look-up passes these, so archived records are never invisible to a writer.
ARCHIVED_FLAGS: Mapping[str, Mapping[str, str]] = {
    "workspaces": {"include_archived": "true"},
    "time_entries": {"from_archived_workspaces": "true"},
    "expenses": {"from_archived_workspaces": "true"},
}


@dataclass(frozen=True)
class Envelope:
    """One decoded Kantata response.

    Examples:
        >>> Envelope(count=0, results=(), maps={}, meta={}).records()
        []
    """

    count: int
    results: tuple[tuple[str, str], ...]
    maps: Mapping[str, Mapping[str, Record]]
    meta: Mapping[str, Any]

    def records(self) -> list[Record]:
        """The requested records, in ``results`` order.

        Examples:
            >>> Envelope(count=1, results=(("users", "1"),), maps={"users": {"1": {"id": "1"}}},
            ...          meta={}).records()
            [{'id': '1'}]
        """
        return [self.maps[key][rid] for key, rid in self.results]

    def related(self, collection: str, ids: Any) -> list[Record]:
        """Side-loaded records of ``collection`` for one id or a list of ids (missing skipped).

        Examples:
            >>> env = Envelope(count=0, results=(), maps={"users": {"2": {"id": "2"}}}, meta={})
            >>> env.related("users", "2"), env.related("users", ["2", "3"])
            ([{'id': '2'}], [{'id': '2'}])
        """
        bucket = self.maps.get(collection, {})
        if ids is None:
            return []
        wanted = [ids] if isinstance(ids, (str, int)) else list(ids)
        return [bucket[str(i)] for i in wanted if str(i) in bucket]

    @property
    def last_page(self) -> bool:
        """Whether ``meta`` says this is the last page (``page_number >= page_count``).

        Examples:
            >>> Envelope(count=0, results=(), maps={}, meta={"page_number": 1,
            ...          "page_count": 0}).last_page
            True
        """
        try:
            return int(self.meta["page_number"]) >= int(self.meta["page_count"])
        except (KeyError, TypeError, ValueError):
            return True


def parse_envelope(body: Any) -> Envelope:
    """Check and wrap a decoded response body; ``ResponseFormatError`` when it is not one.

    A 200 whose body is ``{"errors": [...]}`` is an error, not an empty page.

    Examples:
        >>> parse_envelope({"errors": [{"type": "system", "message": "x"}]})
        Traceback (most recent call last):
        ...
        erpsa_sdk.errors.ResponseFormatError: a 200 response carried errors: x
    """
    if not isinstance(body, Mapping):
        raise ResponseFormatError(f"expected a JSON object, got {type(body).__name__}")
    if "errors" in body and "results" not in body:
        raise ResponseFormatError(f"a 200 response carried errors: {_messages(body)}")
    results = body.get("results")
    if not isinstance(results, list):
        raise ResponseFormatError("response has no results list")
    pairs: list[tuple[str, str]] = []
    last_key: Any = None
    bucket: Any = None
    for item in results:
        # type() first: decoded JSON objects are dicts, and the Mapping ABC check is slow.
        if (
            not (type(item) is dict or isinstance(item, Mapping))
            or "key" not in item
            or "id" not in item
        ):
            raise ResponseFormatError(f"malformed results entry: {item!r}")
        key, rid = item["key"], item["id"]
        if type(key) is not str:
            key = str(key)
        if type(rid) is not str:
            rid = str(rid)
        if key != last_key:  # results name one collection in runs: look its map up once
            last_key, bucket = key, body.get(key)
            if not (type(bucket) is dict or isinstance(bucket, Mapping)):
                bucket = None
        if bucket is None or rid not in bucket:
            raise ResponseFormatError(f"results names {key}/{rid}, absent from the {key} map")
        pairs.append((key, rid))
    maps = {k: v for k, v in body.items() if isinstance(v, Mapping) and k != "meta"}
    meta = body.get("meta")
    count = body.get("count", len(pairs))
    return Envelope(
        count=int(count) if isinstance(count, (int, str)) else len(pairs),
        results=tuple(pairs),
        maps=maps,
        meta=meta if isinstance(meta, Mapping) else {},
    )


def _messages(body: Mapping[str, Any]) -> str:
    errors = body.get("errors")
    if not isinstance(errors, list):
        return "unknown error"
    parts = []
    for err in errors:
        if isinstance(err, Mapping):
            msg = str(err.get("message", ""))
            fld = err.get("field")
            parts.append(f"{fld}: {msg}" if fld else msg)
    return "; ".join(parts) or "unknown error"


def parse_error(response: httpx2.Response) -> ApiError | ResponseFormatError | None:
    """The connector's error parser for :class:`~erpsa_sdk.http.ApiClient`.

    ``oauth`` errors and 401 are :class:`AuthError` (tokens cannot be refreshed, so never
    retried), 404 ``NotFoundError``, 400 / 422 ``ValidationFailed`` with every error in
    ``details``, 429 ``RateLimited`` (Kantata sends no ``Retry-After``), 5xx ``ServerError``.

    Examples:
        >>> import httpx2
        >>> req = httpx2.Request("GET", "https://api.mavenlink.com/api/v1/workspaces")
        >>> err = parse_error(httpx2.Response(401, json={"errors": [
        ...     {"type": "oauth", "message": "Invalid OAuth 2 Request"}]}, request=req))
        >>> type(err).__name__, err.vendor_code, err.retryable
        ('AuthError', 'oauth', False)
        >>> parse_error(httpx2.Response(200, json={"count": 0, "results": []}, request=req))
    """
    status = response.status_code
    body: Any = None
    if status < 400 and status != 200:
        return None
    if status == 200:
        body = _decode_200(response)
        if isinstance(body, Mapping) and "errors" in body and "results" not in body:
            return ResponseFormatError(f"a 200 response carried errors: {_messages(body)}")
        return None
    if response.content:
        try:
            body = response.json()
        except (ValueError, RecursionError):
            body = None
    details: list[dict[str, Any]] = []
    kind: str | None = None
    message = f"HTTP {status}"
    if isinstance(body, Mapping) and isinstance(body.get("errors"), list):
        details = [dict(e) for e in body["errors"] if isinstance(e, Mapping)]
        kinds = {str(e.get("type")) for e in details}
        kind = "oauth" if "oauth" in kinds else (sorted(kinds)[0] if kinds else None)
        message = _messages(body)
    elif status < 500:
        return None  # not a Kantata body: the generic classifier handles it
    common: dict[str, Any] = {"status": status, "vendor_code": kind, "details": details}
    if status == 401 or kind == "oauth":
        return AuthError(message, retryable=False, **common)
    if status == 403:
        return ForbiddenError(message, retryable=False, **common)
    if status == 404:
        return NotFoundError(message, retryable=False, **common)
    if status == 429:
        return RateLimited(message, retryable=True, **common)
    if status in (400, 422):
        return ValidationFailed(message, retryable=False, **common)
    if status >= 500:
        return ServerError(message, retryable=status != 501, **common)
    return ApiError(message, **common)


_DECODED = "erpsa_kantata.decoded"
_MISSING = object()


def _decode_200(response: httpx2.Response) -> Any:
    """Decode a 200 body for the ``errors`` check, and keep it for :func:`decoded_json`.

    A page is decoded once: here, where the error check needs it, and the reader takes the
    result. Kept only when :func:`~erpsa_sdk.http.classify.parse_json` would have returned the
    same value (decoded by the same decoder, not an HTML answer); anything else is decoded
    leniently for the verdict and left to ``parse_json`` to reject.
    """
    content = response.content
    if not content:
        return None
    try:
        body = pydantic_core.from_json(content)
    except (ValueError, RecursionError):
        try:
            return response.json()
        except (ValueError, RecursionError):
            return None
    if "html" not in response.headers.get("content-type", "").lower():
        response.extensions[_DECODED] = body
    return body


def decoded_json(response: httpx2.Response) -> Any:
    """The decoded JSON body of an answer :func:`parse_error` passed (decoded there, once).

    Falls back to :func:`~erpsa_sdk.http.classify.parse_json` (and its errors) for a response
    that did not go through :func:`parse_error` or whose body it did not keep.

    Examples:
        >>> import httpx2
        >>> req = httpx2.Request("GET", "https://api.mavenlink.com/api/v1/workspaces")
        >>> resp = httpx2.Response(200, json={"count": 0, "results": []}, request=req)
        >>> parse_error(resp) is None, decoded_json(resp)
        (True, {'count': 0, 'results': []})
        >>> decoded_json(httpx2.Response(200, text="<html>login</html>", request=req))
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        erpsa_sdk.errors.ResponseFormatError: expected JSON from GET https://api.mavenlink.com/...
    """
    body = response.extensions.pop(_DECODED, _MISSING)
    return parse_json(response) if body is _MISSING else body


FieldsOf = Callable[[Record, str, Envelope], tuple[type[CanonicalModel], dict[str, Any]]]


def _custom_fields(record: Record, env: Envelope) -> list[Record]:
    return env.related("custom_field_values", record.get("custom_field_value_ids"))


def _time_entry(
    record: Record, tenant: str, env: Envelope
) -> tuple[type[CanonicalModel], dict[str, Any]]:
    return TimeEntry, mapping.time_entry_fields(record, tenant=tenant)


def _expense(
    record: Record, tenant: str, env: Envelope
) -> tuple[type[CanonicalModel], dict[str, Any]]:
    return Expense, mapping.expense_fields(record, tenant=tenant)


def _project(
    record: Record, tenant: str, env: Envelope
) -> tuple[type[CanonicalModel], dict[str, Any]]:
    return Project, mapping.workspace_fields(
        record, tenant=tenant, custom_fields=_custom_fields(record, env)
    )


def _customer(
    record: Record, tenant: str, env: Envelope
) -> tuple[type[CanonicalModel], dict[str, Any]]:
    return Customer, mapping.workspace_group_fields(
        record, tenant=tenant, custom_fields=_custom_fields(record, env)
    )


def _resource(
    record: Record, tenant: str, env: Envelope
) -> tuple[type[CanonicalModel], dict[str, Any]]:
    return Resource, mapping.user_fields(
        record, tenant=tenant, custom_fields=_custom_fields(record, env)
    )


def _story(
    record: Record, tenant: str, env: Envelope
) -> tuple[type[CanonicalModel], dict[str, Any]]:
    return mapping.story_fields(record, tenant=tenant, custom_fields=_custom_fields(record, env))


def _assignment(
    record: Record, tenant: str, env: Envelope
) -> tuple[type[CanonicalModel], dict[str, Any]]:
    return Assignment, mapping.allocation_fields(record, tenant=tenant)


def _invoice(
    record: Record, tenant: str, env: Envelope
) -> tuple[type[CanonicalModel], dict[str, Any]]:
    workspaces = env.related("workspaces", record.get("workspace_ids"))
    customer = None
    for ws in workspaces:
        groups = ws.get("workspace_group_ids") or []
        customer = mapping._id(ws.get("primary_workspace_group_id")) or (
            str(groups[0]) if groups else None
        )
        if customer:
            break
    return Invoice, mapping.invoice_fields(record, tenant=tenant, customer_key=customer)


# (obj, refs) -> attributes; time entries and expenses also take ``base_unit=`` (keyword).
AttrsOf = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class ResourceSpec:
    """How one canonical type lives in Kantata.

    Attributes:
        model: the canonical class.
        collection: the URL segment and envelope key.
        singular: the request body root.
        subject_type: the class name external references use.
        fields_of: vendor record -> (canonical class, field dict).
        attrs_of: canonical object -> body attributes (``None``: not writable).
        includes: side-loads every read of this type asks for (one request per page).
        list_filters: fixed filters (archived flags) on every read and look-up.
        story_type: for stories, the ``story_type`` this canonical type covers.
        match_fields: natural keys for ``match`` (canonical field -> vendor filter).
        create_defaults: attributes only a create sends (a workspace's ``creator_role``).

    Examples:
        >>> RESOURCES["Project"].list_filters
        {'include_archived': 'true'}
    """

    model: type[CanonicalModel]
    collection: str
    singular: str
    subject_type: str
    fields_of: FieldsOf
    attrs_of: AttrsOf | None = None
    includes: tuple[str, ...] = ()
    list_filters: Mapping[str, str] = field(default_factory=dict)
    story_type: frozenset[str] | None = None
    match_fields: Mapping[str, str] = field(default_factory=dict)
    create_defaults: Mapping[str, Any] = field(default_factory=dict)


def _spec(
    model: type[CanonicalModel],
    collection: str,
    singular: str,
    subject: str,
    fields_of: FieldsOf,
    **kw: Any,
) -> ResourceSpec:
    return ResourceSpec(
        model=model,
        collection=collection,
        singular=singular,
        subject_type=subject,
        fields_of=fields_of,
        list_filters=dict(ARCHIVED_FLAGS.get(collection, {})),
        **kw,
    )


RESOURCES: Mapping[str, ResourceSpec] = {
    "TimeEntry": _spec(
        TimeEntry,
        "time_entries",
        "time_entry",
        "TimeEntry",
        _time_entry,
        attrs_of=mapping.time_entry_attrs,
    ),
    "Expense": _spec(
        Expense, "expenses", "expense", "Expense", _expense, attrs_of=mapping.expense_attrs
    ),
    "Project": _spec(
        Project,
        "workspaces",
        "workspace",
        "Workspace",
        _project,
        attrs_of=mapping.project_attrs,
        # The API user creates the workspace as the provider ("maven") side.
        create_defaults={"creator_role": "maven"},
        includes=("workspace_groups", "custom_field_values"),
    ),
    "Customer": _spec(
        Customer,
        "workspace_groups",
        "workspace_group",
        "WorkspaceGroup",
        _customer,
        attrs_of=mapping.customer_attrs,
        includes=("custom_field_values",),
        match_fields={"name": "search"},
    ),
    "Resource": _spec(
        Resource,
        "users",
        "user",
        "User",
        _resource,
        includes=("custom_field_values",),
        match_fields={"email": "search"},
    ),
    "ProjectTask": _spec(
        ProjectTask,
        "stories",
        "story",
        "Story",
        _story,
        attrs_of=mapping.task_attrs,
        includes=("custom_field_values",),
        story_type=frozenset({"task", "deliverable"}),
    ),
    "Milestone": _spec(
        Milestone,
        "stories",
        "story",
        "Story",
        _story,
        attrs_of=mapping.milestone_attrs,
        includes=("custom_field_values",),
        story_type=frozenset({"milestone"}),
    ),
    "Assignment": _spec(
        Assignment,
        "workspace_allocations",
        "workspace_allocation",
        "WorkspaceAllocation",
        _assignment,
    ),
    "Invoice": _spec(Invoice, "invoices", "invoice", "Invoice", _invoice, includes=("workspaces",)),
}


def spec_for(model: type[Any] | str) -> ResourceSpec:
    """The :class:`ResourceSpec` of a canonical class or its name.

    Examples:
        >>> spec_for("Customer").collection
        'workspace_groups'
    """
    name = model if isinstance(model, str) else model.__name__
    try:
        return RESOURCES[name]
    except KeyError:
        raise ErpsaError(f"Kantata has no mapping for {name}") from None


def record_ids(records: Sequence[Record]) -> list[str]:
    """The string ids of records (helper for tests and look-ups).

    Examples:
        >>> record_ids([{"id": 1}, {"id": "2"}])
        ['1', '2']
    """
    return [str(r["id"]) for r in records]
