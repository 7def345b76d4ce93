"""PostgresStateStore: the conformance suite on a throw-away schema per test."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from erpsa_sdk.clock import Clock
from erpsa_sdk.errors import ConfigurationError
from erpsa_sdk.sync import PostgresStateStore, StateStore, open_state_store

from .conformance import StateStoreConformance


@pytest.fixture
def pg_schema(postgres_url: str) -> Any:
    schema = f"erpsa_test_{uuid.uuid4().hex[:12]}"
    yield schema
    PostgresStateStore(postgres_url, schema=schema).drop_schema()


class TestPostgresConformance(StateStoreConformance):
    @pytest.fixture
    def make_store(self, postgres_url: str, pg_schema: str) -> Any:
        stores: list[PostgresStateStore] = []

        def make(*, clock: Clock | None = None) -> StateStore:
            store = PostgresStateStore(postgres_url, schema=pg_schema, clock=clock)
            stores.append(store)
            return store

        yield make
        for store in stores:
            store.close()


def test_open_state_store_postgres_url(postgres_url: str, pg_schema: str) -> None:
    store = open_state_store(postgres_url, schema=pg_schema)
    assert isinstance(store, PostgresStateStore)
    assert store.schema_version() == 3
    store.close()


def test_schema_name_is_checked(postgres_url: str) -> None:
    with pytest.raises(ConfigurationError, match="identifier"):
        PostgresStateStore(postgres_url, schema='x"; DROP TABLE y; --')


def test_a_killed_session_is_replaced_transparently(postgres_url: str, pg_schema: str) -> None:
    import psycopg

    store = PostgresStateStore(postgres_url, schema=pg_schema)
    lease = store.acquire_lease("p", holder="a", ttl=30)
    pid = store._connection().info.backend_pid
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    assert store.renew_lease(lease, ttl=30).fence == lease.fence
    store.close()


def test_missing_psycopg_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg -> ImportError
    with pytest.raises(ConfigurationError, match=r"erpsa-sdk\[postgres\]"):
        PostgresStateStore("postgresql://postgres@127.0.0.1/postgres")
