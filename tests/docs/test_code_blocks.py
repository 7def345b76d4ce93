"""Every ```python block in README.md and docs/ runs (docs that cannot rot).

Blocks of one file run in order in one namespace, so a page can build on its earlier blocks.
Mark a block that must not run with ```text (or another language) instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])


def _blocks(path: Path) -> list[str]:
    return FENCE.findall(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "page", [p for p in PAGES if _blocks(p)], ids=lambda p: str(p.relative_to(ROOT))
)
def test_python_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for index, block in enumerate(_blocks(page)):
        try:
            code = compile(block, f"{page.name}[block {index}]", "exec", dont_inherit=True)
            exec(code, namespace)  # noqa: S102
        except Exception as exc:  # pragma: no cover - reported with the block's place
            pytest.fail(f"{page.relative_to(ROOT)} block {index} failed: {exc!r}\n{block}")
