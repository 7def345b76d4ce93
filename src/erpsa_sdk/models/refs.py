"""Where a record comes from: :class:`SourceRef`, and :class:`Rejected` for records that fail.

Examples:
    >>> ref = SourceRef(system="kantata", tenant="acme", id="42", version="2026-11-01T10:00:00Z")
    >>> ref.id
    '42'
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Rejected", "SourceRef"]


class SourceRef(BaseModel):
    """A pointer to one record in one system: (system, tenant, id, version).

    ``version`` is the vendor's modified timestamp or ETag when known; ``None`` otherwise.

    Examples:
        >>> SourceRef(system="netsuite", tenant="TSTDRV1", id="1001")
        SourceRef(system='netsuite', tenant='TSTDRV1', id='1001', version=None)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: str = Field(min_length=1)
    tenant: str = Field(min_length=1)
    id: str = Field(min_length=1)
    version: str | None = None


class Rejected(BaseModel):
    """A source record that failed the structural rules: kept, never dropped silently.

    Parsers and pagers yield it in place of the canonical object, with the raw payload and the
    validation errors, so it can become a dead letter and be replayed after a fix.

    Examples:
        >>> bad = Rejected(source_ref=None, raw={"id": 7, "start": "2026-01-01T09:00"},
        ...                errors=[{"loc": ["start"], "msg": "timezone required"}])
        >>> bad.errors[0]["msg"]
        'timezone required'
    """

    model_config = ConfigDict(frozen=True)

    source_ref: SourceRef | None
    raw: Any
    errors: list[dict[str, Any]]
