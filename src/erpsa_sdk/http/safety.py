"""Write safety: how a write may be retried, declared per operation by its connector.

The presence of a header decides nothing; the connector states, for each write operation, what
the vendor guarantees.

Example:
    >>> WriteSafety.NATURAL_UPSERT.retryable
    True
    >>> WriteSafety.UNSAFE.retryable
    False
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["WriteSafety"]


class WriteSafety(StrEnum):
    """How a write operation may be retried.

    * ``NATURAL_UPSERT``: the request addresses the record by its EntityKey (``PUT .../eid:K``,
      a PATCH to a UUIDv5 row); repeating it is harmless.
    * ``SERVER_DEDUP``: the vendor documents request de-duplication for exactly this call; the
      same WriteKey is sent on every attempt.
    * ``LOOKUP_THEN_CREATE``: before a retry the record is looked up by its EntityKey.
    * ``UNSAFE``: never retried; a lost response raises ``IndeterminateWrite``.

    Example:
        >>> WriteSafety("lookup_then_create") is WriteSafety.LOOKUP_THEN_CREATE
        True
    """

    NATURAL_UPSERT = "natural_upsert"
    SERVER_DEDUP = "server_dedup"
    LOOKUP_THEN_CREATE = "lookup_then_create"
    UNSAFE = "unsafe"

    @property
    def retryable(self) -> bool:
        """Whether a lost or failed attempt may be sent again (after a look-up if required)."""
        return self is not WriteSafety.UNSAFE
