"""Settings of the Kantata simulator, including every unverified behaviour as a switch.

Examples:
    >>> cfg = SimulatorConfig(updated_after_inclusive=False)
    >>> cfg.max_per_page, cfg.updated_after_inclusive
    (200, False)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

__all__ = ["RateLimit", "SimulatorConfig"]


@dataclass(frozen=True)
class RateLimit:
    """A sliding-window request budget per token and endpoint class.

    Kantata publishes no numbers (fact sheet §1.6), so these are test settings only.

    Examples:
        >>> RateLimit(requests=100, window_seconds=60).requests
        100
    """

    requests: int
    window_seconds: float


@dataclass(frozen=True)
class SimulatorConfig:
    """What the simulator does where the vendor's behaviour is documented loosely or not at all.

    Attributes:
        default_per_page / max_per_page: ``per_page`` default 20, capped at 200 (§1.4).
        updated_after_inclusive: whether ``updated_after=T`` also returns rows updated at ``T``
            (unverified; clients must work either way).
        external_references_hide_archived: whether ``GET /external_references`` hides references
            whose subject sits in an archived workspace (unverified).
        show_hides_archived: whether ``GET /time_entries/{id}`` 404s for an entry of an archived
            workspace (a 2021 recording shows an archived *workspace* served by id).
        archived_writes: ``"allow"`` or ``"refuse"`` (422) for writes to rows of an archived
            workspace (unverified).
        expenses_accept_from_archived: whether ``/expenses`` honours
            ``from_archived_workspaces=true`` (documented for time entries only).
        shuffle_ties: rows sharing an order key come back in a seeded order that changes on
            every request, as a database without a unique sort key does.
        rate_limit / extra_rate_limit: budgets for ordinary endpoints and for the eight
            operations with their own extra limits; ``None`` disables them.
        event_retention: how long subscribed events are kept (9 days, §1.10).
        scan_limit: the largest result set (before paging) a list request may sort before the
            simulated 3-minute server timeout answers 504 (``None``: no timeout); narrower
            filters (``updated_after`` / ``updated_before``, dates) keep below it.
        redirect_uris: the OAuth app's registered redirect URIs (they must match exactly).
        code_ttl: seconds an authorization code stays valid ("short-lived"; number unverified).

    Examples:
        >>> SimulatorConfig().event_retention.days
        9
    """

    default_per_page: int = 20
    max_per_page: int = 200
    updated_after_inclusive: bool = True
    external_references_hide_archived: bool = False
    show_hides_archived: bool = False
    archived_writes: str = "allow"
    expenses_accept_from_archived: bool = True
    shuffle_ties: bool = True
    rate_limit: RateLimit | None = None
    extra_rate_limit: RateLimit | None = None
    event_retention: timedelta = field(default=timedelta(days=9))
    scan_limit: int | None = None
    redirect_uris: frozenset[str] = frozenset({"http://127.0.0.1/oauth/callback"})
    code_ttl: float = 600.0
