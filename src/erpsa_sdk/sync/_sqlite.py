"""The embedded default state store: one SQLite file in WAL mode.

Examples:
    >>> from erpsa_sdk.sync import SQLiteStateStore
    >>> store = SQLiteStateStore(":memory:")
    >>> store.acquire_lease("p", holder="me", ttl=30).fence
    1
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from erpsa_sdk.clock import Clock
from erpsa_sdk.sync._sql import DEFAULT_MAX_CHECKPOINT_BYTES, SqlStateStore
from erpsa_sdk.sync._sqltx import _Dialect

__all__ = ["SQLiteStateStore"]

_SQLITE = _Dialect(
    placeholder="?",
    serial="INTEGER PRIMARY KEY AUTOINCREMENT",
    real="REAL",
    # IMMEDIATE takes the write lock up front, so two processes on one file queue on the busy
    # timeout instead of failing a read-to-write upgrade half-way through a transaction.
    begin_write="BEGIN IMMEDIATE",
    lock_share="",
    lock_update="",
)


class SQLiteStateStore(SqlStateStore):
    """State in one SQLite file (WAL, ``synchronous=NORMAL``), safe for several processes.

    WAL with ``synchronous=NORMAL`` survives a process crash (SIGKILL) with every committed
    transaction; a power loss may drop the newest transactions, never an older one, and since
    a checkpoint always commits after the ledger rows it depends on, any surviving prefix is
    consistent. Processes sharing the file wait for each other up to ``busy_timeout`` seconds.

    Parameters:
        path: the database file (created with its folder), or ``":memory:"`` for tests.
        table_prefix: prefix for every table, to share a file with other data.
        clock: time for lease expiry and timestamps.
        busy_timeout: seconds to wait for another process's write transaction.

    Examples:
        >>> store = SQLiteStateStore(":memory:", table_prefix="erpsa_")
        >>> store.schema_version()
        3
        >>> store.close()
    """

    _dialect = _SQLITE

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        table_prefix: str = "",
        clock: Clock | None = None,
        busy_timeout: float = 30.0,
        max_checkpoint_bytes: int = DEFAULT_MAX_CHECKPOINT_BYTES,
    ) -> None:
        self._path = str(path)
        self._busy_timeout = busy_timeout
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(
            table_prefix=table_prefix, clock=clock, max_checkpoint_bytes=max_checkpoint_bytes
        )
        self._migrate()

    def _connect(self) -> Any:
        conn = sqlite3.connect(
            self._path,
            timeout=self._busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        if self._path != ":memory:":
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def __repr__(self) -> str:
        return f"SQLiteStateStore({self._path!r})"
