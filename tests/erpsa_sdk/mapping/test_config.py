"""The pipeline configuration file: schema, checks, refusals that name the line (issue 8)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from erpsa_sdk.errors import ConfigurationError
from erpsa_sdk.mapping import (
    EnvRef,
    build_policy,
    config_json_schema,
    connect,
    load_config,
    open_store,
    parse_config,
)

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "pipeline.toml"

GOOD = """\
namespace = "acme-prod"

[connections.psa]
connector = "acmepsa"
tenant = "acme"
settings = { api_token = { env = "PSA_TOKEN" }, page_size = 50 }

[connections.erp]
connector = "acmeerp"
tenant = "acme"
[connections.erp.settings]
api_token = { env = "ERP_TOKEN" }

[value_maps.expense_category]
travel = "EXP-TRAVEL"

[[pipelines]]
name = "psa-to-erp"
source = "psa"
target = "erp"
types = ["Customer", "Expense"]
natural_keys = { Customer = ["name"] }
value_maps = { "Expense.category" = "expense_category" }
"""


def refusal(text: str) -> str:
    with pytest.raises(ConfigurationError) as info:
        parse_config(text, source="p.toml")
    return info.value.message


def line_of(text: str, needle: str) -> int:
    (n,) = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return n


def test_the_example_file_loads_and_builds_its_policy() -> None:
    config = load_config(EXAMPLE)
    spec = config.pipeline("psa-to-erp")
    assert config.namespace == "acme-prod"
    assert spec.natural_keys == {"Customer": ["name"], "Resource": ["email"], "Project": ["code"]}
    assert spec.unresolved_after == 3
    assert isinstance(config.connections["erp"].settings["api_token"], EnvRef)
    policy = build_policy(config, spec)
    assert policy.owner_for("vendor_rejected:PERIOD_CLOSED") == "finance"
    assert policy.owner_for("validation_failed:period_closed") == "finance"
    assert policy.reference_rule.__name__ == "reference_rule"


def test_a_good_file_parses() -> None:
    config = parse_config(GOOD)
    assert config.pipeline().types == ["Customer", "Expense"]
    assert config.state == "sqlite:///erpsa-state.db"


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ('{ env = "ERP_TOKEN" }', '"erp-live-token"', 'api_token = "erp-live-token"'),
        (
            'settings = { api_token = { env = "PSA_TOKEN" }, page_size = 50 }',
            'settings = { api_token = { env = "PSA_TOKEN" }, client_secret = "x" }',
            "client_secret",
        ),
    ],
)
def test_inline_secret_is_refused_with_its_line(old: str, new: str, needle: str) -> None:
    text = GOOD.replace(old, new)
    message = refusal(text)
    assert f"p.toml:{line_of(text, needle)}: " in message
    assert "inline secret" in message
    assert "erp-live-token" not in message
    assert '"x"' not in message


def test_unknown_connector_is_refused_with_its_line() -> None:
    text = GOOD.replace('connector = "acmeerp"', 'connector = "acme-erp"')
    message = refusal(text)
    assert message.startswith(f"p.toml:{line_of(text, 'acme-erp')}: ")
    assert "unknown connector 'acme-erp'" in message
    assert "acmeerp" in message


def test_missing_value_map_is_refused_with_its_line() -> None:
    text = GOOD.replace('"Expense.category" = "expense_category"', '"Expense.category" = "cats"')
    message = refusal(text)
    assert message.startswith(f"p.toml:{line_of(text, 'cats')}: ")
    assert "value map 'cats', which is not declared" in message


def test_every_problem_is_reported_at_once_in_line_order() -> None:
    text = (
        GOOD.replace('connector = "acmepsa"', 'connector = "nope"')
        .replace('source = "psa"', 'source = "crm"')
        .replace('types = ["Customer", "Expense"]', 'types = ["Customer", "Expense", "Widget"]')
    )
    lines = refusal(text).splitlines()
    numbers = [int(re.match(r"p\.toml:(\d+):", line).group(1)) for line in lines]  # type: ignore[union-attr]
    assert numbers == sorted(numbers)
    assert len(lines) == 3


@pytest.mark.parametrize(
    ("old", "new", "needle", "words"),
    [
        ('namespace = "acme-prod"', 'namespace = "Acme Prod"', "namespace", "namespace"),
        ('tenant = "acme"\nsettings', "tenant = 7\nsettings", "tenant = 7", "valid string"),
        ("natural_keys = { Customer", "natural_keys = { Expense", "natural_keys", "transactional"),
        ('Customer = ["name"]', 'Customer = ["nom"]', "natural_keys", "no field"),
        ("[[pipelines]]", "[[pipelines]]\nworkers = 0", "workers", "greater than or equal"),
        ("[[pipelines]]", "[[pipelines]]\ncolour = 1", "colour", "Extra inputs"),
        (
            'api_token = { env = "ERP_TOKEN" }',
            'api_token = { env = "ERP TOKEN" }',
            "ERP TOKEN",
            "pattern",
        ),
        ("page_size = 50", "page_sise = 50", "page_sise", "has no setting 'page_sise'"),
        ("page_size = 50", 'tenant = "other"', "other", "differs from the connection's tenant"),
    ],
)
def test_schema_and_semantic_errors_name_their_line(
    old: str, new: str, needle: str, words: str
) -> None:
    text = GOOD.replace(old, new, 1)
    message = refusal(text)
    assert f"p.toml:{line_of(text, needle)}: " in message, message
    assert words in message


def test_postgres_password_inline_is_refused() -> None:
    text = GOOD.replace(
        'namespace = "acme-prod"',
        'namespace = "acme-prod"\nstate = "postgresql://erpsa:hunter2@db/erpsa"',
    )
    message = refusal(text)
    assert "p.toml:2: state" in message
    assert "hunter2" not in message


def test_password_in_a_setting_url_is_refused() -> None:
    text = GOOD.replace("page_size = 50", 'base_url = "https://svc:hunter2@psa.example"')
    message = refusal(text)
    assert f"p.toml:{line_of(text, 'hunter2')}: connections.psa.settings.base_url" in message
    assert "password inline" in message
    assert "hunter2" not in message


def test_toml_syntax_error_names_the_line() -> None:
    message = refusal(GOOD + "\n[[pipelines]\n")
    assert message.startswith("p.toml:")
    assert "not valid TOML" in message


def test_env_settings_are_read_when_connecting(tmp_path: Path) -> None:
    config = parse_config(
        GOOD.replace(
            'namespace = "acme-prod"', 'namespace = "acme-prod"\nstate = { env = "STATE_URL" }'
        )
    )
    with pytest.raises(ConfigurationError, match=r"environment variable ERP_TOKEN is not set"):
        connect(config, "erp", environ={})
    conn = connect(config, "erp", environ={"ERP_TOKEN": "t0k"})
    assert conn.tenant == "acme"  # type: ignore[attr-defined]
    assert "t0k" not in repr(conn.settings)  # type: ignore[attr-defined]
    store = open_store(config, environ={"STATE_URL": f"sqlite:///{tmp_path / 's.db'}"})
    assert store.schema_version() >= 2


def test_json_schema_is_exported_and_matches_the_model() -> None:
    schema = config_json_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    assert {"namespace", "connections", "pipelines"} <= set(schema["properties"])
    assert "validate" in json.dumps(schema["$defs"]["PipelineSpec"])  # the file's key name
