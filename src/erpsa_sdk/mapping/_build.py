"""From a checked :class:`PipelineConfig` to connectors, a state store and a ready runner.

Examples:
    >>> build_runner.__name__
    'build_runner'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from erpsa_sdk.clock import Clock
from erpsa_sdk.connector import Connector
from erpsa_sdk.errors import ConfigurationError
from erpsa_sdk.mapping._config import EnvRef, PipelineConfig, PipelineSpec
from erpsa_sdk.mapping._values import MappingPolicy, ValueMap
from erpsa_sdk.sync.deadletters import OwnerRules

__all__ = ["build_policy", "build_runner", "connect", "open_store"]


def _resolve(value: Any, environ: Mapping[str, str], where: str) -> Any:
    if isinstance(value, EnvRef):
        if value.env not in environ:
            raise ConfigurationError(
                f"{where}: environment variable {value.env} is not set", variable=value.env
            )
        return environ[value.env]
    return value


def connect(
    config: PipelineConfig,
    name: str,
    *,
    environ: Mapping[str, str] | None = None,
    transport: Any = None,
    clock: Clock | None = None,
) -> Connector:
    """Build the connector of connection ``name``; ``{ env = ... }`` settings are read now.

    ``transport`` (an ``httpx2`` transport such as ``MockTransport(simulator)``) and ``clock``
    are for tests.

    Examples:
        >>> connect.__name__
        'connect'
    """
    from erpsa_sdk.registry import get_plugin

    env = os.environ if environ is None else environ
    if name not in config.connections:
        raise ConfigurationError(f"no connection {name!r} in {config.where()}")
    conn = config.connections[name]
    plugin = get_plugin(conn.connector)
    settings = {
        key: _resolve(value, env, config.where("connections", name, "settings", key))
        for key, value in conn.settings.items()
    }
    if "tenant" in plugin.settings.model_fields:
        settings.setdefault("tenant", conn.tenant)
    return plugin.create(settings, transport=transport, clock=clock)


def build_policy(config: PipelineConfig, spec: PipelineSpec) -> MappingPolicy:
    """The record policy of one pipeline: value maps, natural keys, reference and owner rules.

    Examples:
        >>> from erpsa_sdk.mapping import PipelineConfig
        >>> cfg = PipelineConfig.model_validate({"namespace": "n", "connections": {},
        ...     "value_maps": {"cat": {"travel": "TRV"}}, "owners": {"period_closed": "pmo"},
        ...     "pipelines": [{"name": "a", "source": "s", "target": "t", "types": ["Expense"],
        ...                    "value_maps": {"Expense.category": "cat"}}]})
        >>> policy = build_policy(cfg, cfg.pipeline())
        >>> policy.owner_for("validation_failed:period_closed")
        'pmo'
    """
    maps = {
        path: ValueMap(map_name, dict(config.value_maps[map_name]))
        for path, map_name in spec.value_maps.items()
    }
    return MappingPolicy(
        value_maps=maps,
        owners=OwnerRules({**config.owners, **spec.owners}),
        natural_keys=spec.natural_keys,
        reference_rules=spec.references,
    )


def open_store(config: PipelineConfig, *, environ: Mapping[str, str] | None = None) -> Any:
    """Open the configured state store (SQLite file by default, PostgreSQL by URL).

    Examples:
        >>> from erpsa_sdk.mapping import PipelineConfig
        >>> open_store(PipelineConfig.model_validate({"namespace": "n", "connections": {},
        ...     "pipelines": [], "state": "sqlite:///:memory:"}))
        SQLiteStateStore(':memory:')
    """
    from erpsa_sdk.sync import open_state_store

    env = os.environ if environ is None else environ
    url = _resolve(config.state, env, config.where("state"))
    return open_state_store(str(url))


def build_runner(
    config: PipelineConfig,
    pipeline: str | None = None,
    *,
    store: Any = None,
    environ: Mapping[str, str] | None = None,
    transports: Mapping[str, Any] | None = None,
    clock: Clock | None = None,
    **runner_options: Any,
) -> Any:
    """A :class:`~erpsa_sdk.sync.SyncRunner` for one pipeline of the configuration.

    Parameters:
        config: a checked configuration (:func:`~erpsa_sdk.mapping.load_config`).
        pipeline: the pipeline's name (optional when the file declares one).
        store: a state store to use instead of the configured one.
        environ: environment variables for ``{ env = ... }`` settings (default ``os.environ``).
        transports: connection name -> ``httpx2`` transport (tests: ``MockTransport(sim)``).
        clock: one clock for the connectors and the runner (tests: a ``SimClock``).
        runner_options: passed to ``SyncRunner`` (``on_progress``, ``handle_signals``, ...).

    Examples:
        >>> build_runner.__doc__.splitlines()[0]
        'A :class:`~erpsa_sdk.sync.SyncRunner` for one pipeline of the configuration.'
    """
    from erpsa_sdk.sync import Pipeline, SyncRunner
    from erpsa_sdk.sync._pipeline import PIPELINE_ORDER

    spec = config.pipeline(pipeline)
    models = {m.__name__: m for m in PIPELINE_ORDER}
    transports = transports or {}
    source = connect(
        config, spec.source, environ=environ, transport=transports.get(spec.source), clock=clock
    )
    target = connect(
        config, spec.target, environ=environ, transport=transports.get(spec.target), clock=clock
    )
    # Master types named only for the initial match still get a (link-only) step.
    types = [models[t] for t in dict.fromkeys([*spec.types, *spec.natural_keys])]
    flow = Pipeline(
        spec.name,
        source=source,
        target=target,
        namespace=config.namespace,
        types=types,
        target_tenant=config.connections[spec.target].tenant,
        detect_deletions=spec.detect_deletions,
    )
    runner_options.setdefault("workers", spec.workers)
    return SyncRunner(
        flow,
        store=store if store is not None else open_store(config, environ=environ),
        max_wait_runs=spec.unresolved_after,
        validate=spec.validate_before_write,
        clock=clock,
        policy=build_policy(config, spec),
        **runner_options,
    )
