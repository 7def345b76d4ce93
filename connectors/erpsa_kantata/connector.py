"""The Kantata connector: the erpsa-sdk contract over :class:`~erpsa_kantata.Kantata`.

Idempotent writes without an idempotency key (Kantata has none): every record this SDK writes
carries an ``erpsa`` external reference whose ``service_model_ref`` is its EntityKey.

* ``upsert`` looks the record up by EntityKey first (time entries through their documented
  ``external_reference_*`` filters with ``from_archived_workspaces=true``, other types through
  ``/external_references``); found -> ``PUT`` the changed fields; not found -> ``POST`` with
  the external reference inline, in the same request. A lost answer to the POST is retried only
  after the look-up ran again (``LOOKUP_THEN_CREATE``); business fields are never matched, so
  two identical time entries are two records.
* A record Kantata holds as approved or invoiced refuses edits and deletes:
  ``PostedRecordError``, nothing sent.

Examples:
    >>> from decimal import Decimal, InvalidOperation

import httpx2
    >>> from datetime import date
    >>> from erpsa_sdk.models import Customer, SourceRef
    >>> from erpsa_kantata.simulator import KantataSimulator
    >>> sim = KantataSimulator(seed=1)
    >>> conn = connector.create({"token": sim.token}, transport=httpx2.MockTransport(sim))
    >>> acme = Customer(key="c1", name="Initech",
    ...                 source_refs=[SourceRef(system="crm", tenant="t", id="42")])
    >>> ek = acme.entity_key("demo")
    >>> wk = WriteKey(entity_key=ek, version="1", operation="upsert")
    >>> conn.upsert(acme, entity_key=ek, write_key=wk, refs={}).outcome.value
    'created'
    >>> conn.upsert(acme, entity_key=ek, write_key=wk, refs={}).outcome.value
    'unchanged'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx2
from pydantic import BaseModel, Field, SecretStr

from erpsa_kantata import mapping
from erpsa_kantata.client import BASE_URL, Kantata, KantataPager
from erpsa_kantata.resources import RESOURCES, ResourceSpec, spec_for
from erpsa_sdk.clock import Clock
from erpsa_sdk.connector import (
    Capabilities,
    Connector,
    ConnectorPlugin,
    ConnectorSettings,
    Cursor,
    Deletion,
    DeletionMode,
    Health,
    Problem,
    ProblemCode,
    TypeCapabilities,
    WriteOutcome,
    WriteResult,
    type_name,
)
from erpsa_sdk.errors import (
    ConfigurationError,
    ErpsaError,
    NotFoundError,
    PostedRecordError,
    ValidationFailed,
)
from erpsa_sdk.http.safety import WriteSafety
from erpsa_sdk.limits import Governor, Limit, Reactive, Scope, ScopeKind
from erpsa_sdk.models import EntityKey, Expense, Rejected, SourceRef, TimeEntry, WriteKey

__all__ = ["CAPABILITIES", "KantataConnector", "KantataSettings", "connector"]

_LTC = WriteSafety.LOOKUP_THEN_CREATE
_PUT = WriteSafety.NATURAL_UPSERT


def _writable(**kw: Any) -> TypeCapabilities:
    safety = {"create": _LTC, "update": _PUT}
    if kw.get("delete"):
        safety["delete"] = _PUT  # DELETE by id: repeating it finds nothing, which is success
    return TypeCapabilities(
        read=True,
        incremental=True,
        deletions=DeletionMode.CHANGE_FEED,
        write=True,
        write_safety=safety,
        # No idempotency key: a POST re-sent after a timeout creates a duplicate.
        vendor_dedupes_blind_creates=False,
        **kw,
    )


#: What the Kantata connector can do (see the docs page for the facts behind each line).
CAPABILITIES = Capabilities(
    types={
        "Customer": _writable(delete=True, natural_keys=("name",)),
        "Project": _writable(),
        "ProjectTask": _writable(delete=True),
        "TimeEntry": _writable(delete=True, posting=True),
        "Expense": _writable(delete=True, posting=True),
        "Resource": TypeCapabilities(
            read=True,
            incremental=True,
            deletions=DeletionMode.CHANGE_FEED,
            natural_keys=("email",),
        ),
        "Assignment": TypeCapabilities(
            read=True, incremental=True, deletions=DeletionMode.CHANGE_FEED
        ),
        # Milestones are stories too: the ProjectTask read yields them (typed Milestone).
        "Milestone": TypeCapabilities(
            write=True,
            delete=True,
            write_safety={"create": _LTC, "update": _PUT, "delete": _PUT},
        ),
    },
    limits=(
        Limit(
            Reactive(),
            ScopeKind.TOKEN_ENDPOINT,
            note="429 without Retry-After; numbers not public; 8 operations have extra limits",
        ),
    ),
    rounding="ROUND_HALF_UP",
)

# ProjectTask reads walk every story; each comes out as a ProjectTask or a Milestone.
_STORIES = ResourceSpec(
    model=RESOURCES["ProjectTask"].model,
    collection="stories",
    singular="story",
    subject_type="Story",
    fields_of=RESOURCES["ProjectTask"].fields_of,
    includes=RESOURCES["ProjectTask"].includes,
)


class KantataSettings(ConnectorSettings):
    """Settings of one Kantata account connection.

    Environment variables: ``ERPSA_KANTATA_TOKEN``, ``ERPSA_KANTATA_TENANT``, ...

    Examples:
        >>> s = KantataSettings(token="t0k", tenant="acme")
        >>> s.token, s.page_size
        (SecretStr('**********'), 200)
    """

    env_prefix = "ERPSA_KANTATA_"

    token: SecretStr
    tenant: str = Field(default="default", min_length=1)
    base_url: str = BASE_URL
    page_size: int = Field(default=200, ge=1, le=200)
    updated_after_inclusive: bool | None = None
    share: float = Field(default=1.0, gt=0.0, le=1.0)


def _locked(collection: str, record: Mapping[str, Any]) -> bool:
    if collection not in {"time_entries", "expenses"}:
        return False
    return bool(
        record.get("approved") or record.get("is_invoiced") or record.get("user_can_edit") is False
    )


def _same(current: Any, wanted: Any) -> bool:
    if isinstance(wanted, list):
        return isinstance(current, list) and sorted(map(str, current)) == sorted(map(str, wanted))
    if current in (None, "") and wanted in (None, ""):
        return True
    return bool(current == wanted)


class KantataConnector(Connector):
    """The contract over one Kantata account.

    Examples:
        >>> import httpx2
        >>> from erpsa_sdk.models import Project
        >>> from erpsa_kantata.simulator import KantataSimulator
        >>> sim = KantataSimulator(seed=1)
        >>> conn = KantataConnector(KantataSettings(token=sim.token),
        ...                         transport=httpx2.MockTransport(sim))
        >>> sorted(p.name for p in conn.read(Project))
        ['Legacy audit', 'Northwind rollout', 'Tokyo office move']
    """

    name = "kantata"

    def __init__(
        self,
        settings: KantataSettings,
        *,
        transport: httpx2.BaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        # Kantata's limits are reactive and per token and endpoint class: start at a few
        # requests in flight (times the share), halve on a 429, grow back after clean periods.
        self.governor = Governor(
            CAPABILITIES.limits,
            scopes=Scope.token_endpoint(settings.token.get_secret_value(), "general"),
            share=settings.share,
            clock=clock,
        )
        self.client = Kantata(
            token=settings.token,
            tenant=settings.tenant,
            base_url=settings.base_url,
            transport=transport,
            clock=clock,
            governor=self.governor,
            per_page=settings.page_size,
            updated_after_inclusive=settings.updated_after_inclusive,
        )
        # (workspace id, currency) -> the workspace's currency_base_unit, once asked.
        self._units: dict[tuple[str, str], int] = {}

    @property
    def capabilities(self) -> Capabilities:
        """See :data:`CAPABILITIES`."""
        return CAPABILITIES

    def _ref(self, record: Mapping[str, Any]) -> SourceRef:
        version = record.get("updated_at")
        return SourceRef(
            system=mapping.SYSTEM,
            tenant=self.settings.tenant,
            id=str(record["id"]),
            version=version if isinstance(version, str) else None,
        )

    # ------------------------------------------------------------------ reads

    def read(
        self, model: type[BaseModel], *, since: Cursor = None, **filters: Any
    ) -> KantataPager[Any]:
        """Incremental SEEK read (see :meth:`erpsa_kantata.Kantata.read`).

        Examples:
            >>> import httpx2
            >>> from erpsa_sdk.models import TimeEntry
            >>> from erpsa_kantata.simulator import KantataSimulator
            >>> sim = KantataSimulator(seed=1)
            >>> conn = connector.create({"token": sim.token}, transport=httpx2.MockTransport(sim))
            >>> len(list(conn.read(TimeEntry)))
            12
        """
        if not CAPABILITIES.of(model).read:
            raise ConfigurationError(f"Kantata connector does not read {type_name(model)}")
        if type_name(model) == "ProjectTask":
            return self.client.read_spec(_STORIES, since=since, **filters)
        return self.client.read(model, since=since, **filters)

    def read_deletions(
        self, model: type[BaseModel], *, since: Cursor = None
    ) -> KantataPager[Deletion | Rejected]:
        """Deletions from subscribed events (``*:deleted``, kept 9 days); a cursor older than
        that raises :class:`~erpsa_kantata.DeletionFeedExpired` (run a full enumeration).

        Examples:
            >>> import httpx2
            >>> from erpsa_sdk.models import Expense
            >>> from erpsa_kantata.simulator import KantataSimulator
            >>> sim = KantataSimulator(seed=1)
            >>> conn = connector.create({"token": sim.token}, transport=httpx2.MockTransport(sim))
            >>> list(conn.read_deletions(Expense))
            []
        """
        return self.client.read_deletions(model, since=since)

    def lookup(self, model: type[BaseModel], *, entity_key: EntityKey) -> SourceRef | None:
        """The record carrying ``entity_key`` (archived workspaces included), or ``None``.

        Examples:
            >>> import httpx2
            >>> from erpsa_sdk.models import TimeEntry
            >>> from erpsa_kantata.simulator import KantataSimulator
            >>> sim = KantataSimulator(seed=1)
            >>> conn = connector.create({"token": sim.token}, transport=httpx2.MockTransport(sim))
            >>> conn.lookup(TimeEntry, entity_key=EntityKey.parse("ek1:demo:ns:t:time_entry:1"))
        """
        found = self.client.find(model, entity_key)
        return self._ref(found) if found is not None else None

    def match(self, model: type[BaseModel], **natural_key: Any) -> list[SourceRef]:
        """Existing customers by ``name`` or resources by ``email`` (exact, case-insensitive).

        Examples:
            >>> import httpx2
            >>> from erpsa_sdk.models import Resource
            >>> from erpsa_kantata.simulator import KantataSimulator
            >>> sim = KantataSimulator(seed=1)
            >>> conn = connector.create({"token": sim.token}, transport=httpx2.MockTransport(sim))
            >>> [r.id for r in conn.match(Resource, email="ada.lovelace@example.com")]
            ['1']
        """
        name = type_name(model)
        declared = CAPABILITIES.of(name).natural_keys
        if not natural_key or any(k not in declared for k in natural_key):
            return super().match(model, **natural_key)
        (_, value), *_ = natural_key.items()
        wanted = str(value).casefold()
        if name == "Customer":
            rows: Iterable[Mapping[str, Any]] = self.client.list(
                "workspace_groups", search=str(value)
            )
            field = "name"
        else:
            rows = self.client.list("users")
            field = "email_address"
        return [self._ref(r) for r in rows if str(r.get(field) or "").casefold() == wanted]

    # ----------------------------------------------------------------- writes

    def _spec(self, model: type[BaseModel]) -> ResourceSpec:
        if not CAPABILITIES.of(model).write:
            raise ConfigurationError(f"Kantata connector does not write {type_name(model)}")
        return spec_for(model)

    def _attrs(self, spec: ResourceSpec, obj: BaseModel, refs: Mapping[str, SourceRef]) -> Any:
        assert spec.attrs_of is not None
        try:
            if isinstance(obj, (TimeEntry, Expense)):
                return spec.attrs_of(obj, refs, base_unit=self._base_unit(obj, refs))
            return spec.attrs_of(obj, refs)
        except ValueError as exc:
            raise ValidationFailed(str(exc), tenant=self.settings.tenant) from None

    def _base_unit(self, obj: TimeEntry | Expense, refs: Mapping[str, SourceRef]) -> int | None:
        """The ``currency_base_unit`` to write ``obj``'s amounts in: the unit its workspace
        reads them back in, remembered per workspace and currency (validate() refreshes it in
        every run; ``None``: no amounts, no workspace, or one in another currency, which
        validate() reports; ISO units are used).
        """
        amounts = [obj.bill_rate, obj.cost_rate] if isinstance(obj, TimeEntry) else [obj.amount]
        currency = next((m.currency for m in amounts if m is not None), None)
        project = refs.get("project_key")
        if currency is None or project is None:
            return None
        if (project.id, currency) not in self._units:
            self._learn_unit(project.id, self._workspace(project.id))
        return self._units.get((project.id, currency))

    def _learn_unit(self, workspace_id: str, workspace: Mapping[str, Any]) -> None:
        """Remember the workspace's base unit; ``ValueError`` (a problem with the record being
        written, not a transient failure) when no amount can be written in it."""
        currency, unit = workspace.get("currency"), workspace.get("currency_base_unit")
        if not currency or unit in (None, ""):
            return
        try:
            number = Decimal(str(unit))
        except InvalidOperation:
            number = Decimal(0)
        if not number.is_finite() or number <= 0 or number != number.to_integral_value():
            self._units.pop((workspace_id, str(currency)), None)
            raise ValueError(
                f"workspace {workspace_id} states currency_base_unit {unit!r}; amounts cannot "
                "be written in it (a positive whole number is needed)"
            )
        self._units[(workspace_id, str(currency))] = int(number)

    def upsert(
        self,
        obj: BaseModel,
        *,
        entity_key: EntityKey,
        write_key: WriteKey,
        refs: Mapping[str, SourceRef],
    ) -> WriteResult:
        """Create or update the record for ``entity_key`` (look-up first, inline reference).

        Examples:
            >>> import httpx2
            >>> from datetime import date
            >>> from erpsa_sdk.models import Money, TimeEntry
            >>> from erpsa_kantata.simulator import KantataSimulator
            >>> sim = KantataSimulator(seed=1)
            >>> conn = connector.create({"token": sim.token}, transport=httpx2.MockTransport(sim))
            >>> te = TimeEntry(key="t", resource_key="r", project_key="p",
            ...                work_date=date(2026, 1, 6), duration_minutes=45,
            ...                bill_rate=Money("150", "USD"),
            ...                source_refs=[SourceRef(system="erp", tenant="t", id="9")])
            >>> refs = {"project_key": SourceRef(system="kantata", tenant="default", id="1"),
            ...         "resource_key": SourceRef(system="kantata", tenant="default", id="2")}
            >>> ek = te.entity_key("demo")
            >>> wk = WriteKey(entity_key=ek, version="1", operation="upsert")
            >>> conn.upsert(te, entity_key=ek, write_key=wk, refs=refs).outcome.value
            'created'
        """
        model = type(obj)
        spec = self._spec(model)
        attrs = self._attrs(spec, obj, refs)
        existing = self.client.find(model, entity_key)
        if existing is None:
            record = self.client.create(
                model, {**spec.create_defaults, **attrs}, entity_key=entity_key
            )
            outcome = WriteOutcome.CREATED
        else:
            if _locked(spec.collection, existing):
                raise PostedRecordError(
                    f"{spec.collection}/{existing['id']} is approved or invoiced in Kantata; "
                    "it cannot be changed (reverse it or park it for finance)",
                    tenant=self.settings.tenant,
                    vendor_code="locked",
                )
            changes = {k: v for k, v in attrs.items() if not _same(existing.get(k), v)}
            if changes:
                record = self.client.update(
                    spec.collection, str(existing["id"]), changes, singular=spec.singular
                )
                outcome = WriteOutcome.UPDATED
            else:
                record, outcome = existing, WriteOutcome.UNCHANGED
        return WriteResult(
            outcome=outcome, entity_key=entity_key, ref=self._ref(record), write_key=write_key
        )

    def delete(
        self, model: type[BaseModel], *, entity_key: EntityKey, write_key: WriteKey
    ) -> WriteResult:
        """Delete the record for ``entity_key``; ``not_found`` when there is none.

        Examples:
            >>> import httpx2
            >>> from erpsa_sdk.models import Customer
            >>> from erpsa_kantata.simulator import KantataSimulator
            >>> sim = KantataSimulator(seed=1)
            >>> conn = connector.create({"token": sim.token}, transport=httpx2.MockTransport(sim))
            >>> ek = EntityKey.parse("ek1:demo:crm:t:customer:404")
            >>> wk = WriteKey(entity_key=ek, version="1", operation="delete")
            >>> conn.delete(Customer, entity_key=ek, write_key=wk).outcome.value
            'not_found'
        """
        spec = spec_for(model)
        if not CAPABILITIES.of(model).delete:
            raise ConfigurationError(f"Kantata connector does not delete {type_name(model)}")
        existing = self.client.find(model, entity_key)
        if existing is None:
            return WriteResult(
                outcome=WriteOutcome.NOT_FOUND, entity_key=entity_key, write_key=write_key
            )
        if _locked(spec.collection, existing):
            raise PostedRecordError(
                f"{spec.collection}/{existing['id']} is approved or invoiced in Kantata; "
                "it cannot be deleted",
                tenant=self.settings.tenant,
                vendor_code="locked",
            )
        gone = self.client.delete(spec.collection, str(existing["id"]))
        return WriteResult(
            outcome=WriteOutcome.DELETED if gone else WriteOutcome.NOT_FOUND,
            entity_key=entity_key,
            ref=self._ref(existing),
            write_key=write_key,
        )

    def validate(self, obj: BaseModel, *, refs: Mapping[str, SourceRef]) -> list[Problem]:
        """Check ``obj`` against Kantata before sending: references present and existing,
        amounts in the workspace's currency and representable in its base unit.

        Examples:
            >>> import httpx2
            >>> from datetime import date
            >>> from erpsa_sdk.models import Money, TimeEntry
            >>> from erpsa_kantata.simulator import KantataSimulator
            >>> sim = KantataSimulator(seed=1)
            >>> conn = connector.create({"token": sim.token}, transport=httpx2.MockTransport(sim))
            >>> te = TimeEntry(key="t", resource_key="r", project_key="p",
            ...                work_date=date(2026, 1, 6), duration_minutes=45,
            ...                bill_rate=Money("150", "EUR"))
            >>> [p.code for p in conn.validate(te, refs={
            ...     "project_key": SourceRef(system="kantata", tenant="default", id="1")})]
            ['invalid_value']
        """
        model = type(obj)
        if not CAPABILITIES.of(model).write:
            return [Problem(code=ProblemCode.UNSUPPORTED_TYPE, message=f"{type_name(model)}")]
        spec = spec_for(model)
        problems: list[Problem] = []
        assert spec.attrs_of is not None
        if not isinstance(obj, (TimeEntry, Expense)):
            try:
                spec.attrs_of(obj, refs)
            except ValueError as exc:
                problems.append(Problem(code=ProblemCode.INVALID_VALUE, message=str(exc)))
        else:
            project = refs.get("project_key")
            if project is None:
                problems.append(
                    Problem(
                        code=ProblemCode.REFERENCE_MISSING,
                        message="a time entry or expense needs its workspace",
                        field="project_key",
                    )
                )
                return problems
            try:
                workspace = self._workspace(project.id)
            except NotFoundError:
                problems.append(
                    Problem(
                        code=ProblemCode.REFERENCE_MISSING,
                        message=f"workspace {project.id} does not exist",
                        field="project_key",
                    )
                )
                return problems
            try:
                self._learn_unit(project.id, workspace)  # fresh each run: validate asks anyway
                # Representable in the workspace's own base unit, not only in ISO minor units.
                spec.attrs_of(obj, refs, base_unit=self._base_unit(obj, refs))
            except ValueError as exc:
                problems.append(Problem(code=ProblemCode.INVALID_VALUE, message=str(exc)))
            amounts = [obj.bill_rate, obj.cost_rate] if isinstance(obj, TimeEntry) else [obj.amount]
            for money in amounts:
                if money is not None and money.currency != workspace.get("currency"):
                    problems.append(
                        Problem(
                            code=ProblemCode.INVALID_VALUE,
                            message=f"{money.currency} amount in a {workspace.get('currency')} "
                            "workspace (Kantata holds one currency per workspace)",
                        )
                    )
        return problems

    def _workspace(self, workspace_id: str) -> Any:
        # Inside a sync run one GET per workspace serves every writer (a 404 is not kept).
        from erpsa_sdk.sync.deadletters import cached_lookup

        key = ("kantata", self.settings.tenant, "workspace", workspace_id)
        return cached_lookup(key, lambda: self.client.get("workspaces", workspace_id))

    def health(self) -> Health:
        """Reachable and authorised (one small request); never raises.

        Examples:
            >>> import httpx2
            >>> from erpsa_kantata.simulator import KantataSimulator
            >>> sim = KantataSimulator(seed=1)
            >>> conn = connector.create({"token": sim.token}, transport=httpx2.MockTransport(sim))
            >>> conn.health().ok
            True
        """
        try:
            self.client.get("users", "0")
        except NotFoundError:
            return Health(ok=True, message="reachable; token accepted")
        except ErpsaError as exc:
            return Health(ok=False, message=f"{type(exc).__name__}: {exc}")
        return Health(ok=True, message="reachable; token accepted")

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


#: The entry-point object (``erpsa_sdk.connectors`` group, name ``kantata``).
connector = ConnectorPlugin(
    name="kantata",
    connector=KantataConnector,
    settings=KantataSettings,
    capabilities=CAPABILITIES,
    simulator_factory="erpsa_kantata.simulator:KantataSimulator",
    description="Kantata OX (Mavenlink) API v1: projects, tasks, time, expenses, customers",
)
