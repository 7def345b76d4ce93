"""Fake installed distributions for registry and CLI tests (dist-info + entry_points.txt)."""

from __future__ import annotations

import importlib
import textwrap
from pathlib import Path

GOOD_PLUGIN = """
from erpsa_sdk.connector import (
    Capabilities, Connector, ConnectorPlugin, ConnectorSettings, Health, TypeCapabilities,
)


class GoodSettings(ConnectorSettings):
    env_prefix = "ERPSA_{upper}_"
    tenant: str = "t"


class GoodConnector(Connector):
    name = "{name}"

    def __init__(self, settings, *, transport=None, clock=None):
        self.settings = settings

    capabilities = Capabilities(types={{"Customer": TypeCapabilities(read=True)}})

    def read(self, model, *, since=None, **filters):
        return iter(())

    def lookup(self, model, *, entity_key):
        return None

    def upsert(self, obj, *, entity_key, write_key, refs):
        raise NotImplementedError

    def delete(self, model, *, entity_key, write_key):
        raise NotImplementedError

    def validate(self, obj, *, refs):
        return []

    def health(self):
        return Health(ok=True)


PLUGIN = ConnectorPlugin(
    name="{name}",
    connector=GoodConnector,
    settings=GoodSettings,
    capabilities=GoodConnector.capabilities,
    api_version={api_version},
    description="a test plugin",
)
"""


def make_dist(
    root: Path,
    dist: str,
    *,
    version: str = "1.0.0",
    entry_points: dict[str, str],
    modules: dict[str, str],
) -> Path:
    """Write ``<dist>-<version>.dist-info`` and modules under ``root`` (put it on sys.path)."""
    root.mkdir(parents=True, exist_ok=True)
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = "\n".join(f"{name} = {value}" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[erpsa_sdk.connectors]\n{lines}\n", encoding="utf-8")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    importlib.invalidate_caches()
    return root


def good_plugin(name: str, api_version: int = 1) -> str:
    return GOOD_PLUGIN.format(name=name, upper=name.upper(), api_version=api_version)


def plugin_zoo(root: Path) -> Path:
    """A good plugin, one raising on import, one for plugin API 99, one not a plugin."""
    make_dist(
        root,
        "zoo-good",
        entry_points={"zoogood": "zoo_good:PLUGIN"},
        modules={"zoo_good": good_plugin("zoogood")},
    )
    make_dist(
        root,
        "zoo-broken",
        version="0.3.0",
        entry_points={"zoobroken": "zoo_broken:PLUGIN"},
        modules={"zoo_broken": "raise RuntimeError('zoo_broken needs libfoo 2')\n"},
    )
    make_dist(
        root,
        "zoo-future",
        entry_points={"zoofuture": "zoo_future:PLUGIN"},
        modules={"zoo_future": good_plugin("zoofuture", api_version=99)},
    )
    make_dist(
        root,
        "zoo-odd",
        entry_points={"zooodd": "zoo_odd:PLUGIN"},
        modules={"zoo_odd": "PLUGIN = 42\n"},
    )
    return root
