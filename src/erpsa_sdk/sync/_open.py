"""Open a state store from a URL: ``sqlite:///path`` or ``postgresql://...``.

Examples:
    >>> from erpsa_sdk.sync import open_state_store
    >>> open_state_store("sqlite:///:memory:")
    SQLiteStateStore(':memory:')
"""

from __future__ import annotations

from typing import Any

from erpsa_sdk.errors import ConfigurationError
from erpsa_sdk.sync._postgres import PostgresStateStore
from erpsa_sdk.sync._sqlite import SQLiteStateStore
from erpsa_sdk.sync._store import StateStore

__all__ = ["open_state_store"]


def open_state_store(url: str, **options: Any) -> StateStore:
    """Open the state store a URL names.

    ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` and ``sqlite:///:memory:``
    open a :class:`SQLiteStateStore`; ``postgresql://`` or ``postgres://`` a
    :class:`PostgresStateStore`. ``options`` go to the store's constructor.

    Examples:
        >>> open_state_store("redis://localhost")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        erpsa_sdk.errors.ConfigurationError: unsupported state store URL scheme 'redis'; ...
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigurationError(f"a state store URL needs a scheme, got {url!r}")
    if scheme == "sqlite":
        if not rest.startswith("/"):
            raise ConfigurationError("a SQLite URL looks like sqlite:///path/to/state.db")
        return SQLiteStateStore(rest[1:], **options)
    if scheme in {"postgresql", "postgres"}:
        return PostgresStateStore(url, **options)
    raise ConfigurationError(
        f"unsupported state store URL scheme {scheme!r}; use sqlite:/// or postgresql://"
    )
