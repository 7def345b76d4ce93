"""Correlation ids: contextvar scoping across tasks and threads, and the logging filter."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading

import pytest

from erpsa_sdk.correlation import (
    CorrelationFilter,
    correlation_scope,
    get_correlation_id,
    set_correlation_id,
)


def test_scope_sets_and_restores_and_nests() -> None:
    assert get_correlation_id() is None
    with correlation_scope("outer"):
        with correlation_scope("inner"):
            assert get_correlation_id() == "inner"
        assert get_correlation_id() == "outer"
    assert get_correlation_id() is None


def test_each_task_keeps_its_own_id() -> None:
    async def job(name: str) -> str | None:
        with correlation_scope(name):
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            return get_correlation_id()

    async def main() -> list[str | None]:
        return await asyncio.gather(*(job(f"t{i}") for i in range(20)))

    assert asyncio.run(main()) == [f"t{i}" for i in range(20)]


def test_threads_see_the_id_through_copy_context() -> None:
    seen: list[str | None] = []
    with correlation_scope("run-1"):
        ctx = contextvars.copy_context()
    thread = threading.Thread(target=lambda: seen.append(ctx.run(get_correlation_id)))
    thread.start()
    thread.join()
    assert seen == ["run-1"]


def test_filter_stamps_every_record_on_a_handler(caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(CorrelationFilter())
    logger = logging.getLogger("some.other.library")
    with caplog.at_level(logging.INFO), correlation_scope("c-9"):
        logger.info("inside")
    logger.warning("outside")
    ids = [getattr(r, "correlation_id", None) for r in caplog.records]
    assert ids == ["c-9", "-"]


def test_set_correlation_id() -> None:
    ctx = contextvars.copy_context()
    ctx.run(set_correlation_id, "x")
    assert ctx.run(get_correlation_id) == "x"
    assert get_correlation_id() is None
