"""A pipeline: one source, one target, the canonical types to sync, in dependency order.

Examples:
    >>> from erpsa_sdk.models import Customer, Project, TimeEntry
    >>> [t.__name__ for t in ordered_types([TimeEntry, Customer, Project])]
    ['Customer', 'Project', 'TimeEntry']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from erpsa_sdk.connector import Connector
from erpsa_sdk.errors import ConfigurationError
from erpsa_sdk.models import (
    Assignment,
    Contract,
    CostCenter,
    Customer,
    Expense,
    Invoice,
    LegalEntity,
    Milestone,
    Project,
    ProjectTask,
    RateCard,
    Resource,
    RevenueEvent,
    TimeEntry,
)
from erpsa_sdk.models._base import CanonicalModel
from erpsa_sdk.sync._records import SourceVersion, target_connection

__all__ = [
    "DEFAULT_TYPES",
    "PIPELINE_ORDER",
    "REFERENCE_FIELDS",
    "Pipeline",
    "ordered_types",
    "source_version",
]

#: Dependency order: a type is synced after every type it may reference.
PIPELINE_ORDER: tuple[type[CanonicalModel], ...] = (
    LegalEntity,
    CostCenter,
    Resource,
    Customer,
    RateCard,
    Contract,
    Project,
    ProjectTask,
    Milestone,
    Assignment,
    TimeEntry,
    Expense,
    Invoice,
    RevenueEvent,
)

#: What a pipeline syncs when no types are given: customer → project → task → assignment →
#: time / expense → invoice → revenue.
DEFAULT_TYPES: tuple[type[CanonicalModel], ...] = (
    Customer,
    Project,
    ProjectTask,
    Assignment,
    TimeEntry,
    Expense,
    Invoice,
    RevenueEvent,
)

#: Reference fields of the canonical models and the type each one points to (``None``: the
#: model's own type, e.g. a parent customer).
REFERENCE_FIELDS: dict[str, type[CanonicalModel] | None] = {
    "parent_key": None,
    "customer_key": Customer,
    "legal_entity_key": LegalEntity,
    "cost_center_key": CostCenter,
    "manager_key": Resource,
    "resource_key": Resource,
    "contract_key": Contract,
    "rate_card_key": RateCard,
    "project_key": Project,
    "parent_task_key": ProjectTask,
    "task_key": ProjectTask,
    "assignment_key": Assignment,
}


def ordered_types(types: Iterable[type[BaseModel]]) -> list[type[BaseModel]]:
    """``types`` in dependency order (types outside :data:`PIPELINE_ORDER` go last, in order).

    Examples:
        >>> from erpsa_sdk.models import Invoice, Customer
        >>> [t.__name__ for t in ordered_types([Invoice, Customer])]
        ['Customer', 'Invoice']
    """
    given = list(dict.fromkeys(types))
    rank = {t: n for n, t in enumerate(PIPELINE_ORDER)}
    return sorted(given, key=lambda t: (rank.get(t, len(rank)), given.index(t)))  # type: ignore[arg-type]


def source_version(obj: BaseModel) -> SourceVersion:
    """The ordered source version of a canonical object: its first ``SourceRef.version``.

    The version must be the vendor's modified timestamp (ISO 8601), optionally followed by
    ``#`` and an ETag. Objects without one cannot be ordered, so they are refused.

    Examples:
        >>> from erpsa_sdk.models import Customer
        >>> from erpsa_sdk.models.refs import SourceRef
        >>> c = Customer(key="c1", name="Acme", source_refs=[SourceRef(
        ...     system="crm", tenant="t", id="1", version="2026-11-01T10:00:00Z")])
        >>> str(source_version(c))
        '2026-11-01T10:00:00.000000Z'
    """
    refs = getattr(obj, "source_refs", ())
    text = refs[0].version if refs else None
    if not text:
        raise ConfigurationError(
            f"{type(obj).__name__} has no source version; the source connector must set "
            "source_refs[0].version to the modified timestamp"
        )
    try:
        return SourceVersion.parse(text)
    except ValueError:
        raise ConfigurationError(
            f"{type(obj).__name__} version {text!r} is not an ISO timestamp (optionally "
            "'#<etag>'); pass Pipeline(version_of=...) for this source"
        ) from None


def _tenant_of(connector: Connector, given: str | None, role: str) -> str:
    if given:
        return given
    for holder in (connector, getattr(connector, "settings", None)):
        tenant = getattr(holder, "tenant", None)
        if isinstance(tenant, str) and tenant:
            return tenant
    raise ConfigurationError(
        f"cannot tell the tenant of {role} connector {connector.name!r}; "
        f"pass Pipeline({role}_tenant=...)"
    )


@dataclass
class Pipeline:
    """One source, one target connection, the types to sync and the deployment namespace.

    Parameters:
        name: a stable name; it keys the checkpoints and the lease.
        source: the connector records are read from.
        target: the connector records are written to.
        namespace: the deployment's EntityKey namespace (stable; changing it is a migration).
        types: canonical types to sync (default :data:`DEFAULT_TYPES`); they run in
            dependency order.
        target_tenant: the target's tenant, when the connector does not expose ``tenant``.
        source_tenant: the source's tenant, when the connector does not expose ``tenant``.
        detect_deletions: look for source deletions (by ``read_deletions``, or by a complete
            enumeration for ``full_scan_only`` sources).
        keep_payload_for: types whose last written object is kept with the ledger head, so a
            later source deletion of a posted record can be reversed (default: the types the
            target can both post and reverse).
        version_of: how to read a source version from an object (default
            :func:`source_version`).

    Examples:
        >>> from erpsa_sdk.connector import Capabilities, Connector, TypeCapabilities
        >>> from erpsa_sdk.models import Customer, Invoice, Project
        >>> class Stub(Connector):  # only what a Pipeline looks at
        ...     capabilities = Capabilities(types={"Customer": TypeCapabilities(read=True)})
        ...     read = lookup = upsert = delete = validate = health = None
        >>> class Psa(Stub):
        ...     name, tenant = "kantata", "acme"
        >>> class Erp(Stub):
        ...     name, tenant = "netsuite", "TSTDRV1"
        >>> p = Pipeline("kantata->netsuite", source=Psa(), target=Erp(), namespace="acme-prod",
        ...              types=[Invoice, Customer, Project])
        >>> p.target_connection, [t.__name__ for t in p.types]
        ('netsuite:TSTDRV1', ['Customer', 'Project', 'Invoice'])
        >>> p
        Pipeline('kantata->netsuite', kantata:acme -> netsuite:TSTDRV1, namespace='acme-prod', types=[Customer, Project, Invoice])
    """  # noqa: E501

    name: str
    source: Connector
    target: Connector
    namespace: str
    types: Sequence[type[BaseModel]] = DEFAULT_TYPES
    target_tenant: str | None = None
    source_tenant: str | None = None
    detect_deletions: bool = True
    keep_payload_for: Sequence[type[BaseModel]] | None = None
    version_of: Callable[[BaseModel], SourceVersion] = source_version
    reference_fields: dict[str, type[CanonicalModel] | None] = field(
        default_factory=lambda: dict(REFERENCE_FIELDS)
    )
    _connection: str = field(init=False, default="")
    _source_connection: str = field(init=False, default="")
    _target_tenant: str = field(init=False, default="")

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigurationError("a pipeline needs a name")
        self.types = ordered_types(self.types)
        self._target_tenant = _tenant_of(self.target, self.target_tenant, "target")
        self._connection = target_connection(self.target.name, self._target_tenant)
        self._source_connection = target_connection(
            self.source.name, _tenant_of(self.source, self.source_tenant, "source")
        )

    @property
    def target_connection(self) -> str:
        """The ledger's first key: ``<target connector>:<target tenant>``."""
        return self._connection

    @property
    def source_connection(self) -> str:
        """``<source connector>:<source tenant>``: the source side of the crosswalk."""
        return self._source_connection

    @property
    def target_tenant_name(self) -> str:
        """The target's tenant (given, or the connector's ``tenant``).

        Examples:
            >>> from erpsa_sdk.connector import Connector
            >>> class Erp(Connector):
            ...     name, tenant, capabilities = "erp:eu", "t1", None
            ...     read = lookup = upsert = delete = validate = health = None
            >>> p = Pipeline("p", source=Erp(), target=Erp(), namespace="n", types=[])
            >>> p.target_connection, p.target_tenant_name
            ('erp:eu:t1', 't1')
        """
        return self._target_tenant

    def keeps_payload(self, model: type[BaseModel]) -> bool:
        """Whether the last written object of ``model`` is kept with the ledger head."""
        if self.keep_payload_for is not None:
            return model in self.keep_payload_for
        caps = self.target.capabilities.of(model)
        return caps.posting and caps.reverse

    def __repr__(self) -> str:
        types = ", ".join(t.__name__ for t in self.types)
        return (
            f"Pipeline({self.name!r}, {self._source_connection} -> {self._connection}, "
            f"namespace={self.namespace!r}, types=[{types}])"
        )

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary (for logs and run history).

        The keys are ``name``, ``source``, ``target`` (the target connection) and ``types``.
        """
        return {
            "name": self.name,
            "source": self.source.name,
            "target": self._connection,
            "types": [t.__name__ for t in self.types],
        }
