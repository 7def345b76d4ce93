"""The AcmePSA connector: a source of customers, projects, resources, time entries and expenses.

Reads are incremental keyset walks (``(updated_at, id)``, bounded by a horizon) that resume
from a JSON cursor; deletions come from the tombstone query. Canonical ``key`` and ``*_key``
fields are AcmePSA ids; ``SourceRef.version`` is ``<updated_at>/v<row version>``, which orders
the versions of one record. AcmePSA is read-only through this connector.

Example:
    >>> import httpx2
    >>> from erpsa_sdk.models import TimeEntry
    >>> from acme_psa_erp import ACMEPSA, settings_for
    >>> sim = ACMEPSA.simulator(seed=1)
    >>> conn = ACMEPSA.create(settings_for(sim), transport=httpx2.MockTransport(sim),
    ...                       clock=sim.clock)
    >>> entries = list(conn.read(TimeEntry))
    >>> len(entries), entries[0].source_refs[0].system
    (60, 'acmepsa')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Annotated, Any, ClassVar

import httpx2
from pydantic import BaseModel, BeforeValidator

from acme_psa_erp._common import AcmeSettings, make_client
from erpsa_sdk.clock import Clock
from erpsa_sdk.connector import (
    Capabilities,
    Connector,
    Cursor,
    Deletion,
    Health,
    Problem,
    ProblemCode,
    RecordPager,
    TypeCapabilities,
    WriteResult,
    type_name,
)
from erpsa_sdk.errors import ConfigurationError, ErpsaError
from erpsa_sdk.http import KeysetSeek, KeysetWindow, Pager
from erpsa_sdk.limits import Concurrency, Limit, ScopeKind, SlidingWindow
from erpsa_sdk.models import EntityKey, WriteKey
from erpsa_sdk.models.money import vendor_money
from erpsa_sdk.models.refs import SourceRef

__all__ = ["CAPABILITIES", "AcmePsaConnector", "AcmePsaSettings"]

SYSTEM = "acmepsa"

COLLECTIONS: dict[str, str] = {
    "Customer": "customers",
    "Project": "projects",
    "Resource": "resources",
    "TimeEntry": "time_entries",
    "Expense": "expenses",
}

_SOURCE = TypeCapabilities(read=True, incremental=True, deletions="tombstone_query")

CAPABILITIES = Capabilities(
    types={
        "Customer": _SOURCE.model_copy(update={"natural_keys": ("name",)}),
        "Project": _SOURCE.model_copy(update={"natural_keys": ("code",)}),
        "Resource": _SOURCE.model_copy(update={"natural_keys": ("email",)}),
        "TimeEntry": _SOURCE,
        "Expense": _SOURCE,
    },
    limits=(
        Limit(Concurrency(20), ScopeKind.ACCOUNT, note="AcmePSA: 20 requests in flight"),
        Limit(SlidingWindow(600, 60), ScopeKind.ACCOUNT, note="AcmePSA: 600 requests a minute"),
    ),
)


class AcmePsaSettings(AcmeSettings):
    """AcmePSA settings (environment variables ``ERPSA_ACMEPSA_*``).

    Example:
        >>> AcmePsaSettings(api_token="t").base_url
        'https://api.acmepsa.example/v2'
    """

    env_prefix: ClassVar[str] = "ERPSA_ACMEPSA_"
    base_url: str = "https://api.acmepsa.example/v2"


def _version(row: Mapping[str, Any]) -> str:
    return f"{row['updated_at']}/v{int(row['version']):08d}"


def _refs(tenant: str, row: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"system": SYSTEM, "tenant": tenant, "id": str(row["id"]), "version": _version(row)}]


def _key(value: Any) -> str | None:
    return None if value is None else str(value)


def _customer(tenant: str, row: Any) -> Any:
    if not isinstance(row, Mapping):
        return row
    return {
        "key": str(row["id"]),
        "source_refs": _refs(tenant, row),
        "name": row.get("name"),
        "email": row.get("email"),
        "currency": row.get("currency"),
        "active": row.get("active", True),
    }


def _project(tenant: str, row: Any) -> Any:
    if not isinstance(row, Mapping):
        return row
    budget = row.get("budget")
    currency = row.get("currency")
    return {
        "key": str(row["id"]),
        "source_refs": _refs(tenant, row),
        "name": row.get("name"),
        "code": row.get("code"),
        "customer_key": _key(row.get("customer_id")),
        "currency": currency,
        "status": row.get("status"),
        "budget": vendor_money(budget, currency) if budget is not None and currency else None,
        "start_date": row.get("start_date"),
    }


def _resource(tenant: str, row: Any) -> Any:
    if not isinstance(row, Mapping):
        return row
    return {
        "key": str(row["id"]),
        "source_refs": _refs(tenant, row),
        "name": row.get("name"),
        "email": row.get("email"),
        "role": row.get("role"),
        "active": row.get("active", True),
    }


def _time_entry(tenant: str, row: Any) -> Any:
    if not isinstance(row, Mapping):
        return row
    rate, currency = row.get("rate"), row.get("currency")
    return {
        "key": str(row["id"]),
        "source_refs": _refs(tenant, row),
        "resource_key": _key(row.get("person_id")),
        "project_key": _key(row.get("project_id")),
        "task_key": _key(row.get("task_id")),
        "work_date": row.get("date"),
        "duration_minutes": row.get("minutes"),
        "billable": row.get("billable", True),
        "status": row.get("status"),
        "description": row.get("notes"),
        "bill_rate": vendor_money(rate, currency) if rate is not None and currency else None,
    }


def _expense(tenant: str, row: Any) -> Any:
    if not isinstance(row, Mapping):
        return row
    return {
        "key": str(row["id"]),
        "source_refs": _refs(tenant, row),
        "resource_key": _key(row.get("person_id")),
        "project_key": _key(row.get("project_id")),
        "expense_date": row.get("date"),
        "category": row.get("category"),
        "amount": vendor_money(row.get("amount"), str(row.get("currency"))),
        "status": row.get("status"),
        "description": row.get("notes"),
    }


_MAPPERS: dict[str, Callable[[str, Any], Any]] = {
    "Customer": _customer,
    "Project": _project,
    "Resource": _resource,
    "TimeEntry": _time_entry,
    "Expense": _expense,
}


def _keyset_params(
    prefix: str, filters: Mapping[str, Any]
) -> Callable[[KeysetWindow], dict[str, Any]]:
    def query(window: KeysetWindow) -> dict[str, Any]:
        params: dict[str, Any] = {f"{prefix}_before": window.before, "limit": window.limit}
        if window.after is not None:
            params[f"{prefix}_after"] = window.after_timestamp
            params["after_id"] = window.after_id
        params.update(filters)
        return params

    return query


class AcmePsaConnector(Connector):
    """Reads AcmePSA (see the module docstring).

    Example:
        >>> import httpx2
        >>> from erpsa_sdk.models import Resource
        >>> from acme_psa_erp import ACMEPSA, settings_for
        >>> sim = ACMEPSA.simulator()
        >>> conn = ACMEPSA.create(settings_for(sim), transport=httpx2.MockTransport(sim),
        ...                       clock=sim.clock)
        >>> [r.id for r in conn.match(Resource, email="ada@acme.example")]
        ['1']
    """

    name: ClassVar[str] = SYSTEM

    def __init__(
        self,
        settings: AcmePsaSettings,
        *,
        transport: httpx2.BaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.tenant = settings.tenant
        self._client = make_client(
            settings, limits=CAPABILITIES.limits, transport=transport, clock=clock
        )

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    def _collection(self, model: type[BaseModel] | str) -> str:
        name = type_name(model)
        if name not in COLLECTIONS:
            raise ConfigurationError(f"acmepsa does not hold {name} records")
        return COLLECTIONS[name]

    def read(self, model: type[BaseModel], *, since: Cursor = None, **filters: Any) -> Pager[Any]:
        """Records of ``model`` changed since ``since``: a resumable keyset :class:`Pager`.

        ``filters`` are equality filters the API supports (``email``, ``code``, ``name``,
        ``project_id``).
        """
        collection = self._collection(model)
        reshape = partial(_MAPPERS[type_name(model)], self.tenant)
        item_type: Any = Annotated[model, BeforeValidator(reshape)]
        strategy = KeysetSeek(
            f"/{collection}",
            limit=self.settings.page_size,
            query=_keyset_params("updated", filters),
            items="data",
            timestamp_field="updated_at",
        )
        return Pager(
            self._client, strategy, model=item_type, cursor=since, source_ref=self._raw_ref
        )

    def _raw_ref(self, raw: Any) -> SourceRef | None:
        if isinstance(raw, Mapping) and "id" in raw:
            version = _version(raw) if "updated_at" in raw and "version" in raw else None
            return SourceRef(system=SYSTEM, tenant=self.tenant, id=str(raw["id"]), version=version)
        return None

    def read_deletions(
        self, model: type[BaseModel], *, since: Cursor = None
    ) -> RecordPager[Deletion]:
        """Deletions of ``model`` since ``since``, from the tombstone query."""
        collection = self._collection(model)
        tenant = self.tenant

        def reshape(raw: Any) -> Any:
            if not isinstance(raw, Mapping):
                return raw
            return {
                "ref": {"system": SYSTEM, "tenant": tenant, "id": str(raw["id"])},
                "deleted_at": raw.get("deleted_at"),
            }

        item_type: Any = Annotated[Deletion, BeforeValidator(reshape)]
        strategy = KeysetSeek(
            f"/deleted/{collection}",
            limit=self.settings.page_size,
            query=_keyset_params("deleted", {}),
            items="data",
            timestamp_field="deleted_at",
        )
        pager: RecordPager[Deletion] = Pager(self._client, strategy, model=item_type, cursor=since)
        return pager

    def match(self, model: type[BaseModel], **natural_key: Any) -> list[SourceRef]:
        """Records whose declared natural key (Customer name, Project code, Resource email)
        equals ``natural_key``."""
        allowed = self.capabilities.of(model).natural_keys
        unknown = set(natural_key) - set(allowed)
        if not natural_key or unknown:
            raise ConfigurationError(
                f"acmepsa matches {type_name(model)} by {list(allowed)}, not {sorted(natural_key)}"
            )
        body = self._client.request_json(
            "GET", f"/{self._collection(model)}", params={**natural_key, "limit": 200}
        )
        return [r for r in (self._raw_ref(row) for row in body.get("data", [])) if r is not None]

    def lookup(self, model: type[BaseModel], *, entity_key: EntityKey) -> SourceRef | None:
        """AcmePSA is a source only: it stores no EntityKeys."""
        raise ConfigurationError("acmepsa is read-only: it holds no records written by erpsa")

    def upsert(
        self,
        obj: BaseModel,
        *,
        entity_key: EntityKey,
        write_key: WriteKey,
        refs: Mapping[str, SourceRef],
    ) -> WriteResult:
        """AcmePSA is read-only through this connector."""
        raise ConfigurationError(f"acmepsa cannot write {type(obj).__name__} records")

    def delete(
        self, model: type[BaseModel], *, entity_key: EntityKey, write_key: WriteKey
    ) -> WriteResult:
        """AcmePSA is read-only through this connector."""
        raise ConfigurationError(f"acmepsa cannot delete {type_name(model)} records")

    def validate(self, obj: BaseModel, *, refs: Mapping[str, SourceRef]) -> list[Problem]:
        """Every write is refused: AcmePSA is read-only here."""
        return [
            Problem(
                code=ProblemCode.UNSUPPORTED_TYPE,
                message=f"acmepsa cannot write {type(obj).__name__} records",
            )
        ]

    def health(self) -> Health:
        """One small read proves the URL and the token."""
        try:
            self._client.request_json("GET", "/resources", params={"limit": 1})
        except ErpsaError as exc:
            return Health(ok=False, message=f"{type(exc).__name__}: {exc}")
        return Health(ok=True, message="acmepsa reachable", details={"tenant": self.tenant})

    def close(self) -> None:
        self._client.close()
