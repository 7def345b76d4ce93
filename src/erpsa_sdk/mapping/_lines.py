"""Where a key or table sits in a TOML text, so configuration errors can name the line.

``tomllib`` returns plain data without positions; :class:`TomlLocator` scans the text once and
records the line of every table header and every ``key = value`` line under its full dotted
path (array-of-tables elements by index). A path inside an inline table or a multi-line value
resolves to the line of the nearest recorded ancestor.

Examples:
    >>> text = '''
    ... [connections.erp]
    ... connector = "acmeerp"
    ... settings = { api_token = "oops" }
    ...
    ... [[pipelines]]
    ... name = "a"
    ... [[pipelines]]
    ... name = "b"
    ... [pipelines.value_maps]
    ... "Expense.category" = "categories"
    ... '''
    >>> loc = TomlLocator(text)
    >>> loc.line(("connections", "erp", "settings", "api_token"))
    4
    >>> loc.line(("pipelines", 1, "value_maps", "Expense.category"))
    11
    >>> loc.line(("pipelines", 0, "name"))
    7
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["TomlLocator"]

Path = tuple[str | int, ...]
_BARE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _parse_key(text: str, stop: str) -> tuple[list[str], str] | None:
    """Parse a dotted key at the start of ``text`` up to ``stop``; return (parts, rest)."""
    parts: list[str] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            return None
        ch = text[i]
        if ch == '"':
            j, buf = i + 1, []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    buf.append(text[j + 1])
                    j += 2
                    continue
                buf.append(text[j])
                j += 1
            parts.append("".join(buf))
            i = j + 1
        elif ch == "'":
            j = text.find("'", i + 1)
            if j < 0:
                return None
            parts.append(text[i + 1 : j])
            i = j + 1
        else:
            j = i
            while j < n and text[j] in _BARE:
                j += 1
            if j == i:
                return None
            parts.append(text[i:j])
            i = j
        while i < n and text[i] in " \t":
            i += 1
        if text.startswith(stop, i):
            return parts, text[i + len(stop) :]
        if i < n and text[i] == ".":
            i += 1
            continue
        return None


def _scan_value(text: str, depth: int) -> tuple[int, str | None]:
    """Bracket depth after ``text`` and an unclosed multi-line string delimiter, if any."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "#":
            break
        if text.startswith('"""', i) or text.startswith("'''", i):
            delim = text[i : i + 3]
            end = text.find(delim, i + 3)
            if end < 0:
                return depth, delim
            i = end + 3
            continue
        if ch in "\"'":
            j = i + 1
            while j < n and text[j] != ch:
                j += 2 if ch == '"' and text[j] == "\\" else 1
            i = j + 1
            continue
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        i += 1
    return max(depth, 0), None


class TomlLocator:
    """Line numbers (1-based) of the tables and keys of a TOML text.

    Examples:
        >>> TomlLocator('a = 1\\n[b]\\nc = 2\\n').line(("b", "c", "d"))
        3
        >>> TomlLocator('a = 1\\n').line(("zzz",)) is None
        True
    """

    def __init__(self, text: str) -> None:
        self._lines: dict[Path, int] = {}
        self._arrays: dict[Path, int] = {}
        self._scan(text)

    def _resolve(self, keys: Sequence[str]) -> Path:
        path: Path = ()
        for key in keys:
            path = (*path, key)
            if path in self._arrays:
                path = (*path, self._arrays[path])
        return path

    def _scan(self, text: str) -> None:
        table: Path = ()
        depth, multiline = 0, None
        for lineno, raw in enumerate(text.splitlines(), 1):
            if multiline is not None:
                if multiline in raw:
                    depth, multiline = _scan_value(raw[raw.index(multiline) + 3 :], depth)
                continue
            if depth > 0:
                depth, multiline = _scan_value(raw, depth)
                continue
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[["):
                parsed = _parse_key(line[2:], "]]")
                if parsed is None:
                    continue
                *parents, last = parsed[0]
                base = (*self._resolve(parents), last)
                index = self._arrays.get(base, -1) + 1
                self._arrays[base] = index
                table = (*base, index)
                self._lines.setdefault(base, lineno)
                self._lines[table] = lineno
                continue
            if line.startswith("["):
                parsed = _parse_key(line[1:], "]")
                if parsed is None:
                    continue
                table = self._resolve(parsed[0])
                self._lines.setdefault(table, lineno)
                continue
            parsed = _parse_key(line, "=")
            if parsed is None:
                continue
            keys, rest = parsed
            path: Path = table
            for key in keys:
                path = (*path, key)
                self._lines.setdefault(path, lineno)
            depth, multiline = _scan_value(rest, 0)

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path`` or of its nearest recorded ancestor; ``None`` if none is."""
        probe = tuple(path)
        while probe:
            if probe in self._lines:
                return self._lines[probe]
            probe = probe[:-1]
        return None
