"""The Dataverse Web API simulator (Project Operations tables), written from the fact sheet.

What it plays (each line is in the docs page's fidelity table):

* ``/api/data/v9.2/<set>`` queries with ``$select``, ``$filter``, ``$expand`` (single-valued
  lookups), ``$orderby``, ``$top``, ``$count``; ``$skip`` refused; ``Prefer:
  odata.maxpagesize`` (at most 5,000) echoed in ``Preference-Applied``; ``@odata.nextLink``
  with a ``$skiptoken`` paging cookie that must come back unchanged, with the same page size;
  ``@odata.count`` capped at 5,000 with the total-count annotations on request;
* upserts ``PATCH <set>(<id>)`` (204, or 201 / 200 with ``return=representation``), creates
  (``POST``), ``If-Match: *`` (404 when missing), ``If-None-Match: *`` (412 when present),
  ETags (412 on a version mismatch, 304 on a conditional GET), deletes; alternate-key upserts
  for keys defined and active in the table's metadata (an undefined key is refused);
* service protection: requests per window, combined execution time per window, concurrent
  requests, each answered 429 with ``Retry-After`` and its own error code, on the clock;
* schedule entities refused (403) for the application user the client-credentials token
  stands for; plain PATCHes of a project's scheduling fields refused (403);
* the Entra ID v2.0 token endpoint (client secret or certificate assertion) and its errors;
* posted (approved) time entries and expenses refuse changes (a plug-in error).

Examples:
    >>> import httpx2
    >>> sim = DataverseSimulator(seed=1)
    >>> http = httpx2.Client(transport=httpx2.MockTransport(sim), base_url=sim.api_root,
    ...                      headers={"Authorization": sim.credentials()["authorization"],
    ...                               "Prefer": "odata.maxpagesize=2"})
    >>> page = http.get("accounts?$select=name").json()
    >>> len(page["value"]), "$skiptoken=" in page["@odata.nextLink"]
    (2, True)
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, unquote

from erpsa_dynamics365._core import API_PATH
from erpsa_dynamics365._schema import SCHEDULE_TABLES, TABLES, TableSpec, by_set
from erpsa_dynamics365.mapping import TYPE_TABLES
from erpsa_dynamics365.simulator._filter import FilterError, compile_filter, norm
from erpsa_sdk.clock import Clock
from erpsa_sdk.models import EntityKey
from erpsa_sdk.testing import FaultPlan, Row, SimError, SimRequest, SimResponse, Simulator, route
from erpsa_sdk.testing.simulator import Admin

# Commas inside a quoted value (an annotation list) do not separate preferences.
_PREF_SPLIT = re.compile(r',(?=(?:[^"]*"[^"]*")*[^"]*$)')

if TYPE_CHECKING:
    from erpsa_dynamics365.client import Dynamics365
    from erpsa_dynamics365.connector import Dynamics365Connector

__all__ = ["DataverseSimulator", "SimulatorConfig"]

MAX_PAGE = 5000
#: Window arithmetic tolerance: a client timing admissions on POSIX seconds (float) may land
#: a microsecond early at a window edge; the server's clock is not that fine either.
_EPSILON = 1e-6
_SCHEDULE_ACTIONS = frozenset(
    {
        "msdyn_CreateProjectV1",
        "msdyn_CreateTeamMemberV1",
        "msdyn_CreateOperationSetV1",
        "msdyn_PssCreateV1",
        "msdyn_PssCreateV2",
        "msdyn_PssUpdateV1",
        "msdyn_PssUpdateV2",
        "msdyn_PssDeleteV1",
        "msdyn_PssDeleteV2",
        "msdyn_ExecuteOperationSetV1",
        "msdyn_PssUpdateResourceAssignmentV1",
    }
)
#: Documented service-protection codes and messages (PA:api-limits.md).
THROTTLE_REQUESTS = (
    "0x80072322",
    "Number of requests exceeded the limit of {n} over time window of {s} seconds.",
)
THROTTLE_TIME = (
    "0x80072321",
    "Combined execution time of incoming requests exceeded limit of {ms} milliseconds over "
    "time window of {s} seconds. Decrease number of concurrent requests or reduce the "
    "duration of requests and try again later.",
)
THROTTLE_CONCURRENCY = ("0x80072326", "Number of concurrent requests exceeded the limit of {c}.")
PRIVILEGE_CODE = "0x80040220"
PROPERTY_CODE = "0x80060888"
DUPLICATE_CODE = "0x80040237"
PLUGIN_CODE = "0x80040265"


@dataclass(frozen=True)
class SimulatorConfig:
    """Knobs of the simulator; the unverified behaviours are here, so tests can vary them.

    Parameters:
        environment / region: the host ``<environment>.<region>.dynamics.com``.
        entra_tenant: the Entra tenant id of the token endpoint.
        requests / window / execution_ms / concurrency: service-protection limits.
        service_time: simulated seconds each request takes (counts as execution time).
        count_cap: where ``@odata.count`` stops counting.
        scheduling_fields: ``msdyn_project`` columns a plain PATCH may not change (unverified
            set, so configurable).
        alternate_keys: per table, the alternate keys (name -> columns) and whether active.
        custom_columns: per table, the tenant's publisher-prefixed custom columns.
        token_ttl: access-token lifetime (the docs sample: 3599 s).

    Examples:
        >>> SimulatorConfig().requests, SimulatorConfig().concurrency
        (6000, 52)
    """

    environment: str = "contoso"
    region: str = "crm"
    entra_tenant: str = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    requests: int = 6000
    window: float = 300.0
    execution_ms: int = 1_200_000
    concurrency: int = 52
    service_time: float = 0.0
    count_cap: int = MAX_PAGE
    scheduling_fields: frozenset[str] = frozenset(
        {"msdyn_scheduledstart", "msdyn_finish", "msdyn_effort", "msdyn_progress"}
    )
    alternate_keys: Mapping[str, Mapping[str, tuple[tuple[str, ...], bool]]] = field(
        default_factory=lambda: {
            t.logical: {name: (cols, True) for name, cols in t.alternate_keys.items()}
            for t in TABLES.values()
            if t.alternate_keys
        }
    )
    token_ttl: float = 3599.0
    #: Tenant custom columns (publisher-prefixed) per table.
    custom_columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def host(self) -> str:
        """The environment's host name.

        Examples:
            >>> SimulatorConfig(environment="fabrikam", region="crm4").host
            'fabrikam.crm4.dynamics.com'
        """
        return f"{self.environment}.{self.region}.dynamics.com"


def _guid(seed: int, *parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"dataverse-sim:{seed}:" + ":".join(map(str, parts))))


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class DataverseSimulator(Simulator):
    """A Dataverse environment with the Project Operations tables (see the module docstring).

    Rows live in the kit's tables with their GUID in the primary-key column; every mutation
    stamps ``modifiedon`` with the simulator clock.

    Examples:
        >>> sim = DataverseSimulator(seed=3)
        >>> sorted(r["data"]["isocurrencycode"] for r in sim.admin.rows("transactioncurrency"))
        ['EUR', 'GBP', 'JPY', 'USD']
    """

    vendor: ClassVar[str] = "dynamics365"
    tables: ClassVar[tuple[str, ...]] = tuple(TABLES)
    #: Written types -> (table, primary key); the row id is UUIDv5(EntityKey).
    entity_key_fields: ClassVar[dict[str, tuple[str, str]]] = {
        name: (TABLES[TYPE_TABLES[name]].logical, TABLES[TYPE_TABLES[name]].pk)
        for name in ("Customer", "Project", "TimeEntry", "Expense")
    }
    source_tables: ClassVar[dict[str, str]] = dict(TYPE_TABLES)

    def __init__(
        self,
        *,
        seed: int = 0,
        faults: FaultPlan | str | None = None,
        clock: Clock | None = None,
        config: SimulatorConfig | None = None,
    ) -> None:
        self.config = config or SimulatorConfig()
        self._index: dict[str, dict[str, int]] = {name: {} for name in TABLES}
        self._exec: list[tuple[float, float]] = []
        self._certificates: dict[str, Any] = {}
        self._counter = 0
        super().__init__(seed=seed, faults=faults, clock=clock, tenant=self.config.environment)
        self.admin = DataverseAdmin(self)
        self.client_id = _guid(seed, "client")
        self.service_time = self.config.service_time  # type: ignore[misc]

    # -- addresses ---------------------------------------------------------------------------

    @property
    def environment_url(self) -> str:
        """``https://<env>.<region>.dynamics.com``.

        Examples:
            >>> DataverseSimulator().environment_url
            'https://contoso.crm.dynamics.com'
        """
        return f"https://{self.config.host}"

    @property
    def api_root(self) -> str:
        """The Web API root the client talks to.

        Examples:
            >>> DataverseSimulator().api_root.endswith("/api/data/v9.2/")
            True
        """
        return f"{self.environment_url}{API_PATH}"

    @property
    def scope(self) -> str:
        """The OAuth scope a token for this environment needs.

        Examples:
            >>> DataverseSimulator().scope
            'https://contoso.crm.dynamics.com/.default'
        """
        return f"{self.environment_url}/.default"

    def token_url(self, base_url: str = "https://login.microsoftonline.com") -> str:
        """The Entra token endpoint (on ``base_url`` when served over loopback).

        Examples:
            >>> DataverseSimulator().token_url("http://127.0.0.1:9").startswith("http://127.0.0.1:9/")
            True
        """
        return f"{base_url.rstrip('/')}/{self.config.entra_tenant}/oauth2/v2.0/token"

    def credentials(self, base_url: str = "http://127.0.0.1") -> dict[str, Any]:
        """A ready ``authorization`` value, the Entra token endpoint, client id and secret,
        the scope, and the admin key.

        Examples:
            >>> creds = DataverseSimulator().credentials("http://127.0.0.1:8080")
            >>> creds["token_url"].endswith("/oauth2/v2.0/token"), creds["scope"]
            (True, 'https://contoso.crm.dynamics.com/.default')
        """
        creds = super().credentials(base_url)
        creds.update(
            token_url=self.token_url(base_url),
            scope=self.scope,
            entra_tenant=self.config.entra_tenant,
            api_root=f"{base_url.rstrip('/')}{API_PATH}",
        )
        return creds

    def client(self, **options: Any) -> Dynamics365:
        """A :class:`~erpsa_dynamics365.Dynamics365` wired to this simulator in process (its
        ready token, its clock); ``options`` go to the client.

        Examples:
            >>> d365 = DataverseSimulator().client(page_size=2)
            >>> d365.count("bookableresources").value
            5
        """
        import httpx2

        from erpsa_dynamics365.client import Dynamics365, bearer

        options.setdefault("clock", self.clock)
        return Dynamics365(
            self.environment_url,
            auth=bearer(self.api_token),
            transport=httpx2.MockTransport(self),
            **options,
        )

    def connector(self, **settings: Any) -> Dynamics365Connector:
        """A :class:`~erpsa_dynamics365.Dynamics365Connector` wired to this simulator in
        process; ``settings`` override the defaults (the ready token).

        Examples:
            >>> conn = DataverseSimulator().connector()
            >>> conn.health().ok
            True
        """
        import httpx2

        from erpsa_dynamics365.connector import Dynamics365Connector, Dynamics365Settings

        values: dict[str, Any] = {
            "environment_url": self.environment_url,
            "token": self.api_token,
            **settings,
        }
        if "client_secret" in settings or "private_key" in settings:
            values.pop("token")
        return Dynamics365Connector(
            Dynamics365Settings(**values), transport=httpx2.MockTransport(self), clock=self.clock
        )

    def register_certificate(self, client_id: str, public_key: Any, thumbprint_s256: str) -> None:
        """Accept certificate assertions from ``client_id`` signed by ``public_key`` (a
        ``joserfc`` RSA key) with ``x5t#S256`` = ``thumbprint_s256``.

        Examples:
            >>> from joserfc.jwk import RSAKey
            >>> DataverseSimulator().register_certificate("app", RSAKey.generate_key(2048), "x5t")
        """
        with self._lock:
            self._certificates[client_id] = (public_key, thumbprint_s256)

    # -- data --------------------------------------------------------------------------------

    def error_body(self, status: int, code: str, message: str) -> Any:
        """``{"error": {"code", "message"}}``; the kit's generic throttle becomes the
        documented request-count code.

        Examples:
            >>> DataverseSimulator().error_body(429, "RATE_LIMITED", "slow down")["error"]["code"]
            '0x80072322'
        """
        if code == "RATE_LIMITED":
            code = THROTTLE_REQUESTS[0]
        elif code in {
            "UNAVAILABLE",
            "NOT_FOUND",
            "UNAUTHORIZED",
            "METHOD_NOT_ALLOWED",
            "INTERNAL",
            "INVALID_JSON",
        }:
            code = ""
        return {"error": {"code": code, "message": message}}

    def insert_row(
        self, logical: str, data: Mapping[str, Any], *, at: datetime | None = None
    ) -> dict[str, Any]:
        """Insert a row (a GUID is assigned when the primary key is missing).

        Examples:
            >>> sim = DataverseSimulator()
            >>> len(sim.insert_row("account", {"name": "N"})["data"]["accountid"])
            36
        """
        spec = TABLES[logical]
        values = dict(data)
        if not values.get(spec.pk):
            self._counter += 1
            values[spec.pk] = _guid(self.seed, logical, "new", self._counter)
        values[spec.pk] = str(values[spec.pk]).lower()
        row = self.table(logical).insert(values, at=at)
        self._index[logical][values[spec.pk]] = row.id
        return row.snapshot()

    def find(self, logical: str, guid: str) -> Row | None:
        """The live row ``guid`` of ``logical``, or ``None``.

        Examples:
            >>> DataverseSimulator().find("account", "00000000-0000-0000-0000-000000000000") is None
            True
        """
        key = guid.strip("{}").lower()
        rid = self._index[logical].get(key)
        row = self.table(logical).get(rid) if rid is not None else None
        if row is None or row.data.get(TABLES[logical].pk) != key:
            # Rows inserted through the kit's admin API are indexed on first use.
            for candidate in self.table(logical).live_rows():
                if self._pk(TABLES[logical], candidate) == key:
                    self._index[logical][key] = candidate.id
                    return candidate
            return None
        return row

    def _pk(self, spec: TableSpec, row: Row) -> str:
        # Rows the kit's admin API or churn inserted get their GUID on first sight.
        if not row.data.get(spec.pk):
            row.data[spec.pk] = _guid(self.seed, spec.logical, "row", row.id)
        return str(row.data[spec.pk])

    def seed_data(self, rng: random.Random) -> None:
        """Currencies, companies, accounts, bookable resources, expense categories, one
        project with tasks and assignments, and a few time entries, expenses and invoices.

        Examples:
            >>> DataverseSimulator().admin.count("bookableresource")
            5
        """
        s = self.seed
        past = self.clock.now() - timedelta(days=30)

        def at(i: int) -> datetime:
            return past + timedelta(hours=i)

        cur = {}
        for i, (iso, name) in enumerate(
            [("USD", "US Dollar"), ("EUR", "Euro"), ("GBP", "Pound Sterling"), ("JPY", "Yen")]
        ):
            cur[iso] = _guid(s, "currency", iso)
            self.insert_row(
                "transactioncurrency",
                {
                    "transactioncurrencyid": cur[iso],
                    "isocurrencycode": iso,
                    "currencyname": name,
                    "statecode": 0,
                },
                at=at(i),
            )
        companies = {}
        for i, (code, name, iso) in enumerate(
            [
                ("USPM", "Contoso US", "USD"),
                ("GBPM", "Contoso UK", "GBP"),
                ("DEPM", "Contoso DE", "EUR"),
            ]
        ):
            companies[code] = _guid(s, "company", code)
            self.insert_row(
                "cdm_company",
                {
                    "cdm_companyid": companies[code],
                    "cdm_name": name,
                    "cdm_companycode": code,
                    "statecode": 0,
                    "_transactioncurrencyid_value": cur[iso],
                },
                at=at(10 + i),
            )
        accounts = []
        for i, (name, iso) in enumerate(
            [
                ("Fourth Coffee", "USD"),
                ("Litware, Inc.", "USD"),
                ("Adventure Works", "EUR"),
                ("Fabrikam Japan", "JPY"),
                ("Northwind Traders", "GBP"),
            ]
        ):
            guid = _guid(s, "account", i)
            accounts.append(guid)
            self.insert_row(
                "account",
                {
                    "accountid": guid,
                    "name": name,
                    "accountnumber": f"ACC-{1000 + i}",
                    "emailaddress1": f"billing@{name.split()[0].lower().strip(',')}.example",
                    "statecode": 0,
                    "statuscode": 1,
                    "_transactioncurrencyid_value": cur[iso],
                    "_parentaccountid_value": None,
                },
                at=at(20 + i),
            )
        resources = []
        for i, name in enumerate(
            ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov"]
        ):
            guid = _guid(s, "resource", i)
            resources.append(guid)
            email = name.split()[0].lower() + "@contoso.example"
            self.insert_row(
                "bookableresource",
                {
                    "bookableresourceid": guid,
                    "name": name,
                    "resourcetype": 3,
                    "msdyn_primaryemail": email,
                    "statecode": 0,
                },
                at=at(30 + i),
            )
        categories = []
        for i, name in enumerate(["Travel", "Meals", "Hotel", "Mileage"]):
            guid = _guid(s, "category", name)
            categories.append(guid)
            self.insert_row(
                "msdyn_expensecategory",
                {"msdyn_expensecategoryid": guid, "msdyn_name": name, "statecode": 0},
                at=at(40 + i),
            )
        project = _guid(s, "project", 0)
        self.insert_row(
            "msdyn_project",
            {
                "msdyn_projectid": project,
                "msdyn_subject": "Contoso ERP rollout",
                "msdyn_description": "PRJ-100",
                "msdyn_scheduledstart": "2026-01-05T00:00:00Z",
                "msdyn_finish": "2026-06-30T00:00:00Z",
                "msdyn_effort": 480,
                "msdyn_progress": 0,
                "statecode": 0,
                "statuscode": 1,
                "_msdyn_customer_value": accounts[0],
                "_msdyn_contractorganizationalunitid_value": companies["USPM"],
                "_transactioncurrencyid_value": cur["USD"],
            },
            at=at(50),
        )
        tasks = []
        for i, name in enumerate(["Discovery", "Build", "Go-live"]):
            guid = _guid(s, "task", i)
            tasks.append(guid)
            self.insert_row(
                "msdyn_projecttask",
                {
                    "msdyn_projecttaskid": guid,
                    "msdyn_subject": name,
                    "_msdyn_project_value": project,
                    "_msdyn_parenttask_value": None,
                    "msdyn_scheduledstart": f"2026-0{i + 1}-05T00:00:00Z",
                    "msdyn_scheduledend": f"2026-0{i + 2}-01T00:00:00Z",
                    "msdyn_effort": 160,
                    "msdyn_progress": 0,
                    "statecode": 0,
                },
                at=at(60 + i),
            )
        for i, resource in enumerate(resources[:3]):
            self.insert_row(
                "msdyn_resourceassignment",
                {
                    "msdyn_resourceassignmentid": _guid(s, "assignment", i),
                    "msdyn_name": f"Assignment {i + 1}",
                    "_msdyn_projectid_value": project,
                    "_msdyn_taskid_value": tasks[i],
                    "_msdyn_bookableresourceid_value": resource,
                    "msdyn_fromdate": "2026-01-05T00:00:00Z",
                    "msdyn_todate": "2026-03-31T00:00:00Z",
                    "msdyn_hours": 120,
                    "statecode": 0,
                },
                at=at(70 + i),
            )
        for i in range(8):
            self.insert_row(
                "msdyn_timeentry",
                {
                    "msdyn_timeentryid": _guid(s, "timeentry", i),
                    "msdyn_description": f"Work item {i + 1}",
                    "msdyn_date": f"2026-01-{10 + i:02d}",
                    "msdyn_duration": 30 * (1 + rng.randrange(16)),
                    "msdyn_type": 192350000,
                    "msdyn_entrystatus": 192350000 + (i % 4),
                    "msdyn_externaldescription": None,
                    "statecode": 0,
                    "_msdyn_bookableresource_value": resources[i % 5],
                    "_msdyn_project_value": project,
                    "_msdyn_projecttask_value": tasks[i % 3] if i % 2 else None,
                },
                at=at(80 + i),
            )
        for i in range(4):
            self.insert_row(
                "msdyn_expense",
                {
                    "msdyn_expenseid": _guid(s, "expense", i),
                    "msdyn_name": f"Trip {i + 1}",
                    "msdyn_transactiondate": f"2026-01-{12 + i:02d}",
                    "msdyn_amount": round(50 + rng.random() * 400, 2),
                    "msdyn_salestaxamount": 0,
                    "msdyn_expensestatus": 192350000,
                    "statecode": 0,
                    "_msdyn_bookableresource_value": resources[i],
                    "_msdyn_project_value": project,
                    "_msdyn_expensecategory_value": categories[i],
                    "_transactioncurrencyid_value": cur["USD"],
                },
                at=at(90 + i),
            )
        for i in range(2):
            self.insert_row(
                "invoice",
                {
                    "invoiceid": _guid(s, "invoice", i),
                    "name": f"Invoice {i + 1}",
                    "invoicenumber": f"INV-0000{i + 1}",
                    "datedelivered": f"2026-02-0{i + 1}",
                    "duedate": f"2026-03-0{i + 1}",
                    "totallineitemamount": 12000.0,
                    "totaltax": 0.0,
                    "totaldiscountamount": 0.0,
                    "totalamount": 12000.0,
                    "statecode": i,
                    "statuscode": 1,
                    "_customerid_value": accounts[0],
                    "_msdyn_project_value": project,
                    "_transactioncurrencyid_value": cur["USD"],
                },
                at=at(100 + i),
            )

    def sample_row(self, table: str, rng: random.Random) -> dict[str, Any]:
        """A new, valid row of ``table`` (churn and read tests).

        Examples:
            >>> import random
            >>> DataverseSimulator().sample_row("account", random.Random(1))["statecode"]
            0
        """
        n = rng.randrange(10**9)
        usd = _guid(self.seed, "currency", "USD")
        project = _guid(self.seed, "project", 0)
        resource = _guid(self.seed, "resource", n % 5)
        rows: dict[str, dict[str, Any]] = {
            "transactioncurrency": {
                "isocurrencycode": "USD",
                "currencyname": f"Dollar {n}",
                "statecode": 0,
            },
            "account": {
                "name": f"Account {n}",
                "accountnumber": f"CH-{n}",
                "statecode": 0,
                "emailaddress1": f"a{n}@example.com",
                "statuscode": 1,
                "_transactioncurrencyid_value": usd,
                "_parentaccountid_value": None,
            },
            "cdm_company": {
                "cdm_name": f"Company {n}",
                "cdm_companycode": f"C{n % 10000}",
                "statecode": 0,
                "_transactioncurrencyid_value": usd,
            },
            "bookableresource": {
                "name": f"Resource {n}",
                "resourcetype": 3,
                "statecode": 0,
                "msdyn_primaryemail": f"r{n}@contoso.example",
            },
            "msdyn_project": {
                "msdyn_subject": f"Project {n}",
                "msdyn_description": f"P-{n}",
                "statecode": 0,
                "statuscode": 1,
                "_msdyn_customer_value": None,
                "_msdyn_contractorganizationalunitid_value": None,
                "_transactioncurrencyid_value": usd,
            },
            "msdyn_projecttask": {
                "msdyn_subject": f"Task {n}",
                "_msdyn_project_value": project,
                "_msdyn_parenttask_value": None,
                "msdyn_effort": 8,
                "statecode": 0,
            },
            "msdyn_resourceassignment": {
                "msdyn_name": f"Assignment {n}",
                "_msdyn_projectid_value": project,
                "_msdyn_taskid_value": None,
                "_msdyn_bookableresourceid_value": resource,
                "msdyn_fromdate": "2026-02-01",
                "msdyn_hours": 16,
                "statecode": 0,
            },
            "msdyn_timeentry": {
                "msdyn_description": f"Work {n}",
                "msdyn_date": "2026-02-02",
                "msdyn_duration": 15 * (1 + n % 32),
                "msdyn_type": 192350000,
                "msdyn_entrystatus": 192350000,
                "statecode": 0,
                "_msdyn_bookableresource_value": resource,
                "_msdyn_project_value": project,
                "_msdyn_projecttask_value": None,
            },
            "msdyn_expensecategory": {"msdyn_name": f"Category {n}", "statecode": 0},
            "msdyn_expense": {
                "msdyn_name": f"Expense {n}",
                "msdyn_transactiondate": "2026-02-03",
                "msdyn_amount": (n % 50000) / 100,
                "msdyn_salestaxamount": 0,
                "msdyn_expensestatus": 192350000,
                "statecode": 0,
                "_msdyn_bookableresource_value": resource,
                "_msdyn_project_value": project,
                "_msdyn_expensecategory_value": _guid(self.seed, "category", "Travel"),
                "_transactioncurrencyid_value": usd,
            },
            "invoice": {
                "name": f"Invoice {n}",
                "invoicenumber": f"INV-{n}",
                "datedelivered": "2026-02-04",
                "totallineitemamount": 100.0,
                "totaltax": 0.0,
                "totaldiscountamount": 0.0,
                "totalamount": 100.0,
                "statecode": 0,
                "statuscode": 1,
                "_customerid_value": _guid(self.seed, "account", 0),
                "_msdyn_project_value": project,
                "_transactioncurrencyid_value": usd,
            },
        }
        return rows[table]

    def mutate_row(self, table: str, data: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
        """Changes for churn tests: the primary name, or a duration for time entries.

        Examples:
            >>> import random
            >>> DataverseSimulator().mutate_row("account", {"name": "A"}, random.Random(1))
            {'name': 'A *'}
        """
        spec = TABLES[table]
        if table == "msdyn_timeentry":
            return {"msdyn_duration": 15 * (1 + rng.randrange(32))}
        return {spec.primary_name: f"{data.get(spec.primary_name)} *"}

    def bad_row(self, table: str) -> dict[str, Any]:
        """A stored row the connector must reject (fractional minutes, no name, ...).

        Examples:
            >>> DataverseSimulator().bad_row("msdyn_timeentry")["msdyn_duration"]
            12.5
        """
        row = self.sample_row(table, random.Random(0))  # noqa: S311 - test data
        if table == "msdyn_timeentry":
            row["msdyn_duration"] = 12.5
        elif table in {"msdyn_expense", "invoice", "msdyn_project", "cdm_company"}:
            row["_transactioncurrencyid_value"] = _guid(self.seed, "currency", "ZZZ")
        elif table == "msdyn_resourceassignment":
            row["msdyn_hours"] = 0.01
        else:
            row[TABLES[table].primary_name] = ""
        return row

    def naive_create(self, type_name: str, index: int) -> tuple[str, str, Any]:
        """A plain ``POST <set>`` without an id (Dataverse assigns one, so a blind re-send
        creates a second row): the contract suite's negative control.

        Examples:
            >>> DataverseSimulator().naive_create("Customer", 3)[:2]
            ('POST', '/api/data/v9.2/accounts')
        """
        spec = TABLES[TYPE_TABLES[type_name]]
        project = f"/msdyn_projects({_guid(self.seed, 'project', 0)})"
        resource = f"/bookableresources({_guid(self.seed, 'resource', 0)})"
        bodies: dict[str, dict[str, Any]] = {
            "Customer": {"name": f"Naive {index}"},
            "Project": {"msdyn_subject": f"Naive {index}"},
            "TimeEntry": {
                "msdyn_date": "2026-02-02",
                "msdyn_duration": 60,
                "msdyn_type": 192350000,
                "msdyn_project@odata.bind": project,
                "msdyn_bookableresource@odata.bind": resource,
            },
            "Expense": {
                "msdyn_name": f"Naive {index}",
                "msdyn_amount": 10.0,
                "msdyn_transactiondate": "2026-02-02",
                "msdyn_project@odata.bind": project,
            },
        }
        return "POST", f"{API_PATH}{spec.entity_set}", bodies[type_name]

    def rows_with_entity_key(self, type_name: str, entity_key: str) -> list[dict[str, Any]]:
        """Live rows whose id is ``UUIDv5(entity_key)``, as snapshots whose ``id`` is the row's
        GUID (the id a connector reports). ``entity_key`` is the canonical form
        (``ek1:...``): the row id is a hash of it, so the short ``str()`` form cannot be
        mapped back.

        Examples:
            >>> DataverseSimulator().rows_with_entity_key(
            ...     "Customer", "ek1:demo:psa:t:customer:1")
            []
        """
        guid = str(EntityKey.parse(entity_key).uuid5())
        logical, _ = self.entity_key_fields[type_name]
        with self._lock:
            row = self.find(logical, guid)
            return [self.snapshot(logical, row)] if row is not None else []

    def snapshot(self, logical: str, row: Row) -> dict[str, Any]:
        """A row snapshot addressed by its GUID (``id``), with ``modifiedon`` in ``data``.

        Examples:
            >>> sim = DataverseSimulator()
            >>> row = sim.find("account", sim.admin.rows("account")[0]["id"])
            >>> sim.snapshot("account", row)["id"] == row.data["accountid"]
            True
        """
        snap = row.snapshot()
        snap["row"] = snap["id"]
        snap["id"] = self._pk(TABLES[logical], row)
        return snap

    def on_post(self, table: str, row: Row) -> None:
        """Posting approves a time entry, posts an expense, closes an invoice.

        Examples:
            >>> sim = DataverseSimulator()
            >>> entry = sim.admin.rows("msdyn_timeentry")[0]["id"]
            >>> sim.admin.post("msdyn_timeentry", entry)["data"]["msdyn_entrystatus"]
            192350002
        """
        if table == "msdyn_timeentry":
            row.data["msdyn_entrystatus"] = 192350002
        elif table == "msdyn_expense":
            row.data["msdyn_expensestatus"] = 192350005
        elif table == "invoice":
            row.data["statecode"] = 1

    # -- limits ------------------------------------------------------------------------------

    def _admit(self) -> SimResponse | None:
        cfg = self.config
        with self._lock:
            now = self.clock.monotonic()
            while self._window and self._window[0] <= now - cfg.window + _EPSILON:
                self._window.popleft()
            while self._exec and self._exec[0][0] <= now - cfg.window + _EPSILON:
                self._exec.pop(0)
            if self._in_flight >= cfg.concurrency:
                self.stats.limit_violations += 1
                code, text = THROTTLE_CONCURRENCY
                return self._throttle(code, text.format(c=cfg.concurrency), 1.0)
            if len(self._window) >= cfg.requests:
                self.stats.limit_violations += 1
                code, text = THROTTLE_REQUESTS
                wait = self._window[0] + cfg.window - now
                return self._throttle(code, text.format(n=cfg.requests, s=int(cfg.window)), wait)
            used_ms = sum(d for _, d in self._exec) * 1000
            if used_ms >= cfg.execution_ms:
                self.stats.limit_violations += 1
                code, text = THROTTLE_TIME
                wait = self._exec[0][0] + cfg.window - now
                msg = text.format(ms=f"{cfg.execution_ms:,}", s=int(cfg.window))
                return self._throttle(code, msg, wait)
            self._window.append(now)
            if cfg.service_time:
                self._exec.append((now, cfg.service_time))
            self._in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self._in_flight)
            return None

    def _dispatch(self, r: Any, req: SimRequest) -> SimResponse:
        resp = super()._dispatch(r, req)
        if r.auth:
            # The documented debug headers: what is left of the window's budgets.
            cfg = self.config
            with self._lock:
                used_ms = int(sum(d for _, d in self._exec) * 1000)
                left = max(0, cfg.requests - len(self._window))
            resp.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] = str(left)
            resp.headers["x-ms-ratelimit-time-remaining-xrm-requests"] = str(
                max(0, cfg.execution_ms - used_ms)
            )
        return resp

    def _throttle(self, code: str, message: str, wait: float) -> SimResponse:
        seconds = max(1, int(-(-wait // 1)))
        return SimResponse.json(
            {"error": {"code": code, "message": message}},
            status=429,
            headers={"retry-after": str(seconds)},
        )

    # -- the Entra token endpoint ------------------------------------------------------------

    @route("POST", "/{entra_tenant}/oauth2/v2.0/token", auth=False)
    def _entra_token(self, req: SimRequest) -> SimResponse:
        """Client credentials with a secret or a certificate assertion (Entra v2.0)."""
        form = req.form()
        if req.params["entra_tenant"] != self.config.entra_tenant:
            return self._aad(
                400, "invalid_tenant", 90002, f"Tenant '{req.params['entra_tenant']}' not found."
            )
        if form.get("grant_type") != "client_credentials":
            return self._aad(
                400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
            )
        scope = form.get("scope", "")
        if scope not in (self.scope, f"{self._origin(req)}/.default"):
            return self._aad(
                400,
                "invalid_scope",
                70011,
                "The provided value for the input parameter 'scope' is not valid. "
                f"The scope {scope} is not valid.",
            )
        client_id = form.get("client_id", "")
        if "client_assertion" in form:
            problem = self._check_assertion(client_id, form)
            if problem is not None:
                return self._aad(401, "invalid_client", 700027, problem)
        elif client_id != self.client_id or form.get("client_secret") != self.client_secret:
            return self._aad(401, "invalid_client", 7000215, "Invalid client secret provided.")
        with self._lock:
            self._counter += 1
            token = hashlib.sha256(
                f"{self.api_token}:{self._counter}:{self.clock.time()}".encode()
            ).hexdigest()
            self._tokens[token] = self.clock.monotonic() + self.config.token_ttl
        ttl = int(self.config.token_ttl)
        return SimResponse.json(
            {
                "token_type": "Bearer",
                "expires_in": ttl,
                "ext_expires_in": ttl,
                "access_token": token,
            }
        )

    def _check_assertion(self, client_id: str, form: Mapping[str, str]) -> str | None:
        from joserfc import jwt
        from joserfc.errors import JoseError

        if form.get("client_assertion_type") != (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            return "The client_assertion_type is not supported."
        registered = self._certificates.get(client_id)
        if registered is None:
            return f"Client assertion failed: no certificate registered for {client_id}."
        key, thumbprint = registered
        try:
            token = jwt.decode(form["client_assertion"], key, algorithms=["PS256", "RS256"])
        except (JoseError, ValueError):
            return "Client assertion contains an invalid signature."
        if token.header.get("x5t#S256") != thumbprint:
            return "Client assertion failed: the certificate thumbprint does not match."
        claims = token.claims
        if claims.get("aud") != self.token_url() and not str(claims.get("aud", "")).endswith(
            f"/{self.config.entra_tenant}/oauth2/v2.0/token"
        ):
            return "Client assertion audience claim does not match the token endpoint."
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            return "Client assertion iss and sub must be the client id."
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= self.clock.time():
            return "Client assertion has expired."
        return None

    def _aad(self, status: int, error: str, code: int, description: str) -> SimResponse:
        trace = _guid(self.seed, "trace", self._counter)
        when = self.clock.now().strftime("%Y-%m-%d %H:%M:%SZ")
        return SimResponse.json(
            {
                "error": error,
                "error_description": f"AADSTS{code}: {description}\r\nTrace ID: {trace}\r\n"
                f"Correlation ID: {trace}\r\nTimestamp: {when}",
                "error_codes": [code],
                "timestamp": when,
                "trace_id": trace,
                "correlation_id": trace,
            },
            status=status,
        )

    # -- routing -----------------------------------------------------------------------------

    @route("GET", API_PATH + "{target}")
    def _get_target(self, req: SimRequest) -> SimResponse:
        """Collections, single rows, alternate-key rows, and alternate-key metadata."""
        name, key = _split_target(req.params["target"])
        if name == "WhoAmI":
            return SimResponse.json(
                {
                    "BusinessUnitId": _guid(self.seed, "bu"),
                    "UserId": _guid(self.seed, "app-user"),
                    "OrganizationId": _guid(self.seed, "org"),
                }
            )
        if name == "EntityDefinitions":
            raise SimError(400, PROPERTY_CODE, "Query EntityDefinitions(...)/Keys for key metadata")
        spec = self._spec(name)
        if key is None:
            return self._query(req, spec)
        row = self._row_by_key(spec, key)
        if row is None:
            raise SimError(404, "", self._missing(spec, key))
        etag = self._etag(row)
        if req.headers.get("if-none-match") == etag and "$expand" not in req.query:
            return SimResponse(status=304, headers={"etag": etag})
        body = self._render(spec, row, req.query.get("$select"), req.query.get("$expand"))
        return SimResponse.json(body, headers={"etag": etag, "odata-version": "4.0"})

    @route("GET", API_PATH + "{target}/{sub}")
    def _get_sub(self, req: SimRequest) -> SimResponse:
        """``<set>/$count`` (text) and ``EntityDefinitions(LogicalName='x')/Keys``."""
        name, key = _split_target(req.params["target"])
        sub = unquote(req.params["sub"])
        if name == "EntityDefinitions" and sub == "Keys" and isinstance(key, dict):
            logical = str(key.get("LogicalName", ""))
            if logical not in TABLES:
                raise SimError(404, "", f"Could not find entity with LogicalName = {logical}")
            keys = self.config.alternate_keys.get(logical, {})
            return SimResponse.json(
                {
                    "value": [
                        {
                            "SchemaName": n,
                            "LogicalName": n,
                            "KeyAttributes": list(cols),
                            "EntityKeyIndexStatus": "Active" if active else "Pending",
                        }
                        for n, (cols, active) in sorted(keys.items())
                    ]
                }
            )
        if sub == "$count" and key is None:
            spec = self._spec(name)
            rows = self._matching(spec, req.query.get("$filter"))
            count = min(len(rows), self.config.count_cap)
            return SimResponse(200, str(count).encode(), {"content-type": "text/plain"})
        raise SimError(404, "", f"Resource not found for the segment '{sub}'.")

    @route("POST", API_PATH + "{target}")
    def _post_target(self, req: SimRequest) -> SimResponse:
        """Creates, and the Project schedule API actions (refused for application users)."""
        name, key = _split_target(req.params["target"])
        if name in _SCHEDULE_ACTIONS:
            raise SimError(403, PRIVILEGE_CODE, _schedule_refusal(name))
        spec = self._spec(name)
        if key is not None:
            raise SimError(405, "", "POST is not allowed on a single record; use PATCH")
        if spec.logical in SCHEDULE_TABLES:
            raise SimError(403, PRIVILEGE_CODE, _schedule_refusal(spec.logical))
        body = _body(req)
        guid = str(body.pop(spec.pk, "") or "").lower() or None
        if guid is not None and self.find(spec.logical, guid) is not None:
            raise SimError(412, DUPLICATE_CODE, "Cannot insert duplicate key.")
        values = self._values(spec, body, creating=True)
        if guid is not None:
            values[spec.pk] = guid
        snap = self.insert_row(spec.logical, values)
        row = self.find(spec.logical, snap["data"][spec.pk])
        assert row is not None
        return self._write_answer(req, spec, row, created=True)

    @route("PATCH", API_PATH + "{target}")
    def _patch_target(self, req: SimRequest) -> SimResponse:
        """Upsert (no precondition), update-only (``If-Match``), create-only
        (``If-None-Match: *``), by primary key or by an active alternate key."""
        name, key = _split_target(req.params["target"])
        spec = self._spec(name)
        if key is None:
            raise SimError(405, "", "PATCH is not supported on a collection")
        if spec.logical in SCHEDULE_TABLES:
            raise SimError(403, PRIVILEGE_CODE, _schedule_refusal(spec.logical))
        body = _body(req)
        row = self._row_by_key(spec, key)
        if_match = req.headers.get("if-match")
        if_none = req.headers.get("if-none-match")
        if row is None:
            if if_match is not None:
                raise SimError(404, "", self._missing(spec, key))
            values = self._values(spec, body, creating=True)
            if isinstance(key, str):
                values[spec.pk] = key
            else:
                values.update(key)
            snap = self.insert_row(spec.logical, values)
            created = self.find(spec.logical, snap["data"][spec.pk])
            assert created is not None
            return self._write_answer(req, spec, created, created=True)
        if if_none == "*":
            raise SimError(412, "", "A record with matching key values already exists.")
        if if_match not in (None, "*") and if_match != self._etag(row):
            raise SimError(
                412,
                "",
                "The version of the existing record doesn't match the RowVersion property "
                "provided.",
            )
        if row.posted:
            raise SimError(
                400,
                PLUGIN_CODE,
                f"{spec.logical} {row.data[spec.pk]} is posted (approved) and cannot be changed.",
            )
        values = self._values(spec, body, creating=False)
        if spec.logical == "msdyn_project":
            touched = sorted(self.config.scheduling_fields & set(values))
            if touched:
                raise SimError(
                    403,
                    PRIVILEGE_CODE,
                    "Scheduling fields of msdyn_project can "
                    f"only be changed through the Project schedule APIs: {touched}",
                )
        if isinstance(key, Mapping):
            for col, val in key.items():
                if col in values and norm(values[col]) != norm(val):
                    raise SimError(
                        400,
                        PROPERTY_CODE,
                        f"Do not repeat the alternate key value of {col} in the body",
                    )
        self.table(spec.logical).update(row.id, values)
        return self._write_answer(req, spec, row, created=False)

    @route("DELETE", API_PATH + "{target}")
    def _delete_target(self, req: SimRequest) -> SimResponse:
        """Delete one row (404 when it does not exist)."""
        name, key = _split_target(req.params["target"])
        spec = self._spec(name)
        if key is None:
            raise SimError(405, "", "DELETE is not supported on a collection")
        if spec.logical in SCHEDULE_TABLES:
            raise SimError(403, PRIVILEGE_CODE, _schedule_refusal(spec.logical))
        row = self._row_by_key(spec, key)
        if row is None:
            raise SimError(404, "", self._missing(spec, key))
        if row.posted:
            raise SimError(
                400,
                PLUGIN_CODE,
                f"{spec.logical} {row.data[spec.pk]} is posted (approved) and cannot be deleted.",
            )
        self.table(spec.logical).delete(row.id)
        return SimResponse.empty(204)

    # -- helpers -----------------------------------------------------------------------------

    def _spec(self, entity_set: str) -> TableSpec:
        try:
            return by_set(entity_set)
        except KeyError:
            raise SimError(
                404, "0x80060888", f"Resource not found for the segment '{entity_set}'."
            ) from None

    def _missing(self, spec: TableSpec, key: str | Mapping[str, Any]) -> str:
        shown = key if isinstance(key, str) else ",".join(f"{k}={v}" for k, v in key.items())
        return f"{spec.logical} With Id = {shown} Does Not Exist"

    def _row_by_key(self, spec: TableSpec, key: str | Mapping[str, Any]) -> Row | None:
        if isinstance(key, str):
            return self.find(spec.logical, key)
        keys = self.config.alternate_keys.get(spec.logical, {})
        wanted = set(key)
        defined = [cols for cols, active in keys.values() if set(cols) == wanted and active]
        if not defined:
            pending = [cols for cols, active in keys.values() if set(cols) == wanted]
            why = "is not active yet" if pending else "is not defined"
            raise SimError(
                400, PROPERTY_CODE, f"The key {sorted(wanted)} specified for {spec.logical} {why}."
            )
        matches = self.table(spec.logical).find(
            lambda r: all(norm(r.data.get(c)) == norm(v) for c, v in key.items())
        )
        return matches[0] if matches else None

    def _values(
        self, spec: TableSpec, body: Mapping[str, Any], *, creating: bool
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, value in body.items():
            if name.startswith("@"):
                continue
            if name.endswith("@odata.bind"):
                nav = name[: -len("@odata.bind")]
                lookup = spec.lookup(nav)
                if lookup is None:
                    raise SimError(
                        400,
                        PROPERTY_CODE,
                        f"An undeclared property '{nav}' which "
                        "only has property annotations in the payload...",
                    )
                if value is None:
                    values[lookup.value_field] = None
                    continue
                target_name, target_key = _split_target(str(value).lstrip("/").rsplit("/", 1)[-1])
                target = self._spec(target_name)
                if target.logical != lookup.target or not isinstance(target_key, str):
                    raise SimError(400, PROPERTY_CODE, f"{nav} cannot bind to {value}")
                if self.find(target.logical, target_key) is None:
                    raise SimError(404, "", self._missing(target, target_key))
                values[lookup.value_field] = target_key.lower()
                continue
            if name not in spec.columns and name not in self._custom_columns(spec):
                raise SimError(
                    400,
                    PROPERTY_CODE,
                    f"Could not find a property named '{name}' "
                    f"on type 'Microsoft.Dynamics.CRM.{spec.logical}'.",
                )
            values[name] = value
        if creating:
            if spec.logical == "msdyn_timeentry":
                for required in ("msdyn_date", "msdyn_duration", "msdyn_type"):
                    if values.get(required) is None:
                        raise SimError(400, "0x80040203", f"{required} is required")
                values.setdefault("msdyn_entrystatus", 192350000)
            if spec.logical == "msdyn_expense":
                # Like the time entry's, the option set defaults to Draft on create.
                values.setdefault("msdyn_expensestatus", 192350000)
            values.setdefault("statecode", 0)
            for lookup in spec.lookups:
                values.setdefault(lookup.value_field, None)
        if "msdyn_duration" in values and not isinstance(values["msdyn_duration"], int):
            raise SimError(400, PROPERTY_CODE, "msdyn_duration must be a whole number of minutes")
        return values

    def _custom_columns(self, spec: TableSpec) -> tuple[str, ...]:
        return tuple(self.config.custom_columns.get(spec.logical, ()))

    def _etag(self, row: Row) -> str:
        return f'W/"{1_000_000 + row.id * 1000 + row.row_version}"'

    def _render(
        self, spec: TableSpec, row: Row, select: str | None, expand: str | None
    ) -> dict[str, Any]:
        data = row.data
        full = {
            **{c: data.get(c) for c in spec.all_columns},
            **{c: data.get(c) for c in self._custom_columns(spec)},
            "modifiedon": _ts(row.modified_at),
            "createdon": _ts(row.created_at),
            "versionnumber": 1_000_000 + row.id * 1000 + row.row_version,
        }
        wanted = [c.strip() for c in select.split(",")] if select else list(full)
        for column in wanted:
            if column not in full:
                raise SimError(
                    400,
                    PROPERTY_CODE,
                    f"Could not find a property named '{column}' "
                    f"on type 'Microsoft.Dynamics.CRM.{spec.logical}'.",
                )
        out: dict[str, Any] = {"@odata.etag": self._etag(row)}
        out.update({c: full[c] for c in wanted})
        out[spec.pk] = data[spec.pk]
        for nav, options in _expansions(expand):
            lookup = spec.lookup(nav)
            if lookup is None:
                raise SimError(
                    400,
                    PROPERTY_CODE,
                    f"Could not find a property named '{nav}' "
                    f"on type 'Microsoft.Dynamics.CRM.{spec.logical}'.",
                )
            target_id = data.get(lookup.value_field)
            target = self.find(lookup.target, target_id) if target_id else None
            out[nav] = (
                self._render(TABLES[lookup.target], target, options.get("$select"), None)
                if target is not None
                else None
            )
        return out

    def _matching(self, spec: TableSpec, filter_text: str | None) -> list[Row]:
        try:
            pred = compile_filter(filter_text)
        except FilterError as exc:
            raise SimError(400, PROPERTY_CODE, f"Invalid $filter: {exc}") from None
        rows = []
        for row in self.table(spec.logical).live_rows():
            self._pk(spec, row)
            view = {
                **row.data,
                "modifiedon": _ts(row.modified_at),
                "createdon": _ts(row.created_at),
            }
            if pred(view):
                rows.append(row)
        return rows

    def _query(self, req: SimRequest, spec: TableSpec) -> SimResponse:
        q = req.query
        if "$skip" in q:
            raise SimError(400, PROPERTY_CODE, "The query parameter $skip is not supported")
        prefs = _preferences(req.headers.get("prefer"))
        size_text = prefs.get("odata.maxpagesize")
        page_size = MAX_PAGE
        headers = {"odata-version": "4.0"}
        if size_text is not None:
            try:
                page_size = max(1, min(MAX_PAGE, int(size_text)))
            except ValueError:
                raise SimError(400, "", "odata.maxpagesize must be an integer") from None
            headers["preference-applied"] = f"odata.maxpagesize={page_size}"
        options = {k: v for k, v in q.items() if k != "$skiptoken"}
        signature = hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:12]
        order = _orderby(q.get("$orderby"), spec.pk)
        rows = self._matching(spec, q.get("$filter"))
        rows.sort(
            key=functools.cmp_to_key(
                lambda a, b: _cmp(self._key(a, order), self._key(b, order), order)
            )
        )
        number = 1
        token = q.get("$skiptoken")
        if token is not None:
            number, last, sig, size = _read_cookie(token, [f for f, _ in order])
            if sig != signature or size != page_size:
                raise SimError(
                    400,
                    PROPERTY_CODE,
                    "The paging cookie does not match the query: "
                    "send the next link unchanged, with the same page size",
                )
            rows = [r for r in rows if _cmp(self._key(r, order), last, order) > 0]
        top = q.get("$top")
        if top is not None and size_text is None and token is None:
            rows = rows[: int(top)]
        page, rest = rows[:page_size], rows[page_size:]
        body: dict[str, Any] = {
            "@odata.context": f"{self.api_root}$metadata#{spec.entity_set}",
        }
        if q.get("$count") == "true":
            total = len(self._matching(spec, q.get("$filter")))
            body["@odata.count"] = min(total, self.config.count_cap)
            wanted = prefs.get("odata.include-annotations", "")
            if "totalrecordcount" in wanted or wanted == "*":
                body["@Microsoft.Dynamics.CRM.totalrecordcount"] = min(total, self.config.count_cap)
                body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = (
                    total > self.config.count_cap
                )
        body["value"] = [self._render(spec, r, q.get("$select"), q.get("$expand")) for r in page]
        if rest and page:
            cookie = _write_cookie(
                number + 1,
                self._key(page[-1], order),
                [f for f, _ in order],
                self._key(page[0], order),
                signature,
                page_size,
            )
            base = self._origin(req) + API_PATH + spec.entity_set
            options_text = "&".join(f"{k}={quote(v, safe=_SAFE)}" for k, v in options.items())
            link = f"{base}?{options_text}&" if options_text else f"{base}?"
            body["@odata.nextLink"] = link + "$skiptoken=" + quote(cookie, safe="")
        return SimResponse.json(body, headers=headers)

    def _key(self, row: Row, order: list[tuple[str, bool]]) -> list[Any]:
        view = {**row.data, "modifiedon": _ts(row.modified_at), "createdon": _ts(row.created_at)}
        return [norm(view.get(f)) for f, _ in order]

    def _origin(self, req: SimRequest) -> str:
        host = req.headers.get("host", self.config.host)
        scheme = "http" if host.startswith(("127.0.0.1", "localhost", "[::1]")) else "https"
        return f"{scheme}://{host}"

    def _write_answer(
        self, req: SimRequest, spec: TableSpec, row: Row, *, created: bool
    ) -> SimResponse:
        entity_id = f"{self._origin(req)}{API_PATH}{spec.entity_set}({row.data[spec.pk]})"
        headers = {"odata-entityid": entity_id, "odata-version": "4.0", "etag": self._etag(row)}
        if "return=representation" in (req.headers.get("prefer") or ""):
            body = self._render(spec, row, req.query.get("$select"), None)
            return SimResponse.json(body, status=201 if created else 200, headers=headers)
        return SimResponse(status=204, headers=headers)


_SAFE = "$,()'=:*/@;-._~"


def _schedule_refusal(name: str) -> str:
    return (
        f"{name}: schedule entities are written through the Project schedule APIs, which "
        "need a user with a Project licence; application users cannot call them."
    )


def _body(req: SimRequest) -> dict[str, Any]:
    body = req.json()
    if not isinstance(body, dict):
        raise SimError(400, "", "The request body must be a JSON object")
    return body


def _split_target(target: str) -> tuple[str, str | dict[str, Any] | None]:
    text = unquote(target)
    if "(" not in text:
        return text, None
    if not text.endswith(")"):
        raise SimError(400, "", f"Bad request segment {text!r}")
    name, inner = text[:-1].split("(", 1)
    if "=" not in inner:
        return name, inner.strip("{}").lower()
    key: dict[str, Any] = {}
    for part in _split_commas(inner):
        col, _, raw = part.partition("=")
        raw = raw.strip()
        value: Any = raw[1:-1].replace("''", "'") if raw.startswith("'") else raw
        key[col.strip()] = value
    return name, key


def _split_commas(text: str) -> list[str]:
    parts, buf, quoted = [], "", False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append(buf)
            buf = ""
        else:
            buf += ch
    parts.append(buf)
    return parts


def _preferences(header: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in _PREF_SPLIT.split(header or ""):
        name, _, value = part.strip().partition("=")
        if name:
            out[name.strip().lower()] = value.strip().strip('"')
    return out


def _expansions(expand: str | None) -> list[tuple[str, dict[str, str]]]:
    if not expand:
        return []
    out = []
    depth, buf, items = 0, "", []
    for ch in expand:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            items.append(buf)
            buf = ""
        else:
            buf += ch
    items.append(buf)
    for item in items:
        nav, _, rest = item.strip().partition("(")
        options = {}
        for opt in rest.rstrip(")").split(";") if rest else []:
            k, _, v = opt.partition("=")
            options[k.strip()] = v.strip()
        out.append((nav.strip(), options))
    return out


def _orderby(text: str | None, pk: str) -> list[tuple[str, bool]]:
    order: list[tuple[str, bool]] = []
    for item in (text or "").split(","):
        parts = item.split()
        if parts:
            order.append((parts[0], len(parts) > 1 and parts[1].lower() == "desc"))
    if pk not in [f for f, _ in order]:
        order.append((pk, False))  # a stable total order, as Dataverse's paging cookie needs
    return order


def _cmp(a: list[Any], b: list[Any], order: list[tuple[str, bool]]) -> int:
    for x, y, (_, desc) in zip(a, b, order, strict=True):
        if x == y:
            continue
        result = (-1 if x is None else 1) if x is None or y is None else -1 if x < y else 1
        return -result if desc else result
    return 0


def _write_cookie(
    number: int, last: list[Any], fields: list[str], first: list[Any], sig: str, size: int
) -> str:
    # The shape of Dataverse's cookie; values are the sort keys of the page's last row.
    def text(v: Any) -> str:
        return "" if v is None else quote(str(v), safe="")

    inner = "".join(
        f'<{f} last="{text(a)}" first="{text(b)}" />'
        for f, a, b in zip(fields, last, first, strict=True)
    )
    paging = quote(
        f'<cookie page="{number - 1}" sig="{sig}" size="{size}">{inner}</cookie>', safe=""
    )
    return f'<cookie pagenumber="{number}" pagingcookie="{paging}" istracking="False" />'


def _read_cookie(token: str, fields: list[str]) -> tuple[int, list[Any], str, int]:
    try:
        number = int(re.search(r'pagenumber="(\d+)"', token).group(1))  # type: ignore[union-attr]
        paging = unquote(re.search(r'pagingcookie="([^"]*)"', token).group(1))  # type: ignore[union-attr]
        sig = re.search(r'sig="([^"]*)"', paging).group(1)  # type: ignore[union-attr]
        size = int(re.search(r'size="(\d+)"', paging).group(1))  # type: ignore[union-attr]
        last = []
        for f in fields:
            raw = re.search(rf'<{re.escape(f)} last="([^"]*)"', paging).group(1)  # type: ignore[union-attr]
            last.append(norm(unquote(raw)) if raw != "" else None)
    except (AttributeError, ValueError):
        raise SimError(400, PROPERTY_CODE, "The $skiptoken paging cookie is malformed") from None
    return number, last, sig, size


class DataverseAdmin(Admin):
    """The kit's admin API, addressing Dataverse rows by their GUID (what connectors report).

    Examples:
        >>> sim = DataverseSimulator()
        >>> row = sim.admin.insert("account", {"name": "Tailspin"})
        >>> sim.admin.update("account", row["id"], {"name": "Tailspin Toys"})["data"]["name"]
        'Tailspin Toys'
    """

    def __init__(self, sim: DataverseSimulator) -> None:
        super().__init__(sim)
        self._dv = sim

    def _int(self, table: str, row_id: int | str) -> int:
        row = self._dv.find(table, str(row_id))
        if row is None:
            raise KeyError(f"{table}/{row_id}")
        return row.id

    def insert(
        self, table: str, data: Mapping[str, Any], *, at: datetime | None = None
    ) -> dict[str, Any]:
        """Insert a row (a GUID is assigned); the snapshot's ``id`` is the GUID.

        Examples:
            >>> admin = DataverseSimulator().admin
            >>> len(admin.insert("account", {"name": "N"})["id"])
            36
        """
        with self._dv._lock:
            snap = self._dv.insert_row(table, data, at=at)
            row = self._dv.find(table, snap["data"][TABLES[table].pk])
            assert row is not None
            return self._dv.snapshot(table, row)

    def update(self, table: str, row_id: int | str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change the row ``row_id`` (a GUID).

        Examples:
            >>> admin = DataverseSimulator().admin
            >>> row = admin.rows("account")[0]["id"]
            >>> admin.update("account", row, {"name": "Z"})["data"]["name"]
            'Z'
        """
        with self._dv._lock:
            row = self._dv.table(table).update(self._int(table, row_id), changes)
            return self._dv.snapshot(table, row)

    def delete(self, table: str, row_id: int | str) -> dict[str, Any]:
        """Delete the row ``row_id`` (a GUID).

        Examples:
            >>> admin = DataverseSimulator().admin
            >>> row = admin.rows("account")[0]["id"]
            >>> admin.delete("account", row)["deleted_at"] is not None
            True
        """
        with self._dv._lock:
            row = self._dv.table(table).delete(self._int(table, row_id))
            return self._dv.snapshot(table, row)

    def archive(self, table: str, row_id: int | str) -> dict[str, Any]:
        """Deactivate the row (``statecode`` 1).

        Examples:
            >>> admin = DataverseSimulator().admin
            >>> row = admin.rows("account")[0]["id"]
            >>> admin.archive("account", row)["data"]["statecode"]
            1
        """
        return self.update(table, row_id, {"statecode": 1})

    def post(self, table: str, row_id: int | str) -> dict[str, Any]:
        """Post (lock) the row ``row_id`` (a GUID).

        Examples:
            >>> admin = DataverseSimulator().admin
            >>> row = admin.rows("invoice")[0]["id"]
            >>> admin.post("invoice", row)["posted"]
            True
        """
        with self._dv._lock:
            rid = self._int(table, row_id)
            super().post(table, rid)
            row = self._dv.table(table).get(rid)
            assert row is not None
            return self._dv.snapshot(table, row)

    def rows(self, table: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Snapshots (``id`` = GUID) of the rows of ``table``.

        Examples:
            >>> admin = DataverseSimulator().admin
            >>> len(admin.rows("cdm_company"))
            3
        """
        with self._dv._lock:
            return [
                self._dv.snapshot(table, r)
                for r in self._dv.table(table)
                if include_deleted or r.live
            ]

    def churn(self, table: str, fraction: float, rng: random.Random) -> dict[str, list[Any]]:
        """The kit's churn, reporting GUIDs.

        Examples:
            >>> import random
            >>> admin = DataverseSimulator().admin
            >>> changed = admin.churn("account", 0.2, random.Random(0))
            >>> sorted(changed)
            ['deleted', 'inserted', 'updated']
        """
        with self._dv._lock:
            changed = super().churn(table, fraction, rng)
            spec = TABLES[table]
            t = self._dv.table(table)
            out: dict[str, list[Any]] = {}
            for kind, ids in changed.items():
                rows = [t.get_any(i) for i in ids]
                out[kind] = [self._dv._pk(spec, r) for r in rows if r is not None]
            return out
