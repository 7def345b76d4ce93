"""The state store on PostgreSQL (psycopg 3), for several workers or machines.

Examples:
    >>> from erpsa_sdk.sync import PostgresStateStore
    >>> PostgresStateStore.__name__
    'PostgresStateStore'
"""

from __future__ import annotations

import re
from typing import Any

from erpsa_sdk.clock import Clock
from erpsa_sdk.errors import ConfigurationError
from erpsa_sdk.sync._sql import DEFAULT_MAX_CHECKPOINT_BYTES, SqlStateStore
from erpsa_sdk.sync._sqltx import _Dialect, _Tx

__all__ = ["PostgresStateStore"]

_POSTGRES = _Dialect(
    placeholder="%s",
    serial="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    real="DOUBLE PRECISION",
    begin_write="BEGIN",
    # Fenced commits share-lock the lease row, so a takeover (which locks it for update) waits
    # for commits in flight and every later commit sees the new fence.
    lock_share=" FOR SHARE",
    lock_update=" FOR UPDATE",
    arrays=True,
)
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise ConfigurationError(
            "PostgresStateStore needs psycopg 3: pip install 'erpsa-sdk[postgres]'"
        ) from exc
    return psycopg


class PostgresStateStore(SqlStateStore):
    """State in a PostgreSQL schema, shared safely by several workers.

    Sessions set ``idle_in_transaction_session_timeout``: if a worker is frozen (stopped,
    swapped out) inside a transaction, the server ends its session and releases its locks, so
    another worker can take the lease over; the frozen worker's next commit is refused by the
    fence.

    Parameters:
        url: a libpq URL, e.g. ``postgresql://user@host:5432/db``.
        schema: the schema holding the tables (created if missing).
        table_prefix: prefix for every table.
        clock: time for lease expiry and timestamps (workers' clocks must agree, e.g. via NTP).
        idle_in_transaction_timeout: seconds after which the server ends a frozen session.
        lock_timeout: seconds a statement waits for a lock before failing.

    Examples:
        >>> store = PostgresStateStore("postgresql://postgres@127.0.0.1/postgres",
        ...                            schema="erpsa")  # doctest: +SKIP
    """

    _dialect = _POSTGRES
    _pooled = True

    def __init__(
        self,
        url: str,
        *,
        schema: str = "erpsa",
        table_prefix: str = "",
        clock: Clock | None = None,
        idle_in_transaction_timeout: float = 5.0,
        lock_timeout: float = 30.0,
        max_checkpoint_bytes: int = DEFAULT_MAX_CHECKPOINT_BYTES,
    ) -> None:
        if not _IDENT.match(schema):
            raise ConfigurationError(f"schema must be a plain SQL identifier, got {schema!r}")
        self._psycopg = _psycopg()
        self._url = url
        self._schema = schema
        self._idle_ms = int(idle_in_transaction_timeout * 1000)
        self._lock_ms = int(lock_timeout * 1000)
        super().__init__(
            table_prefix=table_prefix, clock=clock, max_checkpoint_bytes=max_checkpoint_bytes
        )
        self._migrate()

    def _qualify(self, table: str) -> str:
        return f'"{self._schema}"."{table}"'

    def _connect(self) -> Any:
        conn = self._psycopg.connect(self._url, autocommit=True)
        conn.execute(f"SET idle_in_transaction_session_timeout = {self._idle_ms}")
        # psycopg prepares a statement run five times; a generic plan of a young table (no
        # statistics yet) may pick the EntityKey index for a write-key look-up and scan
        # every row of the target, so each execution is planned for its own values.
        conn.execute("SET plan_cache_mode = force_custom_plan")
        conn.execute(f"SET lock_timeout = {self._lock_ms}")
        return conn

    def _prepare_migration(self, tx: _Tx) -> None:
        # Two workers starting together must not race on CREATE SCHEMA / CREATE TABLE.
        tx.q("SELECT pg_advisory_xact_lock(hashtext(?))", (f"erpsa_sdk:{self._schema}",))
        tx.x(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')

    def _is_disconnect(self, exc: BaseException, conn: Any) -> bool:
        return isinstance(exc, self._psycopg.OperationalError) and (
            conn is None or bool(conn.closed) or bool(getattr(conn, "broken", False))
        )

    def drop_schema(self) -> None:
        """Drop the whole schema with every table (for tests and decommissioning).

        Examples:
            >>> store.drop_schema()  # doctest: +SKIP
        """
        self._run(lambda tx: tx.x(f'DROP SCHEMA IF EXISTS "{self._schema}" CASCADE'))

    def __repr__(self) -> str:
        return f"PostgresStateStore(schema={self._schema!r})"
