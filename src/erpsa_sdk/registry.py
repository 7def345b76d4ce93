"""Plugin discovery: connectors published under the entry-point group ``erpsa_sdk.connectors``.

Our own connectors and third-party ones are found the same way. Each entry point names a
:class:`~erpsa_sdk.connector.ConnectorPlugin`. Discovery never fails because of one plugin:
a plugin that raises on import, is not a ``ConnectorPlugin``, has a name clash or was built
for another plugin API version is reported with its reason (and a warning) and skipped, while
the others load. ``ERPSA_DISABLE_PLUGINS`` turns plugins off without uninstalling them:
``__all__`` (or ``1`` / ``true``) disables every plugin, a comma-separated list disables those
names.

Example:
    >>> from erpsa_sdk.registry import available_connectors
    >>> all(info.status in {"loaded", "skipped", "disabled"} for info in available_connectors())
    True
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, Literal

from erpsa_sdk.connector import PLUGIN_API_VERSION, ConnectorPlugin, ConnectorSettings
from erpsa_sdk.errors import ConfigurationError

if TYPE_CHECKING:
    import httpx2

    from erpsa_sdk.clock import Clock
    from erpsa_sdk.connector import Connector

__all__ = [
    "DISABLE_ENV",
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "available_connectors",
    "connect",
    "get_plugin",
]

#: The entry-point group every connector plugin registers in.
ENTRY_POINT_GROUP = "erpsa_sdk.connectors"
#: Environment variable listing plugins to skip (``__all__`` skips all of them).
DISABLE_ENV = "ERPSA_DISABLE_PLUGINS"

Status = Literal["loaded", "skipped", "disabled"]


@dataclass(frozen=True)
class PluginInfo:
    """What discovery found under one entry point.

    ``status`` is ``loaded`` (usable), ``skipped`` (``reason`` says why) or ``disabled``
    (named in ``ERPSA_DISABLE_PLUGINS``).

    Example:
        >>> info = PluginInfo(name="x", status="skipped", reason="ImportError: no module y",
        ...                   entry_point="x_pkg:PLUGIN", distribution="x-pkg", version="1.0")
        >>> info.ok
        False
    """

    name: str
    status: Status
    entry_point: str
    distribution: str | None = None
    version: str | None = None
    reason: str | None = None
    plugin: ConnectorPlugin | None = None

    @property
    def ok(self) -> bool:
        """Whether the plugin loaded and can be used."""
        return self.status == "loaded" and self.plugin is not None

    def __repr__(self) -> str:
        extra = f", reason={self.reason!r}" if self.reason else ""
        return (
            f"PluginInfo(name={self.name!r}, status={self.status!r}, "
            f"version={self.version!r}{extra})"
        )


_lock = threading.Lock()
_cache: dict[str, list[PluginInfo]] = {}


def _disabled_names(raw: str | None) -> set[str] | Literal["all"]:
    text = (raw or "").strip()
    if text.lower() in {"__all__", "1", "true", "yes", "all"}:
        return "all"
    return {part.strip() for part in text.split(",") if part.strip()}


def _load_one(ep: EntryPoint) -> tuple[Status, str | None, ConnectorPlugin | None]:
    try:
        obj: Any = ep.load()
    except Exception as exc:  # a broken plugin must not break discovery of the others
        return "skipped", f"failed to import: {type(exc).__name__}: {exc}", None
    if not isinstance(obj, ConnectorPlugin):
        return (
            "skipped",
            f"{ep.value} is a {type(obj).__name__}, not an erpsa_sdk.connector.ConnectorPlugin",
            None,
        )
    if obj.api_version != PLUGIN_API_VERSION:
        direction = "newer" if obj.api_version > PLUGIN_API_VERSION else "older"
        return (
            "skipped",
            f"built for plugin API {obj.api_version}, but this erpsa-sdk provides plugin API "
            f"{PLUGIN_API_VERSION} ({direction} plugin): install a version of the plugin built "
            f"for API {PLUGIN_API_VERSION}, or an erpsa-sdk that provides API {obj.api_version}",
            None,
        )
    if obj.name != ep.name:
        return (
            "skipped",
            f"entry point is named {ep.name!r} but the plugin calls itself {obj.name!r}",
            None,
        )
    return "loaded", None, obj


def _discover(eps: Iterable[EntryPoint], disabled_env: str | None) -> list[PluginInfo]:
    disabled = _disabled_names(disabled_env)
    found: list[PluginInfo] = []
    seen: dict[str, str] = {}
    for ep in sorted(eps, key=lambda e: (e.name, e.value)):
        dist = getattr(ep, "dist", None)
        common: dict[str, Any] = {
            "name": ep.name,
            "entry_point": ep.value,
            "distribution": dist.name if dist is not None else None,
            "version": dist.version if dist is not None else None,
        }
        if disabled == "all" or ep.name in disabled:
            found.append(PluginInfo(status="disabled", reason=f"listed in {DISABLE_ENV}", **common))
            continue
        if ep.name in seen:
            clash = f"duplicate connector name; {seen[ep.name]} already provides {ep.name!r}"
            found.append(PluginInfo(status="skipped", reason=clash, **common))
            continue
        status, reason, plugin = _load_one(ep)
        if status == "loaded":
            seen[ep.name] = ep.value
        else:
            warnings.warn(
                f"erpsa-sdk connector plugin {ep.name!r} ({ep.value}) skipped: {reason}",
                RuntimeWarning,
                stacklevel=3,
            )
        found.append(PluginInfo(status=status, reason=reason, plugin=plugin, **common))
    return found


def available_connectors(*, refresh: bool = False) -> list[PluginInfo]:
    """Every connector plugin installed, loaded or not, sorted by name.

    Discovery runs once per value of ``ERPSA_DISABLE_PLUGINS``; ``refresh=True`` runs it again
    (after installing a plugin in the same process).

    Example:
        >>> names = [i.name for i in available_connectors() if i.ok]
        >>> isinstance(names, list)
        True
    """
    disabled_env = os.environ.get(DISABLE_ENV)
    key = disabled_env or ""
    with _lock:
        if refresh or key not in _cache:
            _cache[key] = _discover(entry_points(group=ENTRY_POINT_GROUP), disabled_env)
        return list(_cache[key])


def get_plugin(name: str) -> ConnectorPlugin:
    """The loaded plugin called ``name``; a clear :class:`ConfigurationError` otherwise.

    Example:
        >>> get_plugin("no-such-connector")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        erpsa_sdk.errors.ConfigurationError: no connector plugin named 'no-such-connector' ...
    """
    infos = available_connectors()
    for info in infos:
        if info.name == name:
            if info.plugin is not None and info.ok:
                return info.plugin
            raise ConfigurationError(f"connector plugin {name!r} is {info.status}: {info.reason}")
    loaded = ", ".join(i.name for i in infos if i.ok) or "none"
    raise ConfigurationError(
        f"no connector plugin named {name!r} is installed (available: {loaded}); "
        f"plugins register in the entry-point group {ENTRY_POINT_GROUP!r}"
    )


def connect(
    name: str,
    settings: ConnectorSettings | Mapping[str, Any] | None = None,
    *,
    transport: httpx2.BaseTransport | None = None,
    clock: Clock | None = None,
) -> Connector:
    """Build the connector ``name`` from its settings.

    ``settings`` is the plugin's settings model, a mapping validated into it, or ``None`` to
    read it from the environment (``ERPSA_<NAME>_<FIELD>``). ``transport`` and ``clock`` are
    injected by tests (``httpx2.MockTransport(simulator)``, a ``SimClock``).

    Example:
        >>> connect("no-such-connector", {})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        erpsa_sdk.errors.ConfigurationError: no connector plugin named 'no-such-connector' ...
    """
    return get_plugin(name).create(settings, transport=transport, clock=clock)
