"""Shared pieces of every flow: the 401 verdict, secret scrubbing, the lock-aware drivers."""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import AsyncGenerator, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import httpx2

from erpsa_sdk.errors import AuthError
from erpsa_sdk.http.classify import DEFAULT_REQUEST_ID_HEADERS, request_id_of

logger = logging.getLogger("erpsa_sdk.auth")


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every known secret value in ``text`` with ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def unauthorized(
    response: httpx2.Response,
    *,
    tenant: str | None,
    why: str,
    request_id_headers: Sequence[str] = DEFAULT_REQUEST_ID_HEADERS,
) -> AuthError:
    """The AuthError for a 401 that no refresh can (or did) cure."""
    challenge = response.headers.get("www-authenticate", "")
    code = None
    marker = 'error="'
    if marker in challenge:
        code = challenge.split(marker, 1)[1].split('"', 1)[0][:64] or None
    return AuthError(
        f"{response.request.method} {response.request.url.copy_with(query=None)} was refused "
        f"with 401: {why}",
        status=401,
        vendor_code=code,
        request_id=request_id_of(response, request_id_headers),
        tenant=tenant,
    )


class UnauthorizedPolicy:
    """Mixin: what a flow does with a 401 it cannot cure.

    ``request_id_headers`` names the headers that carry the vendor's request id (the generic
    ones by default); a connector sets its vendor's names on the flow it builds.
    """

    raise_on_unauthorized: bool = True
    tenant: str | None = None
    request_id_headers: Sequence[str] = DEFAULT_REQUEST_ID_HEADERS

    def _final_check(self, response: httpx2.Response, why: str) -> None:
        if response.status_code == 401 and self.raise_on_unauthorized:
            logger.debug("auth: 401 not curable (%s) tenant=%s", why, self.tenant)
            raise unauthorized(
                response, tenant=self.tenant, why=why, request_id_headers=self.request_id_headers
            )


# --- lock-aware drivers over a sans-IO core --------------------------------------------------
#
# A flow's core is a plain generator that yields operations and receives responses:
# ``ACQUIRE`` / ``RELEASE`` (the single-flight lock), ``TokenCall(request)`` (a token request
# whose body the core needs), or a bare ``httpx2.Request`` (the API request, body untouched).
# The sync driver takes a threading lock and reads with ``read()``; the async driver takes an
# asyncio lock and reads with ``aread()``. No thread ever runs inside async code.


class _LockOp:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ACQUIRE: Final = _LockOp("ACQUIRE")
RELEASE: Final = _LockOp("RELEASE")


@dataclass(frozen=True)
class TokenCall:
    """A token-endpoint request issued by a flow's core."""

    request: httpx2.Request


Op = _LockOp | TokenCall | httpx2.Request
Core = Generator[Op, httpx2.Response | None, None]


class FlowLocks:
    """One threading lock and one asyncio lock per event loop (asyncio locks bind to a loop)."""

    def __init__(self) -> None:
        self.thread_lock = threading.Lock()
        self._guard = threading.Lock()
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def async_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._guard:
            lock = self._async.get(loop)
            if lock is None:
                lock = self._async[loop] = asyncio.Lock()
            return lock


def drive_sync(
    core: Core, locks: FlowLocks, *, buffer: httpx2.Request | None = None
) -> Generator[httpx2.Request, httpx2.Response, None]:
    """Run ``core`` for ``httpx2.Client``: threading lock, blocking reads.

    ``buffer``: a request whose body is read first, so it can be sent twice.
    """
    held = False
    try:
        if buffer is not None:
            buffer.read()
        op = next(core)
        while True:
            sent: httpx2.Response | None = None
            if op is ACQUIRE:
                locks.thread_lock.acquire()
                held = True
            elif op is RELEASE:
                locks.thread_lock.release()
                held = False
            elif isinstance(op, TokenCall):
                sent = yield op.request
                sent.read()
            else:
                assert isinstance(op, httpx2.Request)
                sent = yield op
            op = core.send(sent)
    except StopIteration:
        return
    finally:
        if held:
            locks.thread_lock.release()
        core.close()


async def drive_async(
    core: Core, locks: FlowLocks, *, buffer: httpx2.Request | None = None
) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
    """Run ``core`` for ``httpx2.AsyncClient``: asyncio lock, async reads."""
    lock = locks.async_lock()
    held = False
    try:
        if buffer is not None:
            await buffer.aread()
        op = next(core)
        while True:
            sent: httpx2.Response | None = None
            if op is ACQUIRE:
                await lock.acquire()
                held = True
            elif op is RELEASE:
                lock.release()
                held = False
            elif isinstance(op, TokenCall):
                sent = yield op.request
                await sent.aread()
            else:
                assert isinstance(op, httpx2.Request)
                sent = yield op
            op = core.send(sent)
    except StopIteration:
        return
    finally:
        if held:
            lock.release()
        core.close()
