"""erpsa-sdk: connect PSA platforms and ERPs with typed, failure-safe flows.

The facade is small and lazy: ``import erpsa_sdk`` loads no HTTP, auth, CLI or model module
until one of its names is used (stripe-python's trick), so notebooks and CLIs start fast.

Example:
    >>> import erpsa_sdk
    >>> from decimal import Decimal
    >>> erpsa_sdk.Money("100.00", "USD") * Decimal("1.5")
    Money('150.00', 'USD')
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it; resolved on first attribute access.
_LAZY: dict[str, str] = {
    # errors
    "ApiError": "erpsa_sdk.errors",
    "AuthError": "erpsa_sdk.errors",
    "ConfigurationError": "erpsa_sdk.errors",
    "ConflictError": "erpsa_sdk.errors",
    "ConnectError": "erpsa_sdk.errors",
    "ErpsaError": "erpsa_sdk.errors",
    "ForbiddenError": "erpsa_sdk.errors",
    "IndeterminateWrite": "erpsa_sdk.errors",
    "NotFoundError": "erpsa_sdk.errors",
    "PostedRecordError": "erpsa_sdk.errors",
    "QuotaExhausted": "erpsa_sdk.errors",
    "RateLimited": "erpsa_sdk.errors",
    "ResponseFormatError": "erpsa_sdk.errors",
    "SecurityError": "erpsa_sdk.errors",
    "ServerError": "erpsa_sdk.errors",
    "Timeout": "erpsa_sdk.errors",
    "TransportError": "erpsa_sdk.errors",
    "ValidationFailed": "erpsa_sdk.errors",
    # clock
    "Clock": "erpsa_sdk.clock",
    "SystemClock": "erpsa_sdk.clock",
    # models
    "Money": "erpsa_sdk.models",
    "FxRate": "erpsa_sdk.models",
    "CurrencyMismatch": "erpsa_sdk.models",
    "EntityKey": "erpsa_sdk.models",
    "WriteKey": "erpsa_sdk.models",
    "SourceRef": "erpsa_sdk.models",
    "Rejected": "erpsa_sdk.models",
    "Customer": "erpsa_sdk.models",
    "LegalEntity": "erpsa_sdk.models",
    "CostCenter": "erpsa_sdk.models",
    "Resource": "erpsa_sdk.models",
    "Contract": "erpsa_sdk.models",
    "RateCard": "erpsa_sdk.models",
    "RateCardLine": "erpsa_sdk.models",
    "Project": "erpsa_sdk.models",
    "ProjectTask": "erpsa_sdk.models",
    "Assignment": "erpsa_sdk.models",
    "TimeEntry": "erpsa_sdk.models",
    "Expense": "erpsa_sdk.models",
    "Milestone": "erpsa_sdk.models",
    "Invoice": "erpsa_sdk.models",
    "InvoiceLine": "erpsa_sdk.models",
    "RevenueEvent": "erpsa_sdk.models",
    "ExtensionSchema": "erpsa_sdk.models",
    "parse_records": "erpsa_sdk.models",
    # events
    "BusinessEvent": "erpsa_sdk.events",
    "EventType": "erpsa_sdk.events",
    # runtime (connectors, runner, configuration)
    "LeaseHeld": "erpsa_sdk.errors",
    "LeaseLost": "erpsa_sdk.errors",
    "StateError": "erpsa_sdk.errors",
    "SimClock": "erpsa_sdk.clock",
    "ApiClient": "erpsa_sdk.http",
    "AsyncApiClient": "erpsa_sdk.http",
    "Connector": "erpsa_sdk.connector",
    "ConnectorPlugin": "erpsa_sdk.connector",
    "Capabilities": "erpsa_sdk.connector",
    "TypeCapabilities": "erpsa_sdk.connector",
    "WriteResult": "erpsa_sdk.connector",
    "WriteOutcome": "erpsa_sdk.connector",
    "Problem": "erpsa_sdk.connector",
    "available_connectors": "erpsa_sdk.registry",
    "connect": "erpsa_sdk.registry",
    "SyncRunner": "erpsa_sdk.sync",
    "Pipeline": "erpsa_sdk.sync",
    "RunReport": "erpsa_sdk.sync",
    "open_state_store": "erpsa_sdk.sync",
    "load_config": "erpsa_sdk.mapping",
    "build_runner": "erpsa_sdk.mapping",
    # transport
    "WriteSafety": "erpsa_sdk.http.safety",
}

__all__ = [
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

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from erpsa_sdk.clock import (
        Clock,
        SimClock,
        SystemClock,
    )
    from erpsa_sdk.connector import (
        Capabilities,
        Connector,
        ConnectorPlugin,
        Problem,
        TypeCapabilities,
        WriteOutcome,
        WriteResult,
    )
    from erpsa_sdk.errors import (
        ApiError,
        AuthError,
        ConfigurationError,
        ConflictError,
        ConnectError,
        ErpsaError,
        ForbiddenError,
        IndeterminateWrite,
        LeaseHeld,
        LeaseLost,
        NotFoundError,
        PostedRecordError,
        QuotaExhausted,
        RateLimited,
        ResponseFormatError,
        SecurityError,
        ServerError,
        StateError,
        Timeout,
        TransportError,
        ValidationFailed,
    )
    from erpsa_sdk.events import (
        BusinessEvent,
        EventType,
    )
    from erpsa_sdk.http import (
        ApiClient,
        AsyncApiClient,
    )
    from erpsa_sdk.http.safety import (
        WriteSafety,
    )
    from erpsa_sdk.mapping import (
        build_runner,
        load_config,
    )
    from erpsa_sdk.models import (
        Assignment,
        Contract,
        CostCenter,
        CurrencyMismatch,
        Customer,
        EntityKey,
        Expense,
        ExtensionSchema,
        FxRate,
        Invoice,
        InvoiceLine,
        LegalEntity,
        Milestone,
        Money,
        Project,
        ProjectTask,
        RateCard,
        RateCardLine,
        Rejected,
        Resource,
        RevenueEvent,
        SourceRef,
        TimeEntry,
        WriteKey,
        parse_records,
    )
    from erpsa_sdk.registry import (
        available_connectors,
        connect,
    )
    from erpsa_sdk.sync import (
        Pipeline,
        RunReport,
        SyncRunner,
        open_state_store,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'erpsa_sdk' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # cache: the next access does not come back here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
