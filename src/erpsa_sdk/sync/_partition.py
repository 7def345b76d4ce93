"""A thread pool that runs all work for one key on the same thread, in submission order.

Writes for one EntityKey must never overtake each other; partitioning by key gives that
without a lock per key. Work runs in a copy of the submitting thread's context, so context
variables (the correlation id) follow it.

Examples:
    >>> from erpsa_sdk.sync._partition import PartitionedExecutor
    >>> with PartitionedExecutor(workers=2) as pool:
    ...     futures = [pool.submit(f"k{n % 3}", lambda n=n: n * n) for n in range(5)]
    ...     [f.result() for f in futures]
    [0, 1, 4, 9, 16]
"""

from __future__ import annotations

import contextvars
import hashlib
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

__all__ = ["PartitionedExecutor"]

T = TypeVar("T")
_Job = tuple[contextvars.Context, Callable[[], Any], Future[Any]] | None


class PartitionedExecutor:
    """``workers`` threads; work for one key always goes to the same thread.

    Parameters:
        workers: number of threads (at least 1).
        name: thread name prefix, shown in logs.

    Examples:
        >>> import contextvars
        >>> var = contextvars.ContextVar("var", default="unset")
        >>> _ = var.set("from submitter")
        >>> with PartitionedExecutor(workers=1) as pool:
        ...     pool.submit("k", var.get).result()
        'from submitter'
    """

    def __init__(self, *, workers: int, name: str = "erpsa-writer") -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._queues: list[queue.SimpleQueue[_Job]] = [queue.SimpleQueue() for _ in range(workers)]
        self._threads = [
            threading.Thread(target=self._work, args=(q,), name=f"{name}-{n}", daemon=True)
            for n, q in enumerate(self._queues)
        ]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _work(jobs: queue.SimpleQueue[_Job]) -> None:
        while (job := jobs.get()) is not None:
            context, fn, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(context.run(fn))
            except BaseException as exc:  # handed to the submitter, who decides
                future.set_exception(exc)

    def partition(self, key: str) -> int:
        """The worker index of ``key`` (stable across runs and processes)."""
        digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") % len(self._queues)

    def submit(self, key: str, fn: Callable[[], T]) -> Future[T]:
        """Run ``fn`` on ``key``'s worker, in a copy of the current context."""
        future: Future[T] = Future()
        self._queues[self.partition(key)].put((contextvars.copy_context(), fn, future))
        return future

    def shutdown(self) -> None:
        """Let queued work finish, then stop the threads."""
        for jobs in self._queues:
            jobs.put(None)
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> PartitionedExecutor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()
