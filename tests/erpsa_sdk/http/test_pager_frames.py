"""Pager.to_pandas() / to_polars(): canonical fields, money as Decimal + currency, extras."""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from typing import Any

import httpx2
import pytest

from erpsa_sdk.errors import ConfigurationError
from erpsa_sdk.http import ApiClient, AsyncApiClient, AsyncPager, OffsetLimit, Pager
from erpsa_sdk.models import Expense, Rejected

BASE = "https://psa.api.example"

EXPENSES: list[dict[str, Any]] = [
    {
        "key": f"e{i}",
        "resource_key": "r1",
        "project_key": "p1",
        "expense_date": "2026-01-02",
        "category": "travel",
        "amount": {"amount": f"{i}.10", "currency": "EUR" if i % 2 else "USD"},
    }
    for i in range(5)
]
EXPENSES[3] = {**EXPENSES[3], "amount": {"amount": "1.00", "currency": "XXQ"}}  # bad currency


def handler(request: httpx2.Request) -> httpx2.Response:
    o, n = int(request.url.params["offset"]), int(request.url.params["limit"])
    return httpx2.Response(200, json={"items": EXPENSES[o : o + n], "hasMore": o + n < 5})


def pager() -> Pager[Expense]:
    client = ApiClient(base_url=BASE, transport=httpx2.MockTransport(handler))
    return Pager(client, OffsetLimit("/expenses", limit=2), model=Expense)


def test_to_pandas_has_canonical_columns_with_decimal_money_and_currency() -> None:
    frame = pager().to_pandas()
    assert list(frame["key"]) == ["e0", "e1", "e2", "e4"]
    assert list(frame["amount"]) == [
        Decimal("0.10"),
        Decimal("1.10"),
        Decimal("2.10"),
        Decimal("4.10"),
    ]
    assert all(isinstance(v, Decimal) for v in frame["amount"])
    assert list(frame["amount_currency"]) == ["USD", "EUR", "USD", "USD"]
    assert "category" in frame.columns
    (rejected,) = frame.attrs["rejected"]
    assert isinstance(rejected, Rejected)
    assert rejected.raw["key"] == "e3"


def test_to_polars_has_the_same_rows() -> None:
    frame = pager().to_polars()
    assert frame["key"].to_list() == ["e0", "e1", "e2", "e4"]
    assert frame["amount_currency"].to_list() == ["USD", "EUR", "USD", "USD"]
    assert frame["amount"].to_list()[1] == Decimal("1.10")


def test_async_pager_to_pandas() -> None:
    async def ahandler(request: httpx2.Request) -> httpx2.Response:
        return handler(request)

    async def main() -> Any:
        async with AsyncApiClient(base_url=BASE, transport=httpx2.MockTransport(ahandler)) as c:
            return await AsyncPager(c, OffsetLimit("/expenses", limit=2), model=Expense).to_pandas()

    assert list(asyncio.run(main())["key"]) == ["e0", "e1", "e2", "e4"]


@pytest.mark.parametrize(("method", "extra"), [("to_pandas", "pandas"), ("to_polars", "polars")])
def test_a_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch, method: str, extra: str) -> None:
    monkeypatch.setitem(sys.modules, extra, None)  # makes `import extra` fail
    requests: list[httpx2.Request] = []
    client = ApiClient(
        base_url=BASE, transport=httpx2.MockTransport(lambda r: requests.append(r) or handler(r))
    )
    p = Pager(client, OffsetLimit("/expenses"), model=Expense)
    with pytest.raises(ConfigurationError, match=rf"pip install 'erpsa-sdk\[{extra}\]'"):
        getattr(p, method)()
    assert requests == []  # fails before reading anything
