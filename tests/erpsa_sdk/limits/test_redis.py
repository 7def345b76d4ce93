"""The Redis backend: several processes share one budget; time comes from the caller's clock."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

import erpsa_sdk
from erpsa_sdk.clock import SimClock
from erpsa_sdk.errors import ConfigurationError, RateLimited
from erpsa_sdk.limits import Concurrency, Governor, Limit, RedisBackend, Scope, SlidingWindow
from erpsa_sdk.limits import ScopeKind as K
from tests.erpsa_sdk.limits._windows import most_in_any_window

# A deadlock under SimClock would otherwise hang until the global timeout.
pytestmark = pytest.mark.timeout(120)

SRC = str(Path(erpsa_sdk.__file__).resolve().parents[1])
ACCOUNT = Scope.account("TSTDRV1")


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of its own for each test, removed afterwards."""
    import redis

    value = f"erpsa-test:{uuid.uuid4().hex}:"
    yield value
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=value + "*"))
    if keys:
        client.delete(*keys)
    client.close()


WORKER = textwrap.dedent(
    """
    import json, sys, threading, time
    from erpsa_sdk.clock import SystemClock
    from erpsa_sdk.limits import Governor, Limit, RedisBackend, Scope, ScopeKind, SlidingWindow

    url, prefix, start_at, duration, threads = sys.argv[1:6]
    clock = SystemClock()
    backend = RedisBackend(url)
    gov = Governor([Limit(SlidingWindow(100, 2), ScopeKind.ACCOUNT)],
                   scopes=Scope.account("TSTDRV1"), clock=clock, backend=backend, prefix=prefix)
    admitted, lock = [], threading.Lock()
    time.sleep(max(0.0, float(start_at) - time.time()))
    end = time.time() + float(duration)

    def caller():
        while time.time() < end:
            permit = gov.acquire()
            with lock:
                admitted.append(permit.admitted_at)
            gov.release(permit, throttled=False, retry_after=None)

    workers = [threading.Thread(target=caller) for _ in range(int(threads))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    backend.close()
    print(json.dumps(admitted))
    """
)


def test_three_processes_share_a_window_of_100_per_2s(redis_url: str, prefix: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    start_at = time.time() + 2.0  # after every interpreter has started
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, redis_url, prefix, repr(start_at), "5", "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for _ in range(3)
    ]
    per_process: list[list[float]] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        per_process.append(json.loads(out))
    admitted = sorted(t for times in per_process for t in times)
    assert most_in_any_window(admitted, 2.0) <= 100
    # The shared budget was really contended and really used.
    assert all(len(times) > 0 for times in per_process)
    assert len(admitted) >= 200
    print(
        f"\n3 processes: {[len(t) for t in per_process]} admissions, busiest 2 s window "
        f"{most_in_any_window(admitted, 2.0)}"
    )


def test_redis_takes_time_from_the_callers_clock(redis_url: str, prefix: str) -> None:
    clock = SimClock()
    start = clock.now()
    backend = RedisBackend(redis_url)
    gov = Governor(
        [Limit(SlidingWindow(3, 10), K.ACCOUNT)],
        scopes=ACCOUNT,
        clock=clock,
        backend=backend,
        prefix=prefix,
    )
    for _ in range(3):
        gov.release(gov.acquire(wait=False), throttled=False, retry_after=None)
        clock.advance(1.25)
    with pytest.raises(RateLimited) as caught:
        gov.acquire(wait=False)
    assert caught.value.retry_at == start + timedelta(seconds=10)  # exact through Lua
    clock.advance(10 - 3.75)
    gov.acquire(wait=False)
    backend.close()


def test_a_crashed_holder_frees_its_slot_when_the_lease_expires(
    redis_url: str, prefix: str
) -> None:
    clock = SimClock()
    limits = [Limit(Concurrency(1), K.ACCOUNT)]
    crashed = Governor(
        limits,
        scopes=ACCOUNT,
        clock=clock,
        backend=RedisBackend(redis_url),
        prefix=prefix,
        lease_seconds=30,
    )
    survivor = Governor(
        limits, scopes=ACCOUNT, clock=clock, backend=RedisBackend(redis_url), prefix=prefix
    )
    crashed.acquire(wait=False)  # never released: its process "died"
    clock.advance(29)
    with pytest.raises(RateLimited):
        survivor.acquire(wait=False)
    clock.advance(1)
    survivor.acquire(wait=False)


def test_retry_after_blocks_every_process_sharing_the_scope(redis_url: str, prefix: str) -> None:
    clock = SimClock()
    limits = [Limit(Concurrency(5), K.ACCOUNT)]
    a, b = (
        Governor(
            limits, scopes=ACCOUNT, clock=clock, backend=RedisBackend(redis_url), prefix=prefix
        )
        for _ in range(2)
    )
    a.release(a.acquire(wait=False), throttled=True, retry_after=12.0)
    clock.advance(2)
    with pytest.raises(RateLimited) as caught:
        b.acquire(wait=False)
    assert caught.value.retry_after == pytest.approx(10.0)
    clock.advance(10)
    b.acquire(wait=False)


def test_concurrency_is_shared_across_governors_and_released(redis_url: str, prefix: str) -> None:
    clock = SimClock(autojump=True)
    limits = [Limit(Concurrency(2), K.ACCOUNT)]
    govs = [
        Governor(
            limits, scopes=ACCOUNT, clock=clock, backend=RedisBackend(redis_url), prefix=prefix
        )
        for _ in range(3)
    ]
    held = [govs[0].acquire(wait=False), govs[1].acquire(wait=False)]
    with pytest.raises(RateLimited) as caught:
        govs[2].acquire(wait=False)
    assert caught.value.retry_at is None
    govs[0].release(held[0], throttled=False, retry_after=None)
    govs[2].acquire(wait=False)


def test_async_twins_against_redis(redis_url: str, prefix: str) -> None:
    clock = SimClock(autojump=True)
    backend = RedisBackend(redis_url)
    gov = Governor(
        [Limit(Concurrency(2), K.ACCOUNT), Limit(SlidingWindow(4, 1), K.ACCOUNT)],
        scopes=ACCOUNT,
        clock=clock,
        backend=backend,
        prefix=prefix,
    )
    admitted: list[float] = []
    answers: list[float] = []

    async def call() -> None:
        permit = await gov.aacquire()
        admitted.append(permit.admitted_at)
        await clock.asleep(0.1)
        answers.append(clock.time())
        # The first answer carries Retry-After: 5 s.
        retry_after = 5.0 if len(answers) == 1 else None
        await gov.arelease(permit, throttled=False, retry_after=retry_after)

    async def main() -> None:
        await asyncio.gather(*(clock.create_task(call()) for _ in range(8)))
        await backend.aclose()

    asyncio.run(main())
    assert len(admitted) == 8
    # Two were in flight when the first answer said "Retry-After: 5"; everyone else waited.
    assert sum(1 for t in admitted if t < answers[0] + 5) == 2
    assert min(t for t in admitted if t >= answers[0]) == pytest.approx(answers[0] + 5)
    assert most_in_any_window(admitted, 1.0) <= 4


def test_missing_redis_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ConfigurationError, match=r"erpsa-sdk\[redis\]"):
        RedisBackend("redis://127.0.0.1:6379/0")


def test_redis_backend_needs_somewhere_to_connect() -> None:
    with pytest.raises(ConfigurationError, match="url or a client"):
        RedisBackend()


def test_importing_limits_does_not_import_redis() -> None:
    code = "import sys, erpsa_sdk.limits; print('redis' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "False"
