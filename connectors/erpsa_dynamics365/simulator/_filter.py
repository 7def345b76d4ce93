"""A small OData v4 ``$filter`` evaluator for the simulator (comparisons, and/or/not, and
``contains`` / ``startswith`` / ``endswith``), plus the value normalisation the simulator sorts
and compares with (case-insensitive text, like Dataverse's default collation).

Examples:
    >>> pred = compile_filter("(statecode eq 0) and contains(name,'sample')")
    >>> pred({"statecode": 0, "name": "Fourth Coffee (sample)"}), pred({"statecode": 1})
    (True, False)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["FilterError", "compile_filter", "norm"]

Row = Mapping[str, Any]
Pred = Callable[[Row], bool]

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<punct>[(),])|(?P<word>[^\s(),']+))")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}


class FilterError(ValueError):
    """A ``$filter`` the simulator cannot parse (answered with a 400).

    Examples:
        >>> issubclass(FilterError, ValueError)
        True
    """


def norm(value: Any) -> Any:
    """A comparable form: numbers as Decimal, text case-insensitive, booleans as 0/1.

    Examples:
        >>> norm("ABC"), norm(5), norm(None)
        ('abc', Decimal('5'), None)
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    text = str(value)
    if _NUMBER.match(text):
        return Decimal(text)
    return text.lower()


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise FilterError(f"syntax error at position {pos}")
        out.append(m.group(m.lastgroup or "word"))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.t = tokens
        self.i = 0

    def peek(self) -> str | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok.lower() != expected):
            raise FilterError(f"expected {expected or 'a token'}, found {tok!r}")
        self.i += 1
        return tok

    def parse(self) -> Pred:
        pred = self.or_()
        if self.peek() is not None:
            raise FilterError(f"unexpected {self.peek()!r}")
        return pred

    def or_(self) -> Pred:
        left = self.and_()
        while (self.peek() or "").lower() == "or":
            self.take()
            right = self.and_()
            left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
        return left

    def and_(self) -> Pred:
        left = self.unary()
        while (self.peek() or "").lower() == "and":
            self.take()
            right = self.unary()
            left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
        return left

    def unary(self) -> Pred:
        if (self.peek() or "").lower() == "not":
            self.take()
            inner = self.unary()
            return lambda r: not inner(r)
        if self.peek() == "(":
            self.take("(")
            inner = self.or_()
            self.take(")")
            return inner
        word = self.take()
        if word.lower() in ("contains", "startswith", "endswith") and self.peek() == "(":
            self.take("(")
            field = self.operand(self.take())
            self.take(",")
            needle = self.operand(self.take())
            self.take(")")
            fn = word.lower()

            def text_fn(r: Row) -> bool:
                hay, sub = field(r), needle(r)
                if hay is None or sub is None:
                    return False
                h, s = str(hay).lower(), str(sub).lower()
                return s in h if fn == "contains" else getattr(h, fn)(s)

            return text_fn
        left = self.operand(word)
        op = self.take().lower()
        if op not in _OPS:
            raise FilterError(f"unknown operator {op!r}")
        right = self.operand(self.take())
        return _compare(left, op, right)

    def operand(self, tok: str) -> Callable[[Row], Any]:
        if tok.startswith("'"):
            value: Any = tok[1:-1].replace("''", "'")
            return lambda r: value
        low = tok.lower()
        if low == "null":
            return lambda r: None
        if low in ("true", "false"):
            flag = low == "true"
            return lambda r: flag
        if _NUMBER.match(tok):
            try:
                number = Decimal(tok)
            except InvalidOperation:
                raise FilterError(f"bad number {tok!r}") from None
            return lambda r: number
        if tok[0].isdigit() or _GUID.match(tok):  # GUIDs, dates, timestamps are bare
            return lambda r: tok
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_/]*$", tok):
            raise FilterError(f"not a property or literal: {tok!r}")
        return lambda r: r.get(tok)


def _compare(left: Callable[[Row], Any], op: str, right: Callable[[Row], Any]) -> Pred:
    def pred(r: Row) -> bool:
        a, b = norm(left(r)), norm(right(r))
        if op == "eq":
            return bool(a == b)
        if op == "ne":
            return bool(a != b)
        if a is None or b is None or type(a) is not type(b):
            return False
        if op == "gt":
            return bool(a > b)
        if op == "ge":
            return bool(a >= b)
        if op == "lt":
            return bool(a < b)
        return bool(a <= b)

    return pred


def compile_filter(text: str | None) -> Pred:
    """A predicate over rows for a ``$filter`` expression (``None``: every row).

    Examples:
        >>> compile_filter("modifiedon gt 2026-01-01T00:00:00Z")(
        ...     {"modifiedon": "2026-01-02T00:00:00Z"})
        True
        >>> compile_filter("name eq")
        Traceback (most recent call last):
        ...
        erpsa_dynamics365.simulator._filter.FilterError: expected a token, found None
    """
    if not text or not text.strip():
        return lambda r: True
    return _Parser(_tokens(text)).parse()
