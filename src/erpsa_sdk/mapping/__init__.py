"""Pipeline configuration, value maps and the initial match of existing master data.

A deployment describes its pipelines in one TOML file, validated by a JSON Schema
(:func:`config_json_schema`, also written by ``erpsa schema export``): the connections
(connector, tenant, settings with secrets as ``{ env = "VAR" }`` references), the EntityKey
namespace, the state store URL, declared value maps and, per pipeline, source, target, types,
natural keys for the initial match, value maps per field, reference and owner-role rules.
:func:`load_config` refuses a bad file before anything runs, naming the line of each problem;
:func:`build_runner` turns a pipeline into a ready :class:`~erpsa_sdk.sync.SyncRunner`.

Examples:
    >>> from erpsa_sdk.mapping import parse_config
    >>> cfg = parse_config('''
    ... namespace = "acme-prod"
    ... [connections.psa]
    ... connector = "acmepsa"
    ... tenant = "acme"
    ... settings = { api_token = { env = "ACMEPSA_TOKEN" } }
    ... [connections.erp]
    ... connector = "acmeerp"
    ... tenant = "acme"
    ... settings = { api_token = { env = "ACMEERP_TOKEN" } }
    ... [value_maps.expense_category]
    ... travel = "EXP-TRAVEL"
    ... [[pipelines]]
    ... name = "psa-to-erp"
    ... source = "psa"
    ... target = "erp"
    ... types = ["Customer", "Expense"]
    ... natural_keys = { Customer = ["name"], Resource = ["email"] }
    ... value_maps = { "Expense.category" = "expense_category" }
    ... ''')
    >>> cfg.pipeline().natural_keys["Resource"]
    ['email']
"""

from __future__ import annotations

from erpsa_sdk.mapping._build import build_policy, build_runner, connect, open_store
from erpsa_sdk.mapping._config import (
    CONFIG_SCHEMA_VERSION,
    Connection,
    EnvRef,
    PipelineConfig,
    PipelineSpec,
    config_json_schema,
    export_config_schema,
    load_config,
    parse_config,
)
from erpsa_sdk.mapping._lines import TomlLocator
from erpsa_sdk.mapping._values import MappingPolicy, ValueMap

__all__ = [
    "CONFIG_SCHEMA_VERSION",
    "Connection",
    "EnvRef",
    "MappingPolicy",
    "PipelineConfig",
    "PipelineSpec",
    "TomlLocator",
    "ValueMap",
    "build_policy",
    "build_runner",
    "config_json_schema",
    "connect",
    "export_config_schema",
    "load_config",
    "open_store",
    "parse_config",
]
