"""TokenSet, the TokenStore implementations (compare-and-swap) and the TokenCache."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erpsa_sdk.auth import (
    InMemoryTokenStore,
    SqliteTokenStore,
    TokenCache,
    TokenKey,
    TokenSet,
    TokenStore,
)
from erpsa_sdk.clock import SimClock
from erpsa_sdk.errors import ResponseFormatError

from .conftest import run_threads

KEY = TokenKey("TSTDRV1", "client-1")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> TokenStore:
    if request.param == "memory":
        return InMemoryTokenStore()
    return SqliteTokenStore(tmp_path / "tokens.db")


def test_store_compare_and_swap_has_one_winner(store: TokenStore) -> None:
    assert store.get(KEY) is None
    first = store.compare_and_swap(KEY, None, TokenSet(access_token="a1", refresh_token="r1"))
    assert first is not None
    assert store.compare_and_swap(KEY, None, TokenSet(access_token="x")) is None
    second = store.compare_and_swap(KEY, first.version, TokenSet(access_token="a2"))
    assert second is not None
    assert second.version != first.version
    # a writer holding the old version lost the race
    assert store.compare_and_swap(KEY, first.version, TokenSet(access_token="late")) is None
    current = store.get(KEY)
    assert current is not None
    assert current.token.access_token.get_secret_value() == "a2"
    assert store.get(TokenKey("other", "client-1")) is None


def test_store_compare_and_swap_under_threads(store: TokenStore) -> None:
    seed = store.compare_and_swap(KEY, None, TokenSet(access_token="a0"))
    assert seed is not None
    results = run_threads(
        16, lambda: store.compare_and_swap(KEY, seed.version, TokenSet(access_token="new"))
    )
    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(r is not None for r in results) == 1


def test_sqlite_store_survives_reopen_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    saved = SqliteTokenStore(path).compare_and_swap(
        KEY, None, TokenSet(access_token="a", refresh_token="r", expires_at=5.0, extra={"x": 1})
    )
    again = SqliteTokenStore(path).get(KEY)
    assert saved is not None
    assert again is not None
    assert again.token == saved.token
    assert again.token.extra == {"x": 1}
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


@given(
    access=st.text(min_size=1, max_size=40),
    refresh=st.none() | st.text(min_size=1, max_size=40),
    expires=st.none() | st.floats(min_value=0, max_value=4e9, allow_nan=False),
)
def test_token_storage_round_trip(access: str, refresh: str | None, expires: float | None) -> None:
    token = TokenSet(access_token=access, refresh_token=refresh, expires_at=expires)
    assert TokenSet.from_storage(token.to_storage()) == token


def test_token_from_response_keeps_old_refresh_when_not_rotated() -> None:
    first = TokenSet.from_response(
        {"access_token": "a", "refresh_token": "r1", "expires_in": 60}, now=0.0
    )
    second = TokenSet.from_response(
        {"access_token": "b", "expires_in": "3600", "instance_url": "https://na1.test"},
        now=10.0,
        previous_refresh_token=first.refresh_token,
    )
    assert second.refresh_token == first.refresh_token
    assert second.expires_at == 3610.0
    assert second.extra == {"instance_url": "https://na1.test"}


@pytest.mark.parametrize(
    "payload",
    [{}, {"access_token": ""}, {"access_token": 5}, {"access_token": "a", "expires_in": "soon"}],
)
def test_token_from_bad_response(payload: dict[str, object]) -> None:
    with pytest.raises(ResponseFormatError):
        TokenSet.from_response(payload, now=0.0)


def test_token_repr_and_extra_hide_secrets() -> None:
    token = TokenSet.from_response(
        {
            "access_token": "AT-SECRET",
            "refresh_token": "RT-SECRET",
            "id_token": "ID-SECRET",
            "signature": "SIG-SECRET",
        },
        now=0.0,
    )
    text = repr(token) + str(token) + repr(token.extra)
    for secret in ("AT-SECRET", "RT-SECRET", "ID-SECRET", "SIG-SECRET"):
        assert secret not in text


def test_cache_expires_entries_skew_seconds_early() -> None:
    clock = SimClock()
    cache = TokenCache(skew=60.0, clock=clock)
    cache.put(KEY, TokenSet(access_token="a", expires_at=clock.time() + 600))
    clock.advance(539)
    assert cache.get(KEY) is not None
    clock.advance(1)
    assert cache.get(KEY) is None


def test_cache_invalidate_only_the_named_token() -> None:
    cache = TokenCache()
    current = TokenSet(access_token="new")
    cache.put(KEY, current)
    cache.invalidate(KEY, TokenSet(access_token="old"))
    assert cache.get(KEY) == current
    cache.invalidate(KEY, TokenSet(access_token="new"))
    assert cache.get(KEY) is None


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    payload=st.dictionaries(
        st.sampled_from(
            ["access_token", "refresh_token", "expires_in", "scope", "token_type", "x"]
        ),
        _json,
    )
)
def test_from_response_either_parses_or_raises_response_format_error(
    payload: dict[str, object],
) -> None:
    try:
        token = TokenSet.from_response(payload, now=0.0)
    except ResponseFormatError:
        return
    assert token.access_token.get_secret_value() == payload["access_token"]
