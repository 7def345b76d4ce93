"""A SuiteQL subset: parse once, evaluate against in-memory tables through sorted indexes.

Supported: ``SELECT <explicit columns> FROM <one table> [alias] [WHERE …] [ORDER BY …]``.
Columns may be wrapped in ``TO_CHAR(col, 'fmt')`` or ``BUILTIN.DF(col)`` and renamed with
``AS``. Conditions: ``AND``/``OR``/``NOT``, comparisons, ``IS [NOT] NULL``, ``IN (…)``,
``BETWEEN``, ``LIKE``; operands are columns, ``?`` parameters, string and number literals,
``TO_TIMESTAMP(?, 'fmt')`` and ``TO_DATE(?, 'fmt')``. Anything else is refused with a
``SuiteQLError`` (the simulator answers 400 ``INVALID_PARAMETER``), never guessed.

Speed matters for keyset reads over large tables: ``ORDER BY`` uses an index kept sorted as
rows change, and a leading range on the first sort column (``c > ?``, ``c >= ?``, or the keyset
form ``(c > ? OR (c = ? AND d > ?))``) starts the scan with a binary search. When the whole
condition is such a range, counting the rest of the result is a subtraction, not a scan.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["Query", "SuiteQLError", "parse", "to_char"]


class SuiteQLError(ValueError):
    """The query is outside the simulated SuiteQL subset or refers to unknown names."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>\d+(?:\.\d+)?)
      | (?P<str>'(?:[^']|'')*')
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
      | (?P<op><>|!=|<=|>=|[=<>(),?*])
    )""",
    re.VERBOSE,
)

_KEYWORDS = {
    "select",
    "from",
    "where",
    "order",
    "by",
    "and",
    "or",
    "not",
    "is",
    "null",
    "in",
    "between",
    "like",
    "asc",
    "desc",
    "as",
}


@dataclass(frozen=True)
class _Tok:
    kind: str  # num, str, name, kw, op, end
    value: str


def _tokenize(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    text = text.rstrip().rstrip(";")
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            raise SuiteQLError(f"unexpected character at position {pos}: {text[pos : pos + 10]!r}")
        pos = m.end()
        if m.group("num") is not None:
            out.append(_Tok("num", m.group("num")))
        elif m.group("str") is not None:
            out.append(_Tok("str", m.group("str")[1:-1].replace("''", "'")))
        elif m.group("name") is not None:
            name = m.group("name")
            low = name.lower()
            out.append(_Tok("kw", low) if low in _KEYWORDS else _Tok("name", low))
        else:
            out.append(_Tok("op", m.group("op")))
    out.append(_Tok("end", ""))
    return out


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Col:
    """A column reference."""

    name: str


@dataclass(frozen=True)
class Param:
    """A bound ``?`` parameter (by position)."""

    index: int


@dataclass(frozen=True)
class Lit:
    """A string or number literal."""

    value: Any


@dataclass(frozen=True)
class Func:
    """A function call (``TO_CHAR``, ``TO_TIMESTAMP``, ``TO_DATE``, ``BUILTIN.DF``)."""

    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Cmp:
    """A comparison."""

    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class BoolOp:
    """``AND`` / ``OR`` over conditions."""

    op: str  # and / or
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Not:
    """``NOT`` a condition."""

    item: Any


@dataclass(frozen=True)
class IsNull:
    """``IS [NOT] NULL``."""

    operand: Any
    negated: bool


@dataclass(frozen=True)
class InList:
    """``[NOT] IN (…)``."""

    operand: Any
    items: tuple[Any, ...]
    negated: bool


@dataclass(frozen=True)
class Between:
    """``BETWEEN … AND …``."""

    operand: Any
    low: Any
    high: Any


@dataclass(frozen=True)
class Like:
    """``[NOT] LIKE`` with ``%`` and ``_``."""

    operand: Any
    pattern: Any
    negated: bool


@dataclass(frozen=True)
class SelectItem:
    """One output column and its name."""

    expr: Any  # Col or Func over a Col
    alias: str


@dataclass(frozen=True)
class Query:
    """A parsed query: output columns, table, condition and sort order."""

    columns: tuple[SelectItem, ...]
    table: str
    where: Any
    order: tuple[tuple[str, bool], ...]  # (column, descending)
    n_params: int


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokenize(text)
        self.i = 0
        self.n_params = 0
        self.alias: str | None = None

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def accept(self, kind: str, value: str | None = None) -> bool:
        tok = self.peek()
        if tok.kind == kind and (value is None or tok.value == value):
            self.i += 1
            return True
        return False

    def expect(self, kind: str, value: str | None = None) -> _Tok:
        tok = self.take()
        if tok.kind != kind or (value is not None and tok.value != value):
            want = value or kind
            raise SuiteQLError(f"expected {want!r}, found {tok.value or 'end of query'!r}")
        return tok

    def colname(self, raw: str) -> str:
        if "." in raw:
            prefix, _, rest = raw.partition(".")
            if self.alias is not None and prefix == self.alias:
                return rest
            raise SuiteQLError(f"unknown qualifier in {raw!r}")
        return raw

    def query(self) -> Query:
        self.expect("kw", "select")
        if self.peek().kind == "op" and self.peek().value == "*":
            raise SuiteQLError("SELECT * is not simulated: name the columns explicitly")
        start = self.i
        # Find FROM first so column qualifiers can be checked against the table alias.
        depth = 0
        j = start
        while not (self.toks[j].kind == "kw" and self.toks[j].value == "from" and depth == 0):
            if self.toks[j].kind == "end":
                raise SuiteQLError("missing FROM")
            if self.toks[j].value == "(":
                depth += 1
            elif self.toks[j].value == ")":
                depth -= 1
            j += 1
        table = self.toks[j + 1]
        if table.kind != "name":
            raise SuiteQLError("expected a table name after FROM")
        after = self.toks[j + 2]
        if after.kind == "name":
            self.alias = after.value
        columns = [self.select_item()]
        while self.accept("op", ","):
            columns.append(self.select_item())
        self.expect("kw", "from")
        self.take()
        if self.alias is not None:
            self.take()
        where = None
        if self.accept("kw", "where"):
            where = self.expr()
        order: list[tuple[str, bool]] = []
        if self.accept("kw", "order"):
            self.expect("kw", "by")
            while True:
                name = self.colname(self.expect("name").value)
                desc = False
                if self.accept("kw", "desc"):
                    desc = True
                else:
                    self.accept("kw", "asc")
                order.append((name, desc))
                if not self.accept("op", ","):
                    break
        if self.peek().kind != "end":
            raise SuiteQLError(f"unexpected {self.peek().value!r} (not simulated: joins, GROUP BY)")
        return Query(tuple(columns), table.value, where, tuple(order), self.n_params)

    def select_item(self) -> SelectItem:
        expr = self.operand()
        if isinstance(expr, Col):
            alias = expr.name
        elif isinstance(expr, Func) and expr.name in {"to_char", "builtin.df"}:
            alias = "expr"
        else:
            raise SuiteQLError("select items must be columns, TO_CHAR(col, fmt) or BUILTIN.DF(col)")
        if self.accept("kw", "as"):
            alias = self.expect("name").value
        elif self.peek().kind == "name":
            alias = self.take().value
        return SelectItem(expr, alias)

    def expr(self) -> Any:
        items = [self.conj()]
        while self.accept("kw", "or"):
            items.append(self.conj())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def conj(self) -> Any:
        items = [self.neg()]
        while self.accept("kw", "and"):
            items.append(self.neg())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def neg(self) -> Any:
        if self.accept("kw", "not"):
            return Not(self.neg())
        return self.predicate()

    def predicate(self) -> Any:
        if self.peek().kind == "op" and self.peek().value == "(":
            # A parenthesised condition, unless it is a parenthesised operand.
            save = self.i
            self.take()
            try:
                inner = self.expr()
                self.expect("op", ")")
                return inner
            except SuiteQLError:
                self.i = save
        left = self.operand()
        if self.accept("kw", "is"):
            negated = self.accept("kw", "not")
            self.expect("kw", "null")
            return IsNull(left, negated)
        negated = self.accept("kw", "not")
        if self.accept("kw", "in"):
            self.expect("op", "(")
            items = [self.operand()]
            while self.accept("op", ","):
                items.append(self.operand())
            self.expect("op", ")")
            return InList(left, tuple(items), negated)
        if self.accept("kw", "like"):
            return Like(left, self.operand(), negated)
        if negated:
            raise SuiteQLError("NOT must be followed by IN or LIKE here")
        if self.accept("kw", "between"):
            low = self.operand()
            self.expect("kw", "and")
            return Between(left, low, self.operand())
        tok = self.take()
        if tok.kind != "op" or tok.value not in {"=", "<>", "!=", "<", "<=", ">", ">="}:
            raise SuiteQLError(f"expected a comparison, found {tok.value or 'end of query'!r}")
        return Cmp("<>" if tok.value == "!=" else tok.value, left, self.operand())

    def operand(self) -> Any:
        tok = self.take()
        if tok.kind == "op" and tok.value == "?":
            param = Param(self.n_params)
            self.n_params += 1
            return param
        if tok.kind == "str":
            return Lit(tok.value)
        if tok.kind == "num":
            return Lit(Decimal(tok.value))
        if tok.kind == "kw" and tok.value == "null":
            return Lit(None)
        if tok.kind == "name":
            if self.accept("op", "("):
                args = [self.operand()]
                while self.accept("op", ","):
                    args.append(self.operand())
                self.expect("op", ")")
                if tok.value not in {"to_char", "to_timestamp", "to_date", "builtin.df"}:
                    raise SuiteQLError(f"function {tok.value.upper()} is not simulated")
                return Func(tok.value, tuple(args))
            return Col(self.colname(tok.value))
        raise SuiteQLError(f"unexpected {tok.value or 'end of query'!r}")


def parse(text: str) -> Query:
    """Parse a SuiteQL query of the simulated subset.

    Examples:
        >>> q = parse("SELECT id, memo FROM timebill WHERE id > ? ORDER BY id")
        >>> q.table, [c.alias for c in q.columns], q.n_params
        ('timebill', ['id', 'memo'], 1)
    """
    return _Parser(text).query()


# --------------------------------------------------------------------------- formats

_FMT = re.compile(r'"[^"]*"|YYYY|HH24|HH12|HH|MI|SS|MM|DD|AM|PM|[^"YHMSDAP]+|.', re.IGNORECASE)
_FMT_MAP = {
    "YYYY": "%Y",
    "MM": "%m",
    "DD": "%d",
    "HH24": "%H",
    "HH12": "%I",
    "HH": "%I",
    "MI": "%M",
    "SS": "%S",
    "AM": "%p",
    "PM": "%p",
}


@lru_cache(maxsize=64)
def _strftime_format(fmt: str) -> str:
    out: list[str] = []
    for part in _FMT.findall(fmt):
        if part.startswith('"'):
            out.append(part[1:-1].replace("%", "%%"))
        else:
            out.append(_FMT_MAP.get(part.upper(), part.replace("%", "%%")))
    return "".join(out)


def to_char(value: Any, fmt: str, tz: ZoneInfo) -> str:
    """Render a date or timestamp with an Oracle-style format (``YYYY-MM-DD HH24:MI:SS``).

    Examples:
        >>> from datetime import datetime, UTC
        >>> ts = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        >>> to_char(ts, "YYYY-MM-DD HH24:MI:SS", ZoneInfo("UTC"))
        '2026-01-02 03:04:05'
    """
    if isinstance(value, date):
        return _to_char_cached(value, fmt, tz)
    return str(value)


@lru_cache(maxsize=65536)
def _to_char_cached(value: date, fmt: str, tz: ZoneInfo) -> str:
    # Timestamps repeat a lot (one per second at most), so rendering is memoised.
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime(_strftime_format(fmt))
    return value.strftime(_strftime_format(fmt))


def _parse_ts(text: str, fmt: str, tz: ZoneInfo) -> datetime:
    try:
        return datetime.strptime(text, _strftime_format(fmt)).replace(tzinfo=tz).astimezone(UTC)
    except ValueError as exc:
        raise SuiteQLError(f"{text!r} does not match the format {fmt!r}") from exc


# --------------------------------------------------------------------------- evaluation

Row = dict[str, Any]
Pred = Callable[[Row], bool]


@dataclass
class Context:
    """What evaluation needs beyond the query: column kinds, parameters and preferences."""

    kinds: dict[str, str]
    params: Sequence[Any]
    tz: ZoneInfo
    date_format: str
    ref_name: Callable[[str, Any], str | None]


def _coerce(value: Any, kind: str, ctx: Context) -> Any:
    """Coerce a literal or parameter to a column's kind, as SuiteQL's implicit conversion does."""
    if value is None:
        return None
    if kind in {"int", "ref"}:
        try:
            return int(str(value))
        except ValueError as exc:
            raise SuiteQLError(f"{value!r} is not a number") from exc
    if kind in {"decimal", "duration"}:
        if isinstance(value, Decimal):
            return value
        try:
            return Decimal(str(value))
        except InvalidOperation as exc:
            raise SuiteQLError(f"{value!r} is not a number") from exc
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).upper()
        if text in {"T", "TRUE"}:
            return True
        if text in {"F", "FALSE"}:
            return False
        raise SuiteQLError(f"{value!r} is not a boolean ('T' or 'F')")
    if kind == "datetime":
        if isinstance(value, datetime):
            return value
        return _parse_ts(str(value), ctx.date_format, ctx.tz)
    if kind == "date":
        if isinstance(value, date):
            return value.date() if isinstance(value, datetime) else value
        return _parse_ts(str(value), ctx.date_format, ctx.tz).astimezone(ctx.tz).date()
    return str(value)


def _kind_of(node: Any, ctx: Context) -> str | None:
    if isinstance(node, Col):
        if node.name not in ctx.kinds:
            raise SuiteQLError(f"unknown column {node.name!r}")
        return ctx.kinds[node.name]
    if isinstance(node, Func) and node.name == "to_timestamp":
        return "datetime"
    if isinstance(node, Func) and node.name == "to_date":
        return "date"
    return None


def _value(node: Any, kind: str | None, ctx: Context) -> Callable[[Row], Any]:
    """Compile an operand to a function of the row, coerced to ``kind`` when constant."""
    if isinstance(node, Col):
        name = node.name
        return lambda row: row.get(name)
    if isinstance(node, Func) and node.name in {"to_timestamp", "to_date"}:
        if len(node.args) != 2 or not isinstance(node.args[1], Lit):
            raise SuiteQLError(f"{node.name.upper()} takes (value, 'format')")
        raw = _const(node.args[0], ctx)
        ts = None if raw is None else _parse_ts(str(raw), str(node.args[1].value), ctx.tz)
        if node.name == "to_date" and ts is not None:
            day: Any = ts.astimezone(ctx.tz).date()
            if kind == "datetime":
                day = datetime(day.year, day.month, day.day, tzinfo=ctx.tz).astimezone(UTC)
            return lambda row: day
        return lambda row: ts
    if isinstance(node, Func):
        raise SuiteQLError(f"{node.name.upper()} is not allowed in a condition")
    const = _const(node, ctx)
    value = _coerce(const, kind, ctx) if kind is not None else const
    return lambda row: value


def _const(node: Any, ctx: Context) -> Any:
    if isinstance(node, Param):
        if node.index >= len(ctx.params):
            raise SuiteQLError(f"the query has more ? than the {len(ctx.params)} params given")
        return ctx.params[node.index]
    if isinstance(node, Lit):
        return node.value
    raise SuiteQLError("expected a parameter or literal")


_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def compile_where(node: Any, ctx: Context) -> Pred:
    """Compile a condition to a predicate over rows (SQL NULL semantics: NULL matches nothing)."""
    if node is None:
        return lambda row: True
    if isinstance(node, BoolOp):
        parts = [compile_where(item, ctx) for item in node.items]
        if node.op == "and":
            return lambda row: all(p(row) for p in parts)
        return lambda row: any(p(row) for p in parts)
    if isinstance(node, Not):
        inner = compile_where(node.item, ctx)
        return lambda row: not inner(row)
    if isinstance(node, IsNull):
        get = _value(node.operand, None, ctx)
        if node.negated:
            return lambda row: get(row) is not None
        return lambda row: get(row) is None
    if isinstance(node, Cmp):
        kind = _kind_of(node.left, ctx) or _kind_of(node.right, ctx)
        left = _value(node.left, kind, ctx)
        right = _value(node.right, kind, ctx)
        op = _CMP[node.op]

        def cmp(row: Row) -> bool:
            a, b = left(row), right(row)
            return a is not None and b is not None and op(a, b)

        return cmp
    if isinstance(node, InList):
        kind = _kind_of(node.operand, ctx)
        get = _value(node.operand, kind, ctx)
        values = {_value(item, kind, ctx)({}) for item in node.items}
        if node.negated:
            return lambda row: (v := get(row)) is not None and v not in values
        return lambda row: get(row) in values
    if isinstance(node, Between):
        kind = _kind_of(node.operand, ctx)
        get = _value(node.operand, kind, ctx)
        low = _value(node.low, kind, ctx)({})
        high = _value(node.high, kind, ctx)({})
        return lambda row: (v := get(row)) is not None and low <= v <= high
    if isinstance(node, Like):
        get = _value(node.operand, None, ctx)
        pattern = str(_const(node.pattern, ctx))
        rx = re.compile(
            "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern),
            re.DOTALL,
        )
        negated = node.negated

        def like(row: Row) -> bool:
            v = get(row)
            return v is not None and (rx.fullmatch(str(v)) is None) is negated

        return like
    raise SuiteQLError("unsupported condition")


# --------------------------------------------------------------------------- index ranges


def sort_key(value: Any) -> tuple[Any, ...]:
    """Index key part: NULLs sort last, as in Oracle's ascending order."""
    return (1,) if value is None else (0, value)


@dataclass(frozen=True)
class Range:
    """Bounds on an index: keys after ``key`` (``>=`` when ``inclusive``) and, when ``upper``
    is set, with a first part below it (``<=`` when ``upper_inclusive``)."""

    key: tuple[Any, ...] | None
    inclusive: bool
    exact: bool  # the whole condition is this range: counting is a subtraction
    upper: tuple[Any, ...] | None = None
    upper_inclusive: bool = False


def _param_cmp(node: Any, column: str, ops: set[str], ctx: Context, kind: str) -> Any:
    """The constant a comparison ``column <op> constant`` bounds by, or ``None``."""
    if isinstance(node, Cmp) and node.op in ops and node.left == Col(column):
        try:
            return _value(node.right, kind, ctx)({})
        except SuiteQLError:
            return None
    return None


def _keyset(node: Any, order: Sequence[str], ctx: Context) -> tuple[Any, ...] | None:
    """``(a > x OR (a = x AND b > y))`` on the first two sort columns -> ``(x, y)``."""
    if not (isinstance(node, BoolOp) and node.op == "or" and len(node.items) == 2):
        return None
    if len(order) < 2:
        return None
    first, second = order[0], order[1]
    kind, kind2 = ctx.kinds.get(first), ctx.kinds.get(second)
    if kind is None or kind2 is None:
        return None
    gt, tie = node.items
    x = _param_cmp(gt, first, {">"}, ctx, kind)
    if x is None or not (isinstance(tie, BoolOp) and tie.op == "and" and len(tie.items) == 2):
        return None
    x2 = _param_cmp(tie.items[0], first, {"="}, ctx, kind)
    y = _param_cmp(tie.items[1], second, {">"}, ctx, kind2)
    if x2 != x or y is None:
        return None
    return (sort_key(x), sort_key(y))


def leading_range(where: Any, order: Sequence[str], ctx: Context) -> Range | None:
    """Bounds on the index ``order`` implied by the condition's top-level conjuncts."""
    if where is None or not order:
        return None
    conjuncts = list(where.items) if isinstance(where, BoolOp) and where.op == "and" else [where]
    first = order[0]
    kind = ctx.kinds.get(first)
    if kind is None:
        return None
    lower: tuple[Any, ...] | None = None
    inclusive = False
    upper: tuple[Any, ...] | None = None
    upper_inclusive = False
    exact = True
    for node in conjuncts:
        ks = _keyset(node, order, ctx)
        if ks is not None and lower is None:
            lower, inclusive = ks, False
            exact = exact and len(order) == 2
            continue
        found = False
        for op, incl in ((">", False), (">=", True)):
            bound = _param_cmp(node, first, {op}, ctx, kind)
            if bound is not None and lower is None:
                lower, inclusive, found = (sort_key(bound),), incl, True
                exact = exact and len(order) == 1
        for op, incl in (("<", False), ("<=", True)):
            bound = _param_cmp(node, first, {op}, ctx, kind)
            if bound is not None and upper is None:
                upper, upper_inclusive, found = (sort_key(bound),), incl, True
        if not found:
            exact = False
    if lower is None and upper is None:
        return None
    return Range(lower, inclusive, exact, upper, upper_inclusive)


def pinned_id(where: Any, ctx: Context) -> int | None:
    """The id a top-level ``id = <constant>`` conjunct pins the result to, if any.

    Examples:
        >>> from zoneinfo import ZoneInfo
        >>> q = parse("SELECT id FROM timebill WHERE memo = ? AND id = ?")
        >>> ctx = Context({"id": "int", "memo": "str"}, ["x", "42"], ZoneInfo("UTC"), "", dict.get)
        >>> pinned_id(q.where, ctx)
        42
    """
    if where is None:
        return None
    conjuncts = list(where.items) if isinstance(where, BoolOp) and where.op == "and" else [where]
    for node in conjuncts:
        value = _param_cmp(node, "id", {"="}, ctx, "int")
        if value is not None:
            return int(value)
    return None


def scan(
    index: list[tuple[Any, ...]],
    rng: Range | None,
    descending: bool,
) -> tuple[Iterator[tuple[Any, ...]], int]:
    """Index entries from the range's start, and how many entries lie in the range."""
    if descending or rng is None:
        entries = reversed(index) if descending else iter(index)
        return entries, len(index)
    # Pad a bound with (2,), above any sort key, so a prefix compares correctly.
    if rng.key is None:
        start = 0
    elif rng.inclusive:
        start = bisect_left(index, rng.key)
    else:
        start = bisect_right(index, (*rng.key, (2,)))
    if rng.upper is None:
        end = len(index)
    elif rng.upper_inclusive:
        end = bisect_right(index, (*rng.upper, (2,)))
    else:
        end = bisect_left(index, rng.upper)
    end = max(start, end)
    return (index[i] for i in range(start, end)), end - start
