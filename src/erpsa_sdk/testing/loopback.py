"""Serve a simulator over loopback HTTP (uvicorn), for tests that need separate processes.

The ASGI adapter runs the simulator's sans-IO core in a worker thread and turns dropped
answers into real network failures: a ``commit_then_drop`` or ``connection_reset`` fault closes
the connection mid-response, a ``timeout`` fault holds the request before closing it.

uvicorn comes with the ``testing`` extra (``pip install 'erpsa-sdk[testing]'``).

Example:
    >>> import httpx2
    >>> from erpsa_sdk.testing.simulator import Simulator, SimResponse, route
    >>> class Ping(Simulator):
    ...     vendor = "ping"
    ...     @route("GET", "/ping")
    ...     def ping(self, req):
    ...         return SimResponse.json({"pong": True})
    >>> sim = Ping()
    >>> with serve(sim) as served:  # port 0: any free port on 127.0.0.1
    ...     headers = {"authorization": served.credentials["authorization"]}
    ...     httpx2.get(f"{served.base_url}/ping", headers=headers).json()
    {'pong': True}
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from types import TracebackType
from typing import Any, Self

from erpsa_sdk.errors import ConfigurationError
from erpsa_sdk.testing.simulator import Drop, Simulator

__all__ = ["ServedSimulator", "asgi_app", "free_port", "serve"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_DROP_LENGTH = b"4096"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now.

    Example:
        >>> 0 < free_port() < 65536
        True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def asgi_app(sim: Simulator) -> ASGIApp:
    """An ASGI application serving ``sim``.

    Example:
        >>> from erpsa_sdk.testing.simulator import Simulator
        >>> callable(asgi_app(Simulator()))
        True
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        target = scope["raw_path"].decode("ascii") if scope.get("raw_path") else scope["path"]
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("ascii")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        # The core may sleep on the simulator's clock: keep it off the event loop.
        reply = await asyncio.to_thread(
            sim.handle, scope["method"], target, headers, b"".join(chunks)
        )
        if reply.drop is not None:
            if reply.drop is Drop.TIMEOUT:
                await asyncio.sleep(reply.timeout_after)
            # Promise a body and end without it: the server closes the connection mid-answer.
            await send(
                {"type": "http.response.start", "status": 200,
                 "headers": [(b"content-length", _DROP_LENGTH)]}
            )  # fmt: skip
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        assert reply.response is not None
        resp = reply.response
        raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in resp.headers.items()]
        await send({"type": "http.response.start", "status": resp.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": resp.body})

    return app


class _IntentionalDrops(logging.Filter):
    # A dropped answer is the fault we asked for, not a server bug worth a traceback.
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (exc is not None and "Too little data for declared Content-Length" in str(exc))


_FILTER = _IntentionalDrops()


class ServedSimulator:
    """A simulator running on loopback HTTP; a context manager that stops the server on exit.

    Attributes:
        sim: the simulator served.
        base_url: ``http://127.0.0.1:<port><base_path>``.
        credentials: :meth:`Simulator.credentials` for this address.

    Example:
        >>> from erpsa_sdk.testing.simulator import Simulator
        >>> with serve(Simulator()) as served:
        ...     served.base_url.startswith("http://127.0.0.1:")
        True
    """

    def __init__(self, sim: Simulator, server: Any, thread: threading.Thread, port: int) -> None:
        self.sim = sim
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.origin}{sim.base_path}"
        self.credentials = sim.credentials(self.origin)
        self._server = server
        self._thread = thread

    def info(self) -> dict[str, Any]:
        """The line ``erpsa simulate`` prints: vendor, base URL, credentials.

        Example:
            >>> from erpsa_sdk.testing.simulator import Simulator
            >>> with serve(Simulator()) as served:
            ...     sorted(served.info())
            ['base_url', 'credentials', 'vendor']
        """
        return {
            "vendor": self.sim.vendor,
            "base_url": self.base_url,
            "credentials": self.credentials,
        }

    @property
    def running(self) -> bool:
        """Whether the server thread is still serving."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def wait(self) -> None:
        """Block until the server stops (``erpsa simulate`` serves until interrupted)."""
        self._thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve(sim: Simulator, port: int = 0, *, host: str = "127.0.0.1") -> ServedSimulator:
    """Serve ``sim`` on ``host:port`` (``0``: a free port) in a background thread.

    Only loopback addresses are accepted: simulators hold test credentials in the clear.

    Example:
        >>> from erpsa_sdk.testing.simulator import Simulator
        >>> served = serve(Simulator(), 0)
        >>> served.running
        True
        >>> served.stop()
        >>> served.running
        False
    """
    try:
        import uvicorn
    except ImportError:  # pragma: no cover - depends on the environment
        raise ConfigurationError(
            "serving a simulator needs uvicorn: pip install 'erpsa-sdk[testing]'"
        ) from None
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise ConfigurationError(f"simulators only listen on loopback, not {host!r}")
    port = port or free_port(host)
    logging.getLogger("uvicorn.error").addFilter(_FILTER)
    config = uvicorn.Config(
        asgi_app(sim), host=host, port=port, log_level="warning", lifespan="on",
        access_log=False,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"erpsa-sim-{sim.vendor}", daemon=True)
    thread.start()
    # Wait (real time: this is a real server) until it accepts connections.
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise ConfigurationError(f"simulator {sim.vendor!r} could not listen on {host}:{port}")
        time.sleep(0.005)
    return ServedSimulator(sim, server, thread, port)
