"""``erpsa simulate VENDOR``: serve a connector's simulator on 127.0.0.1.

The first line on stdout is one JSON object, ``{"vendor", "base_url", "credentials"}``;
``credentials`` holds a ready ``authorization`` header value, the token endpoint and test keys
(client id and secret), and the admin header and key for the admin API under ``/_admin``.
Serving continues until SIGINT or SIGTERM.

Example:
    >>> from typer.testing import CliRunner
    >>> from erpsa_sdk.cli import app
    >>> result = CliRunner().invoke(app, ["simulate", "no-such-vendor"])
    >>> result.exit_code, "no connector plugin named 'no-such-vendor'" in result.output
    (2, True)
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Annotated

import typer

from erpsa_sdk.cli._app import app

__all__ = ["simulate"]


@app.command("simulate")
def simulate(
    vendor: Annotated[str, typer.Argument(help="The connector whose simulator to serve.")],
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1 (0: any free port).")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the data set, credentials and faults.")] = 0,
    faults: Annotated[
        str,
        typer.Option(
            help="Fault plan: a preset (none, flaky, writes, chaos) or kind=rate pairs, e.g. "
            "'commit_then_drop=0.1,rate_limit=0.05;methods=POST|PUT'."
        ),
    ] = "none",
) -> None:
    """Serve VENDOR's simulator on 127.0.0.1 and print its address and credentials as JSON."""
    from erpsa_sdk.clock import SystemClock
    from erpsa_sdk.errors import ConfigurationError
    from erpsa_sdk.registry import get_plugin
    from erpsa_sdk.testing.faults import FaultPlan

    try:
        plugin = get_plugin(vendor)
        plan = FaultPlan.parse(faults, seed=seed)
        sim = plugin.simulator(seed=seed, faults=plan, clock=SystemClock())
        from erpsa_sdk.testing.loopback import serve

        served = serve(sim, port)
    except ConfigurationError as exc:
        typer.echo(f"erpsa simulate: {exc.message}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(json.dumps(served.info()))
    sys.stdout.flush()
    stop = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        while served.running and not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        served.stop()
        typer.echo(f"erpsa simulate: {vendor} stopped", err=True)
