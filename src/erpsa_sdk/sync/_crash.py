"""Test-only crash hooks: ``ERPSA_CRASH_AT=<hook>:<n>`` kills the process at the n-th hit.

The runner calls :func:`crash_point` at the moments a crash is most dangerous. Without the
environment variable a call costs one dictionary look-up and does nothing. Crash tests set it
in a child process, which then dies by SIGKILL exactly there (no cleanup, no flush).

Hooks:

* ``in_flight``: in a writer thread, after the write was recorded as pending and before it is
  sent (other writers are typically mid-request);
* ``after_ack``: the target acknowledged, the ledger does not know yet;
* ``after_ledger``: every write of a batch is in the ledger, the checkpoint has not moved;
* ``after_checkpoint``: the batch is fully committed.

Examples:
    >>> from erpsa_sdk.sync._crash import CrashPlan
    >>> plan = CrashPlan.parse("after_ack:2")
    >>> plan.hit("after_ack"), plan.hit("after_ack")
    (False, True)
"""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass, field

__all__ = ["HOOKS", "CrashPlan", "crash_point"]

HOOKS = ("in_flight", "after_ack", "after_ledger", "after_checkpoint")


@dataclass
class CrashPlan:
    """Which hook to crash at, on which hit (1-based), and the hits counted so far.

    Examples:
        >>> CrashPlan.parse("in_flight:1").hit("in_flight")
        True
    """

    hook: str
    at: int
    _hits: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def parse(cls, text: str) -> CrashPlan:
        """Read ``<hook>:<n>``; unknown hooks and bad counts are refused.

        Examples:
            >>> CrashPlan.parse("nowhere:1")
            Traceback (most recent call last):
            ...
            ValueError: ERPSA_CRASH_AT hook must be one of in_flight, after_ack, after_ledger, after_checkpoint
        """  # noqa: E501
        hook, _, count = text.partition(":")
        if hook not in HOOKS:
            raise ValueError(f"ERPSA_CRASH_AT hook must be one of {', '.join(HOOKS)}")
        try:
            at = int(count or "1")
        except ValueError:
            raise ValueError("ERPSA_CRASH_AT must look like <hook>:<n>") from None
        if at < 1:
            raise ValueError("ERPSA_CRASH_AT count starts at 1")
        return cls(hook, at)

    def hit(self, hook: str) -> bool:
        """Count a hit of ``hook``; true when this is the planned one."""
        if hook != self.hook:
            return False
        with self._lock:
            self._hits += 1
            return self._hits == self.at


_PLAN: CrashPlan | None = None
_LOADED = False


def crash_point(hook: str) -> None:
    """Die by SIGKILL here if ``ERPSA_CRASH_AT`` names this hook and hit (test-only).

    Examples:
        >>> crash_point("after_ack")  # no ERPSA_CRASH_AT: nothing happens
    """
    global _PLAN, _LOADED
    if not _LOADED:
        text = os.environ.get("ERPSA_CRASH_AT")
        _PLAN = CrashPlan.parse(text) if text else None
        _LOADED = True
    if _PLAN is not None and _PLAN.hit(hook):
        os.kill(os.getpid(), signal.SIGKILL)
