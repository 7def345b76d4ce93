"""The Dynamics365 connector: auth variants, UUIDv5 upserts under lost answers, the optional
task reference, projects' scheduling fields, posted records, validate, health, extensions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from joserfc.jwk import RSAKey

from erpsa_dynamics365 import Dynamics365Connector, connector
from erpsa_dynamics365.simulator import DataverseSimulator, SimulatorConfig
from erpsa_sdk.auth import certificate_thumbprint_s256
from erpsa_sdk.clock import SimClock
from erpsa_sdk.connector import ReferenceRule
from erpsa_sdk.errors import AuthError, PostedRecordError
from erpsa_sdk.models import (
    Customer,
    EntityKey,
    Money,
    Project,
    ProjectTask,
    Resource,
    SourceRef,
    TimeEntry,
    WriteKey,
)
from erpsa_sdk.testing import FaultPlan

SRC = "kantata"


def _conn(sim: DataverseSimulator, **settings: Any) -> Dynamics365Connector:
    values = {"environment_url": sim.environment_url, "token": sim.api_token, **settings}
    if "client_secret" in settings or "private_key" in settings:
        values.pop("token")
    conn = connector.create(values, transport=httpx2.MockTransport(sim), clock=sim.clock)
    assert isinstance(conn, Dynamics365Connector)
    return conn


def _sim(**config: Any) -> DataverseSimulator:
    return DataverseSimulator(
        seed=5, clock=SimClock(autojump=True), config=SimulatorConfig(**config)
    )


def _keys(obj: Any, version: str = "1") -> tuple[EntityKey, WriteKey]:
    ek: EntityKey = obj.entity_key("demo")
    return ek, WriteKey(entity_key=ek, version=version, operation="upsert")


def _entry(i: int, minutes: int = 60, task: str | None = "t-1") -> TimeEntry:
    return TimeEntry(
        key=f"te{i}",
        resource_key="r",
        project_key="p",
        task_key=task,
        work_date=date(2026, 3, 2),
        duration_minutes=minutes,
        description=f"entry {i}",
        source_refs=[SourceRef(system=SRC, tenant="acme", id=str(i))],
    )


def _refs(conn: Dynamics365Connector) -> dict[str, SourceRef]:
    return {
        "resource_key": conn.match(Resource, email="ada@contoso.example")[0],
        "project_key": conn.match(Project, name="Contoso ERP rollout")[0],
    }


# -- auth variants ---------------------------------------------------------------------------


def _certificate() -> tuple[str, str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "erpsa-d365-test")])
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    public = RSAKey.import_key(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return pem, cert_pem, public


def test_client_secret_flow_gets_a_token_from_entra() -> None:
    sim = _sim()
    conn = _conn(
        sim,
        entra_tenant=sim.config.entra_tenant,
        client_id=sim.client_id,
        client_secret=sim.client_secret,
    )
    health = conn.health()
    assert health.ok, health.message
    assert conn.match(Resource, email="ada@contoso.example")


def test_certificate_assertion_flow_with_x5t_s256() -> None:
    sim = _sim()
    pem, cert, public = _certificate()
    sim.register_certificate(sim.client_id, public, certificate_thumbprint_s256(cert))
    conn = _conn(
        sim,
        entra_tenant=sim.config.entra_tenant,
        client_id=sim.client_id,
        private_key=pem,
        certificate=cert,
    )
    assert conn.health().ok


def test_a_certificate_the_tenant_does_not_know_is_refused() -> None:
    sim = _sim()
    _pem, cert, public = _certificate()
    other_pem, other_cert, _ = _certificate()
    sim.register_certificate(sim.client_id, public, certificate_thumbprint_s256(cert))
    conn = _conn(
        sim,
        entra_tenant=sim.config.entra_tenant,
        client_id=sim.client_id,
        private_key=other_pem,
        certificate=other_cert,
    )
    health = conn.health()
    assert not health.ok
    assert "AADSTS700027" in health.message


def test_a_wrong_secret_is_an_auth_error_without_the_secret() -> None:
    sim = _sim()
    conn = _conn(
        sim,
        entra_tenant=sim.config.entra_tenant,
        client_id=sim.client_id,
        client_secret="wrong-secret-value",
    )
    with pytest.raises(AuthError) as exc:
        conn.match(Resource, email="ada@contoso.example")
    assert "wrong-secret-value" not in str(exc.value)
    assert "AADSTS7000215" in str(exc.value)


def test_token_endpoint_error_body_has_the_entra_shape() -> None:
    sim = _sim()
    r = httpx2.Client(transport=httpx2.MockTransport(sim)).post(
        sim.token_url(),
        data={
            "grant_type": "client_credentials",
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
            "scope": "https://foo.microsoft.com/.default",
        },
    )
    body = r.json()
    assert r.status_code == 400
    assert body["error"] == "invalid_scope"
    assert body["error_codes"] == [70011]
    assert set(body) == {
        "error",
        "error_description",
        "error_codes",
        "timestamp",
        "trace_id",
        "correlation_id",
    }
    assert body["error_description"].startswith("AADSTS70011: ")


# -- writes and idempotency ------------------------------------------------------------------


def test_commit_then_drop_on_10_percent_leaves_one_row_per_entity_key() -> None:
    sim = _sim()
    conn = _conn(sim)
    refs = _refs(conn)
    sim.set_faults(FaultPlan.writes(seed=11, commit_then_drop=0.1))
    keys = []
    for i in range(60):
        entry = _entry(i, task=None)
        ek, wk = _keys(entry)
        conn.upsert(entry, entity_key=ek, write_key=wk, refs=refs)
        keys.append(ek)
    sim.set_faults(None)
    dropped = sum(e.kind.value == "commit_then_drop" for e in sim.fault_log)
    assert dropped >= 3
    for ek in keys:
        assert len(sim.rows_with_entity_key("TimeEntry", ek.canonical)) == 1
    assert sim.admin.count("msdyn_timeentry") == 8 + 60


def test_time_entry_task_reference_is_optional() -> None:
    caps = connector.capabilities
    assert caps.reference_rule("TimeEntry", "task_key") is ReferenceRule.OPTIONAL
    assert caps.reference_rule("TimeEntry", "resource_key") is ReferenceRule.MATCH
    assert not caps.of(ProjectTask).write
    assert not caps.of("Assignment").write
    sim = _sim()
    conn = _conn(sim)
    refs = _refs(conn)
    entry = _entry(1, task="psa-task-9")  # the runner could not write the task: no ref
    ek, wk = _keys(entry)
    result = conn.upsert(entry, entity_key=ek, write_key=wk, refs=refs)
    row = sim.rows_with_entity_key("TimeEntry", ek.canonical)[0]["data"]
    assert result.outcome.value == "created"
    assert row["_msdyn_projecttask_value"] is None
    assert row["msdyn_duration"] == 60
    task = sim.admin.rows("msdyn_projecttask")[0]["id"]
    tasked = {**refs, "task_key": SourceRef(system="dynamics365", tenant="x", id=task)}
    conn.upsert(_entry(1, minutes=90), entity_key=ek, write_key=wk, refs=tasked)
    row = sim.rows_with_entity_key("TimeEntry", ek.canonical)[0]["data"]
    assert (row["_msdyn_projecttask_value"], row["msdyn_duration"]) == (task, 90)


def test_project_updates_leave_scheduling_fields_alone() -> None:
    sim = _sim()
    conn = _conn(sim)
    p = Project(
        key="p1",
        name="Apollo",
        currency="USD",
        start_date=date(2026, 3, 1),
        source_refs=[SourceRef(system=SRC, tenant="acme", id="p1")],
    )
    ek, wk = _keys(p)
    assert conn.upsert(p, entity_key=ek, write_key=wk, refs={}).outcome.value == "created"
    moved = p.model_copy(update={"name": "Apollo II", "start_date": date(2026, 4, 1)})
    assert conn.upsert(moved, entity_key=ek, write_key=wk, refs={}).outcome.value == "updated"
    row = sim.rows_with_entity_key("Project", ek.canonical)[0]["data"]
    assert row["msdyn_subject"] == "Apollo II"
    assert row["msdyn_scheduledstart"] == "2026-03-01"


def test_approved_time_entries_raise_posted_record_error_and_stay() -> None:
    sim = _sim()
    conn = _conn(sim)
    refs = _refs(conn)
    entry = _entry(2, task=None)
    ek, wk = _keys(entry)
    conn.upsert(entry, entity_key=ek, write_key=wk, refs=refs)
    sim.admin.post("msdyn_timeentry", str(ek.uuid5()))
    with pytest.raises(PostedRecordError):
        conn.upsert(_entry(2, minutes=5, task=None), entity_key=ek, write_key=wk, refs=refs)
    with pytest.raises(PostedRecordError):
        conn.delete(TimeEntry, entity_key=ek, write_key=wk)
    assert sim.rows_with_entity_key("TimeEntry", ek.canonical)[0]["data"]["msdyn_duration"] == 60


def test_alternate_key_mode_addresses_rows_by_a_tenant_key() -> None:
    column = "contoso_erpsakey"
    sim = _sim(
        alternate_keys={"account": {"erpsakey": ((column,), True)}},
        custom_columns={"account": (column,)},
    )
    conn = _conn(sim, alternate_keys={"Customer": column})
    c = Customer(
        key="c1",
        name="Alt Co",
        currency="EUR",
        source_refs=[SourceRef(system=SRC, tenant="acme", id="c1")],
    )
    ek, wk = _keys(c)
    first = conn.upsert(c, entity_key=ek, write_key=wk, refs={})
    second = conn.upsert(
        c.model_copy(update={"name": "Alt Co 2"}), entity_key=ek, write_key=wk, refs={}
    )
    assert (first.outcome.value, second.outcome.value) == ("created", "updated")
    found = conn.lookup(Customer, entity_key=ek)
    assert found is not None
    assert found.id == first.ref.id  # type: ignore[union-attr]
    rows = [r for r in sim.admin.rows("account") if r["data"].get(column) == ek.canonical]
    assert len(rows) == 1
    assert conn.delete(Customer, entity_key=ek, write_key=wk).outcome.value == "deleted"
    assert conn.delete(Customer, entity_key=ek, write_key=wk).outcome.value == "not_found"
    pending = _sim(
        alternate_keys={"account": {"erpsakey": ((column,), False)}},
        custom_columns={"account": (column,)},
    )
    with pytest.raises(Exception, match="not active"):
        _conn(pending, alternate_keys={"Customer": column}).upsert(
            c, entity_key=ek, write_key=wk, refs={}
        )


def test_extensions_travel_in_publisher_prefixed_columns() -> None:
    sim = _sim(custom_columns={"account": ("contoso_tier",)})
    conn = _conn(sim, extensions={"Customer": {"tier": "contoso_tier"}})
    c = Customer(
        key="c2",
        name="Ext Co",
        currency="USD",
        extensions={"tier": 3},
        source_refs=[SourceRef(system=SRC, tenant="acme", id="c2")],
    )
    ek, wk = _keys(c)
    conn.upsert(c, entity_key=ek, write_key=wk, refs={})
    assert sim.rows_with_entity_key("Customer", ek.canonical)[0]["data"]["contoso_tier"] == 3
    sim.clock.advance(6)  # type: ignore[attr-defined]  # past the default 5 s read lag
    read = [x for x in conn.read(Customer) if isinstance(x, Customer) and x.name == "Ext Co"]
    assert read[0].extensions == {"tier": 3}


def test_validate_reports_problems_before_sending() -> None:
    sim = _sim()
    conn = _conn(sim)
    entry = _entry(3)
    problems = conn.validate(entry, refs={})
    assert {p.field for p in problems} >= {"resource_key", "project_key"}
    ghost: Mapping[str, SourceRef] = {
        **_refs(conn),
        "project_key": SourceRef(
            system="dynamics365", tenant="x", id="00000000-0000-0000-0000-00000000abcd"
        ),
    }
    assert [p.field for p in conn.validate(entry, refs=ghost)] == ["project_key"]
    assert conn.validate(entry, refs=_refs(conn)) == []
    yen = Customer(
        key="y",
        name="Yen Co",
        currency="CHF",
        source_refs=[SourceRef(system=SRC, tenant="acme", id="y")],
    )
    assert [p.code for p in conn.validate(yen, refs={})] == ["invalid_value"]
    assert [
        p.code for p in conn.validate(ProjectTask(key="t", project_key="p", name="T"), refs={})
    ] == ["unsupported_type"]


def test_money_is_sent_quantized_with_the_declared_rounding() -> None:
    from erpsa_sdk.models import Expense

    sim = _sim()
    conn = _conn(sim)
    e = Expense(
        key="e1",
        resource_key="r",
        project_key="p",
        expense_date=date(2026, 4, 7),
        category="Meals",
        amount=Money("12.345", "USD"),
        source_refs=[SourceRef(system=SRC, tenant="acme", id="e1")],
    )
    ek, wk = _keys(e)
    conn.upsert(e, entity_key=ek, write_key=wk, refs=_refs(conn))
    row = sim.rows_with_entity_key("Expense", ek.canonical)[0]["data"]
    assert row["msdyn_amount"] == 12.35
    cats = {r["id"]: r["data"]["msdyn_name"] for r in sim.admin.rows("msdyn_expensecategory")}
    assert cats[row["_msdyn_expensecategory_value"]] == "Meals"


def test_an_expense_written_without_a_status_reads_back_as_draft_not_rejected() -> None:
    from erpsa_sdk.models import Expense, ExpenseStatus, Rejected

    sim = _sim()
    conn = _conn(sim)
    e = Expense(
        key="e2",
        resource_key="r",
        project_key="p",
        expense_date=date(2026, 4, 7),
        category="Meals",
        amount=Money("309.14", "GBP"),
        source_refs=[SourceRef(system=SRC, tenant="acme", id="e2")],
    )
    ek, wk = _keys(e)
    conn.upsert(e, entity_key=ek, write_key=wk, refs=_refs(conn))
    assert sim.rows_with_entity_key("Expense", ek.canonical)[0]["data"]["msdyn_expensestatus"]
    sim.clock.advance(60)  # past the read lag
    read = list(conn.read(Expense))
    assert not [o for o in read if isinstance(o, Rejected)]
    mine = [o for o in read if o.amount == Money("309.14", "GBP")]
    assert len(mine) == 1
    assert mine[0].status is ExpenseStatus.DRAFT


def test_the_connector_governs_by_its_share_of_the_environment_user_limits() -> None:
    sim = _sim(requests=10, window=10)
    conn = _conn(sim, requests_per_window=10, window_seconds=10, share=0.5)
    assert {lim.scope.value for lim in conn.capabilities.limits} == {"environment_user"}
    start = sim.clock.monotonic()
    for i in range(12):
        conn.lookup(Customer, entity_key=EntityKey.parse(f"ek1:d:s:t:customer:{i}"))
    assert sim.stats.limit_violations == 0
    assert sim.clock.monotonic() - start >= 20  # 5 requests per 10 s: the configured share


def test_no_secret_reaches_logs_reprs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    from erpsa_sdk.http import assert_no_secrets

    sim = _sim()
    pem, cert, public = _certificate()
    sim.register_certificate(sim.client_id, public, certificate_thumbprint_s256(cert))
    secrets = [sim.client_secret, pem.split("\n")[1], sim.api_token]
    caplog.set_level("DEBUG")
    with_secret = _conn(
        sim,
        entra_tenant=sim.config.entra_tenant,
        client_id=sim.client_id,
        client_secret=sim.client_secret,
    )
    with_cert = _conn(
        sim,
        entra_tenant=sim.config.entra_tenant,
        client_id=sim.client_id,
        private_key=pem,
        certificate=cert,
    )
    texts = [repr(with_secret.settings), repr(with_cert.settings), repr(with_secret.client)]
    for conn in (with_secret, with_cert):
        conn.match(Resource, email="ada@contoso.example")
        entry = _entry(5, task=None)
        ek, wk = _keys(entry)
        conn.upsert(entry, entity_key=ek, write_key=wk, refs=_refs(conn))
    sim.set_faults(FaultPlan.always("server_error"))
    try:
        with_secret.match(Resource, email="ada@contoso.example")
    except Exception as exc:  # the error text itself is checked below
        texts.append(f"{exc!r} {exc}")
    finally:
        sim.set_faults(None)
    texts.extend(r.getMessage() for r in caplog.records)
    for text in texts:
        assert_no_secrets(text, secrets)


def test_bulk_upserts_keep_their_order_and_one_row_per_key() -> None:
    from erpsa_sdk.connector import WriteRequest
    from erpsa_sdk.errors import ValidationFailed

    sim = _sim()
    conn = _conn(sim)
    refs = _refs(conn)
    sim.set_faults(FaultPlan.writes(seed=4, commit_then_drop=0.1))
    requests = []
    for i in range(40):
        entry = _entry(i, task=None)
        ek, wk = _keys(entry)
        requests.append(
            WriteRequest(obj=entry, entity_key=ek, write_key=wk, refs={} if i == 7 else refs)
        )
    results = conn.upsert_many(requests)
    sim.set_faults(None)
    assert isinstance(results[7], ValidationFailed)
    assert all(
        r.entity_key == q.entity_key
        for r, q in zip(results, requests, strict=True)
        if not isinstance(r, ValidationFailed)
    )
    for i, req in enumerate(requests):
        rows = sim.rows_with_entity_key("TimeEntry", req.entity_key.canonical)
        assert len(rows) == (0 if i == 7 else 1)


@pytest.mark.parametrize(
    "values",
    [
        {"token": "t"},  # no environment
        {
            "environment": "contoso",
            "token": "t",
            "client_secret": "s",
            "entra_tenant": "e",
            "client_id": "c",
        },  # two credentials
        {"environment": "contoso", "client_secret": "s"},  # Entra without tenant / client
        {"environment": "contoso", "entra_tenant": "e", "client_id": "c", "private_key": "k"},
        {"environment": "contoso", "token": "t", "page_size": 6000},
    ],
)
def test_bad_settings_are_refused_without_echoing_secrets(values: dict[str, Any]) -> None:
    from erpsa_sdk.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as exc:
        connector.create(values)
    assert "'s'" not in str(exc.value)
    assert "'k'" not in str(exc.value)


def test_settings_from_the_environment() -> None:
    from erpsa_dynamics365 import Dynamics365Settings

    s = Dynamics365Settings.from_env(
        environ={
            "ERPSA_DYNAMICS365_ENVIRONMENT": "fabrikam",
            "ERPSA_DYNAMICS365_REGION": "crm4",
            "ERPSA_DYNAMICS365_ENTRA_TENANT": "t",
            "ERPSA_DYNAMICS365_CLIENT_ID": "c",
            "ERPSA_DYNAMICS365_CLIENT_SECRET": "s3cr3t",
            "ERPSA_DYNAMICS365_SHARE": "0.25",
            "ERPSA_DYNAMICS365_EXTENSIONS": '{"Customer": {"tier": "fab_tier"}}',
        }
    )
    assert s.scope == "https://fabrikam.crm4.dynamics.com/.default"
    assert s.share == 0.25
    assert s.extensions == {"Customer": {"tier": "fab_tier"}}
    assert "s3cr3t" not in repr(s)


def test_validate_looks_up_each_reference_once_per_run() -> None:
    from erpsa_sdk.sync.deadletters import lookup_scope

    sim = _sim()
    gets: list[str] = []

    def counting(request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET" and "(" in request.url.path:  # a row by id
            gets.append(request.url.path)
        return sim(request)

    conn = connector.create(
        {"environment_url": sim.environment_url, "token": sim.api_token},
        transport=httpx2.MockTransport(counting),
        clock=sim.clock,
    )
    refs = _refs(conn)
    ghost = {
        **refs,
        "project_key": SourceRef(
            system="dynamics365", tenant="x", id="00000000-0000-0000-0000-00000000abcd"
        ),
    }
    gets.clear()
    with lookup_scope():  # what the runner opens around a run's validate() calls
        assert all(conn.validate(_entry(i, task=None), refs=refs) == [] for i in range(5))
        assert len(gets) == 2  # the resource and the project, once each
        # A missing row is not remembered: it is asked again (it may be written later on).
        for i in range(2):
            problems = conn.validate(_entry(i, task=None), refs=ghost)
            assert [p.field for p in problems] == ["project_key"]
        assert len(gets) == 4
    gets.clear()
    assert conn.validate(_entry(9, task=None), refs=refs) == []  # outside a run: asked again
    assert len(gets) == 2


@pytest.mark.parametrize(("settings", "found"), [({}, True), ({"lag_seconds": 0}, False)])
def test_a_row_committed_late_is_read_by_the_next_run_under_the_default_lag(
    settings: dict[str, Any], found: bool
) -> None:
    sim = _sim()
    conn = _conn(sim, **settings)
    now = sim.clock.now()
    sim.admin.insert("account", {"name": "On Time Ltd"}, at=now - timedelta(seconds=1))
    first = conn.read(Customer)
    assert list(first)
    # Committed only now, this row carries a time before On Time Ltd's.
    sim.admin.insert("account", {"name": "Late Commit Ltd"}, at=now - timedelta(seconds=2))
    sim.clock.advance(60)
    names = [c.name for c in conn.read(Customer, since=first.cursor)]
    # With no lag the first walk passed On Time Ltd, so the late row is behind the cursor for
    # good; 5 s behind now, the first walk stopped before both.
    assert ("Late Commit Ltd" in names) is found
    assert ("On Time Ltd" in names) is found
