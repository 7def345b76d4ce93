"""The public facade: a pinned ``__all__``, lazy names that resolve, and a light import."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest

import erpsa_sdk

PINNED = sorted(
    [
        "ApiClient",
        "ApiError",
        "Assignment",
        "AsyncApiClient",
        "AuthError",
        "BusinessEvent",
        "Capabilities",
        "Clock",
        "ConfigurationError",
        "ConflictError",
        "ConnectError",
        "Connector",
        "ConnectorPlugin",
        "Contract",
        "CostCenter",
        "CurrencyMismatch",
        "Customer",
        "EntityKey",
        "ErpsaError",
        "EventType",
        "Expense",
        "ExtensionSchema",
        "ForbiddenError",
        "FxRate",
        "IndeterminateWrite",
        "Invoice",
        "InvoiceLine",
        "LeaseHeld",
        "LeaseLost",
        "LegalEntity",
        "Milestone",
        "Money",
        "NotFoundError",
        "Pipeline",
        "PostedRecordError",
        "Problem",
        "Project",
        "ProjectTask",
        "QuotaExhausted",
        "RateCard",
        "RateCardLine",
        "RateLimited",
        "Rejected",
        "Resource",
        "ResponseFormatError",
        "RevenueEvent",
        "RunReport",
        "SecurityError",
        "ServerError",
        "SimClock",
        "SourceRef",
        "StateError",
        "SyncRunner",
        "SystemClock",
        "TimeEntry",
        "Timeout",
        "TransportError",
        "TypeCapabilities",
        "ValidationFailed",
        "WriteKey",
        "WriteOutcome",
        "WriteResult",
        "WriteSafety",
        "__version__",
        "available_connectors",
        "build_runner",
        "connect",
        "load_config",
        "open_state_store",
        "parse_records",
    ]
)


def test_all_is_pinned() -> None:
    assert erpsa_sdk.__all__ == PINNED


def test_every_public_name_resolves_and_has_a_docstring_with_an_example() -> None:
    for name in erpsa_sdk.__all__:
        if name == "__version__":
            continue
        obj = getattr(erpsa_sdk, name)
        doc = inspect.getdoc(obj) or ""
        assert doc, f"{name} has no docstring"
        assert "Example" in doc or ">>>" in doc, f"{name} docstring has no example"


def test_every_lazy_name_is_public() -> None:
    assert sorted([*erpsa_sdk._LAZY, "__version__"]) == erpsa_sdk.__all__


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="DoesNotExist"):
        erpsa_sdk.DoesNotExist  # type: ignore[attr-defined]  # noqa: B018


HEAVY = ["httpx2", "authlib", "joserfc", "rich", "typer", "erpsa_sdk.models", "pydantic"]


def test_import_is_light() -> None:
    code = (
        "import sys, json; import erpsa_sdk; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == []


def test_using_a_name_loads_only_what_it_needs() -> None:
    code = (
        "import sys, json; import erpsa_sdk; erpsa_sdk.ErpsaError; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == []
