"""Time for everything: the :class:`Clock` protocol, :class:`SystemClock` and :class:`SimClock`.

Simulators, the limits governor, token expiry, ``Retry-After`` sleeps and the runner all take
a clock, so tests can run minutes of vendor time in milliseconds with a simulated clock.

Besides telling and sleeping, a clock can *wait for a condition*: :meth:`Clock.wait` blocks
until a predicate holds (re-checked whenever someone calls :meth:`Clock.notify`) or a timeout
ends. Code that waits this way, instead of on a bare lock, lets :class:`SimClock` know the
thread is idle, which is what makes its autojump mode possible.

Examples:
    >>> from erpsa_sdk.clock import SimClock, SystemClock
    >>> SystemClock().now().tzinfo is not None
    True
    >>> clock = SimClock(autojump=True)
    >>> clock.sleep(300)  # returns at once: nobody else is busy, so time jumps
    >>> clock.monotonic()
    300.0
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar, runtime_checkable

__all__ = ["Clock", "SimClock", "SystemClock"]

_T = TypeVar("_T")

#: A predicate a waiter blocks on. It is evaluated while the clock's internal lock is held,
#: possibly in the thread that calls ``notify()``: keep it a cheap, side-effect-free read of
#: shared state that takes no lock and never calls back into a blocking clock method.
Condition = Callable[[], bool]


@runtime_checkable
class Clock(Protocol):
    """What the SDK needs to know about time.

    Examples:
        >>> isinstance(SystemClock(), Clock), isinstance(SimClock(), Clock)
        (True, True)
    """

    def now(self) -> datetime:
        """The current time as an aware UTC datetime."""
        ...

    def time(self) -> float:
        """The current time as POSIX seconds."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds``."""
        ...

    async def asleep(self, seconds: float) -> None:
        """Suspend the calling task for ``seconds``."""
        ...

    def wait(self, condition: Callable[[], bool], timeout: float | None = None) -> bool:
        """Block until ``condition()`` is true or ``timeout`` seconds pass; return its value.

        The condition is re-checked each time :meth:`notify` is called.
        """
        ...

    async def await_for(self, condition: Callable[[], bool], timeout: float | None = None) -> bool:
        """Async twin of :meth:`wait`."""
        ...

    def notify(self) -> None:
        """Tell waiters that state their conditions read may have changed (any thread)."""
        ...


class _Waiter:
    """One blocked thread or task: its condition, deadline and how to wake it."""

    __slots__ = ("condition", "cv", "deadline", "done", "future", "loop", "registered")

    def __init__(
        self,
        condition: Condition | None,
        *,
        deadline: float | None = None,
        registered: bool = False,
        cv: threading.Condition | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        future: asyncio.Future[None] | None = None,
    ) -> None:
        self.condition = condition
        self.deadline = deadline
        self.registered = registered
        self.cv = cv
        self.loop = loop
        self.future = future
        self.done = False

    def signal(self) -> None:
        if self.cv is not None:
            self.cv.notify()
        elif self.loop is not None and self.future is not None:
            future = self.future
            with contextlib.suppress(RuntimeError):  # the loop was closed: nobody is waiting
                self.loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _holds(condition: Condition) -> bool:
    # A condition that raises wakes its waiter, which then sees the error in its own context.
    try:
        return bool(condition())
    except Exception:
        return True


class _Waiting:
    """The condition-waiter bookkeeping both clocks share (guarded by ``self._lock``)."""

    _lock: threading.RLock
    _cond_waiters: set[_Waiter]

    def _init_waiting(self) -> None:
        self._lock = threading.RLock()
        self._cond_waiters = set()

    def _wake(self, waiter: _Waiter) -> None:
        waiter.done = True
        self._cond_waiters.discard(waiter)
        waiter.signal()

    def notify(self) -> None:
        """Re-check every waiter's condition now and wake those whose condition holds.

        Call it after changing state that a :meth:`wait` condition reads. The conditions are
        evaluated here, in the caller's thread, so only the waiters that can proceed wake up.

        Examples:
            >>> clock = SystemClock()
            >>> clock.notify()  # nobody waits: nothing happens
        """
        with self._lock:
            for waiter in list(self._cond_waiters):
                if not waiter.done and waiter.condition is not None and _holds(waiter.condition):
                    self._wake(waiter)


class SystemClock(_Waiting):
    """The real clock.

    Examples:
        >>> clock = SystemClock()
        >>> clock.monotonic() > 0
        True
        >>> clock.wait(lambda: True, timeout=5)
        True
    """

    def __init__(self) -> None:
        self._init_waiting()

    def now(self) -> datetime:
        """The current time as an aware UTC datetime.

        Examples:
            >>> SystemClock().now().utcoffset()
            datetime.timedelta(0)
        """
        return datetime.now(UTC)

    def time(self) -> float:
        """The current time as POSIX seconds.

        Examples:
            >>> SystemClock().time() > 1_700_000_000
            True
        """
        return time.time()

    def monotonic(self) -> float:
        """Seconds on the operating system's monotonic clock.

        Examples:
            >>> clock = SystemClock()
            >>> clock.monotonic() <= clock.monotonic()
            True
        """
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds`` (nothing for zero or less).

        Examples:
            >>> SystemClock().sleep(0)
        """
        if seconds > 0:
            time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        """Suspend the calling task for ``seconds``.

        Examples:
            >>> import asyncio
            >>> asyncio.run(SystemClock().asleep(0))
        """
        await asyncio.sleep(max(seconds, 0.0))

    def wait(self, condition: Callable[[], bool], timeout: float | None = None) -> bool:
        """Block until ``condition()`` holds (checked on :meth:`notify`) or ``timeout`` passes.

        Returns the condition's value when the wait ends.

        Examples:
            >>> SystemClock().wait(lambda: False, timeout=0)
            False
        """
        with self._lock:
            if condition():
                return True
            if timeout is not None and timeout <= 0:
                return False
            waiter = _Waiter(condition, cv=threading.Condition(self._lock))
            self._cond_waiters.add(waiter)
            try:
                end = None if timeout is None else time.monotonic() + timeout
                while not waiter.done:
                    if end is None:
                        waiter.cv.wait()  # type: ignore[union-attr]
                        continue
                    remaining = end - time.monotonic()
                    if remaining <= 0:
                        break
                    waiter.cv.wait(remaining)  # type: ignore[union-attr]
            finally:
                self._cond_waiters.discard(waiter)
            return condition()

    async def await_for(self, condition: Callable[[], bool], timeout: float | None = None) -> bool:
        """Async twin of :meth:`wait`.

        Examples:
            >>> import asyncio
            >>> asyncio.run(SystemClock().await_for(lambda: True, timeout=1))
            True
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if condition():
                return True
            if timeout is not None and timeout <= 0:
                return False
            waiter = _Waiter(condition, loop=loop, future=future)
            self._cond_waiters.add(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(future, timeout)
        finally:
            with self._lock:
                waiter.done = True
                self._cond_waiters.discard(waiter)
        with self._lock:
            return condition()

    def __repr__(self) -> str:
        return "SystemClock()"


_DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)


class SimClock(_Waiting):
    """A simulated clock: time moves only by :meth:`advance`, or by itself in autojump mode.

    In **autojump** mode the clock watches the threads and asyncio tasks registered with it
    (:meth:`start_thread`, :meth:`participant`, :meth:`create_task`). When every one of them is
    blocked in a clock wait (:meth:`sleep`, :meth:`asleep`, :meth:`wait`, :meth:`await_for`),
    time jumps straight to the earliest wake-up. A registered thread blocked on anything else
    (a lock, a queue, a socket) counts as busy, so time stands still until it comes back.
    Threads that are not registered only count while they are inside a clock wait, so a
    single-threaded script needs no registration at all.

    ``monotonic()`` starts at ``0.0``; ``now()`` and ``time()`` start at ``start``
    (default 2026-01-01T00:00:00Z).

    Parameters:
        start: the aware datetime the clock shows at first.
        autojump: jump to the next wake-up whenever every participant is waiting.

    Examples:
        >>> from datetime import timedelta
        >>> clock = SimClock()
        >>> before = clock.now()
        >>> clock.advance(90)
        >>> clock.now() - before
        datetime.timedelta(seconds=90)

        Autojump with several threads: 3 workers each doing 100 requests of 20 ms take
        2 simulated seconds and almost no real time. The starting thread is a participant while
        it starts them (so time waits until all three run) and leaves before ``join``, which is
        not a clock wait.

        >>> clock = SimClock(autojump=True)
        >>> def worker() -> None:
        ...     for _ in range(100):
        ...         clock.sleep(0.02)
        >>> with clock.participant():
        ...     threads = [clock.start_thread(worker) for _ in range(3)]
        >>> for thread in threads:
        ...     thread.join()
        >>> round(clock.monotonic(), 6)
        2.0
    """

    def __init__(self, start: datetime | None = None, *, autojump: bool = False) -> None:
        start = _DEFAULT_START if start is None else start
        if start.tzinfo is None:
            raise ValueError("SimClock start must be an aware datetime, e.g. tzinfo=UTC")
        self._init_waiting()
        self._epoch = start.timestamp()
        self._offset = 0.0
        self._autojump = autojump
        self._timers: list[tuple[float, int, _Waiter]] = []
        self._seq = itertools.count()
        # Registered participants that are not inside a clock wait (plus woken, not yet resumed).
        self._busy = 0
        self._threads: dict[int, int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._async_waiters: set[_Waiter] = set()

    # -- telling the time --------------------------------------------------------------------

    def now(self) -> datetime:
        """The simulated time as an aware UTC datetime.

        Examples:
            >>> SimClock().now().isoformat()
            '2026-01-01T00:00:00+00:00'
        """
        return datetime.fromtimestamp(self._epoch + self._offset, UTC)

    def time(self) -> float:
        """The simulated time as POSIX seconds.

        Examples:
            >>> from datetime import UTC, datetime
            >>> SimClock(datetime(2030, 1, 1, tzinfo=UTC)).time()
            1893456000.0
        """
        return self._epoch + self._offset

    def monotonic(self) -> float:
        """Simulated seconds since the clock was created.

        Examples:
            >>> SimClock().monotonic()
            0.0
        """
        return self._offset

    @property
    def autojump(self) -> bool:
        """Whether time jumps when every participant waits (settable).

        Examples:
            >>> clock = SimClock()
            >>> clock.autojump = True
            >>> clock.autojump
            True
        """
        return self._autojump

    @autojump.setter
    def autojump(self, value: bool) -> None:
        with self._lock:
            self._autojump = value
            self._maybe_jump()

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` and wake every waiter whose deadline has come.

        Examples:
            >>> clock = SimClock()
            >>> clock.advance(1.5)
            >>> clock.monotonic()
            1.5
        """
        if seconds < 0:
            raise ValueError("a SimClock never goes backwards")
        with self._lock:
            self._offset += seconds
            self._fire_due()
            self._maybe_jump()

    # -- participants ------------------------------------------------------------------------

    @contextlib.contextmanager
    def participant(self) -> Iterator[None]:
        """Register the calling thread for the ``with`` block, so autojump waits for it.

        Examples:
            >>> clock = SimClock(autojump=True)
            >>> with clock.participant():
            ...     clock.sleep(2)
            >>> clock.monotonic()
            2.0
        """
        ident = threading.get_ident()
        with self._lock:
            self._register_thread(ident, counted=False)
        try:
            yield
        finally:
            with self._lock:
                self._unregister_thread(ident)

    def start_thread(
        self,
        target: Callable[..., object],
        *args: Any,
        name: str | None = None,
        daemon: bool = True,
        **kwargs: Any,
    ) -> threading.Thread:
        """Start a thread registered with this clock for its whole life, and return it.

        It is registered *before* it starts, so time cannot jump while it is starting up.

        Examples:
            >>> clock = SimClock(autojump=True)
            >>> thread = clock.start_thread(clock.sleep, 5)
            >>> thread.join()
            >>> clock.monotonic()
            5.0
        """
        with self._lock:
            self._busy += 1  # counted now; the thread claims this slot when it starts

        def run() -> None:
            ident = threading.get_ident()
            with self._lock:
                self._register_thread(ident, counted=True)
            try:
                target(*args, **kwargs)
            finally:
                with self._lock:
                    self._unregister_thread(ident)

        thread = threading.Thread(target=run, name=name, daemon=daemon)
        try:
            thread.start()
        except BaseException:
            with self._lock:
                self._busy -= 1
                self._maybe_jump()
            raise
        return thread

    def create_task(
        self, coro: Coroutine[Any, Any, _T], *, name: str | None = None
    ) -> asyncio.Task[_T]:
        """Schedule ``coro`` as a task registered with this clock until it finishes.

        Must be called from a running event loop.

        Examples:
            >>> import asyncio
            >>> clock = SimClock(autojump=True)
            >>> async def main() -> float:
            ...     await asyncio.gather(*(clock.create_task(clock.asleep(n)) for n in (1, 3)))
            ...     return clock.monotonic()
            >>> asyncio.run(main())
            3.0
        """

        async def run() -> _T:
            try:
                return await coro
            finally:
                with self._lock:
                    task = asyncio.current_task()
                    if task in self._tasks:
                        self._tasks.discard(task)
                        self._busy -= 1
                        self._maybe_jump()

        task = asyncio.get_running_loop().create_task(run(), name=name)
        with self._lock:
            self._tasks.add(task)
            self._busy += 1
        return task

    def _register_thread(self, ident: int, *, counted: bool) -> None:
        depth = self._threads.get(ident, 0)
        self._threads[ident] = depth + 1
        if depth and counted:
            self._busy -= 1  # already counted by an outer registration
        elif not depth and not counted:
            self._busy += 1

    def _unregister_thread(self, ident: int) -> None:
        depth = self._threads[ident] - 1
        if depth:
            self._threads[ident] = depth
            return
        del self._threads[ident]
        self._busy -= 1
        self._maybe_jump()

    # -- waiting -----------------------------------------------------------------------------

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds`` of simulated time.

        Examples:
            >>> clock = SimClock(autojump=True)
            >>> clock.sleep(0.5)
            >>> clock.monotonic()
            0.5
        """
        if seconds > 0:
            self._block(None, seconds)

    async def asleep(self, seconds: float) -> None:
        """Suspend the calling task for ``seconds`` of simulated time.

        Examples:
            >>> import asyncio
            >>> clock = SimClock(autojump=True)
            >>> asyncio.run(clock.asleep(7))
            >>> clock.monotonic()
            7.0
        """
        if seconds > 0:
            await self._ablock(None, seconds)
        else:
            await asyncio.sleep(0)

    def wait(self, condition: Callable[[], bool], timeout: float | None = None) -> bool:
        """Block until ``condition()`` holds (checked on :meth:`notify`) or ``timeout`` passes.

        Examples:
            >>> clock = SimClock(autojump=True)
            >>> clock.wait(lambda: False, timeout=10)
            False
            >>> clock.monotonic()
            10.0
        """
        with self._lock:
            if condition():
                return True
            if timeout is not None and timeout <= 0:
                return False
            self._block(condition, timeout)
            return condition()

    async def await_for(self, condition: Callable[[], bool], timeout: float | None = None) -> bool:
        """Async twin of :meth:`wait`.

        Examples:
            >>> import asyncio
            >>> clock = SimClock(autojump=True)
            >>> asyncio.run(clock.await_for(lambda: False, timeout=4))
            False
            >>> clock.monotonic()
            4.0
        """
        with self._lock:
            if condition():
                return True
            if timeout is not None and timeout <= 0:
                return False
        await self._ablock(condition, timeout)
        with self._lock:
            return condition()

    def _new_waiter(self, condition: Condition | None, timeout: float | None, **kw: Any) -> _Waiter:
        deadline = None if timeout is None else self._offset + timeout
        waiter = _Waiter(condition, deadline=deadline, **kw)
        if deadline is not None:
            heapq.heappush(self._timers, (deadline, next(self._seq), waiter))
        if condition is not None:
            self._cond_waiters.add(waiter)
        if waiter.registered:
            self._busy -= 1
        self._maybe_jump()
        return waiter

    def _block(self, condition: Condition | None, timeout: float | None) -> None:
        with self._lock:
            registered = threading.get_ident() in self._threads
            waiter = self._new_waiter(
                condition, timeout, registered=registered, cv=threading.Condition(self._lock)
            )
            while not waiter.done:
                waiter.cv.wait()  # type: ignore[union-attr]
            self._leave(waiter, woken=True)

    async def _ablock(self, condition: Condition | None, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if condition is not None and condition():
                return
            task = asyncio.current_task()
            waiter = self._new_waiter(
                condition,
                timeout,
                registered=task is not None and task in self._tasks,
                loop=loop,
                future=future,
            )
            self._async_waiters.add(waiter)
        try:
            await future
        finally:
            with self._lock:
                self._async_waiters.discard(waiter)
                self._leave(waiter, woken=waiter.done)

    def _leave(self, waiter: _Waiter, *, woken: bool) -> None:
        if woken:
            # _wake counted the waiter busy; an unregistered one stops counting once it is back.
            if not waiter.registered:
                self._busy -= 1
                self._maybe_jump()
            return
        # Cancelled before being woken.
        waiter.done = True
        self._cond_waiters.discard(waiter)
        if waiter.registered:
            self._busy += 1

    def _wake(self, waiter: _Waiter) -> None:
        if waiter.done:
            return
        self._busy += 1  # busy from now on, even before the thread or task actually resumes
        super()._wake(waiter)

    def _fire_due(self) -> None:
        while self._timers and self._timers[0][0] <= self._offset:
            _, _, waiter = heapq.heappop(self._timers)
            self._wake(waiter)

    def _maybe_jump(self) -> None:
        if not self._autojump:
            return
        while self._busy <= 0:
            # Task.cancel() cancels the awaited future at once, before the task runs again:
            # such a task is about to run, so it is busy and time must not jump past it.
            cancelled = [w for w in self._async_waiters if not w.done and w.future.done()]  # type: ignore[union-attr]
            if cancelled:
                for waiter in cancelled:
                    self._wake(waiter)
                continue
            while self._timers and self._timers[0][2].done:
                heapq.heappop(self._timers)
            if not self._timers:
                return  # everyone waits on a condition only: wait for an outside notify()
            self._offset = max(self._offset, self._timers[0][0])
            self._fire_due()

    def __repr__(self) -> str:
        return f"SimClock(now={self.now().isoformat()}, autojump={self._autojump})"
