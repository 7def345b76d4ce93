"""The connector contract types: capabilities, settings, results, the base class."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from erpsa_sdk.connector import (
    Capabilities,
    Connector,
    ConnectorPlugin,
    ConnectorSettings,
    DeletionMode,
    Health,
    Problem,
    ReferenceRule,
    TypeCapabilities,
    WriteOutcome,
    WriteRequest,
    WriteResult,
)
from erpsa_sdk.errors import ConfigurationError, ErpsaError, ValidationFailed
from erpsa_sdk.http.safety import WriteSafety
from erpsa_sdk.limits import Concurrency, Limit, ScopeKind
from erpsa_sdk.models.keys import EntityKey, WriteKey, WriteOperation
from erpsa_sdk.models.refs import SourceRef


class Thing(BaseModel):
    name: str


class Secretive(ConnectorSettings):
    env_prefix = "ERPSA_SECRETIVE_"
    tenant: str
    client_secret: SecretStr
    scopes: tuple[str, ...] = ()
    page_size: int = 100


EK = EntityKey(namespace="t", system="s", tenant="x", source_id="1", object_type="thing")


def test_write_safety_is_declared_per_operation() -> None:
    caps = TypeCapabilities(
        write=True,
        delete=True,
        write_safety={
            "create": "lookup_then_create",
            "update": "natural_upsert",
            "delete": "natural_upsert",
        },
    )
    assert caps.safety(WriteOperation.CREATE) is WriteSafety.LOOKUP_THEN_CREATE
    assert caps.safety("update") is WriteSafety.NATURAL_UPSERT
    assert caps.safety("upsert") is WriteSafety.LOOKUP_THEN_CREATE
    assert not caps.vendor_dedupes_blind_creates
    with pytest.raises(ConfigurationError, match="'reverse'"):
        caps.safety("reverse")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"write": True}, "write=True needs write_safety"),
        ({"write": True, "write_safety": {"create": "unsafe"}}, "both 'create' and 'update'"),
        ({"delete": True}, "delete=True needs write_safety for 'delete'"),
        ({"reverse": True}, "reverse=True needs write_safety for 'reverse'"),
        ({"incremental": True}, "incremental=True needs read=True"),
    ],
)
def test_inconsistent_capabilities_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TypeCapabilities.model_validate(kwargs)


def test_capabilities_lookup_references_limits_and_rounding() -> None:
    caps = Capabilities(
        types={
            "TimeEntry": TypeCapabilities(
                read=True,
                incremental=True,
                deletions="change_feed",
                write=True,
                write_safety={"upsert": "natural_upsert"},
                references={"task_id": "optional", "resource_id": "match"},
            ),
        },
        limits=(Limit(Concurrency(5), ScopeKind.ACCOUNT, note="per account"),),
        rounding="ROUND_HALF_EVEN",
    )
    assert caps.of(Thing).read is False  # undeclared types support nothing
    assert caps.of("TimeEntry").deletions is DeletionMode.CHANGE_FEED
    assert caps.reference_rule("TimeEntry", "resource_id") is ReferenceRule.MATCH
    assert caps.reference_rule("TimeEntry", "project_id") is None
    assert caps.rounding_mode == ROUND_HALF_EVEN
    assert caps.summary()["TimeEntry"][:3] == ["read", "incremental", "deletions=change_feed"]
    # A natural-upsert create is the connector's own safety, not a vendor that de-duplicates.
    assert not caps.of("TimeEntry").vendor_dedupes_blind_creates
    # JSON round trip (the CLI prints capabilities as JSON).
    assert Capabilities.model_validate_json(caps.model_dump_json()) == caps


def test_settings_from_env_toml_and_overrides(tmp_path: Path) -> None:
    toml = tmp_path / "erpsa.toml"
    toml.write_text(
        '[connectors.secretive]\ntenant = "from-toml"\nclient_secret = "t0ml"\npage_size = 7\n',
        encoding="utf-8",
    )
    env = {"ERPSA_SECRETIVE_TENANT": "from-env", "ERPSA_SECRETIVE_SCOPES": '["a", "b"]'}
    s = Secretive.load(toml=toml, table="connectors.secretive", environ=env, page_size=9)
    assert (s.tenant, s.scopes, s.page_size) == ("from-env", ("a", "b"), 9)
    assert s.client_secret.get_secret_value() == "t0ml"
    assert Secretive.from_toml(toml, table="connectors.secretive").tenant == "from-toml"


def test_settings_never_show_secrets() -> None:
    env = {"ERPSA_SECRETIVE_TENANT": "t", "ERPSA_SECRETIVE_CLIENT_SECRET": "hunter2-value"}
    s = Secretive.from_env(environ=env)
    assert "hunter2-value" not in repr(s)
    assert "hunter2-value" not in str(s)
    bad = {"ERPSA_SECRETIVE_CLIENT_SECRET": "hunter2-value", "ERPSA_SECRETIVE_PAGE_SIZE": "x"}
    with pytest.raises(ConfigurationError) as info:
        Secretive.from_env(environ=bad)
    text = str(info.value)
    assert "tenant (missing)" in text
    assert "page_size (int_parsing)" in text
    assert "hunter2-value" not in text
    assert info.value.__cause__ is None


def test_settings_toml_errors_are_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read settings file"):
        Secretive.from_toml(tmp_path / "missing.toml")
    path = tmp_path / "a.toml"
    path.write_text("[other]\nx = 1\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"has no table \[connectors.secretive\]"):
        Secretive.from_toml(path, table="connectors.secretive")


class Minimal(Connector):
    name = "minimal"

    def __init__(self) -> None:
        self.written: list[str] = []

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(types={"Thing": TypeCapabilities(
            write=True, write_safety={"upsert": "natural_upsert"})})  # fmt: skip

    def read(self, model, *, since=None, **filters):  # type: ignore[no-untyped-def]
        return iter(())

    def lookup(self, model, *, entity_key):  # type: ignore[no-untyped-def]
        return None

    def upsert(self, obj, *, entity_key, write_key, refs):  # type: ignore[no-untyped-def]
        if obj.name == "bad":
            raise ValidationFailed("name refused", status=400)
        self.written.append(obj.name)
        return WriteResult(outcome="upserted", entity_key=entity_key,
                           ref=SourceRef(system="m", tenant="x", id=obj.name))  # fmt: skip

    def delete(self, model, *, entity_key, write_key):  # type: ignore[no-untyped-def]
        return WriteResult(outcome=WriteOutcome.NOT_FOUND, entity_key=entity_key)

    def validate(self, obj, *, refs):  # type: ignore[no-untyped-def]
        return (
            [Problem(code="field_required", message="name", field="name")] if not obj.name else []
        )

    def health(self) -> Health:
        return Health(ok=True)


def test_bulk_upsert_returns_one_result_or_error_per_item_in_order() -> None:
    conn = Minimal()
    wk = WriteKey(entity_key=EK, version="1", operation="upsert")
    reqs = [WriteRequest(obj=Thing(name=n), entity_key=EK, write_key=wk) for n in ["a", "bad", "c"]]
    results = conn.upsert_many(reqs)
    assert [type(r).__name__ for r in results] == ["WriteResult", "ValidationFailed", "WriteResult"]
    assert conn.written == ["a", "c"]
    assert all(isinstance(r, (WriteResult, ErpsaError)) for r in results)


def test_optional_operations_refuse_clearly_when_not_implemented() -> None:
    conn = Minimal()
    wk = WriteKey(entity_key=EK, version="1", operation="reverse")
    with pytest.raises(ConfigurationError, match="cannot read deletions of Thing"):
        conn.read_deletions(Thing)
    with pytest.raises(ConfigurationError, match="declares no natural key for Thing"):
        conn.match(Thing, name="a")
    with pytest.raises(ConfigurationError, match="cannot reverse Thing records"):
        conn.reverse(Thing(name="a"), entity_key=EK, write_key=wk)
    assert conn.validate(Thing(name=""), refs={})[0].code == "field_required"


def test_plugin_create_checks_the_settings_type() -> None:
    plugin = ConnectorPlugin(name="m", connector=lambda s, **kw: Minimal(), settings=Secretive,
                             capabilities=Capabilities())  # fmt: skip

    class Other(ConnectorSettings):
        pass

    with pytest.raises(ConfigurationError, match="takes Secretive, not Other"):
        plugin.create(Other())
    with pytest.raises(ConfigurationError, match="tenant"):
        plugin.create({"client_secret": "x"})
    assert isinstance(plugin.create({"tenant": "t", "client_secret": "x"}), Minimal)
    with pytest.raises(ConfigurationError, match="ships no simulator"):
        plugin.simulator()


class Configured(Minimal):
    def __init__(self, settings: ConnectorSettings, *, transport: object = None,
                 clock: object = None) -> None:  # fmt: skip
        super().__init__()
        self.settings, self.transport, self.clock = settings, transport, clock


def test_plugin_takes_the_connector_class_and_a_lazy_simulator_path() -> None:
    # The class itself is the factory, and a "module:attribute" simulator is imported on use.
    plugin = ConnectorPlugin(name="m", connector=Configured, settings=ConnectorSettings,
                             capabilities=Capabilities(),
                             simulator_factory="collections:OrderedDict")  # fmt: skip
    built = plugin.create({}, transport="t")
    assert isinstance(built, Configured)
    assert (built.settings, built.transport) == (ConnectorSettings(), "t")
    assert plugin.simulator(seed=3) == {"seed": 3, "faults": None, "clock": None}
    # A callable factory works as before.
    called = ConnectorPlugin(name="m", connector=Minimal, settings=ConnectorSettings,
                             capabilities=Capabilities(),
                             simulator_factory=lambda **kw: kw)  # fmt: skip
    assert called.simulator(faults="x") == {"seed": 0, "faults": "x", "clock": None}


@pytest.mark.parametrize("path", ["collections", "collections:", "no dots:x", "a:b;c"])
def test_plugin_refuses_a_malformed_simulator_path(path: str) -> None:
    with pytest.raises(ConfigurationError, match="is not a 'package\\.module:attribute' path"):
        ConnectorPlugin(name="m", connector=Minimal, settings=ConnectorSettings,
                        capabilities=Capabilities(), simulator_factory=path)  # fmt: skip


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("erpsa_sdk.no_such_module:Sim", "cannot load its simulator"),
        ("collections:NoSuchSim", "cannot load its simulator"),
        ("erpsa_sdk.connector:PLUGIN_API_VERSION", "is not callable"),
    ],
)
def test_plugin_reports_a_simulator_path_that_does_not_load(path: str, message: str) -> None:
    plugin = ConnectorPlugin(name="m", connector=Minimal, settings=ConnectorSettings,
                             capabilities=Capabilities(), simulator_factory=path)  # fmt: skip
    with pytest.raises(ConfigurationError, match=message):
        plugin.simulator()


def test_vendor_dedup_of_blind_creates_is_declared_not_derived() -> None:
    keyed = {"upsert": "natural_upsert"}
    assert not TypeCapabilities(write=True, write_safety=keyed).vendor_dedupes_blind_creates
    declared = TypeCapabilities(
        write=True, write_safety={"create": "unsafe", "update": "natural_upsert"},
        vendor_dedupes_blind_creates=True,
    )  # fmt: skip
    assert declared.vendor_dedupes_blind_creates
    assert TypeCapabilities.model_validate_json(declared.model_dump_json()) == declared
    with pytest.raises(ValidationError, match="vendor_dedupes_blind_creates=True needs write"):
        TypeCapabilities(read=True, vendor_dedupes_blind_creates=True)
