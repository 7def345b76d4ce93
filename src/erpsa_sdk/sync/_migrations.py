"""Versioned schema migrations shared by the SQL state stores.

Each migration is a list of statements with ``{table}`` placeholders (qualified per backend)
and ``{serial}`` / ``{real}`` type placeholders. Migrations only ever get appended; a store
refuses a database whose version is newer than the code knows.

Examples:
    >>> from erpsa_sdk.sync._migrations import MIGRATIONS
    >>> MIGRATIONS[0][0]
    1
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "TABLES"]

TABLES = (
    "leases",
    "checkpoints",
    "ledger",
    "ledger_heads",
    "crosswalk",
    "waiting",
    "dead_letters",
    "lineage",
    "runs",
    "tokens",
    "match_index",
)

_V1 = [
    """CREATE TABLE {leases} (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        fence BIGINT NOT NULL,
        expires_at {real} NOT NULL
    )""",
    """CREATE TABLE {checkpoints} (
        pipeline TEXT NOT NULL,
        stream TEXT NOT NULL,
        cursor TEXT,
        generation BIGINT NOT NULL DEFAULT 0,
        complete INTEGER NOT NULL DEFAULT 0,
        fence BIGINT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (pipeline, stream)
    )""",
    """CREATE TABLE {ledger} (
        target TEXT NOT NULL,
        write_key TEXT NOT NULL,
        entity_key TEXT NOT NULL,
        operation TEXT NOT NULL,
        version_us BIGINT NOT NULL,
        version_etag TEXT,
        status TEXT NOT NULL,
        target_id TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        detail TEXT,
        fence BIGINT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (target, write_key)
    )""",
    "CREATE INDEX {prefix}ix_ledger_entity ON {ledger} (target, entity_key)",
    """CREATE TABLE {ledger_heads} (
        target TEXT NOT NULL,
        entity_key TEXT NOT NULL,
        version_us BIGINT NOT NULL,
        version_etag TEXT,
        write_key TEXT NOT NULL,
        target_id TEXT,
        removed INTEGER NOT NULL DEFAULT 0,
        payload TEXT,
        PRIMARY KEY (target, entity_key)
    )""",
    """CREATE TABLE {crosswalk} (
        system TEXT NOT NULL,
        entity_key TEXT NOT NULL,
        object_type TEXT NOT NULL,
        record_id TEXT NOT NULL,
        generation BIGINT NOT NULL DEFAULT 0,
        removed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (system, entity_key)
    )""",
    "CREATE INDEX {prefix}ix_crosswalk_id ON {crosswalk} (system, object_type, record_id)",
    """CREATE TABLE {waiting} (
        pipeline TEXT NOT NULL,
        stream TEXT NOT NULL,
        entity_key TEXT NOT NULL,
        payload TEXT,
        missing TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 1,
        first_seen TEXT NOT NULL,
        PRIMARY KEY (pipeline, stream, entity_key)
    )""",
    """CREATE TABLE {dead_letters} (
        id {serial},
        pipeline TEXT NOT NULL,
        entity_key TEXT NOT NULL,
        write_key TEXT,
        reason TEXT NOT NULL,
        owner TEXT NOT NULL,
        payload TEXT,
        error TEXT,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX {prefix}ix_dead_letters_pipeline ON {dead_letters} (pipeline, id)",
    """CREATE TABLE {lineage} (
        id {serial},
        pipeline TEXT NOT NULL,
        run_id TEXT NOT NULL,
        entity_key TEXT NOT NULL,
        write_key TEXT NOT NULL,
        operation TEXT NOT NULL,
        status TEXT NOT NULL,
        source_id TEXT,
        target_id TEXT,
        correlation_id TEXT,
        at TEXT NOT NULL
    )""",
    "CREATE INDEX {prefix}ix_lineage_entity ON {lineage} (entity_key, id)",
    """CREATE TABLE {runs} (
        run_id TEXT PRIMARY KEY,
        pipeline TEXT NOT NULL,
        holder TEXT NOT NULL,
        status TEXT NOT NULL,
        correlation_id TEXT,
        stats TEXT NOT NULL,
        message TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT
    )""",
    "CREATE INDEX {prefix}ix_runs_pipeline ON {runs} (pipeline, started_at)",
    """CREATE TABLE {tokens} (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        version BIGINT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
]

# v2 (dead-letter domain, erpsa_sdk.sync.deadletters): a dead letter's state, replay attempts
# and when it was last seen; existing rows become open letters with one attempt.
_V2 = [
    "ALTER TABLE {dead_letters} ADD COLUMN status TEXT NOT NULL DEFAULT 'open'",
    "ALTER TABLE {dead_letters} ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1",
    "ALTER TABLE {dead_letters} ADD COLUMN last_seen TEXT",
    "ALTER TABLE {dead_letters} ADD COLUMN resolved_at TEXT",
    "ALTER TABLE {dead_letters} ADD COLUMN resolution TEXT",
    "CREATE INDEX {prefix}ix_dead_letters_entity ON {dead_letters} (pipeline, entity_key)",
]

# v3 (initial match of reference types): each source record's natural key, so a reference is
# matched from the store instead of holding the whole source in memory during a run.
_V3 = [
    """CREATE TABLE {match_index} (
        system TEXT NOT NULL,
        object_type TEXT NOT NULL,
        record_id TEXT NOT NULL,
        entity_key TEXT NOT NULL,
        natural_key TEXT NOT NULL,
        PRIMARY KEY (system, object_type, record_id)
    )""",
]

MIGRATIONS: list[tuple[int, list[str]]] = [(1, _V1), (2, _V2), (3, _V3)]
