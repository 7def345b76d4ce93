"""A :class:`~erpsa_sdk.limits.LimitBackend` in Redis, so several processes share one budget."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from erpsa_sdk.errors import ConfigurationError, TransportError
from erpsa_sdk.limits._backend import LimitSpec, Verdict

__all__ = ["RedisBackend"]

# One atomic check-and-record over all the limits of a request. Time comes from ARGV (the
# caller's clock), never from Redis TIME, so tests can drive it with a SimClock.
# Window and lease entries are ZSET members scored by their expiry; an entry is live while
# expiry > now. Exact expiries are computed by the caller and passed as strings, because Lua
# turns numbers into strings with 14 digits only.
#   KEYS[1] = block key, KEYS[1 + i] = key of limit i
#   ARGV = now, member, n, then per limit: kind ("w" | "c"), cap, seconds, expiry, key ttl (ms)
_ACQUIRE = """
local now = tonumber(ARGV[1])
local member = ARGV[2]
local n = tonumber(ARGV[3])
local blocked = redis.call('GET', KEYS[1])
if blocked and tonumber(blocked) > now then
  return {0, blocked, 'blocked'}
end
local used = {}
local retry = false
local reason = ''
for i = 1, n do
  local key = KEYS[i + 1]
  local base = 3 + (i - 1) * 5
  local kind = ARGV[base + 1]
  local cap = tonumber(ARGV[base + 2])
  local seconds = tonumber(ARGV[base + 3])
  if kind == 'w' then
    -- keep one extra window for callers whose `now` is slightly older than the latest
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - seconds)
  else
    redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
  end
  local live = redis.call('ZCOUNT', key, '(' .. ARGV[1], '+inf')
  if live >= cap then
    if kind == 'w' then
      if reason == '' then reason = 'window' end
      local entry = redis.call('ZRANGEBYSCORE', key, '(' .. ARGV[1], '+inf',
                               'WITHSCORES', 'LIMIT', live - cap, 1)
      if (not retry) or tonumber(entry[2]) > tonumber(retry) then retry = entry[2] end
    else
      reason = 'concurrency'
    end
  end
  used[i] = live
end
if reason ~= '' then
  if reason == 'concurrency' or not retry then retry = '' end
  return {0, retry, reason, unpack(used)}
end
for i = 1, n do
  local key = KEYS[i + 1]
  local base = 3 + (i - 1) * 5
  redis.call('ZADD', key, ARGV[base + 4], member)
  redis.call('PEXPIRE', key, ARGV[base + 5])
  used[i] = used[i] + 1
end
return {1, '', '', unpack(used)}
"""

# KEYS[1] = block key; ARGV = until, ttl (ms). Only ever moves the block later.
_BLOCK = """
local current = redis.call('GET', KEYS[1])
if (not current) or tonumber(current) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
"""


def _import_redis() -> Any:
    try:
        import redis
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ConfigurationError(
            "the Redis limit backend needs the 'redis' package: pip install 'erpsa-sdk[redis]'"
        ) from exc
    return redis


def _ttl_ms(seconds: float) -> str:
    # Entries live `seconds`; keep the key for two windows so late callers still see them.
    return str(math.ceil(seconds * 2000) + 1000)


def _acquire_args(
    specs: Sequence[LimitSpec], now: float, member: str, block_key: str
) -> tuple[list[str], list[str]]:
    keys = [block_key, *(spec.key for spec in specs)]
    args = [repr(now), member, str(len(specs))]
    for spec in specs:
        args += [
            "w" if spec.kind == "window" else "c",
            str(spec.cap),
            repr(float(spec.seconds)),
            repr(now + spec.seconds),
            _ttl_ms(spec.seconds),
        ]
    return keys, args


def _verdict(raw: Sequence[Any]) -> Verdict:
    def text(value: Any) -> str:
        return value.decode() if isinstance(value, bytes) else str(value)

    admitted = int(raw[0]) == 1
    retry = text(raw[1])
    return Verdict(
        admitted=admitted,
        used=tuple(int(v) for v in raw[3:]),
        retry_at=float(retry) if retry else None,
        reason=text(raw[2]),
    )


class RedisBackend:
    """Counts admissions in Redis with atomic Lua scripts keyed by scope.

    Every process that points at the same Redis database and ``prefix`` shares one budget.
    ``now`` always comes from the caller's clock (no Redis ``TIME``): the processes' clocks must
    agree to well under a window (NTP does). Concurrency leases expire ``lease_seconds`` after
    admission, so a process that crashed frees its slots by itself.

    Waiting governors poll every ``poll_interval`` seconds for slots freed by other processes.

    Parameters:
        url: a ``redis://`` URL (ignored for a client you pass).
        client: a ready ``redis.Redis`` for the sync methods.
        async_client: a ready ``redis.asyncio.Redis`` for the async twins.
        poll_interval: how often a waiting governor re-checks for a released slot.

    Needs the ``redis`` extra: ``pip install 'erpsa-sdk[redis]'``.

    Examples:
        >>> backend = RedisBackend("redis://127.0.0.1:6379/0")  # connects lazily
        >>> backend.poll_interval
        0.02
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any | None = None,
        async_client: Any | None = None,
        poll_interval: float = 0.02,
    ) -> None:
        redis = _import_redis()
        if url is None and client is None and async_client is None:
            raise ConfigurationError("RedisBackend needs a url or a client")
        self._url = url
        self._redis = redis
        self._client = client
        self._async_client = async_client
        self.poll_interval: float | None = poll_interval
        self._scripts: dict[str, Any] = {}
        self._ascripts: dict[str, Any] = {}
        self._owned: set[str] = set()

    def _sync_client(self) -> Any:
        if self._client is None:
            if self._url is None:
                raise ConfigurationError("this RedisBackend has only an async client")
            self._client = self._redis.Redis.from_url(self._url)
            self._owned.add("sync")
        return self._client

    def _async_client_(self) -> Any:
        if self._async_client is None:
            if self._url is None:
                raise ConfigurationError("this RedisBackend has only a sync client")
            self._async_client = self._redis.asyncio.Redis.from_url(self._url)
            self._owned.add("async")
        return self._async_client

    def _sync(self, name: str) -> Any:
        if name not in self._scripts:
            source = _ACQUIRE if name == "a" else _BLOCK
            self._scripts[name] = self._sync_client().register_script(source)
        return self._scripts[name]

    def _async(self, name: str) -> Any:
        if name not in self._ascripts:
            source = _ACQUIRE if name == "a" else _BLOCK
            self._ascripts[name] = self._async_client_().register_script(source)
        return self._ascripts[name]

    def _failed(self, exc: Exception) -> TransportError:
        return TransportError(f"limits backend (Redis) failed: {type(exc).__name__}")

    def acquire(
        self, specs: Sequence[LimitSpec], *, now: float, member: str, block_key: str
    ) -> Verdict:
        """Admit and record ``member`` under every spec atomically, or refuse."""
        keys, args = _acquire_args(specs, now, member, block_key)
        try:
            return _verdict(self._sync("a")(keys=keys, args=args))
        except self._redis.RedisError as exc:
            raise self._failed(exc) from exc

    def release(self, specs: Sequence[LimitSpec], *, now: float, member: str) -> None:
        """Free ``member``'s concurrency leases."""
        keys = [spec.key for spec in specs if spec.kind == "concurrency"]
        if not keys:
            return
        try:
            with self._sync_client().pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.zrem(key, member)
                pipe.execute()
        except self._redis.RedisError as exc:
            raise self._failed(exc) from exc

    def block(self, block_key: str, *, until: float, now: float) -> None:
        """Refuse every admission under ``block_key`` until ``until``."""
        ttl = _ttl_ms(max(until - now, 0.0) / 2)
        try:
            self._sync("b")(keys=[block_key], args=[repr(until), ttl])
        except self._redis.RedisError as exc:
            raise self._failed(exc) from exc

    async def aacquire(
        self, specs: Sequence[LimitSpec], *, now: float, member: str, block_key: str
    ) -> Verdict:
        """Async twin of :meth:`acquire`."""
        keys, args = _acquire_args(specs, now, member, block_key)
        try:
            return _verdict(await self._async("a")(keys=keys, args=args))
        except self._redis.RedisError as exc:
            raise self._failed(exc) from exc

    async def arelease(self, specs: Sequence[LimitSpec], *, now: float, member: str) -> None:
        """Async twin of :meth:`release`."""
        keys = [spec.key for spec in specs if spec.kind == "concurrency"]
        if not keys:
            return
        try:
            async with self._async_client_().pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.zrem(key, member)
                await pipe.execute()
        except self._redis.RedisError as exc:
            raise self._failed(exc) from exc

    async def ablock(self, block_key: str, *, until: float, now: float) -> None:
        """Async twin of :meth:`block`."""
        ttl = _ttl_ms(max(until - now, 0.0) / 2)
        try:
            await self._async("b")(keys=[block_key], args=[repr(until), ttl])
        except self._redis.RedisError as exc:
            raise self._failed(exc) from exc

    def subscribe(self, callback: Callable[[], None]) -> None:
        """Nothing to subscribe to: other processes' releases are found by polling."""

    def close(self) -> None:
        """Close the sync client this backend created (not one you passed in).

        Examples:
            >>> RedisBackend("redis://127.0.0.1:6379/0").close()  # never connected: no-op
        """
        if "sync" in self._owned and self._client is not None:
            self._client.close()

    async def aclose(self) -> None:
        """Close the async client this backend created (not one you passed in)."""
        if "async" in self._owned and self._async_client is not None:
            await self._async_client.aclose()

    def __repr__(self) -> str:
        return f"RedisBackend(poll_interval={self.poll_interval})"
