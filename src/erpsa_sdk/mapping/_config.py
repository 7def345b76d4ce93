"""The pipeline configuration file: TOML, validated by a JSON Schema, refused with line numbers.

The schema is the pydantic model :class:`PipelineConfig` (``erpsa schema export`` writes it as
``pipeline-config.v1.schema.json``). :func:`load_config` parses the file, validates it against
the schema, then checks what a schema cannot: connector plugins are installed, secrets are
references to environment variables (never inline), value maps, connections, types, fields and
natural keys named by a pipeline exist. Every problem is reported with the line of the file it
is on, all at once, before anything runs.

Examples:
    >>> cfg = parse_config('''
    ... namespace = "acme-prod"
    ... [connections.psa]
    ... connector = "acmepsa"
    ... tenant = "acme"
    ... settings = { api_token = { env = "ACMEPSA_TOKEN" } }
    ... [connections.erp]
    ... connector = "acmeerp"
    ... tenant = "acme"
    ... settings = { api_token = "s3cr3t" }
    ... [[pipelines]]
    ... name = "psa-to-erp"
    ... source = "psa"
    ... target = "erp"
    ... types = ["Customer"]
    ... ''', source="pipeline.toml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    erpsa_sdk.errors.ConfigurationError: pipeline.toml:10: connections.erp.settings.api_token is ...
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from erpsa_sdk.errors import ConfigurationError
from erpsa_sdk.mapping._lines import TomlLocator

__all__ = [
    "CONFIG_SCHEMA_VERSION",
    "Connection",
    "EnvRef",
    "PipelineConfig",
    "PipelineSpec",
    "config_json_schema",
    "export_config_schema",
    "load_config",
    "parse_config",
]

#: Version of the configuration format (``version = 1`` in the file, optional).
CONFIG_SCHEMA_VERSION = 1
_SCHEMA_ID = "https://schemas.erpsa-sdk.dev/config/pipeline/1.json"

_SECRET_NAME = re.compile(
    r"(secret|token|passw|private|api[_-]?key|credential|client_key|signing_key)", re.I
)
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
# A URL whose user-info carries a password ("scheme://user:pw@host"): an inline secret too.
_URL_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@\s]*:[^/@\s]*@")
Owner = Literal["finance", "pmo", "it"]


class EnvRef(BaseModel):
    """A setting read from an environment variable: ``api_token = { env = "ERP_TOKEN" }``.

    Examples:
        >>> EnvRef(env="ERP_TOKEN").resolve({"ERP_TOKEN": "t"})
        't'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    env: str = Field(pattern=_ENV_NAME, description="Name of the environment variable.")

    def resolve(self, environ: Mapping[str, str]) -> str:
        """The variable's value; :class:`~erpsa_sdk.errors.ConfigurationError` when unset."""
        value = environ.get(self.env)
        if value is None:
            raise ConfigurationError(f"environment variable {self.env} is not set")
        return value


SettingValue = EnvRef | str | int | float | bool | list[str | int | float | bool]


class Connection(BaseModel):
    """One system the pipelines use: connector plugin, tenant and settings.

    Settings that hold secrets must be :class:`EnvRef` references; plain values are allowed for
    everything else (base URL, page size, share of the vendor limits).

    Examples:
        >>> Connection(connector="acmeerp", tenant="acme").settings
        {}
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    connector: str = Field(min_length=1, description="Registered connector plugin name.")
    tenant: str = Field(min_length=1, description="Tenant / account id at the vendor.")
    settings: dict[str, SettingValue] = Field(
        default_factory=dict,
        description='Connector settings; secrets as { env = "VAR" } references only.',
    )


class PipelineSpec(BaseModel):
    """One pipeline: source and target connections, types and the record rules.

    Examples:
        >>> PipelineSpec(name="p", source="psa", target="erp", types=["Customer"]).unresolved_after
        3
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.>-]{0,99}$")
    source: str = Field(description="Name of the source connection.")
    target: str = Field(description="Name of the target connection.")
    types: list[str] = Field(min_length=1, description="Canonical types to sync.")
    natural_keys: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Master type -> fields of its natural key, for the initial match.",
    )
    value_maps: dict[str, str] = Field(
        default_factory=dict, description='"<Type>.<field>" -> name of a declared value map.'
    )
    references: dict[str, Literal["optional", "match"]] = Field(
        default_factory=dict,
        description='"<Type>.<field>" -> rule for references the target cannot write.',
    )
    owners: dict[str, Owner] = Field(
        default_factory=dict, description="Reason or problem code -> owner role (over [owners])."
    )
    unresolved_after: int = Field(
        default=3, ge=1, le=100, description="Runs a record waits for a missing reference."
    )
    validate_before_write: bool = Field(
        default=True, alias="validate", description="Call target.validate() before each write."
    )
    detect_deletions: bool = True
    workers: int = Field(default=8, ge=1, le=64)


class PipelineConfig(BaseModel):
    """The whole configuration file (see ``docs/how-to/configure-a-pipeline.md``).

    Examples:
        >>> PipelineConfig.model_validate({"namespace": "acme-prod", "connections": {},
        ...                                "pipelines": []}).state
        'sqlite:///erpsa-state.db'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    namespace: str = Field(
        pattern=r"^[a-z0-9](?:[a-z0-9-]{0,22}[a-z0-9])?$",
        description="The deployment's EntityKey namespace; changing it is a migration.",
    )
    state: str | EnvRef = Field(
        default="sqlite:///erpsa-state.db",
        description="State store URL: sqlite:///file.db (default) or a PostgreSQL URL.",
    )
    connections: dict[str, Connection]
    value_maps: dict[str, dict[str, str | int]] = Field(
        default_factory=dict, description="Declared value maps: name -> {source value: target}."
    )
    owners: dict[str, Owner] = Field(
        default_factory=dict, description="Reason or problem code -> owner role."
    )
    pipelines: list[PipelineSpec]

    #: Where the file was read from (for messages); not part of the schema.
    _source: str = "<config>"
    _locator: TomlLocator | None = None

    def pipeline(self, name: str | None = None) -> PipelineSpec:
        """The pipeline called ``name`` (the only one when ``None``).

        Examples:
            >>> cfg = PipelineConfig.model_validate({"namespace": "n", "connections": {},
            ...     "pipelines": [{"name": "a", "source": "s", "target": "t", "types": ["X"]}]})
            >>> cfg.pipeline().name
            'a'
        """
        if name is None:
            if len(self.pipelines) != 1:
                names = ", ".join(p.name for p in self.pipelines)
                raise ConfigurationError(f"the configuration has several pipelines ({names})")
            return self.pipelines[0]
        for spec in self.pipelines:
            if spec.name == name:
                return spec
        raise ConfigurationError(f"no pipeline {name!r} in {self._source}")

    def where(self, *path: str | int) -> str:
        """``file:line`` of a key path (``file`` alone when unknown), for messages.

        Examples:
            >>> PipelineConfig.model_validate({"namespace": "n", "connections": {},
            ...                                "pipelines": []}).where("namespace")
            '<config>'
        """
        line = self._locator.line(path) if self._locator else None
        return f"{self._source}:{line}" if line else self._source


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of the pipeline configuration file.

    Examples:
        >>> schema = config_json_schema()
        >>> schema["$id"]
        'https://schemas.erpsa-sdk.dev/config/pipeline/1.json'
        >>> sorted(schema["required"])
        ['connections', 'namespace', 'pipelines']
    """
    schema = PipelineConfig.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _SCHEMA_ID,
        "title": "erpsa-sdk pipeline configuration",
        **schema,
    }


def export_config_schema(directory: str | os.PathLike[str]) -> Path:
    """Write ``pipeline-config.v1.schema.json`` into ``directory`` (created if missing).

    Examples:
        >>> import tempfile
        >>> export_config_schema(tempfile.mkdtemp()).name
        'pipeline-config.v1.schema.json'
    """
    import json

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"pipeline-config.v{CONFIG_SCHEMA_VERSION}.schema.json"
    path.write_text(json.dumps(config_json_schema(), indent=2, sort_keys=True) + "\n")
    return path


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path)


class _Problems:
    def __init__(self, source: str, locator: TomlLocator) -> None:
        self.source = source
        self.locator = locator
        self.items: list[tuple[int, str]] = []

    def add(self, path: tuple[str | int, ...], message: str) -> None:
        line = self.locator.line(path)
        self.items.append((line or 0, message))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        lines = [
            f"{self.source}:{line}: {message}" if line else f"{self.source}: {message}"
            for line, message in sorted(self.items, key=lambda item: item[0])
        ]
        raise ConfigurationError("\n".join(lines), problems=len(lines))


def load_config(path: str | os.PathLike[str]) -> PipelineConfig:
    """Read and check a pipeline configuration file (see :func:`parse_config`).

    Examples:
        >>> load_config("/nonexistent/pipeline.toml")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        erpsa_sdk.errors.ConfigurationError: cannot read configuration /nonexistent/...
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read configuration {path}: {exc.strerror}") from None
    return parse_config(text, source=str(path))


def parse_config(text: str, *, source: str = "<config>") -> PipelineConfig:
    """Parse, validate and check a configuration text; every problem names its line.

    Checks beyond the schema: connector plugins are installed; settings holding secrets are
    ``{ env = "..." }`` references; a PostgreSQL state URL carries no password; pipelines name
    declared connections, canonical types, fields, value maps and master-data natural keys.

    Examples:
        >>> parse_config('namespace = "n"\\nconnections = {}\\npipelines = 3\\n',
        ...              source="p.toml")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        erpsa_sdk.errors.ConfigurationError: p.toml:3: pipelines: Input should be a valid list
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        where = f"{source}:{match.group(1)}" if match else source
        raise ConfigurationError(f"{where}: not valid TOML: {exc}") from None
    locator = TomlLocator(text)
    problems = _Problems(source, locator)
    try:
        config = PipelineConfig.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            problems.add(loc, f"{_dotted(loc)}: {err['msg']}")
        # Secrets are checked on the raw data too, so an inline secret is named even when
        # something else in the file is also wrong.
        _check_secrets_raw(data, problems)
    if problems.items:
        problems.raise_if_any()
    config._source = source
    config._locator = locator
    _check(config, problems)
    problems.raise_if_any()
    return config


def _secret_hint(path: tuple[str | int, ...], connector: str | None) -> str:
    name = str(path[-1])
    var = re.sub(r"[^A-Z0-9]+", "_", f"ERPSA_{connector or ''}_{name}".upper())
    return (
        f"{_dotted(path)} is an inline secret; reference an environment variable instead: "
        f'{name} = {{ env = "{var}" }}'
    )


def _check_secrets_raw(data: Any, problems: _Problems) -> None:
    connections = data.get("connections") if isinstance(data, dict) else None
    if not isinstance(connections, dict):
        return
    for name, conn in connections.items():
        settings = conn.get("settings") if isinstance(conn, dict) else None
        if not isinstance(settings, dict):
            continue
        for key, value in settings.items():
            if _SECRET_NAME.search(key) and not isinstance(value, dict):
                path = ("connections", name, "settings", key)
                problems.add(path, _secret_hint(path, conn.get("connector")))


def _secret_fields(settings_model: type[BaseModel]) -> set[str]:
    fields = set()
    for name, info in settings_model.model_fields.items():
        if "SecretStr" in repr(info.annotation) or info.annotation is SecretStr:
            fields.add(name)
    return fields


def _check(config: PipelineConfig, problems: _Problems) -> None:
    from erpsa_sdk.registry import available_connectors

    plugins = {info.name: info for info in available_connectors()}
    for name, conn in config.connections.items():
        base = ("connections", name)
        info = plugins.get(conn.connector)
        settings_model: type[BaseModel] | None = None
        if info is None or info.plugin is None or not info.ok:
            installed = ", ".join(sorted(n for n, i in plugins.items() if i.ok)) or "none"
            why = f" ({info.status}: {info.reason})" if info is not None else ""
            problems.add(
                (*base, "connector"),
                f"{_dotted((*base, 'connector'))}: unknown connector {conn.connector!r}{why}; "
                f"installed: {installed}",
            )
        else:
            settings_model = info.plugin.settings
        secret_fields = _secret_fields(settings_model) if settings_model else set()
        given_tenant = conn.settings.get("tenant")
        if isinstance(given_tenant, str) and given_tenant != conn.tenant:
            problems.add(
                (*base, "settings", "tenant"),
                f"{_dotted((*base, 'settings', 'tenant'))}: {given_tenant!r} differs from the "
                f"connection's tenant {conn.tenant!r}; keep one (the ledger is keyed by it)",
            )
        for key, value in conn.settings.items():
            path = (*base, "settings", key)
            if isinstance(value, EnvRef):
                continue
            if key in secret_fields or _SECRET_NAME.search(key):
                problems.add(path, _secret_hint(path, conn.connector))
            elif isinstance(value, str) and _URL_PASSWORD.match(value):
                problems.add(
                    path,
                    f"{_dotted(path)}: the URL holds a password inline; drop it from the URL "
                    "and give the credential as a setting referencing an environment variable",
                )
            elif settings_model is not None and key not in settings_model.model_fields:
                known = ", ".join(sorted(settings_model.model_fields))
                problems.add(
                    path, f"{_dotted(path)}: {conn.connector} has no setting {key!r} ({known})"
                )
    if isinstance(config.state, str) and _URL_PASSWORD.match(config.state):
        problems.add(
            ("state",),
            'state: the PostgreSQL URL holds a password inline; use state = { env = "VAR" } '
            "or a password file (PGPASSFILE)",
        )
    names: set[str] = set()
    for index, spec in enumerate(config.pipelines):
        _check_pipeline(config, index, spec, problems)
        if spec.name in names:
            problems.add(("pipelines", index, "name"), f"pipeline name {spec.name!r} repeats")
        names.add(spec.name)


def _check_pipeline(
    config: PipelineConfig, index: int, spec: PipelineSpec, problems: _Problems
) -> None:
    from erpsa_sdk.sync._pipeline import PIPELINE_ORDER, REFERENCE_FIELDS
    from erpsa_sdk.sync.deadletters import MASTER_TYPES

    base: tuple[str | int, ...] = ("pipelines", index)
    models = {m.__name__: m for m in PIPELINE_ORDER}
    for role in ("source", "target"):
        conn = getattr(spec, role)
        if conn not in config.connections:
            declared = ", ".join(sorted(config.connections)) or "none"
            problems.add(
                (*base, role),
                f"pipeline {spec.name!r}: {role} {conn!r} is not a declared connection "
                f"({declared})",
            )
    for i, type_name in enumerate(spec.types):
        if type_name not in models:
            problems.add(
                (*base, "types", i),
                f"pipeline {spec.name!r}: unknown canonical type {type_name!r} "
                f"({', '.join(models)})",
            )
    for type_name, fields in spec.natural_keys.items():
        path = (*base, "natural_keys", type_name)
        if type_name not in MASTER_TYPES:
            problems.add(
                path,
                f"natural_keys.{type_name}: {type_name} is transactional and is never matched "
                f"on business fields (natural keys are for {', '.join(sorted(MASTER_TYPES))})",
            )
            continue
        missing = [f for f in fields if f not in models[type_name].model_fields]
        if missing or not fields:
            problems.add(
                path, f"natural_keys.{type_name}: {type_name} has no field(s) {missing or '[]'}"
            )
    for target_field, map_name in spec.value_maps.items():
        path = (*base, "value_maps", target_field)
        type_name, _, field_name = target_field.partition(".")
        if type_name not in models or field_name not in models[type_name].model_fields:
            problems.add(
                path, f"value_maps: {target_field!r} is not a <Type>.<field> of a canonical model"
            )
        if map_name not in config.value_maps:
            declared = ", ".join(sorted(config.value_maps)) or "none"
            problems.add(
                path,
                f"value_maps.{target_field!r} uses value map {map_name!r}, which is not "
                f"declared (declared: {declared}); add a [value_maps.{map_name}] table",
            )
    for ref_field in spec.references:
        type_name, _, field_name = ref_field.partition(".")
        if (
            type_name not in models
            or field_name not in REFERENCE_FIELDS
            or field_name not in models[type_name].model_fields
        ):
            problems.add(
                (*base, "references", ref_field),
                f"references: {ref_field!r} is not a reference field of a canonical model",
            )
