"""Every public object of every public package has a docstring with an example.

"Public" means listed in a package's ``__all__``: the facade, each ``erpsa_sdk`` subpackage,
and each first-party connector. Doctests run those examples elsewhere in the suite.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

PACKAGES = [
    "erpsa_sdk",
    "erpsa_sdk.auth",
    "erpsa_sdk.clock",
    "erpsa_sdk.connector",
    "erpsa_sdk.errors",
    "erpsa_sdk.events",
    "erpsa_sdk.http",
    "erpsa_sdk.limits",
    "erpsa_sdk.mapping",
    "erpsa_sdk.models",
    "erpsa_sdk.registry",
    "erpsa_sdk.sync",
    "erpsa_sdk.testing",
    "erpsa_netsuite",
    "erpsa_kantata",
    "erpsa_dynamics365",
]


def _public(package: str) -> list[tuple[str, object]]:
    module = importlib.import_module(package)
    names = getattr(module, "__all__", [])
    return [(name, getattr(module, name)) for name in names if not name.startswith("_")]


@pytest.mark.parametrize("package", PACKAGES)
def test_public_objects_have_a_docstring_with_an_example(package: str) -> None:
    missing: list[str] = []
    for name, obj in _public(package):
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue  # constants and type aliases carry their docs in the module
        if not getattr(obj, "__module__", "").startswith(("erpsa_sdk", "erpsa_")):
            continue  # a re-export of a dependency's name (pydantic's SecretStr) is theirs
        doc = inspect.getdoc(obj) or ""
        if ">>>" not in doc and "Example" not in doc:
            missing.append(name)
    assert not missing, f"{package}: public objects without a docstring example: {missing}"
