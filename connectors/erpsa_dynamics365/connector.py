"""The Dynamics 365 (Dataverse, Project Operations) connector and its plugin object.

Writes address each row by ``UUIDv5(EntityKey)``: ``PATCH <set>(<uuid>)`` without
``If-Match`` is an upsert, so a retry after a lost answer updates the row it created instead
of adding one (``NATURAL_UPSERT``, no schema change needed). Where the tenant defined and
activated an alternate key on a column holding the EntityKey, writes can address rows by that
key instead (:attr:`Dynamics365Settings.alternate_keys`).

What an application user (client-credentials token) cannot do is declared, not attempted:
project tasks and resource assignments are schedule entities, written only through the
Project schedule APIs by licensed users, so they are read-only here and a time entry's task
reference is ``optional`` (written empty when unresolved). Projects are created by a plain
Dataverse write (which skips the default bucket); their scheduling fields are never sent on an
update. Bookable resources and companies are master data matched by natural key.

Examples:
    >>> import httpx2
    >>> from erpsa_sdk.models import Customer, SourceRef, WriteKey
    >>> sim = connector.simulator(seed=1)
    >>> conn = connector.create({"environment_url": sim.environment_url,
    ...                          "token": sim.api_token}, transport=httpx2.MockTransport(sim),
    ...                         clock=sim.clock)
    >>> c = Customer(key="7", name="Initech", currency="USD",
    ...              source_refs=[SourceRef(system="kantata", tenant="acme", id="7")])
    >>> ek = c.entity_key("demo")
    >>> wk = WriteKey(entity_key=ek, version="1", operation="upsert")
    >>> result = conn.upsert(c, entity_key=ek, write_key=wk, refs={})
    >>> result.outcome.value, result.ref.id == str(ek.uuid5())
    ('created', True)
    >>> conn.upsert(c, entity_key=ek, write_key=wk, refs={}).outcome.value
    'updated'
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, ClassVar

import httpx2
from pydantic import BaseModel, Field, model_validator

from erpsa_dynamics365._core import ErrorCodes, environment_url, service_protection_limits
from erpsa_dynamics365.client import DEFAULT_LAG, Dynamics365, WriteAnswer
from erpsa_dynamics365.mapping import (
    EXPENSE_STATUS,
    SYSTEM,
    TIME_ENTRY_STATUS,
    OptionSet,
    TenantMapping,
    table_for,
    to_row,
)
from erpsa_sdk.auth import ClientCredentialsAuth, StaticBearerAuth, load_private_key
from erpsa_sdk.auth.presets import entra_certificate_assertion, entra_client_credentials
from erpsa_sdk.clock import Clock
from erpsa_sdk.connector import (
    Capabilities,
    Connector,
    ConnectorPlugin,
    ConnectorSettings,
    Cursor,
    DeletionMode,
    Health,
    Problem,
    ProblemCode,
    SecretStr,
    TypeCapabilities,
    WriteOutcome,
    WriteRequest,
    WriteResult,
    type_name,
)
from erpsa_sdk.errors import ConfigurationError, ConflictError, ErpsaError, PostedRecordError
from erpsa_sdk.http import Pager, WriteSafety
from erpsa_sdk.http.odata import ODataQuery, and_, literal
from erpsa_sdk.models import EntityKey, SourceRef, WriteKey

__all__ = [
    "CAPABILITIES",
    "Dynamics365Connector",
    "Dynamics365Settings",
    "connector",
    "entra_auth",
]

_SAFE = WriteSafety.NATURAL_UPSERT
# Writes address the row by its UUIDv5 id; ``create`` (a plain POST, never retried) is unsafe.
_NATURAL = {"create": WriteSafety.UNSAFE, "upsert": _SAFE, "update": _SAFE, "delete": _SAFE}


def _read(**kw: Any) -> TypeCapabilities:
    return TypeCapabilities(
        read=True, incremental=True, deletions=DeletionMode.FULL_SCAN_ONLY, **kw
    )


def _write(**kw: Any) -> TypeCapabilities:
    # Dataverse has no idempotency-key header and assigns a new id to a keyless POST.
    return _read(
        write=True,
        delete=True,
        write_safety=_NATURAL,
        vendor_dedupes_blind_creates=False,
        **kw,
    )


#: What the connector declares (limits: the documented service-protection defaults).
CAPABILITIES = Capabilities(
    types={
        "Customer": _write(natural_keys=("name", "email")),
        "LegalEntity": _read(natural_keys=("name",)),
        "Resource": _read(natural_keys=("email", "name")),
        "Project": _write(
            natural_keys=("name",),
            references={
                "legal_entity_key": "match",
                "contract_key": "optional",
                "cost_center_key": "optional",
                "manager_key": "optional",
            },
        ),
        # Schedule entities: only the Project schedule APIs write them, and only for users
        # with a Project licence; an application user reads them.
        "ProjectTask": _read(),
        "Assignment": _read(),
        "TimeEntry": _write(
            posting=True,
            references={
                "resource_key": "match",
                "task_key": "optional",
                "assignment_key": "optional",
                "timesheet_key": "optional",
            },
            # The runner reports a dropped reference under its Dataverse column name.
            field_names={
                "resource_key": "msdyn_bookableresource",
                "project_key": "msdyn_project",
                "task_key": "msdyn_projecttask",
            },
        ),
        "Expense": _write(
            posting=True,
            references={"resource_key": "match", "task_key": "optional"},
            field_names={
                "resource_key": "msdyn_bookableresource",
                "project_key": "msdyn_project",
                "task_key": "msdyn_projecttask",
            },
        ),
        "Invoice": _read(),
    },
    limits=service_protection_limits(),
    rounding="ROUND_HALF_UP",
)

#: ``msdyn_project`` columns a plain update may not change (the set is unverified: config).
DEFAULT_SCHEDULING_FIELDS = (
    "msdyn_scheduledstart",
    "msdyn_finish",
    "msdyn_effort",
    "msdyn_progress",
)
_MATCH_COLUMNS: dict[str, dict[str, str]] = {
    "Customer": {"name": "name", "email": "emailaddress1"},
    "LegalEntity": {"name": "cdm_name"},
    "Resource": {"name": "name"},
    "Project": {"name": "msdyn_subject"},
}
#: Statuses at which a record is locked at the target (approved time has become actuals).
_LOCKED = {
    "TimeEntry": ("msdyn_entrystatus", TIME_ENTRY_STATUS, frozenset({"approved"})),
    "Expense": (
        "msdyn_expensestatus",
        EXPENSE_STATUS,
        frozenset({"approved", "posted", "reimbursed"}),
    ),
}


class _Missing(Exception):
    """A look-up found nothing (raised so the per-run cache does not keep the answer)."""


class Dynamics365Settings(ConnectorSettings):
    """One Dataverse environment connection (``ERPSA_DYNAMICS365_*`` variables or TOML).

    Give the environment as ``environment_url``, or ``environment`` + ``region``. Credentials:
    ``token`` (a bearer token you manage, or the simulator's), or Entra client credentials:
    ``entra_tenant`` + ``client_id`` + ``client_secret``, or + ``private_key`` +
    ``certificate`` (PEM; the assertion is PS256 with ``x5t#S256``).

    Examples:
        >>> s = Dynamics365Settings(environment="contoso", region="crm4", token="t")
        >>> s.url, s.scope
        ('https://contoso.crm4.dynamics.com', 'https://contoso.crm4.dynamics.com/.default')
    """

    env_prefix: ClassVar[str] = "ERPSA_DYNAMICS365_"

    environment_url: str | None = None
    environment: str | None = None
    region: str = "crm"
    token: SecretStr | None = None
    entra_tenant: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    private_key: SecretStr | None = None
    certificate: str | None = None
    #: Token endpoint override (a served simulator); default: Entra's v2.0 endpoint.
    token_url: str | None = None
    page_size: int = Field(default=1000, ge=1, le=5000)
    #: The share of the service-protection limits this connector may use.
    share: float = Field(default=1.0, gt=0, le=1)
    requests_per_window: int = Field(default=6000, ge=1)
    window_seconds: float = Field(default=300.0, gt=0)
    concurrent_requests: int = Field(default=52, ge=1)
    #: How far behind now incremental reads stop, so a late commit is not left behind the
    #: cursor (see :data:`erpsa_dynamics365.client.DEFAULT_LAG`).
    lag_seconds: float = Field(default=DEFAULT_LAG.total_seconds(), ge=0)
    #: canonical type -> {extension name: publisher-prefixed column}
    extensions: dict[str, dict[str, str]] = Field(default_factory=dict)
    #: option-set table name -> {code: canonical value}, replacing the default table
    option_sets: dict[str, dict[int, str]] = Field(default_factory=dict)
    resource_email_column: str = "msdyn_primaryemail"
    #: canonical type -> column of an active alternate key holding the EntityKey text
    alternate_keys: dict[str, str] = Field(default_factory=dict)
    scheduling_fields: tuple[str, ...] = DEFAULT_SCHEDULING_FIELDS
    #: vendor codes of a plug-in refusing to change a posted record (none documented)
    posted_codes: tuple[str, ...] = ()
    timeout: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _check(self) -> Dynamics365Settings:
        if self.environment_url is None and self.environment is None:
            raise ValueError("give environment_url, or environment (+ region)")
        secret_ways = [
            self.token is not None,
            self.client_secret is not None,
            self.private_key is not None or self.certificate is not None,
        ]
        if sum(secret_ways) != 1:
            raise ValueError(
                "give exactly one credential: token, client_secret, or private_key + certificate"
            )
        if self.token is None and not (self.entra_tenant and self.client_id):
            raise ValueError("Entra credentials need entra_tenant and client_id")
        if (self.private_key is None) != (self.certificate is None):
            raise ValueError("a certificate credential needs private_key and certificate")
        return self

    @property
    def url(self) -> str:
        """The environment URL."""
        if self.environment_url is not None:
            return self.environment_url.rstrip("/")
        assert self.environment is not None
        return environment_url(self.environment, self.region)

    @property
    def scope(self) -> str:
        """The OAuth scope: the environment URL plus ``/.default``."""
        return f"{self.url}/.default"


def entra_auth(settings: Dynamics365Settings, *, clock: Clock | None = None) -> httpx2.Auth:
    """The ``httpx2`` auth flow for the settings' credential (static token, client secret or
    certificate assertion).

    Examples:
        >>> s = Dynamics365Settings(environment="contoso", entra_tenant="t1", client_id="app",
        ...                         client_secret="s")
        >>> entra_auth(s).token_url
        'https://login.microsoftonline.com/t1/oauth2/v2.0/token'
    """
    if settings.token is not None:
        return StaticBearerAuth(settings.token, tenant=settings.url)
    assert settings.entra_tenant is not None
    assert settings.client_id is not None
    options: dict[str, Any] = {"clock": clock}
    key = None
    if settings.private_key is not None:
        key = load_private_key(settings.private_key.get_secret_value())
    if settings.token_url is None:
        return entra_client_credentials(
            tenant=settings.entra_tenant,
            client_id=settings.client_id,
            scope=settings.scope,
            client_secret=settings.client_secret,
            private_key=key,
            certificate=settings.certificate,
            **options,
        )
    assertion = None
    if key is not None and settings.certificate is not None:
        assertion = entra_certificate_assertion(
            tenant=settings.entra_tenant,
            client_id=settings.client_id,
            private_key=key,
            certificate=settings.certificate,
        )
    return ClientCredentialsAuth(
        token_url=settings.token_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        assertion=assertion,
        scope=settings.scope,
        tenant=settings.entra_tenant,
        **options,
    )


def _mapping(settings: Dynamics365Settings) -> TenantMapping:
    tables = {name: OptionSet(name, dict(values)) for name, values in settings.option_sets.items()}
    return TenantMapping(
        option_sets=tables,
        extensions=settings.extensions,
        resource_email_column=settings.resource_email_column,
    )


class Dynamics365Connector(Connector):
    """One Dataverse environment as a :class:`~erpsa_sdk.connector.Connector` (see the module
    docstring for what is written how).

    Examples:
        >>> import httpx2
        >>> from erpsa_sdk.models import Resource
        >>> sim = connector.simulator()
        >>> conn = connector.create({"environment_url": sim.environment_url,
        ...                          "token": sim.api_token},
        ...                         transport=httpx2.MockTransport(sim), clock=sim.clock)
        >>> [r.id == str(r.id) for r in conn.match(Resource, email="grace@contoso.example")]
        [True]
    """

    name: ClassVar[str] = SYSTEM

    def __init__(
        self,
        settings: Dynamics365Settings,
        *,
        transport: httpx2.BaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        limits = service_protection_limits(
            settings.requests_per_window, settings.window_seconds, settings.concurrent_requests
        )
        self.client = Dynamics365(
            settings.url,
            auth=entra_auth(settings, clock=clock),
            mapping=_mapping(settings),
            page_size=settings.page_size,
            user=settings.client_id or "bearer-token",
            limits=limits,
            share=settings.share,
            lag=timedelta(seconds=settings.lag_seconds),
            error_codes=ErrorCodes(posted=frozenset(settings.posted_codes)),
            clock=clock,
            transport=transport,
            timeout=settings.timeout,
        )
        self._capabilities = CAPABILITIES.model_copy(update={"limits": limits})

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def tenant(self) -> str:
        """The environment host."""
        return self.client.tenant

    # -- helpers -----------------------------------------------------------------------------

    def _ref(self, row_id: str, version: Any = None) -> SourceRef:
        return SourceRef(
            system=SYSTEM, tenant=self.tenant, id=row_id, version=str(version) if version else None
        )

    def _writable(self, model: type[BaseModel] | str) -> str:
        name = type_name(model)
        if not self.capabilities.of(name).write:
            raise ConfigurationError(
                f"dynamics365 does not write {name} records under application-user auth"
            )
        return name

    def _get(
        self, name: str, entity_key: EntityKey, select: Sequence[str]
    ) -> dict[str, Any] | None:
        spec = table_for(name)
        column = self.settings.alternate_keys.get(name)
        if column is None:
            return self.client.get(spec.entity_set, str(entity_key.uuid5()), select=select)
        rows = [
            r
            for r in self.client.query(
                spec.entity_set,
                ODataQuery(
                    select=tuple(dict.fromkeys((spec.pk, "modifiedon", *select))),
                    filter=f"{column} eq {literal(entity_key.canonical)}",
                ),
            )
            if isinstance(r, dict)
        ]
        return rows[0] if rows else None

    def _refuse_if_locked(self, name: str, entity_key: EntityKey) -> dict[str, Any] | None:
        spec = table_for(name)
        lock = _LOCKED.get(name)
        select = (spec.pk, "modifiedon", *(lock[:1] if lock else ()))
        row = self._get(name, entity_key, select)
        if row is not None and lock is not None:
            column, options, locked = lock
            status = self.client.mapping.options(options).canonical(row.get(column))
            if status in locked:
                raise PostedRecordError(
                    f"{spec.logical} {row[spec.pk]} is {status} at the target and cannot change",
                    vendor_code="RECORD_LOCKED",
                    tenant=self.tenant,
                )
        return row

    def _write(
        self, name: str, entity_key: EntityKey, body: Mapping[str, Any], mode: str = "upsert"
    ) -> WriteAnswer:
        spec = table_for(name)
        column = self.settings.alternate_keys.get(name)
        if column is not None:
            return self.client.upsert_by_key(
                spec.entity_set,
                {column: entity_key.canonical},
                body,
                mode=mode,  # type: ignore[arg-type]
            )
        return self.client.upsert(spec.entity_set, str(entity_key.uuid5()), body, mode=mode)  # type: ignore[arg-type]

    # -- the contract ------------------------------------------------------------------------

    def read(self, model: type[Any], *, since: Cursor = None, **filters: Any) -> Pager[Any]:
        """Rows of ``model``'s table changed after ``since``, incrementally (``filter=`` an
        OData expression narrows the walk).

        Examples:
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> from erpsa_sdk.models import Invoice
            >>> conn = DataverseSimulator().connector()
            >>> [i.number for i in conn.read(Invoice, filter="statecode eq 0")]
            ['INV-00001']
        """
        if not self.capabilities.of(model).read:
            raise ConfigurationError(f"dynamics365 does not read {type_name(model)} records")
        extra = filters.pop("filter", None)
        if filters:
            raise ConfigurationError(f"unknown read filters {sorted(filters)}; use filter=")
        return self.client.read(model, since=since, filter=extra)

    def lookup(self, model: type[BaseModel], *, entity_key: EntityKey) -> SourceRef | None:
        """The row written for ``entity_key`` (the UUIDv5 row, or the alternate-key row).

        Examples:
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> from erpsa_sdk.models import Customer
            >>> ek = EntityKey.parse("ek1:demo:psa:t:customer:404")
            >>> DataverseSimulator().connector().lookup(Customer, entity_key=ek) is None
            True
        """
        name = type_name(model)
        spec = table_for(name)
        row = self._get(name, entity_key, (spec.pk, "modifiedon"))
        return self._ref(str(row[spec.pk]), row.get("modifiedon")) if row else None

    def match(self, model: type[BaseModel], **natural_key: Any) -> list[SourceRef]:
        """Existing rows by natural key: Customer ``name`` / ``email``, Resource ``email`` /
        ``name``, LegalEntity ``name``, Project ``name`` (master data for the initial match).

        Examples:
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> from erpsa_sdk.models import LegalEntity
            >>> len(DataverseSimulator().connector().match(LegalEntity, name="Contoso UK"))
            1
        """
        name = type_name(model)
        columns = dict(_MATCH_COLUMNS.get(name, {}))
        if name == "Resource":
            columns["email"] = self.client.mapping.resource_email_column
        if not natural_key or set(natural_key) - set(columns):
            raise ConfigurationError(
                f"dynamics365 matches {name} by {sorted(columns)}, not {sorted(natural_key)}"
            )
        spec = table_for(name)
        where = and_(*(f"{columns[k]} eq {literal(str(v))}" for k, v in natural_key.items()))
        rows = self.client.query(
            spec.entity_set,
            ODataQuery(select=(spec.pk, "modifiedon"), filter=and_(where, "statecode eq 0")),
        )
        return [
            self._ref(str(r[spec.pk]), r.get("modifiedon")) for r in rows if isinstance(r, dict)
        ]

    def upsert(
        self,
        obj: BaseModel,
        *,
        entity_key: EntityKey,
        write_key: WriteKey,
        refs: Mapping[str, SourceRef],
    ) -> WriteResult:
        """Write ``obj`` to the row of ``entity_key`` (see the module docstring).

        Examples:
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> from erpsa_sdk.models import Project
            >>> conn = DataverseSimulator().connector()
            >>> p = Project(key="p", name="Apollo", currency="EUR",
            ...             source_refs=[SourceRef(system="psa", tenant="t", id="p")])
            >>> ek = p.entity_key("demo")
            >>> wk = WriteKey(entity_key=ek, version="1", operation="upsert")
            >>> [conn.upsert(p, entity_key=ek, write_key=wk, refs={}).outcome.value
            ...  for _ in range(2)]
            ['created', 'updated']
        """
        name = self._writable(type(obj))
        mapping = self.client.load_reference_data()
        body = to_row(obj, refs, mapping, rounding=self.capabilities.rounding)
        if name in _LOCKED:
            self._refuse_if_locked(name, entity_key)
        if name == "Project":
            answer = self._write_project(entity_key, body)
        else:
            answer = self._write(name, entity_key, body)
        outcome = (
            WriteOutcome.UPSERTED
            if answer.created is None
            else WriteOutcome.CREATED
            if answer.created
            else WriteOutcome.UPDATED
        )
        version = (answer.row or {}).get("modifiedon")
        return WriteResult(
            outcome=outcome,
            entity_key=entity_key,
            write_key=write_key,
            ref=self._ref(answer.row_id, version),
        )

    def upsert_many(self, requests: Sequence[WriteRequest]) -> list[WriteResult | ErpsaError]:
        """Write several records as parallel single upserts under the governor (Microsoft
        recommends many small requests over large batches); one result or error per request,
        in order. Requests for the same EntityKey run one after the other.

        Examples:
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> from erpsa_sdk.connector import WriteRequest
            >>> from erpsa_sdk.models import Customer
            >>> conn = DataverseSimulator().connector()
            >>> reqs = []
            >>> for i in range(3):
            ...     c = Customer(key=str(i), name=f"C{i}", currency="USD",
            ...                  source_refs=[SourceRef(system="psa", tenant="t", id=str(i))])
            ...     ek = c.entity_key("demo")
            ...     reqs.append(WriteRequest(obj=c, entity_key=ek, write_key=WriteKey(
            ...         entity_key=ek, version="1", operation="upsert")))
            >>> [r.outcome.value for r in conn.upsert_many(reqs)]
            ['created', 'created', 'created']
        """
        if not requests:
            return []
        self.client.load_reference_data()
        groups: dict[str, list[int]] = {}
        for index, req in enumerate(requests):
            groups.setdefault(req.entity_key.canonical, []).append(index)
        results: list[WriteResult | ErpsaError | None] = [None] * len(requests)

        def run(indexes: list[int]) -> None:
            for i in indexes:
                req = requests[i]
                try:
                    results[i] = self.upsert(
                        req.obj, entity_key=req.entity_key, write_key=req.write_key, refs=req.refs
                    )
                except ErpsaError as exc:
                    results[i] = exc

        workers = max(1, min(len(groups), self.settings.concurrent_requests))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="erpsa-d365") as pool:
            # Each task runs in a copy of the caller's context, so correlation ids follow it.
            futures = [
                pool.submit(contextvars.copy_context().run, run, idx) for idx in groups.values()
            ]
            for future in futures:
                future.result()
        return [r for r in results if r is not None]

    def _write_project(self, entity_key: EntityKey, body: Mapping[str, Any]) -> WriteAnswer:
        # Create with every field; an existing project gets its non-scheduling fields only
        # (a plain update of scheduling fields is refused for application users).
        try:
            return self._write("Project", entity_key, body, mode="create")
        except ConflictError:
            pass
        update = {k: v for k, v in body.items() if k not in self.settings.scheduling_fields}
        return self._write("Project", entity_key, update, mode="update")

    def delete(
        self, model: type[BaseModel], *, entity_key: EntityKey, write_key: WriteKey
    ) -> WriteResult:
        """Delete the row of ``entity_key``: ``deleted``, or ``not_found`` (also on a retry).

        Examples:
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> from erpsa_sdk.models import Customer
            >>> ek = EntityKey.parse("ek1:demo:psa:t:customer:404")
            >>> wk = WriteKey(entity_key=ek, version="1", operation="delete")
            >>> DataverseSimulator().connector().delete(Customer, entity_key=ek,
            ...                                         write_key=wk).outcome.value
            'not_found'
        """
        name = self._writable(model)
        spec = table_for(name)
        if name in _LOCKED:
            row = self._refuse_if_locked(name, entity_key)
            if row is None:
                return WriteResult(
                    outcome=WriteOutcome.NOT_FOUND, entity_key=entity_key, write_key=write_key
                )
            row_id = str(row[spec.pk])
        elif name in self.settings.alternate_keys:
            found = self.lookup(model, entity_key=entity_key)
            if found is None:
                return WriteResult(
                    outcome=WriteOutcome.NOT_FOUND, entity_key=entity_key, write_key=write_key
                )
            row_id = found.id
        else:
            row_id = str(entity_key.uuid5())
        deleted = self.client.delete(spec.entity_set, row_id)
        return WriteResult(
            outcome=WriteOutcome.DELETED if deleted else WriteOutcome.NOT_FOUND,
            entity_key=entity_key,
            write_key=write_key,
            ref=self._ref(row_id) if deleted else None,
        )

    def _exists(self, entity_set: str, row_id: str) -> bool:
        # Inside a sync run a referenced row found once is found for every writer (one GET,
        # not one per record); a missing one is asked again, it may be written later on.
        from erpsa_sdk.sync.deadletters import cached_lookup

        def found() -> bool:
            if self.client.get(entity_set, row_id, select=("modifiedon",)) is None:
                raise _Missing
            return True

        try:
            return cached_lookup(("dynamics365", self.tenant, entity_set, row_id), found)
        except _Missing:
            return False

    def validate(self, obj: BaseModel, *, refs: Mapping[str, SourceRef]) -> list[Problem]:
        """Before sending: the type is writable, required references are resolved and exist,
        the currency, category and option values map.

        Examples:
            >>> from datetime import date
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> from erpsa_sdk.models import TimeEntry
            >>> entry = TimeEntry(key="t", resource_key="r", project_key="p",
            ...                   work_date=date(2026, 3, 2), duration_minutes=30)
            >>> [p.field for p in DataverseSimulator().connector().validate(entry, refs={})]
            ['resource_key', 'project_key']
        """
        name = type(obj).__name__
        if not self.capabilities.of(name).write:
            return [
                Problem(
                    code=ProblemCode.UNSUPPORTED_TYPE,
                    message=f"dynamics365 does not write {name} records",
                )
            ]
        problems: list[Problem] = []
        required = {
            "TimeEntry": ("resource_key", "project_key"),
            "Expense": ("resource_key", "project_key"),
        }.get(name, ())
        for field_name in required:
            if field_name not in refs:
                problems.append(
                    Problem(
                        code=ProblemCode.REFERENCE_MISSING,
                        field=field_name,
                        message=f"{field_name} is not resolved",
                    )
                )
        targets = {
            "resource_key": "bookableresources",
            "project_key": "msdyn_projects",
            "customer_key": "accounts",
            "task_key": "msdyn_projecttasks",
            "legal_entity_key": "cdm_companies",
            "parent_key": "accounts",
        }
        for field_name, ref in refs.items():
            entity_set = targets.get(field_name)
            if entity_set and not self._exists(entity_set, ref.id):
                problems.append(
                    Problem(
                        code=ProblemCode.REFERENCE_MISSING,
                        field=field_name,
                        message=f"{entity_set}({ref.id}) does not exist",
                    )
                )
        try:
            to_row(obj, refs, self.client.load_reference_data())
        except ErpsaError as exc:
            if not any(p.code == ProblemCode.REFERENCE_MISSING for p in problems):
                problems.append(
                    Problem(
                        code=ProblemCode.INVALID_VALUE, message=str(getattr(exc, "args", [exc])[0])
                    )
                )
        return problems

    def health(self) -> Health:
        """``WhoAmI`` proves the URL, the token and the application user.

        Examples:
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> DataverseSimulator().connector().health().message
            'Dataverse reachable'
        """
        try:
            me = self.client.http.request_json("GET", "WhoAmI")
        except ErpsaError as exc:
            return Health(ok=False, message=f"{type(exc).__name__}: {exc}")
        return Health(
            ok=True,
            message="Dataverse reachable",
            details={"environment": self.tenant, "user": me.get("UserId")},
        )

    def close(self) -> None:
        self.client.close()


#: The plugin object published under the entry-point group ``erpsa_sdk.connectors``.
connector = ConnectorPlugin(
    name=SYSTEM,
    connector=Dynamics365Connector,
    settings=Dynamics365Settings,
    capabilities=CAPABILITIES,
    simulator_factory="erpsa_dynamics365.simulator:DataverseSimulator",
    description="Microsoft Dynamics 365 / Dataverse (Project Operations) via the Web API",
)
