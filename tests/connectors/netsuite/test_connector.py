"""The connector against its simulator: tenant custom fields, periods, errors, settings."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx2
import pytest

from erpsa_netsuite import NetSuiteConnector, NetSuiteSettings, connector
from erpsa_netsuite.simulator import CustomField, NetSuiteSimulator, SimConfig
from erpsa_sdk.clock import SimClock
from erpsa_sdk.errors import (
    AuthError,
    ConfigurationError,
    ErpsaError,
    PostedRecordError,
    ValidationFailed,
)
from erpsa_sdk.models import (
    Customer,
    EntityKey,
    Invoice,
    LegalEntity,
    Project,
    Resource,
    SourceRef,
    TimeEntry,
    WriteKey,
)

WORKSTREAM = {"TimeEntry": {"custcol_workstream": "workstream"}}


def _conn(sim: NetSuiteSimulator, clock: SimClock, **extra: Any) -> NetSuiteConnector:
    settings = {
        "account_id": sim.tenant,
        "max_concurrency": 2,
        "token": sim.api_token,
        "lag_seconds": 0,
        **extra,
    }
    conn = connector.create(settings, transport=httpx2.MockTransport(sim), clock=clock)
    assert isinstance(conn, NetSuiteConnector)
    return conn


def _entry(
    index: int, extensions: dict[str, Any] | None = None, day: date | None = None
) -> TimeEntry:
    return TimeEntry(
        key=str(index),
        resource_key="r",
        project_key="p",
        work_date=day or date(2026, 3, 2),
        duration_minutes=95,
        description=f"entry {index}",
        status="approved",
        extensions=extensions or {},
        source_refs=[SourceRef(system="psa", tenant="acme", id=str(index))],
    )


def _keys(entry: TimeEntry, version: str = "1") -> tuple[EntityKey, WriteKey]:
    ek = entry.entity_key("acme-prod")
    return ek, WriteKey(entity_key=ek, version=version, operation="upsert")


@pytest.fixture
def workstream_tenant() -> tuple[NetSuiteSimulator, SimClock, NetSuiteConnector]:
    clock = SimClock(autojump=True)
    config = SimConfig(
        custom_fields={"timebill": {"custcol_workstream": CustomField(kind="str", required=True)}}
    )
    sim = NetSuiteSimulator(seed=1, clock=clock, config=config)
    conn = _conn(
        sim,
        clock,
        custom_fields=WORKSTREAM,
        required_custom_fields={"TimeEntry": ["custcol_workstream"]},
    )
    return sim, clock, conn


def _refs(conn: NetSuiteConnector) -> dict[str, SourceRef]:
    return {
        "resource_key": conn.match(Resource, email="ada.lovelace@example.com")[0],
        "project_key": conn.match(Project, code="PRJ1000")[0],
    }


def test_required_custom_field_fails_validate_before_any_request(
    workstream_tenant: tuple[NetSuiteSimulator, SimClock, NetSuiteConnector],
) -> None:
    sim, _, conn = workstream_tenant
    refs = _refs(conn)
    before = sim.stats.requests
    problems = conn.validate(_entry(1), refs=refs)
    assert [p.code for p in problems] == ["field_required"]
    assert problems[0].field == "extensions.workstream"
    # Only the period look-up was sent, no write.
    assert sim.stats.by_route["POST /services/rest/query/v1/suiteql"] >= 1
    assert sim.stats.requests - before == 1


def test_with_the_custom_field_the_write_lands_and_reads_back(
    workstream_tenant: tuple[NetSuiteSimulator, SimClock, NetSuiteConnector],
) -> None:
    sim, clock, conn = workstream_tenant
    refs = _refs(conn)
    entry = _entry(2, {"workstream": "Data platform"})
    assert conn.validate(entry, refs=refs) == []
    ek, wk = _keys(entry)
    result = conn.upsert(entry, entity_key=ek, write_key=wk, refs=refs)
    rows = sim.rows_with_entity_key("TimeEntry", str(ek))
    assert len(rows) == 1
    assert rows[0]["data"]["custcol_workstream"] == "Data platform"
    assert result.ref is not None
    assert result.ref.id == str(rows[0]["id"])
    clock.advance(2)
    back = [e for e in conn.read(TimeEntry) if getattr(e, "key", None) == result.ref.id]
    assert back[0].extensions == {"workstream": "Data platform"}
    assert back[0].duration_minutes == 95


def test_the_vendor_refuses_what_validate_would_have_caught(
    workstream_tenant: tuple[NetSuiteSimulator, SimClock, NetSuiteConnector],
) -> None:
    _, _, conn = workstream_tenant
    entry = _entry(3)
    ek, wk = _keys(entry)
    with pytest.raises(ValidationFailed) as caught:
        conn.upsert(entry, entity_key=ek, write_key=wk, refs=_refs(conn))
    assert caught.value.vendor_code == "USER_ERROR"
    assert "custcol_workstream" in str(caught.value)


def test_closed_period_fails_validate_and_the_write() -> None:
    clock = SimClock(autojump=True)
    sim = NetSuiteSimulator(seed=1, clock=clock)
    conn = _conn(sim, clock)
    refs = _refs(conn)
    entry = _entry(4, day=date(2026, 5, 12))
    assert conn.validate(entry, refs=refs) == []
    sim.set_period(date(2026, 5, 1), "closed")
    problems = conn.validate(entry, refs=refs)
    assert [p.code for p in problems] == ["period_closed"]
    assert "May 2026" in problems[0].message
    ek, wk = _keys(entry)
    with pytest.raises(ValidationFailed) as caught:
        conn.upsert(entry, entity_key=ek, write_key=wk, refs=refs)
    assert caught.value.vendor_code == "ACCOUNTING_PERIOD_CLOSED"


def test_a_locked_ledger_only_blocks_its_own_records() -> None:
    clock = SimClock(autojump=True)
    sim = NetSuiteSimulator(seed=1, clock=clock)
    conn = _conn(sim, clock)
    sim.set_period(date(2026, 6, 1), "ar_locked")  # receivables only: time is still open
    assert conn.validate(_entry(5, day=date(2026, 6, 3)), refs=_refs(conn)) == []
    sim.set_period(date(2026, 6, 1), "all_locked")
    assert [p.code for p in conn.validate(_entry(5, day=date(2026, 6, 3)), refs=_refs(conn))] == [
        "period_closed"
    ]


def test_an_entry_already_in_a_closed_period_is_a_posted_record() -> None:
    clock = SimClock(autojump=True)
    sim = NetSuiteSimulator(seed=1, clock=clock)
    conn = _conn(sim, clock)
    refs = _refs(conn)
    entry = _entry(6, day=date(2026, 7, 1))
    ek, wk = _keys(entry)
    conn.upsert(entry, entity_key=ek, write_key=wk, refs=refs)
    sim.set_period(date(2026, 7, 1), "closed")
    with pytest.raises(PostedRecordError):
        conn.upsert(_entry(6, day=date(2026, 7, 1)), entity_key=ek, write_key=wk, refs=refs)
    with pytest.raises(PostedRecordError):
        conn.delete(TimeEntry, entity_key=ek, write_key=wk)


def test_missing_references_are_problems() -> None:
    clock = SimClock(autojump=True)
    sim = NetSuiteSimulator(seed=1, clock=clock)
    conn = _conn(sim, clock)
    problems = conn.validate(_entry(7), refs={})
    assert sorted(p.field or "" for p in problems) == ["project_key", "resource_key"]
    assert (
        conn.validate(
            Invoice.model_validate(
                {
                    "key": "i",
                    "customer_key": "c",
                    "currency": "USD",
                    "invoice_date": "2026-01-02",
                    "subtotal": {"amount": "1", "currency": "USD"},
                    "tax_total": {"amount": "0", "currency": "USD"},
                    "discount_total": {"amount": "0", "currency": "USD"},
                    "total": {"amount": "1", "currency": "USD"},
                }
            ),
            refs={},
        )[0].code
        == "unsupported_type"
    )


def test_match_by_natural_keys_and_refuses_undeclared_ones() -> None:
    clock = SimClock(autojump=True)
    sim = NetSuiteSimulator(seed=1, clock=clock)
    conn = _conn(sim, clock)
    assert [r.id for r in conn.match(LegalEntity, name="Acme DE")] == ["3"]
    assert conn.match(LegalEntity, name="Nowhere Ltd") == []
    with pytest.raises(ConfigurationError):
        conn.match(LegalEntity, country="DE")


def test_health_reports_a_revoked_token_without_raising() -> None:
    clock = SimClock(autojump=True)
    sim = NetSuiteSimulator(seed=1, clock=clock)
    conn = _conn(sim, clock)
    assert conn.health().ok
    sim.api_token += "-revoked"
    health = conn.health()
    assert not health.ok
    assert "AuthError" in health.message


def test_settings_need_exactly_one_credential_and_a_concurrency_share() -> None:
    with pytest.raises(ConfigurationError, match="max_concurrency"):
        NetSuiteSettings.load(environ={}, account_id="1", token="t")
    with pytest.raises(ConfigurationError):
        NetSuiteSettings.load(environ={}, account_id="1", max_concurrency=1)
    with pytest.raises(ConfigurationError):
        NetSuiteSettings.load(
            environ={}, account_id="1", max_concurrency=1, token="t", consumer_key="ck"
        )
    env = {
        "ERPSA_NETSUITE_ACCOUNT_ID": "1234567_SB1",
        "ERPSA_NETSUITE_MAX_CONCURRENCY": "3",
        "ERPSA_NETSUITE_TOKEN": "secret-token",
    }
    settings = NetSuiteSettings.from_env(environ=env)
    assert settings.max_concurrency == 3
    assert "secret-token" not in repr(settings)


def test_capabilities_carry_this_integrations_share() -> None:
    clock = SimClock(autojump=True)
    sim = NetSuiteSimulator(seed=1, clock=clock)
    conn = _conn(sim, clock)
    (limit,) = conn.capabilities.limits
    assert limit.scope.value == "account"
    assert conn.capabilities.rounding_mode == "ROUND_HALF_UP"


@pytest.mark.parametrize("method", ["m2m", "tba"])
def test_the_connector_authenticates_with_m2m_and_tba(method: str) -> None:
    clock = SimClock(autojump=True)
    sim = NetSuiteSimulator(seed=4, clock=clock)
    creds = sim.credentials(sim.base_url)
    if method == "m2m":
        m2m = creds["m2m"]
        auth = {
            "client_id": m2m["client_id"],
            "certificate_id": m2m["certificate_id"],
            "private_key": m2m["private_key_pem"],
            "algorithm": "ES256",
        }
    else:
        tba = creds["tba"]
        auth = {k: tba[k] for k in ("consumer_key", "consumer_secret", "token_id", "token_secret")}
    settings = NetSuiteSettings(account_id=sim.tenant, max_concurrency=2, lag_seconds=0, **auth)
    assert "BEGIN PRIVATE KEY" not in repr(settings)
    conn = connector.create(settings, transport=httpx2.MockTransport(sim), clock=clock)
    assert conn.health().ok
    assert [le.name for le in conn.read(LegalEntity)][:1] == ["Parent Company"]
    refused = [k for k in sim.stats.by_route if k.startswith(("auth refused", "token refused"))]
    assert refused == []


def _overloaded(max_concurrency: int, busy_until: float) -> tuple[NetSuiteSimulator, Any]:
    clock = SimClock(autojump=True)
    sim = NetSuiteSimulator(seed=1, clock=clock, config=SimConfig(invalid_login_on_overload=True))
    start = clock.monotonic()
    sim.set_background_load(lambda t: 5 if t - start < busy_until else 0)
    conn = _conn(sim, clock, max_concurrency=max_concurrency)
    return sim, conn


def test_invalid_login_at_the_concurrency_limit_is_throttling_at_most_twice() -> None:
    sim, conn = _overloaded(max_concurrency=1, busy_until=1e9)
    before = sim.stats.requests
    with pytest.raises(AuthError):
        conn.lookup(TimeEntry, entity_key=EntityKey.parse("ek1:a:psa:t:time_entry:1"))
    assert sim.stats.requests - before == 3  # two throttles, then the 401 stands


def test_invalid_login_that_clears_is_retried_as_a_throttle() -> None:
    _sim, conn = _overloaded(max_concurrency=1, busy_until=0.001)
    assert conn.lookup(TimeEntry, entity_key=EntityKey.parse("ek1:a:psa:t:time_entry:1")) is None


def test_invalid_login_below_the_limit_is_an_auth_error_at_once() -> None:
    sim, conn = _overloaded(max_concurrency=5, busy_until=1e9)
    before = sim.stats.requests
    with pytest.raises(AuthError):
        conn.lookup(TimeEntry, entity_key=EntityKey.parse("ek1:a:psa:t:time_entry:1"))
    assert sim.stats.requests - before == 1


def test_a_customer_needs_a_subsidiary_or_the_configured_default() -> None:
    clock = SimClock(autojump=True)
    sim = NetSuiteSimulator(seed=1, clock=clock)
    customer = Customer(
        key="c9",
        name="Umbrella",
        currency="EUR",
        source_refs=[SourceRef(system="psa", tenant="acme", id="c9")],
    )
    ek = customer.entity_key("acme-prod")
    wk = WriteKey(entity_key=ek, version="1", operation="upsert")
    plain = _conn(sim, clock)
    assert [p.field for p in plain.validate(customer, refs={})] == ["legal_entity_key"]
    with pytest.raises(ValidationFailed):
        plain.upsert(customer, entity_key=ek, write_key=wk, refs={})
    defaulted = _conn(sim, clock, default_subsidiary="3")
    assert defaulted.validate(customer, refs={}) == []
    defaulted.upsert(customer, entity_key=ek, write_key=wk, refs={})
    (row,) = sim.rows_with_entity_key("Customer", str(ek))
    assert row["data"]["subsidiary"] == 3
    assert row["data"]["currency"] == 2  # EUR in the account's currency list


def test_a_value_cleared_at_the_source_is_cleared_at_the_target() -> None:
    clock = SimClock(autojump=True)
    config = SimConfig(custom_fields={"timebill": {"custcol_workstream": CustomField()}})
    sim = NetSuiteSimulator(seed=1, clock=clock, config=config)
    conn = _conn(sim, clock, custom_fields=WORKSTREAM)
    refs = _refs(conn)
    first = _entry(11, {"workstream": "Data"})
    ek, wk = _keys(first)
    conn.upsert(first, entity_key=ek, write_key=wk, refs=refs)
    cleared = TimeEntry.model_validate(
        {**first.model_dump(), "description": None, "extensions": {}, "warnings": ()}
    )
    conn.upsert(cleared, entity_key=ek, write_key=_keys(first, "2")[1], refs=refs)
    (row,) = sim.rows_with_entity_key("TimeEntry", str(ek))
    assert row["data"]["custcol_workstream"] is None
    assert row["data"]["memo"] is None


def test_processes_share_the_budget_through_redis(redis_url: str) -> None:
    import uuid

    from erpsa_sdk.errors import RateLimited

    account = f"T{uuid.uuid4().hex[:10].upper()}"
    settings = {"account_id": account, "max_concurrency": 1, "token": "t",
                "limits_redis_url": redis_url}  # fmt: skip
    first = connector.create(settings)
    second = connector.create(settings)
    assert isinstance(first, NetSuiteConnector)
    assert isinstance(second, NetSuiteConnector)
    permit = first.governor.acquire()
    try:
        with pytest.raises(RateLimited):
            second.governor.acquire(wait=False)
    finally:
        first.governor.release(permit, throttled=False, retry_after=None)
    second.governor.release(second.governor.acquire(), throttled=False, retry_after=None)


@pytest.mark.parametrize("method", ["m2m", "tba"])
def test_no_secret_reaches_logs_reprs_or_errors(
    method: str, caplog: pytest.LogCaptureFixture
) -> None:
    from erpsa_sdk.http import assert_no_secrets
    from erpsa_sdk.testing import FaultPlan

    clock = SimClock(autojump=True)
    sim = NetSuiteSimulator(seed=4, clock=clock)
    creds = sim.credentials(sim.base_url)
    m2m, tba = creds["m2m"], creds["tba"]
    key_line = m2m["private_key_pem"].splitlines()[1]
    secrets = [key_line, tba["consumer_secret"], tba["token_secret"], sim.api_token]
    if method == "m2m":
        auth = {
            "client_id": m2m["client_id"],
            "certificate_id": m2m["certificate_id"],
            "private_key": m2m["private_key_pem"],
            "algorithm": "ES256",
        }
    else:
        auth = {k: tba[k] for k in ("consumer_key", "consumer_secret", "token_id", "token_secret")}
    caplog.set_level("DEBUG")
    settings = NetSuiteSettings(account_id=sim.tenant, max_concurrency=2, lag_seconds=0, **auth)
    conn = connector.create(settings, transport=httpx2.MockTransport(sim), clock=clock)
    texts = [repr(settings), str(settings.model_dump()), repr(conn), repr(conn.client)]
    entry = _entry(1)
    ek, wk = _keys(entry)
    conn.upsert(entry, entity_key=ek, write_key=wk, refs=_refs(conn))
    assert list(conn.read(LegalEntity))
    sim.set_faults(FaultPlan.always("server_error"))
    try:
        with pytest.raises(ErpsaError) as server:
            conn.lookup(TimeEntry, entity_key=ek)
        texts.append(f"{server.value!r} {server.value}")
    finally:
        sim.set_faults(None)
    # A refused credential: the error says so without echoing it.
    wrong = dict(auth)
    if method == "m2m":
        wrong["certificate_id"] = "not-the-certificate"
    else:
        wrong["token_secret"] = "0" * len(tba["token_secret"])
    refused = connector.create(
        NetSuiteSettings(account_id=sim.tenant, max_concurrency=2, lag_seconds=0, **wrong),
        transport=httpx2.MockTransport(sim),
        clock=clock,
    )
    with pytest.raises(ErpsaError) as denied:
        refused.lookup(TimeEntry, entity_key=ek)
    texts.append(f"{denied.value!r} {denied.value} {denied.value.details!r}")
    texts.extend(r.getMessage() for r in caplog.records)
    for text in texts:
        assert_no_secrets(text, secrets)


def test_validate_asks_for_a_period_once_per_run_and_every_time_outside_one() -> None:
    from erpsa_sdk.sync.deadletters import lookup_scope

    clock = SimClock(autojump=True)
    sim = NetSuiteSimulator(seed=1, clock=clock)
    queries: list[str] = []

    def counting(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/suiteql") and b"accountingperiod" in request.content:
            queries.append(request.content.decode())
        return sim(request)

    conn = connector.create(
        {"account_id": sim.tenant, "max_concurrency": 2, "token": sim.api_token},
        transport=httpx2.MockTransport(counting),
        clock=clock,
    )
    refs = _refs(conn)
    entries = [_entry(i, day=date(2026, 5, 12 + i % 2)) for i in range(6)]
    with lookup_scope():  # what the runner opens around a run's validate() calls
        assert all(conn.validate(e, refs=refs) == [] for e in entries)
    assert len(queries) == 2  # one per day, not one per entry
    queries.clear()
    sim.set_period(date(2026, 5, 1), "closed")
    problems = [conn.validate(e, refs=refs) for e in entries]  # outside a run: always asked
    assert len(queries) == 6
    assert {p.code for ps in problems for p in ps} == {"period_closed"}
