"""Plugin discovery: broken plugins are skipped with a reason, the others still load."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from erpsa_sdk.connector import PLUGIN_API_VERSION, Connector
from erpsa_sdk.errors import ConfigurationError
from erpsa_sdk.registry import (
    DISABLE_ENV,
    available_connectors,
    connect,
    get_plugin,
)
from tests.erpsa_sdk.testing._dists import make_dist, plugin_zoo


@pytest.fixture
def zoo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = plugin_zoo(tmp_path / "site")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    yield root
    for mod in ("zoo_good", "zoo_broken", "zoo_future", "zoo_odd", "zoo_twin"):
        sys.modules.pop(mod, None)
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        available_connectors(refresh=True)


def _by_name() -> dict[str, object]:
    with pytest.warns(RuntimeWarning):
        infos = available_connectors(refresh=True)
    return {i.name: i for i in infos}


def test_broken_plugin_is_skipped_with_its_reason_and_others_load(zoo: Path) -> None:
    infos = _by_name()
    good = infos["zoogood"]
    assert good.ok
    assert good.version == "1.0.0"
    assert good.distribution == "zoo-good"
    broken = infos["zoobroken"]
    assert broken.status == "skipped"
    assert not broken.ok
    assert "RuntimeError" in broken.reason
    assert "libfoo 2" in broken.reason
    assert broken.version == "0.3.0"


def test_plugin_api_version_is_checked_at_discovery(zoo: Path) -> None:
    future = _by_name()["zoofuture"]
    assert future.status == "skipped"
    assert (
        f"built for plugin API 99, but this erpsa-sdk provides plugin API {PLUGIN_API_VERSION}"
        in (future.reason)
    )


def test_object_that_is_not_a_plugin_is_skipped(zoo: Path) -> None:
    odd = _by_name()["zooodd"]
    assert odd.status == "skipped"
    assert "not an erpsa_sdk.connector.ConnectorPlugin" in odd.reason


def test_skips_warn_once_per_discovery(zoo: Path) -> None:
    with pytest.warns(RuntimeWarning) as record:
        available_connectors(refresh=True)
    texts = [str(w.message) for w in record]
    assert sum("zoobroken" in t for t in texts) == 1
    # Cached: a second call neither re-imports nor warns again.
    available_connectors()


def test_connect_builds_the_connector_and_refuses_skipped_ones(zoo: Path) -> None:
    _by_name()
    conn = connect("zoogood", {"tenant": "acme"})
    assert isinstance(conn, Connector)
    assert conn.health().ok
    with pytest.raises(ConfigurationError, match="'zoobroken' is skipped: failed to import"):
        connect("zoobroken", {})
    with pytest.raises(ConfigurationError, match="no connector plugin named 'nope'"):
        get_plugin("nope")


def test_connect_reads_settings_from_the_environment(
    zoo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _by_name()
    monkeypatch.setenv("ERPSA_ZOOGOOD_TENANT", "from-env")
    conn = connect("zoogood")
    assert conn.settings.tenant == "from-env"  # type: ignore[attr-defined]


def test_disable_plugins_by_name_and_all(zoo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DISABLE_ENV, "zoogood, zoobroken")
    with pytest.warns(RuntimeWarning):
        infos = {i.name: i for i in available_connectors(refresh=True)}
    assert infos["zoogood"].status == "disabled"
    assert infos["zoobroken"].status == "disabled"
    assert infos["zoofuture"].status == "skipped"
    with pytest.raises(ConfigurationError, match="disabled"):
        connect("zoogood", {})
    monkeypatch.setenv(DISABLE_ENV, "__all__")
    assert {i.status for i in available_connectors(refresh=True)} == {"disabled"}


def test_duplicate_names_keep_the_first_and_report_the_second(
    zoo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.erpsa_sdk.testing._dists import good_plugin

    make_dist(zoo, "zoo-twin", entry_points={"zoogood": "zoo_twin:PLUGIN"},
              modules={"zoo_twin": good_plugin("zoogood")})  # fmt: skip
    with pytest.warns(RuntimeWarning):
        infos = [i for i in available_connectors(refresh=True) if i.name == "zoogood"]
    assert [i.status for i in infos] == ["loaded", "skipped"]
    assert "duplicate connector name" in (infos[1].reason or "")
