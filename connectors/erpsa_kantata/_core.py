"""Decisions shared by :class:`~erpsa_kantata.Kantata` and :class:`~erpsa_kantata.AsyncKantata`.

Building queries and bodies, turning a page into canonical objects (quarantining bad records),
reading look-up answers: plain functions, so the sync and async shells only send and await.

Examples:
    >>> read_params(RESOURCES["TimeEntry"], {"page": "1"}, include=("user",), filters={})
    {'page': '1', 'from_archived_workspaces': 'true', 'include': 'user'}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError

from erpsa_kantata import mapping
from erpsa_kantata._seek import parse_timestamp
from erpsa_kantata.resources import RESOURCES, Envelope, ResourceSpec
from erpsa_sdk.connector import Deletion
from erpsa_sdk.errors import DeletionFeedExpired as CoreDeletionFeedExpired
from erpsa_sdk.errors import ErpsaError, ResponseFormatError
from erpsa_sdk.models import CanonicalModel, EntityKey, Rejected, SourceRef

__all__ = [
    "EVENT_RETENTION",
    "SERVICE_NAME",
    "DeletionFeedExpired",
    "Held",
    "Related",
    "create_body",
    "deletion_items",
    "lookup_params",
    "page_items",
    "read_params",
    "reference_attrs",
    "related_items",
    "seek_rows",
]

#: The ``service_name`` of every external reference this SDK writes.
SERVICE_NAME = "erpsa"
#: How long Kantata keeps subscribed events (fact sheet §1.10).
EVENT_RETENTION = timedelta(days=9)

_COLLECTION_SPECS: dict[str, ResourceSpec] = {}
for _spec in RESOURCES.values():
    _COLLECTION_SPECS.setdefault(_spec.collection, _spec)


class DeletionFeedExpired(CoreDeletionFeedExpired):
    """The deletion cursor is older than the 9-day event retention: events may be lost.

    The runner falls back to a complete enumeration (full-scan deletion detection).

    Examples:
        >>> DeletionFeedExpired("cursor older than 9 days").message
        'cursor older than 9 days'
    """


@dataclass(frozen=True)
class Related:
    """A canonical object with its side-loaded related objects, typed.

    Examples:
        >>> from erpsa_sdk.models import Customer
        >>> r = Related(item=Customer(key="9", name="Acme"), related={})
        >>> r.item.name
        'Acme'
    """

    item: CanonicalModel | Rejected
    related: Mapping[str, Sequence[CanonicalModel | Rejected]] = field(default_factory=dict)

    def one(self, name: str) -> CanonicalModel | Rejected | None:
        """The single related object under include ``name`` (``None`` if absent).

        Examples:
            >>> Related(item=Rejected(source_ref=None, raw={}, errors=[])).one("user") is None
            True
        """
        found = self.related.get(name, ())
        return found[0] if found else None


class Held:
    """Records of a tie second kept while its walk runs, so they can be emitted at its end.

    Bounded by the size of the tie, never by the rows read.

    Examples:
        >>> held = Held("users")
        >>> env = Envelope(count=0, results=(), maps={}, meta={})
        >>> held.release(None, env, []) is env
        True
    """

    def __init__(self, collection: str) -> None:
        self.collection = collection
        self._envs: dict[str, Envelope] = {}

    def envelope(self, plan: Any, env: Envelope) -> Envelope:
        """Pass ``env`` through (the hook before :meth:`SeekPlan.feed`)."""
        return env

    def release(self, plan: Any, env: Envelope, ids: Sequence[str]) -> Envelope:
        """Keep this page's pending records; return an envelope holding every emitted id."""
        bucket = env.maps.get(self.collection, {})
        for rid in getattr(plan, "pending", ()):
            if rid in bucket:
                self._envs[rid] = env
        older = [self._envs.pop(i) for i in ids if i in self._envs]
        older = [e for e in older if e is not env]
        if not older:
            return env
        maps: dict[str, dict[str, Any]] = {}
        for source in [*older, env]:  # the newest page wins
            for key, records in source.maps.items():
                maps.setdefault(key, {}).update(records)
        return Envelope(count=env.count, results=env.results, maps=maps, meta=env.meta)


def read_params(
    spec: ResourceSpec,
    base: Mapping[str, str],
    *,
    include: Sequence[str],
    filters: Mapping[str, Any],
) -> dict[str, str]:
    """The query of one read request: paging / seek bounds, archived flags, includes, filters.

    Examples:
        >>> q = read_params(RESOURCES["Project"], {}, include=(), filters={"search": "Tokyo"})
        >>> q["include_archived"], q["include"], q["search"]
        ('true', 'workspace_groups,custom_field_values', 'Tokyo')
    """
    params: dict[str, str] = {**base, **spec.list_filters}
    names = list(dict.fromkeys([*spec.includes, *include]))
    if names:
        params["include"] = ",".join(names)
    for key, value in filters.items():
        if isinstance(value, bool):
            params[key] = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            params[key] = ",".join(str(v) for v in value)
        else:
            params[key] = str(value)
    return params


def seek_rows(env: Envelope) -> list[tuple[str, str]]:
    """``(id, updated_at)`` of a page's records in ``results`` order, for the seek plan.

    Examples:
        >>> env = Envelope(count=1, results=(("users", "2"),),
        ...                maps={"users": {"2": {"id": "2", "updated_at": "2026-01-05T09:00:00Z"}}},
        ...                meta={})
        >>> seek_rows(env)
        [('2', '2026-01-05T09:00:00Z')]
    """
    rows = []
    for rec in env.records():
        # type() first: decoded JSON objects are dicts, and the Mapping ABC check is slow.
        if not (type(rec) is dict or isinstance(rec, Mapping)) or "id" not in rec:
            raise ResponseFormatError("a listed record is not an object with an id")
        ts = rec.get("updated_at")
        if not isinstance(ts, str):
            raise ResponseFormatError(f"record {rec.get('id')!r} has no updated_at")
        rid = rec["id"]
        rows.append((rid if type(rid) is str else str(rid), ts))
    return rows


def _ref_of(record: Mapping[str, Any], tenant: str) -> SourceRef | None:
    try:
        return SourceRef(
            system=mapping.SYSTEM,
            tenant=tenant,
            id=str(record["id"]),
            version=record.get("updated_at") if isinstance(record.get("updated_at"), str) else None,
        )
    except (KeyError, ValidationError):
        return None


def _errors(exc: Exception) -> list[dict[str, Any]]:
    if isinstance(exc, ValidationError):
        return [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
    return [{"loc": [], "msg": str(exc), "type": type(exc).__name__}]


_ADAPTERS: dict[type[CanonicalModel], TypeAdapter[list[Any]]] = {}


def _adapter(model: type[CanonicalModel]) -> TypeAdapter[list[Any]]:
    found = _ADAPTERS.get(model)
    if found is None:
        found = _ADAPTERS[model] = TypeAdapter(list[model])  # type: ignore[valid-type]
    return found


def to_canonical(
    spec: ResourceSpec,
    records: Sequence[Mapping[str, Any]],
    env: Envelope,
    tenant: str,
    *,
    context: Any = None,
) -> list[CanonicalModel | Rejected]:
    """Vendor records -> canonical objects, one validation per page; bad ones ``Rejected``.

    Records of another story type (a milestone on a task read) are not this type and are
    skipped.

    Examples:
        >>> env = Envelope(count=0, results=(), maps={}, meta={})
        >>> bad = {"id": "1", "workspace_id": "3", "date_performed": "2026-01-05",
        ...        "time_in_minutes": 30.5, "currency": "USD", "currency_base_unit": 100}
        >>> [type(x).__name__ for x in to_canonical(RESOURCES["TimeEntry"], [bad], env, "t")]
        ['Rejected']
    """
    shaped: list[tuple[Mapping[str, Any], type[CanonicalModel] | None, Any]] = []
    for rec in records:
        if spec.story_type is not None and rec.get("story_type") not in spec.story_type:
            continue
        try:
            model, fields = spec.fields_of(rec, tenant, env)
            shaped.append((rec, model, fields))
        except (ValueError, TypeError, KeyError, ErpsaError) as exc:
            shaped.append((rec, None, exc))
    if all(target is spec.model for _, target, _ in shaped):
        try:
            return list(
                _adapter(spec.model).validate_python([f for _, _, f in shaped], context=context)
            )
        except ValidationError:
            pass
    out: list[CanonicalModel | Rejected] = []
    for rec, target, fields in shaped:
        if target is None:
            out.append(
                Rejected(source_ref=_ref_of(rec, tenant), raw=dict(rec), errors=_errors(fields))
            )
            continue
        try:
            out.append(target.model_validate(fields, context=context))
        except ValidationError as exc:
            out.append(
                Rejected(source_ref=_ref_of(rec, tenant), raw=dict(rec), errors=_errors(exc))
            )
    return out


def page_items(
    spec: ResourceSpec, env: Envelope, ids: Sequence[str], tenant: str, *, context: Any = None
) -> list[CanonicalModel | Rejected]:
    """The canonical items for the emitted ``ids`` of one page, in order.

    Examples:
        >>> env = Envelope(count=1, results=(("workspace_groups", "9"),), maps={
        ...     "workspace_groups": {"9": {"id": "9", "name": "Acme"}}}, meta={})
        >>> page_items(RESOURCES["Customer"], env, ["9"], "t")[0].name
        'Acme'
    """
    bucket = env.maps.get(spec.collection, {})
    return to_canonical(spec, [bucket[i] for i in ids], env, tenant, context=context)


def related_items(
    spec: ResourceSpec,
    env: Envelope,
    items: Sequence[CanonicalModel | Rejected],
    include: Sequence[str],
    tenant: str,
) -> list[Related]:
    """Attach each item's side-loaded records (``include`` names), converted to canonical types.

    Examples:
        >>> env = Envelope(count=0, results=(), maps={}, meta={})
        >>> related_items(RESOURCES["Customer"], env, [], ("workspaces",), "t")
        []
    """
    from erpsa_kantata.simulator._schema import COLLECTIONS

    assoc = COLLECTIONS[spec.collection].associations
    bucket = env.maps.get(spec.collection, {})
    out: list[Related] = []
    for item in items:
        rid = (
            item.key
            if isinstance(item, CanonicalModel)
            else (item.source_ref.id if item.source_ref else None)
        )
        rec = bucket.get(rid or "", {})
        related: dict[str, list[CanonicalModel | Rejected]] = {}
        for name in include:
            fk, target = assoc[name]
            target_spec = _COLLECTION_SPECS.get(target)
            linked = env.related(target, rec.get(fk))
            if target_spec is None:
                continue
            if target_spec.story_type is not None:
                # Stories: each side-loaded story is a task or a milestone.
                related[name] = [
                    x
                    for s in (RESOURCES["ProjectTask"], RESOURCES["Milestone"])
                    for x in to_canonical(s, linked, env, tenant)
                ]
            else:
                related[name] = to_canonical(target_spec, linked, env, tenant)
        out.append(Related(item=item, related=related))
    return out


def lookup_params(spec: ResourceSpec, entity_key: EntityKey) -> tuple[str, dict[str, str]]:
    """Where to look a record up by its EntityKey: ``(path, query)``.

    Time entries use their documented ``external_reference_*`` filters with
    ``from_archived_workspaces=true`` (the entry is found even when its workspace is archived);
    every other type asks ``/external_references`` by subject type.

    Examples:
        >>> ek = EntityKey(namespace="demo", system="netsuite", tenant="t", source_id="1",
        ...                object_type="time_entry")
        >>> path, q = lookup_params(RESOURCES["TimeEntry"], ek)
        >>> path, q["external_reference_service_model_ref"] == str(ek)
        ('time_entries', True)
        >>> lookup_params(RESOURCES["Customer"], ek)[1]["subject_type"]
        'WorkspaceGroup'
    """
    ref = str(entity_key)
    if spec.collection == "time_entries":
        return spec.collection, {
            "external_reference_service_name": SERVICE_NAME,
            "external_reference_service_model_ref": ref,
            "from_archived_workspaces": "true",
            "per_page": "200",
        }
    return "external_references", {
        "subject_type": spec.subject_type,
        "service_name": SERVICE_NAME,
        "service_model_ref": ref,
        "per_page": "200",
    }


def reference_attrs(spec: ResourceSpec, entity_key: EntityKey) -> dict[str, Any]:
    """The inline ``external_reference`` that names a record by its EntityKey.

    Examples:
        >>> ek = EntityKey(namespace="demo", system="s", tenant="t", source_id="1",
        ...                object_type="expense")
        >>> reference_attrs(RESOURCES["Expense"], ek)["service_model"]
        'Expense'
    """
    return {
        "service_name": SERVICE_NAME,
        "service_model": spec.model.__name__,
        "service_model_ref": str(entity_key),
        "status": "successful",
    }


def create_body(
    spec: ResourceSpec, attrs: Mapping[str, Any], entity_key: EntityKey
) -> dict[str, Any]:
    """The JSON body of a create carrying its external reference inline (one POST).

    Examples:
        >>> ek = EntityKey(namespace="demo", system="s", tenant="t", source_id="1",
        ...                object_type="customer")
        >>> body = create_body(RESOURCES["Customer"], {"name": "Acme"}, ek)
        >>> sorted(body["workspace_group"])
        ['external_reference', 'name']
    """
    return {spec.singular: {**attrs, "external_reference": reference_attrs(spec, entity_key)}}


def deletion_items(env: Envelope, ids: Sequence[str], tenant: str) -> list[Deletion | Rejected]:
    """``Deletion`` items for the emitted subscribed-event ids.

    Examples:
        >>> env = Envelope(count=1, results=(("subscribed_events", "5"),), maps={
        ...     "subscribed_events": {"5": {"id": "5", "subject_id": 7,
        ...     "subject_type": "TimeEntry", "event_type": "time_entry:deleted",
        ...     "subject_changed_at": "2026-01-05T09:00:00+00:00"}}}, meta={})
        >>> deletion_items(env, ["5"], "t")[0].ref.id
        '7'
    """
    bucket = env.maps.get("subscribed_events", {})
    out: list[Deletion | Rejected] = []
    for eid in ids:
        rec = bucket[eid]
        try:
            when: datetime = parse_timestamp(rec.get("subject_changed_at") or rec.get("created_at"))
            out.append(
                Deletion(
                    ref=SourceRef(system=mapping.SYSTEM, tenant=tenant, id=str(rec["subject_id"])),
                    deleted_at=when,
                )
            )
        except (KeyError, ValidationError, ErpsaError) as exc:
            out.append(Rejected(source_ref=None, raw=dict(rec), errors=_errors(exc)))
    return out
