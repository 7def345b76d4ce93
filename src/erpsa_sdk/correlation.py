"""Correlation ids: one id per logical operation, sent as a header and attached to log records.

The id lives in a :class:`contextvars.ContextVar`, so it follows the code path through threads
started with ``contextvars.copy_context()`` and through asyncio tasks (each task copies the
context it was created in). The HTTP clients send it on every attempt of a request; the
:class:`CorrelationFilter` stamps it on every log record as ``record.correlation_id``.

Example:
    >>> from erpsa_sdk.correlation import correlation_scope, get_correlation_id
    >>> get_correlation_id() is None
    True
    >>> with correlation_scope("run-42") as cid:
    ...     cid, get_correlation_id()
    ('run-42', 'run-42')
    >>> get_correlation_id() is None
    True
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = [
    "CorrelationFilter",
    "correlation_scope",
    "get_correlation_id",
    "new_correlation_id",
    "set_correlation_id",
]

_CORRELATION_ID: ContextVar[str | None] = ContextVar("erpsa_correlation_id", default=None)


def new_correlation_id() -> str:
    """Return a fresh random correlation id (a UUID4 in hex).

    Example:
        >>> len(new_correlation_id())
        32
    """
    return uuid.uuid4().hex


def get_correlation_id() -> str | None:
    """Return the correlation id of the current context, or ``None`` outside any scope.

    Example:
        >>> get_correlation_id() is None
        True
    """
    return _CORRELATION_ID.get()


def set_correlation_id(value: str | None) -> None:
    """Set the correlation id for the rest of the current context.

    Prefer :func:`correlation_scope`, which restores the previous id.

    Example:
        >>> import contextvars
        >>> ctx = contextvars.copy_context()
        >>> ctx.run(set_correlation_id, "abc")
        >>> ctx.run(get_correlation_id)
        'abc'
    """
    _CORRELATION_ID.set(value)


@contextmanager
def correlation_scope(value: str | None = None) -> Iterator[str]:
    """Run a block under a correlation id (a new one when ``value`` is ``None``), then restore.

    Example:
        >>> with correlation_scope() as cid:
        ...     get_correlation_id() == cid
        True
    """
    cid = value if value is not None else new_correlation_id()
    token = _CORRELATION_ID.set(cid)
    try:
        yield cid
    finally:
        _CORRELATION_ID.reset(token)


class CorrelationFilter(logging.Filter):
    """A logging filter that sets ``record.correlation_id`` (``"-"`` outside any scope).

    Attach it to a handler so every record that handler emits carries the id, whichever logger
    produced it; use ``%(correlation_id)s`` in the format string. It never drops a record.

    Example:
        >>> import logging
        >>> record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
        >>> with correlation_scope("c-1"):
        ...     CorrelationFilter().filter(record)
        True
        >>> record.correlation_id
        'c-1'
    """

    def filter(self, record: logging.LogRecord) -> bool:
        # Keep an id set earlier (for example by a runner re-emitting a record).
        if getattr(record, "correlation_id", None) in (None, "-"):
            record.correlation_id = _CORRELATION_ID.get() or "-"
        return True
