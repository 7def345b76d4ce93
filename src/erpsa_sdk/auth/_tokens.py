"""Tokens, where they are kept (:class:`TokenStore`) and the in-process cache in front of them."""

from __future__ import annotations

import hmac
import json
import math
import os
import sqlite3
import threading
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

from cachetools import TLRUCache
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from erpsa_sdk.clock import Clock, SystemClock
from erpsa_sdk.errors import ResponseFormatError

__all__ = [
    "InMemoryTokenStore",
    "SqliteTokenStore",
    "StoredToken",
    "TokenCache",
    "TokenKey",
    "TokenSet",
    "TokenStore",
]

# Token-response fields that are secrets or signatures and must not ride along in ``extra``.
_NOT_EXTRA = frozenset(
    {"access_token", "refresh_token", "id_token", "signature", "expires_in", "token_type", "scope"}
)


class TokenKey(NamedTuple):
    """What a token belongs to: the tenant (account, environment) and the credential.

    Examples:
        >>> TokenKey("TSTDRV1", "m2m-client")
        TokenKey(tenant='TSTDRV1', credential_id='m2m-client')
    """

    tenant: str
    credential_id: str


class TokenSet(BaseModel):
    """An access token, its expiry and (when the vendor issues one) its refresh token.

    ``expires_at`` is POSIX seconds; ``None`` means the vendor did not say, so the token is
    used until a 401. Secrets are :class:`~pydantic.SecretStr`, so the repr never shows them.

    Examples:
        >>> token = TokenSet(access_token="abc", expires_at=1000.0, refresh_token="r1")
        >>> token
        TokenSet(access_token=SecretStr('**********'), token_type='Bearer', expires_at=1000.0, refresh_token=SecretStr('**********'), scope=None)
        >>> token.is_fresh(now=900.0, skew=60.0), token.is_fresh(now=950.0, skew=60.0)
        (True, False)
    """  # noqa: E501

    model_config = ConfigDict(frozen=True)

    access_token: SecretStr
    token_type: str = "Bearer"  # noqa: S105 - a scheme name, not a secret
    expires_at: float | None = None
    refresh_token: SecretStr | None = None
    scope: str | None = None
    extra: dict[str, str | int | float | bool | None] = Field(default_factory=dict, repr=False)

    def is_fresh(self, *, now: float, skew: float) -> bool:
        """True while ``now`` is more than ``skew`` seconds before the expiry.

        Examples:
            >>> TokenSet(access_token="a").is_fresh(now=1e12, skew=60)
            True
        """
        if not self.access_token.get_secret_value():
            return False
        return self.expires_at is None or now < self.expires_at - skew

    def same_access_token(self, other: TokenSet | None) -> bool:
        """True when ``other`` carries the same access token (compared in constant time).

        Examples:
            >>> TokenSet(access_token="a").same_access_token(TokenSet(access_token="a"))
            True
        """
        return other is not None and hmac.compare_digest(
            self.access_token.get_secret_value().encode(),
            other.access_token.get_secret_value().encode(),
        )

    def to_storage(self) -> dict[str, Any]:
        """A JSON-able dict WITH the secret values, for :class:`TokenStore` implementations only.

        Examples:
            >>> TokenSet(access_token="a").to_storage()["access_token"]
            'a'
        """
        return {
            "access_token": self.access_token.get_secret_value(),
            "token_type": self.token_type,
            "expires_at": self.expires_at,
            "refresh_token": (
                self.refresh_token.get_secret_value() if self.refresh_token is not None else None
            ),
            "scope": self.scope,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_storage(cls, data: Mapping[str, Any]) -> TokenSet:
        """Rebuild a token saved with :meth:`to_storage`.

        Examples:
            >>> token = TokenSet(access_token="a", refresh_token="r")
            >>> TokenSet.from_storage(token.to_storage()) == token
            True
        """
        return cls.model_validate(dict(data))

    @classmethod
    def from_response(
        cls,
        payload: Mapping[str, Any],
        *,
        now: float,
        previous_refresh_token: SecretStr | None = None,
        default_expires_in: float | None = None,
    ) -> TokenSet:
        """Build a token from an RFC 6749 token response received at ``now``.

        A response without a ``refresh_token`` keeps ``previous_refresh_token`` (the vendor did
        not rotate it).

        Examples:
            >>> payload = {"access_token": "a", "expires_in": 3600}
            >>> TokenSet.from_response(payload, now=100.0).expires_at
            3700.0
        """
        access = payload.get("access_token")
        if not isinstance(access, str) or not access:
            raise ResponseFormatError("token response has no access_token")
        expires_in = payload.get("expires_in", default_expires_in)
        expires_at: float | None
        try:
            expires_at = now + float(expires_in) if expires_in is not None else None
        except (TypeError, ValueError):
            raise ResponseFormatError("token response has a non-numeric expires_in") from None
        refresh = payload.get("refresh_token")
        if refresh is not None and (not isinstance(refresh, str) or not refresh):
            # A rotated refresh token we cannot read must not be dropped silently.
            raise ResponseFormatError("token response has an unreadable refresh_token")
        scope = payload.get("scope")
        if isinstance(scope, list):
            scope = " ".join(str(item) for item in scope)
        elif not isinstance(scope, str):
            scope = None  # informational only; vendors send odd shapes
        token_type = payload.get("token_type")
        if not isinstance(token_type, str) or not token_type:
            token_type = "Bearer"  # noqa: S105 - a scheme name
        return cls(
            access_token=SecretStr(access),
            token_type=token_type,
            expires_at=expires_at,
            refresh_token=SecretStr(refresh)
            if isinstance(refresh, str)
            else previous_refresh_token,
            scope=scope,
            extra={
                k: v
                for k, v in payload.items()
                if k not in _NOT_EXTRA and isinstance(v, str | int | float | bool | type(None))
            },
        )


@dataclass(frozen=True)
class StoredToken:
    """A token as the store holds it, with the version compare-and-swap compares.

    Examples:
        >>> StoredToken(TokenSet(access_token="a"), version=1).version
        1
    """

    token: TokenSet
    version: int


@runtime_checkable
class TokenStore(Protocol):
    """Where tokens live between processes: two methods, keyed by :class:`TokenKey`.

    Implementations must make :meth:`compare_and_swap` atomic (one winner among concurrent
    callers, across threads and, for shared stores, across processes). Versions are opaque
    to callers except that a successful swap returns a version different from the one it
    replaced. Calls are short and happen only when a token is (re)obtained, never per request.

    Examples:
        >>> isinstance(InMemoryTokenStore(), TokenStore)
        True
    """

    def get(self, key: TokenKey) -> StoredToken | None:
        """The current token for ``key``, or ``None``."""
        ...

    def compare_and_swap(
        self, key: TokenKey, expected_version: int | None, token: TokenSet
    ) -> StoredToken | None:
        """Store ``token`` if the current version is ``expected_version`` (``None``: absent).

        Returns the stored token with its new version, or ``None`` when another writer won.
        """
        ...


class InMemoryTokenStore:
    """A process-local :class:`TokenStore` (the default).

    Examples:
        >>> store = InMemoryTokenStore()
        >>> key = TokenKey("t", "c")
        >>> first = store.compare_and_swap(key, None, TokenSet(access_token="a"))
        >>> first.version
        1
        >>> store.compare_and_swap(key, None, TokenSet(access_token="b")) is None
        True
        >>> store.get(key).token.access_token.get_secret_value()
        'a'
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[TokenKey, StoredToken] = {}

    def get(self, key: TokenKey) -> StoredToken | None:
        """The current token for ``key``, or ``None`` (see :class:`TokenStore`)."""
        with self._lock:
            return self._tokens.get(key)

    def compare_and_swap(
        self, key: TokenKey, expected_version: int | None, token: TokenSet
    ) -> StoredToken | None:
        """Atomically store ``token`` if the version still is ``expected_version``."""
        with self._lock:
            current = self._tokens.get(key)
            if (current.version if current else None) != expected_version:
                return None
            stored = StoredToken(token, (current.version if current else 0) + 1)
            self._tokens[key] = stored
            return stored

    def __repr__(self) -> str:
        return f"InMemoryTokenStore(keys={len(self._tokens)})"


class SqliteTokenStore:
    """A :class:`TokenStore` in one SQLite file, safe across threads and processes.

    Tokens are stored in clear text (the process must be able to use them): the file is
    created with mode 0600; keep it where only the service account can read it.

    Examples:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "tokens.db")
        >>> store = SqliteTokenStore(path)
        >>> key = TokenKey("t", "c")
        >>> v1 = store.compare_and_swap(key, None, TokenSet(access_token="a", refresh_token="r"))
        >>> store.compare_and_swap(key, v1.version, TokenSet(access_token="b")).version
        2
        >>> store.get(key).token.access_token.get_secret_value()
        'b'
    """

    _SCHEMA = (
        "CREATE TABLE IF NOT EXISTS erpsa_auth_tokens ("
        " tenant TEXT NOT NULL, credential_id TEXT NOT NULL,"
        " version INTEGER NOT NULL, payload TEXT NOT NULL,"
        " PRIMARY KEY (tenant, credential_id))"
    )

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self._path = Path(path)
        self._timeout = timeout
        if not self._path.exists():
            self._path.touch(mode=0o600)
        with closing(self._connect()) as conn, conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(self._SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        # One connection per call: sqlite3 connections must not cross threads.
        return sqlite3.connect(self._path, timeout=self._timeout, isolation_level=None)

    def get(self, key: TokenKey) -> StoredToken | None:
        """The current token for ``key``, or ``None`` (see :class:`TokenStore`)."""
        with closing(self._connect()) as conn:
            row = conn.execute(
                "SELECT version, payload FROM erpsa_auth_tokens"
                " WHERE tenant = ? AND credential_id = ?",
                (key.tenant, key.credential_id),
            ).fetchone()
        if row is None:
            return None
        return StoredToken(TokenSet.from_storage(json.loads(row[1])), int(row[0]))

    def compare_and_swap(
        self, key: TokenKey, expected_version: int | None, token: TokenSet
    ) -> StoredToken | None:
        """Atomically store ``token`` if the row's version still is ``expected_version``."""
        payload = json.dumps(token.to_storage())
        with closing(self._connect()) as conn:
            if expected_version is None:
                cursor = conn.execute(
                    "INSERT INTO erpsa_auth_tokens (tenant, credential_id, version, payload)"
                    " VALUES (?, ?, 1, ?) ON CONFLICT DO NOTHING",
                    (key.tenant, key.credential_id, payload),
                )
                new_version = 1
            else:
                cursor = conn.execute(
                    "UPDATE erpsa_auth_tokens SET version = version + 1, payload = ?"
                    " WHERE tenant = ? AND credential_id = ? AND version = ?",
                    (payload, key.tenant, key.credential_id, expected_version),
                )
                new_version = expected_version + 1
        return StoredToken(token, new_version) if cursor.rowcount == 1 else None

    def __repr__(self) -> str:
        return f"SqliteTokenStore({str(self._path)!r})"


class TokenCache:
    """In-process token cache in front of a :class:`TokenStore` (cachetools ``TLRUCache``).

    An entry disappears ``skew`` seconds before its token expires, so a token is refreshed
    ahead of expiry instead of being sent stale. Share one cache between flows that share
    credentials; it is safe across threads.

    Examples:
        >>> cache = TokenCache(skew=60.0)
        >>> key = TokenKey("t", "c")
        >>> cache.put(key, TokenSet(access_token="a", expires_at=cache.clock.time() + 3600))
        >>> cache.get(key) is not None
        True
        >>> cache.put(key, TokenSet(access_token="b", expires_at=cache.clock.time() + 30))
        >>> cache.get(key) is None
        True
    """

    def __init__(self, *, skew: float = 60.0, clock: Clock | None = None, maxsize: int = 1024):
        self.skew = skew
        self.clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._cache: TLRUCache[TokenKey, TokenSet] = TLRUCache(
            maxsize=maxsize, ttu=self._expires, timer=self.clock.time
        )

    def _expires(self, _key: TokenKey, token: TokenSet, _now: float) -> float:
        return math.inf if token.expires_at is None else token.expires_at - self.skew

    def get(self, key: TokenKey) -> TokenSet | None:
        """The cached token for ``key`` while it is fresh, else ``None``."""
        with self._lock:
            return self._cache.get(key)

    def put(self, key: TokenKey, token: TokenSet) -> None:
        """Cache ``token``; one already within ``skew`` of expiry just clears the entry."""
        with self._lock:
            if token.is_fresh(now=self.clock.time(), skew=self.skew):
                self._cache[key] = token
            else:
                self._cache.pop(key, None)

    def invalidate(self, key: TokenKey, token: TokenSet | None = None) -> None:
        """Forget ``key``'s token (only if it is still ``token``, when one is given)."""
        with self._lock:
            current = self._cache.get(key)
            if current is not None and (token is None or current.same_access_token(token)):
                del self._cache[key]

    def __repr__(self) -> str:
        return f"TokenCache(skew={self.skew}, entries={len(self._cache)})"
