"""A runner process for the crash and lease tests: AcmePSA -> AcmeERP over loopback HTTP.

Run as ``python -m tests.erpsa_sdk.sync.crash_child`` with the arguments below. It prints one
JSON line with the run's report and exits 0 (completed), 3 (failed), 4 (lease lost) or
5 (lease held). ``ERPSA_CRASH_AT`` makes it die by SIGKILL at a named hook.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from erpsa_sdk.errors import LeaseHeld, LeaseLost
from erpsa_sdk.models import Customer, Expense, Project, TimeEntry
from erpsa_sdk.sync import FencedTransport, Pipeline, RunStatus, SyncRunner, open_state_store

TYPES = (Customer, Project, TimeEntry, Expense)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", required=True, help="state store URL")
    parser.add_argument("--schema", default=None, help="PostgreSQL schema")
    parser.add_argument("--psa", required=True, help="AcmePSA base URL")
    parser.add_argument("--erp", required=True, help="AcmeERP base URL")
    parser.add_argument("--psa-token", required=True)
    parser.add_argument("--erp-token", required=True)
    parser.add_argument("--psa-tenant", required=True)
    parser.add_argument("--erp-tenant", required=True)
    parser.add_argument("--namespace", default="crash")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--lease-ttl", type=float, default=30.0)
    parser.add_argument("--page-size", type=int, default=10)
    parser.add_argument("--holder", default=None)
    args = parser.parse_args(argv)
    from acme_psa_erp import ACMEERP, ACMEPSA  # the example plugin; imported when run

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    psa = ACMEPSA.create(
        {
            "base_url": args.psa,
            "api_token": args.psa_token,
            "tenant": args.psa_tenant,
            "page_size": args.page_size,
        }
    )
    # FencedTransport: a worker frozen past its lease cannot finish a write it had begun.
    erp = ACMEERP.create(
        {"base_url": args.erp, "api_token": args.erp_token, "tenant": args.erp_tenant},
        transport=FencedTransport(),
    )
    options = {"schema": args.schema} if args.schema else {}
    store = open_state_store(args.state, **options)
    pipeline = Pipeline("acme", source=psa, target=erp, namespace=args.namespace, types=TYPES)
    runner = SyncRunner(
        pipeline, store=store, workers=args.workers, lease_ttl=args.lease_ttl, holder=args.holder
    )
    try:
        report = runner.run_once()
    except LeaseHeld as exc:
        print(json.dumps({"status": "lease_held", "error": exc.message}), flush=True)
        return 5
    except LeaseLost as exc:
        print(json.dumps({"status": "lease_lost", "error": exc.message}), flush=True)
        return 4
    print(
        json.dumps({"status": report.status.value, "counts": report.counts, "error": report.error}),
        flush=True,
    )
    return 0 if report.status is RunStatus.COMPLETED else 3


if __name__ == "__main__":
    sys.exit(main())
