"""The NetSuite connector: the contract of :mod:`erpsa_sdk.connector` over :class:`NetSuite`.

Reads are SuiteQL keyset walks; writes are ``PUT …/record/v1/<type>/eid:<EntityKey>``
(``NATURAL_UPSERT``: repeating one is harmless, so a lost answer is simply sent again);
``lookup`` is a ``GET …/eid:<EntityKey>``; ``match`` is a SuiteQL query on the declared natural
keys; ``validate`` reads the accounting period and the tenant's required custom fields before
anything is sent. The account's concurrency limit is shared with every other integration, so
``max_concurrency`` (this integration's share) is required.

Examples:
    >>> from erpsa_netsuite.connector import CAPABILITIES
    >>> CAPABILITIES.of("TimeEntry").safety("upsert").value, CAPABILITIES.of("TimeEntry").safety(
    ...     "create").value
    ('natural_upsert', 'unsafe')
    >>> CAPABILITIES.of("Project").references["customer_key"].value
    'optional'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal

import httpx2
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from erpsa_netsuite._core import ErrorCodes, realm
from erpsa_netsuite.client import NetSuite
from erpsa_netsuite.mapping import (
    SPECS,
    MappingError,
    TenantMapping,
    check_format,
    parse_timestamp,
    spec_for,
    to_record,
)
from erpsa_sdk.auth import StaticBearerAuth
from erpsa_sdk.auth.presets import netsuite_m2m, netsuite_tba
from erpsa_sdk.clock import Clock, SystemClock
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
    TypeCapabilities,
    WriteOutcome,
    WriteResult,
)
from erpsa_sdk.errors import ConfigurationError, ErpsaError, ValidationFailed
from erpsa_sdk.http import Pager
from erpsa_sdk.limits import Concurrency, Governor, Limit, Scope, ScopeKind
from erpsa_sdk.models import EntityKey, SourceRef, WriteKey

__all__ = ["CAPABILITIES", "NetSuiteConnector", "NetSuiteSettings", "connector"]

# A plain POST create is UNSAFE (NetSuite does not de-duplicate it) and the writer never uses
# it; every write is a PUT by external id, a natural upsert.
_UPSERT = {
    "create": "unsafe",
    "update": "natural_upsert",
    "upsert": "natural_upsert",
    "delete": "natural_upsert",
}


def _writable(**extra: Any) -> TypeCapabilities:
    return TypeCapabilities(
        read=True,
        incremental=True,
        deletions=DeletionMode.FULL_SCAN_ONLY,
        write=True,
        delete=True,
        write_safety=_UPSERT,
        # The idempotency key is documented for async and batch requests only (fact sheet
        # §1.8): a keyless POST sent twice makes two records.
        vendor_dedupes_blind_creates=False,
        **extra,
    )


#: What the connector declares (the plugin-level limit is the smallest account's: 5).
CAPABILITIES = Capabilities(
    types={
        "Customer": _writable(natural_keys=("name", "email")),
        "LegalEntity": _writable(natural_keys=("name",)),
        "Resource": _writable(natural_keys=("email",)),
        # REST cannot write the job's customer: written empty, counted by the runner.
        "Project": _writable(references={"customer_key": "optional"}, natural_keys=("code",)),
        "ProjectTask": _writable(natural_keys=("name",)),
        "TimeEntry": _writable(posting=True, closed_periods=True),
        "Expense": _writable(posting=True, closed_periods=True),
        "Invoice": TypeCapabilities(read=True, incremental=True),
    },
    limits=(
        Limit(Concurrency(5), ScopeKind.ACCOUNT, note="smallest account; settings give the share"),
    ),
    rounding="ROUND_HALF_UP",
)


class NetSuiteSettings(ConnectorSettings):
    """Settings of one NetSuite account connection (``ERPSA_NETSUITE_*`` variables or TOML).

    Give exactly one credential: ``token`` (a bearer token you manage, or the simulator's),
    the M2M fields (``client_id``, ``certificate_id``, ``private_key``), or the TBA fields
    (``consumer_key``, ``consumer_secret``, ``token_id``, ``token_secret``).

    ``max_concurrency`` is required: the account's concurrency limit (5 / 10 / 15 / 20 by tier,
    +10 per SuiteCloud Plus licence, development accounts 5) is shared by every integration,
    so this integration must be given its share.

    Examples:
        >>> s = NetSuiteSettings(account_id="1234567_SB1", max_concurrency=2, token="t")
        >>> s.tenant, s.token
        ('1234567_SB1', SecretStr('**********'))
    """

    env_prefix = "ERPSA_NETSUITE_"

    account_id: str = Field(min_length=1)
    max_concurrency: int = Field(ge=1)
    token: SecretStr | None = None
    client_id: str | None = None
    certificate_id: str | None = None
    private_key: SecretStr | None = None
    algorithm: Literal["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"] = "PS256"
    scope: tuple[str, ...] = ("rest_webservices",)
    consumer_key: str | None = None
    consumer_secret: SecretStr | None = None
    token_id: SecretStr | None = None
    token_secret: SecretStr | None = None
    base_url: str | None = None
    page_size: int = Field(default=1000, ge=1, le=1000)
    lag_seconds: float = Field(default=5.0, ge=0)
    timezone: str = "UTC"
    timestamp_format: str = "YYYY-MM-DD HH24:MI:SS"
    date_format: str = "YYYY-MM-DD"
    #: Canonical type -> {NetSuite custom field id -> extension name}.
    custom_fields: dict[str, dict[str, str]] = Field(default_factory=dict)
    #: Canonical type -> custom field ids the tenant makes mandatory.
    required_custom_fields: dict[str, list[str]] = Field(default_factory=dict)
    #: Redis URL: several processes share this integration's budget (else one process counts).
    limits_redis_url: str | None = None
    #: Subsidiary internal id used when a customer, employee or job arrives without a
    #: resolved legal entity (the canonical Customer carries none; OneWorld requires one).
    default_subsidiary: str | None = None
    #: Vendor codes the fact sheet does not give (unverified, so configurable).
    closed_period_code: str = "ACCOUNTING_PERIOD_CLOSED"
    posted_record_code: str = "RECORD_LOCKED"

    @property
    def tenant(self) -> str:
        """The account id in ``realm`` form."""
        return realm(self.account_id)

    @field_validator("timestamp_format")
    @classmethod
    def _timestamp_format(cls, value: str) -> str:
        return check_format(value, kind="timestamp")  # ConfigurationError, not a ValueError

    @field_validator("date_format")
    @classmethod
    def _date_format(cls, value: str) -> str:
        return check_format(value, kind="date")

    @model_validator(mode="after")
    def _one_credential(self) -> NetSuiteSettings:
        m2m = (self.client_id, self.certificate_id, self.private_key)
        tba = (self.consumer_key, self.consumer_secret, self.token_id, self.token_secret)
        given = [
            self.token is not None,
            any(v is not None for v in m2m),
            any(v is not None for v in tba),
        ]
        if sum(given) != 1:
            raise ValueError("give exactly one credential: token, M2M or TBA")
        if given[1] and not all(v is not None for v in m2m):
            raise ValueError("M2M needs client_id, certificate_id and private_key")
        if given[2] and not all(v is not None for v in tba):
            raise ValueError("TBA needs consumer_key, consumer_secret, token_id and token_secret")
        for name, ids in self.required_custom_fields.items():
            mapped = self.custom_fields.get(name, {})
            missing = [fid for fid in ids if fid not in mapped]
            if missing:
                raise ValueError(f"required custom fields of {name} are not mapped: {missing}")
        return self

    def auth(self, clock: Clock | None = None) -> httpx2.Auth:
        """The ``httpx2.Auth`` for the configured credential."""
        # 401s reach the connector's classifier (a 401 may be NetSuite's overload signal).
        if self.token is not None:
            return StaticBearerAuth(
                self.token.get_secret_value(), tenant=self.tenant, raise_on_unauthorized=False
            )
        if self.private_key is not None:
            assert self.client_id is not None
            assert self.certificate_id is not None
            return netsuite_m2m(
                account_id=self.account_id,
                client_id=self.client_id,
                certificate_id=self.certificate_id,
                private_key=self.private_key.get_secret_value(),
                scope=self.scope,
                algorithm=self.algorithm,
                token_url=self._token_url(),
                clock=clock,
                raise_on_unauthorized=False,
            )
        assert self.consumer_key is not None
        assert self.consumer_secret is not None
        assert self.token_id is not None
        assert self.token_secret is not None
        return netsuite_tba(
            account_id=self.account_id,
            consumer_key=self.consumer_key,
            consumer_secret=self.consumer_secret,
            token_id=self.token_id,
            token_secret=self.token_secret,
            raise_on_unauthorized=False,
        )

    def _token_url(self) -> str | None:
        if self.base_url is None:
            return None
        return f"{self.base_url.rstrip('/')}/services/rest/auth/oauth2/v1/token"

    def mapping(self) -> TenantMapping:
        """The tenant mapping these settings describe."""
        return TenantMapping(
            account_id=self.tenant,
            custom_fields=self.custom_fields,
            timestamp_format=self.timestamp_format,
            date_format=self.date_format,
            timezone=self.timezone,
        )


class NetSuiteConnector(Connector):
    """One NetSuite account as a :class:`~erpsa_sdk.connector.Connector`.

    Examples:
        >>> import httpx2
        >>> from erpsa_netsuite.simulator import NetSuiteSimulator
        >>> from erpsa_sdk.models import LegalEntity
        >>> sim = NetSuiteSimulator(seed=1)
        >>> conn = connector.create({"account_id": sim.config.account_id, "max_concurrency": 2,
        ...                          "token": sim.api_token}, transport=httpx2.MockTransport(sim))
        >>> [r.id for r in conn.match(LegalEntity, name="Acme UK")]
        ['2']
    """

    name = "netsuite"

    def __init__(
        self,
        settings: NetSuiteSettings,
        *,
        transport: httpx2.BaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        backend = None
        if settings.limits_redis_url is not None:
            from erpsa_sdk.limits import RedisBackend

            backend = RedisBackend(settings.limits_redis_url)
        self.governor = Governor(
            [Limit(Concurrency(settings.max_concurrency), ScopeKind.ACCOUNT)],
            scopes=Scope.account(settings.tenant),
            clock=self.clock,
            backend=backend,
            prefix="erpsa:netsuite:",
        )
        self.client = NetSuite(
            settings.account_id,
            auth=settings.auth(self.clock),
            mapping=settings.mapping(),
            governor=self.governor,
            page_size=settings.page_size,
            lag=timedelta(seconds=settings.lag_seconds),
            error_codes=ErrorCodes(
                posted=frozenset({settings.posted_record_code}),
                closed_period=frozenset({settings.closed_period_code}),
            ),
            base_url=settings.base_url,
            transport=transport,
            clock=self.clock,
        )
        self.client.core.saturated = self._saturated
        self._capabilities = CAPABILITIES.model_copy(
            update={
                "limits": (
                    Limit(
                        Concurrency(settings.max_concurrency),
                        ScopeKind.ACCOUNT,
                        note="this integration's share of the account's concurrency limit",
                    ),
                )
            }
        )

    def _saturated(self) -> bool:
        caps = self.governor.caps.values()
        return bool(caps) and self.governor.in_flight >= min(caps)

    @property
    def capabilities(self) -> Capabilities:
        """What this connector can do; the limit is this integration's ``max_concurrency``."""
        return self._capabilities

    # ------------------------------------------------------------------ reads

    def read(self, model: type[Any], *, since: Cursor = None, **filters: Any) -> Pager[Any]:
        """Records of ``model`` changed after ``since`` (a saved cursor), as a lazy pager."""
        if filters:
            raise ConfigurationError(f"netsuite read() takes no filters, got {sorted(filters)}")
        return self.client.records(_name(model)).list(since=since)

    def lookup(self, model: type[BaseModel], *, entity_key: EntityKey) -> SourceRef | None:
        """The record whose external id is ``entity_key`` (``GET …/eid:<key>``)."""
        spec = spec_for(_name(model))
        body = self.client.get_record(spec.record, f"eid:{entity_key}", fields=["lastModifiedDate"])
        if body is None:
            return None
        return self._ref_from_body(body)

    def _ref_from_body(self, body: Mapping[str, Any]) -> SourceRef:
        links = body.get("links") or []
        href = next((link.get("href", "") for link in links if link.get("rel") == "self"), "")
        rid = str(body.get("id") or href.split("?")[0].rstrip("/").rsplit("/", 1)[-1])
        version = None
        modified = body.get("lastModifiedDate")
        if isinstance(modified, str):
            version = datetime.fromisoformat(modified.replace("Z", "+00:00")).isoformat()
        return SourceRef(system="netsuite", tenant=self.settings.tenant, id=rid, version=version)

    def match(self, model: type[BaseModel], **natural_key: Any) -> list[SourceRef]:
        """Existing records whose declared natural key fields equal the values given."""
        name = _name(model)
        spec = spec_for(name)
        declared = self.capabilities.of(name).natural_keys
        unknown = [k for k in natural_key if k not in declared or k not in spec.natural_keys]
        if not natural_key or unknown:
            raise ConfigurationError(
                f"{name} matches on {sorted(declared)}, not {sorted(natural_key)}"
            )
        where = " AND ".join(f"{spec.natural_keys[k]} = ?" for k in natural_key)
        rows = self.client.suiteql(
            f"SELECT id, TO_CHAR(lastmodifieddate, '{self.settings.timestamp_format}') AS ts "  # noqa: S608
            f"FROM {spec.table} WHERE {where} ORDER BY id",
            [str(v) for v in natural_key.values()],
        )
        mapping = self.client.mapping
        out = []
        for row in rows:
            if not isinstance(row, dict):
                continue
            version = None
            if row.get("ts"):
                version = parse_timestamp(row["ts"], mapping.timestamp_format, mapping.tz)
            out.append(
                SourceRef(
                    system="netsuite",
                    tenant=self.settings.tenant,
                    id=str(row["id"]),
                    version=None if version is None else version.isoformat(),
                )
            )
        return out

    # ------------------------------------------------------------------ writes

    def _body(self, obj: BaseModel, refs: Mapping[str, SourceRef]) -> dict[str, Any]:
        name = type(obj).__name__
        if not self.capabilities.of(name).write:
            raise ConfigurationError(f"netsuite cannot write {name} records")
        if name in {"Customer", "LegalEntity", "Project", "Expense"} and not (
            self.client.mapping.currencies
        ):
            self.client.load_currencies()
        try:
            return to_record(obj, self._with_default_subsidiary(name, refs), self.client.mapping)
        except MappingError as exc:
            raise ValidationFailed(str(exc), tenant=self.settings.tenant) from None

    def _with_default_subsidiary(
        self, name: str, refs: Mapping[str, SourceRef]
    ) -> Mapping[str, SourceRef]:
        # OneWorld accounts need a subsidiary on customers, employees and jobs; the configured
        # default fills one the record does not name (most sources know no legal entity).
        default = self.settings.default_subsidiary
        if default is None or "legal_entity_key" in refs or name not in _SUBSIDIARY_TYPES:
            return refs
        ref = SourceRef(system="netsuite", tenant=self.settings.tenant, id=default)
        return {**refs, "legal_entity_key": ref}

    def upsert(
        self,
        obj: BaseModel,
        *,
        entity_key: EntityKey,
        write_key: WriteKey,
        refs: Mapping[str, SourceRef],
    ) -> WriteResult:
        """``PUT …/<record>/eid:<entity_key>`` with the mapped body (created or updated)."""
        spec = spec_for(type(obj).__name__)
        body = self._body(obj, refs)
        rid = self.client.put_by_external_id(spec.record, str(entity_key), body)
        return WriteResult(
            outcome=WriteOutcome.UPSERTED,
            entity_key=entity_key,
            write_key=write_key,
            ref=SourceRef(system="netsuite", tenant=self.settings.tenant, id=rid),
        )

    def delete(
        self, model: type[BaseModel], *, entity_key: EntityKey, write_key: WriteKey
    ) -> WriteResult:
        """``DELETE …/eid:<entity_key>``: ``deleted``, or ``not_found`` when nothing is there."""
        spec = spec_for(_name(model))
        found = self.client.delete_record(spec.record, f"eid:{entity_key}")
        return WriteResult(
            outcome=WriteOutcome.DELETED if found else WriteOutcome.NOT_FOUND,
            entity_key=entity_key,
            write_key=write_key,
        )

    def validate(self, obj: BaseModel, *, refs: Mapping[str, SourceRef]) -> list[Problem]:
        """Problems NetSuite would refuse the record for, found before anything is sent:
        unresolved references, missing required custom fields, a closed or locked period."""
        name = type(obj).__name__
        if not self.capabilities.of(name).write:
            return [Problem(code=ProblemCode.UNSUPPORTED_TYPE, message=f"{name} is read-only")]
        spec = SPECS[name]
        problems: list[Problem] = []
        required_refs = _REQUIRED_REFS.get(name, ())
        known = self._with_default_subsidiary(name, refs)
        for field_name in required_refs:
            if field_name not in known:
                problems.append(
                    Problem(
                        code=ProblemCode.REFERENCE_MISSING,
                        message=f"{field_name} is not resolved to a NetSuite record",
                        field=field_name,
                    )
                )
        extensions: Mapping[str, Any] = getattr(obj, "extensions", {}) or {}
        mapped = self.settings.custom_fields.get(name, {})
        for fid in self.settings.required_custom_fields.get(name, []):
            ext = mapped[fid]
            if extensions.get(ext) in (None, ""):
                problems.append(
                    Problem(
                        code=ProblemCode.FIELD_REQUIRED,
                        message=f"the tenant requires {fid} (extension {ext!r}) on {spec.record}",
                        field=f"extensions.{ext}",
                    )
                )
        if spec.period_date is not None:
            day = getattr(obj, spec.period_date, None)
            if isinstance(day, date):
                closed = self._closed_period(day, spec.ledger or "all")
                if closed is not None:
                    problems.append(
                        Problem(
                            code=ProblemCode.PERIOD_CLOSED,
                            message=f"accounting period {closed} is closed or locked",
                            field=spec.period_date,
                        )
                    )
        return problems

    def _closed_period(self, day: date, ledger: str) -> str | None:
        # Inside a sync run every writer shares one answer per (ledger, day): a SuiteQL query
        # per record would spend the account's shared concurrency on the same question.
        from erpsa_sdk.sync.deadletters import cached_lookup

        key = ("netsuite", self.settings.tenant, "closed_period", ledger, day.isoformat())
        return cached_lookup(key, lambda: self._query_closed_period(day, ledger))

    def _query_closed_period(self, day: date, ledger: str) -> str | None:
        lock = {"ar": "arlocked", "ap": "aplocked"}.get(ledger)
        cols = "id, periodname, closed, alllocked" + (f", {lock}" if lock else "")
        rows = self.client.suiteql(
            f"SELECT {cols} FROM accountingperiod "  # noqa: S608 - fixed column names
            "WHERE startdate <= TO_DATE(?, 'YYYY-MM-DD') AND enddate >= TO_DATE(?, 'YYYY-MM-DD') "
            "AND isadjust = 'F' ORDER BY id",
            [day.isoformat(), day.isoformat()],
        )
        for row in rows:
            if not isinstance(row, dict):
                continue
            flags = [row.get("closed"), row.get("alllocked")] + ([row.get(lock)] if lock else [])
            if "T" in flags:
                return str(row.get("periodname") or day.isoformat()[:7])
        return None

    def health(self) -> Health:
        """One small SuiteQL query: reachable and authorised, or why not (never raises)."""
        try:
            rows = list(self.client.suiteql("SELECT id FROM subsidiary ORDER BY id", limit=1))
        except ErpsaError as exc:
            return Health(ok=False, message=f"{type(exc).__name__}: {exc}")
        return Health(ok=True, details={"account": self.settings.tenant, "probe_rows": len(rows)})

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


_REQUIRED_REFS: dict[str, Sequence[str]] = {
    "TimeEntry": ("resource_key", "project_key"),
    "Expense": ("resource_key", "project_key"),
    "ProjectTask": ("project_key",),
    "Project": ("legal_entity_key",),
    "Resource": ("legal_entity_key",),
    "Customer": ("legal_entity_key",),
}
_SUBSIDIARY_TYPES = frozenset({"Customer", "Project", "Resource"})


def _name(model: type[BaseModel] | str) -> str:
    return model if isinstance(model, str) else model.__name__


#: The entry-point object (``erpsa_sdk.connectors``: ``netsuite = "erpsa_netsuite:connector"``).
connector = ConnectorPlugin(
    name="netsuite",
    connector=NetSuiteConnector,
    settings=NetSuiteSettings,
    capabilities=CAPABILITIES,
    simulator_factory="erpsa_netsuite.simulator:NetSuiteSimulator",
    description="Oracle NetSuite (SuiteTalk REST + SuiteQL): M2M / TBA, external-id upserts",
)
