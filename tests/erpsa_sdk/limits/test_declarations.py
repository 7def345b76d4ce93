"""Limit kinds, scopes and the share."""

from __future__ import annotations

import pytest

from erpsa_sdk.errors import ConfigurationError
from erpsa_sdk.limits import (
    Concurrency,
    Limit,
    Reactive,
    Scope,
    ScopeKind,
    SlidingWindow,
    share_of,
)


def test_scope_keys_name_kind_and_parts_and_escape_separators() -> None:
    assert Scope.account("TSTDRV1").key == "account/TSTDRV1"
    assert (
        Scope.environment_user("org.crm4", "app user").key == "environment_user/org.crm4/app%20user"
    )
    assert Scope.account("a/b").key != Scope.environment_user("a", "b").key


def test_token_scope_never_keeps_the_token() -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.secret-payload"
    scope = Scope.token_endpoint(token, "workspaces")
    assert token not in repr(scope)
    assert token not in scope.key
    assert scope == Scope.token_endpoint(token, "workspaces")
    assert scope != Scope.token_endpoint(token + "x", "workspaces")
    assert scope != Scope.token_endpoint(token, "general")


def test_scope_refuses_wrong_arity_or_empty_parts() -> None:
    with pytest.raises(ConfigurationError, match="needs 2"):
        Scope(ScopeKind.ENVIRONMENT_USER, ("only-env",))
    with pytest.raises(ConfigurationError):
        Scope.account("")


@pytest.mark.parametrize(
    ("kind", "share", "expected"),
    [
        (Concurrency(5), 1.0, 5),
        (Concurrency(15), 0.4, 6),
        (Concurrency(5), 0.1, 1),
        (SlidingWindow(6000, 300), 0.25, 1500),
        (SlidingWindow(100, 10), 0.999, 99),
        (Reactive(4), 0.5, 2),
    ],
)
def test_share_is_floor_of_the_declared_number_and_at_least_one(
    kind: Concurrency | SlidingWindow | Reactive, share: float, expected: int
) -> None:
    assert share_of(kind, share) == expected


@pytest.mark.parametrize("share", [0.0, -0.5, 1.01])
def test_share_outside_zero_one_is_refused(share: float) -> None:
    with pytest.raises(ConfigurationError, match="share"):
        share_of(Concurrency(5), share)


def test_kinds_refuse_nonsense_numbers() -> None:
    with pytest.raises(ConfigurationError):
        SlidingWindow(0, 10)
    with pytest.raises(ConfigurationError):
        SlidingWindow(10, 0)
    with pytest.raises(ConfigurationError):
        SlidingWindow(10, float("inf"))
    with pytest.raises(ConfigurationError):
        Concurrency(0)
    with pytest.raises(ConfigurationError):
        Reactive(0)


def test_vendor_declarations_read_naturally() -> None:
    netsuite = Limit(Concurrency(5), ScopeKind.ACCOUNT, note="shared by SOAP, REST, RESTlets")
    dataverse = [
        Limit(SlidingWindow(6000, 300), ScopeKind.ENVIRONMENT_USER),
        Limit(Concurrency(52), ScopeKind.ENVIRONMENT_USER),
    ]
    kantata = Limit(Reactive(), ScopeKind.TOKEN_ENDPOINT)
    assert netsuite.name == "account:concurrency-5"
    assert [d.name for d in dataverse] == [
        "environment_user:window-6000-per-300s",
        "environment_user:concurrency-52",
    ]
    assert kantata.name == "token_endpoint:reactive"
    assert netsuite == Limit(Concurrency(5), ScopeKind.ACCOUNT)  # the note is documentation
