"""TomlLocator: the line of a key path in a TOML text (property-tested)."""

from __future__ import annotations

import re
import tomllib

from hypothesis import given
from hypothesis import strategies as st

from erpsa_sdk.mapping import TomlLocator

KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
QUOTED = st.from_regex(r"[A-Za-z][A-Za-z0-9_. -]{0,10}", fullmatch=True)
KEYS_RE = re.compile(r"[a-z][a-z0-9_]{0,8}")
VALUES = st.sampled_from(['"x"', "1", "true", "[1, 2]", '{ env = "A" }', '"a = [b"', "'#'"])


@given(
    tables=st.dictionaries(
        KEYS,
        st.dictionaries(st.one_of(KEYS, QUOTED), VALUES, min_size=1, max_size=4),
        min_size=1,
        max_size=4,
    ),
    comments=st.booleans(),
)
def test_every_key_is_found_on_its_own_line(
    tables: dict[str, dict[str, str]], comments: bool
) -> None:
    lines: list[str] = []
    where: dict[tuple[str, str], int] = {}
    for table, entries in tables.items():
        if comments:
            lines.append("# a comment [not.a.table]")
        lines.append(f"[{table}]")
        for key, value in entries.items():
            rendered = key if KEYS_RE.fullmatch(key) else f'"{key}"'
            lines.append(f"{rendered} = {value}")
            where[(table, key)] = len(lines)
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)  # the generated text is valid TOML
    locator = TomlLocator(text)
    for (table, key), line in where.items():
        assert locator.line((table, key)) == line
        assert locator.line((table, key, "deeper", 0)) == line


def test_arrays_of_tables_and_their_subtables() -> None:
    text = (
        '[[pipelines]]\nname = "a"\n[pipelines.owners]\nx = "it"\n'
        '[[pipelines]]\nname = "b"\ntypes = [\n  "Customer",\n  "Expense",\n]\n'
        '[pipelines.value_maps]\n"Expense.category" = "m"\n'
    )
    loc = TomlLocator(text)
    assert loc.line(("pipelines", 0, "owners", "x")) == 4
    assert loc.line(("pipelines", 1, "name")) == 6
    assert loc.line(("pipelines", 1, "types", 1)) == 7
    assert loc.line(("pipelines", 1, "value_maps", "Expense.category")) == 12


def test_multiline_strings_do_not_fool_it() -> None:
    text = 'a = """\n[not_a_table]\nb = 1\n"""\nc = 2\n'
    loc = TomlLocator(text)
    assert loc.line(("c",)) == 5
    assert loc.line(("not_a_table",)) is None
    assert loc.line(("b",)) is None


def test_dotted_keys() -> None:
    loc = TomlLocator('[connections]\nerp.settings.api_token = "x"\n')
    assert loc.line(("connections", "erp", "settings", "api_token")) == 2
