"""The safe expression language of plan files: formulas, filters and conditions.

Plan files hold expressions as strings (`sum: amount * 0.5`, `filter: product.family in ['A', 'B']`,
`when: attainment(bookings) >= 1`). They are parsed with `ast.parse(text, mode="eval")` and the tree is
walked with an explicit whitelist of node types: nothing is ever `eval`-ed, `exec`-ed or compiled, and
any construct not listed below is an error.

Grammar (precedence from loosest to tightest, as in Python)::

    expr       := or_expr ["if" or_expr "else" expr]
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := sum (("==" | "!=" | "<" | "<=" | ">" | ">=") sum)*      -- chains: a < b <= c
                | sum ["not"] "in" "[" literal ("," literal)* "]"
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | atom
    atom       := number | string | "true" | "false" | "null" | name | call | "(" expr ")"
    name       := identifier ("." identifier)*                            -- product.family, payee.region
    call       := ("min" | "max" | "coalesce") "(" expr ("," expr)+ ")"
                | "abs" "(" expr ")"
                | ("attainment" | "quota") "(" identifier ")"            -- attainment(bookings)
    literal    := number | "-" number | string | "true" | "false"

Examples::

    amount * 0.05
    product.family in ['Analytics', 'Platform'] and amount > 100
    transaction.attributes.channel != 'partner'
    min(attainment(bookings), 1.5) * target_incentive
    coalesce(param.rate_override, 0.05)
    0.08 if attainment(bookings) >= 1 else 0.05

Python's `True`/`False`/`None` are accepted for `true`/`false`/`null`. Numbers are `Decimal`s built from
their source text (`0.10` keeps two places; never via float). Line breaks count as spaces, so YAML block
scalars work; comments (`#`) are not allowed. At most `MAX_LENGTH` characters and `MAX_DEPTH` levels of
nesting (each operator, call or operand is a level).

Semantics, the same in `evaluate` (Python, one payee × period) and `to_ibis` (SQL, many rows):

- Arithmetic with `null` gives `null`; so do `min`/`max` with a `null` argument (unlike SQL's
  `LEAST`/`GREATEST`, which skip nulls on some backends); `coalesce` picks the first non-null.
- Conditions are two-valued: a comparison (or `in`/`not in`) involving `null` is false, and a `null`
  truth value counts as false in `and`/`or`/`not`/`if`. So `not (x > 1)` is true when `x` is null.
- Division by zero raises `ExprError("division by zero")` in `evaluate`; a SQL row cannot raise, so
  `to_ibis` gives `null` for it (a literal zero divisor raises in both).

Decimal typing in `to_ibis` (why the casts in the SQL): Ibis 12 types decimal arithmetic as the wider of its
operand types (decimal(18, 2) * decimal(2, 2) -> decimal(18, 2)) while DuckDB returns decimal(18, 4);
fetching then fails with "Rescaling Decimal value would cause data loss" (`to_pyarrow`) or silently loses
digits (`execute`), and operands with incomparable types (decimal(18, 2) + decimal(3, 3)) cannot be combined
at all. So `to_ibis` types decimal results itself with the SQL-standard rules: `+`/`-` give (max integer
digits + 1, max scale), `*` gives (sum of integer digits, sum of scales); beyond 38 digits the scale is kept
and integer digits are given up (a value too large is an overflow error in the backend, never a silent
rounding). Operands are cast up first and every result is CAST explicitly (bypassing Ibis's drop of casts it
believes are no-ops), so the Ibis type is the type the backend returns. Integers mixed with decimals count
as decimal(19, 0) (int64). `/` follows Ibis and DuckDB: it gives float64, not an exact decimal; anything
mixed with a float is float64.
"""

from __future__ import annotations

import ast
import io
import operator
import tokenize
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache, reduce
from typing import Any, Final, TypeAlias

MAX_LENGTH: Final = 2000
MAX_DEPTH: Final = 50
MAX_DIGITS: Final = 38  # decimal precision of the SQL backends

# name -> (min arguments, max arguments or None)
FUNCTIONS: Final[Mapping[str, tuple[int, int | None]]] = {
    "min": (2, None),
    "max": (2, None),
    "coalesce": (2, None),
    "abs": (1, 1),
}
MEASURE_FUNCTIONS: Final = frozenset({"attainment", "quota"})
KEYWORDS: Final[Mapping[str, bool | None]] = {"true": True, "false": False, "null": None}

Scalar: TypeAlias = Decimal | str | bool | None


class ExprError(ValueError):
    """An expression that cannot be parsed, is not allowed, or fails to evaluate or compile.

    `column` is the 0-based offset of the problem in the expression text, when known.
    """

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.column = column

    def __str__(self) -> str:
        return self.message if self.column is None else f"{self.message} at column {self.column}"


# --- the tree ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lit:
    """A literal: number (Decimal), string, boolean or null."""

    value: Scalar
    col: int


@dataclass(frozen=True, slots=True)
class Name:
    """A dotted name, looked up whole: `product.family`."""

    name: str
    col: int


@dataclass(frozen=True, slots=True)
class Ref:
    """`attainment(measure)` or `quota(measure)`; looked up as its `key`."""

    function: str
    measure: str
    col: int

    @property
    def key(self) -> str:
        return f"{self.function}({self.measure})"


@dataclass(frozen=True, slots=True)
class Call:
    """`min`, `max`, `abs` or `coalesce`."""

    function: str
    args: tuple[Node, ...]
    col: int


@dataclass(frozen=True, slots=True)
class Neg:
    operand: Node
    col: int


@dataclass(frozen=True, slots=True)
class Arith:
    """`+ - * /`; `col` is the operator's."""

    op: str
    left: Node
    right: Node
    col: int


@dataclass(frozen=True, slots=True)
class Compare:
    """A comparison chain: `operands[0] ops[0] operands[1] ops[1] ...`; `cols` are the operators'."""

    ops: tuple[str, ...]
    operands: tuple[Node, ...]
    cols: tuple[int, ...]
    col: int


@dataclass(frozen=True, slots=True)
class In:
    """`operand [not] in [items]` (items are literals of one kind, never null)."""

    operand: Node
    items: tuple[Lit, ...]
    negated: bool
    col: int


@dataclass(frozen=True, slots=True)
class Logic:
    """`and` / `or` over two or more operands."""

    op: str
    operands: tuple[Node, ...]
    col: int


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node
    col: int


@dataclass(frozen=True, slots=True)
class IfElse:
    """`then if cond else orelse`."""

    cond: Node
    then: Node
    orelse: Node
    col: int


Node: TypeAlias = Lit | Name | Ref | Call | Neg | Arith | Compare | In | Logic | Not | IfElse


def _children(node: Node) -> tuple[Node, ...]:
    match node:
        case Call(args=args):
            return args
        case Neg(operand=operand) | Not(operand=operand):
            return (operand,)
        case Arith(left=left, right=right):
            return (left, right)
        case Compare(operands=operands) | Logic(operands=operands):
            return operands
        case In(operand=operand, items=items):
            return (operand, *items)
        case IfElse(cond=cond, then=then, orelse=orelse):
            return (cond, then, orelse)
        case _:
            return ()


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in _children(node):
        yield from _walk(child)


@dataclass(frozen=True)
class Expr:
    """A parsed expression: its source `text` and its whitelisted `tree`."""

    text: str
    tree: Node

    def names(self) -> frozenset[str]:
        """Every dotted name referenced (not the measure names inside `attainment(...)`/`quota(...)`)."""
        return frozenset(node.name for node in _walk(self.tree) if isinstance(node, Name))

    def calls(self) -> frozenset[tuple[str, str]]:
        """Every `attainment(x)`/`quota(x)` as `(function, measure)`."""
        return frozenset((node.function, node.measure) for node in _walk(self.tree) if isinstance(node, Ref))

    def __str__(self) -> str:
        return self.text


# --- parsing -------------------------------------------------------------------------------

_ARITH_OPS: Final[Mapping[type[ast.operator], str]] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_OTHER_OPS: Final[Mapping[type[ast.AST], str]] = {
    ast.Pow: "**",
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.Invert: "~",
    ast.UAdd: "+",
    ast.Is: "is",
    ast.IsNot: "is not",
}
_COMPARE_OPS: Final[Mapping[type[ast.cmpop], str]] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}
_IN_SYMBOL: Final[Mapping[type[ast.cmpop], str]] = {ast.In: "in", ast.NotIn: "not"}
_NOT_ALLOWED: Final[Mapping[type[ast.AST], str]] = {
    ast.Subscript: "subscript",
    ast.Slice: "slice",
    ast.Lambda: "lambda",
    ast.JoinedStr: "f-string",
    ast.FormattedValue: "f-string",
    ast.List: "list outside 'in [...]'",
    ast.Tuple: "tuple",
    ast.Dict: "dict",
    ast.Set: "set",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "comprehension",
    ast.NamedExpr: "assignment expression ':='",
    ast.Starred: "starred argument",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


def parse(text: str) -> Expr:
    """Parse and check `text`; raise `ExprError` for anything outside the grammar.

    Results are cached (an `Expr` is immutable), so parsing the same text in a loop is cheap.
    """
    return _parse(text)


@lru_cache(maxsize=4096)
def _parse(text: str) -> Expr:
    return Expr(text, _Parser(text).parse())


class _Parser:
    """Whitelist conversion from Python's AST to `Node`s, keeping 0-based columns into the original text."""

    def __init__(self, text: str) -> None:
        self.text = text
        flat = text.replace("\r", " ").replace("\n", " ")  # one line: offsets stay those of `text`
        self.lead = len(flat) - len(flat.lstrip())  # Python rejects leading spaces ("unexpected indent")
        self.body = flat[self.lead :]
        self.encoded = self.body.encode()

    def parse(self) -> Node:
        if len(self.text) > MAX_LENGTH:
            raise ExprError(f"expression too long: {len(self.text)} characters (max {MAX_LENGTH})")
        if not self.body.strip():
            raise ExprError("empty expression", 0)
        if "\x00" in self.body:
            raise ExprError("syntax error", self.lead + self.body.index("\x00"))
        try:
            tree = ast.parse(self.body, mode="eval")
        except SyntaxError as e:
            raise self._syntax_error(e) from None
        self._reject_comments()
        return self.convert(tree.body, 1)

    def _syntax_error(self, error: SyntaxError) -> ExprError:
        offset = error.offset or 0
        column = self.lead + offset - 1 if offset > 0 else len(self.text.rstrip())  # 0: at end of input
        detail = (error.msg or "").split(" (detected at")[0]
        message = "syntax error" if detail in ("", "invalid syntax") else f"syntax error ({detail})"
        return ExprError(message, min(max(column, 0), len(self.text)))

    def _reject_comments(self) -> None:
        for token in tokenize.generate_tokens(io.StringIO(self.body).readline):
            if token.type == tokenize.COMMENT:
                raise ExprError("not allowed: comment", self.lead + token.start[1])

    def col(self, node: ast.AST) -> int:
        return self._offset(getattr(node, "col_offset", 0))

    def end(self, node: ast.AST) -> int:
        return self._offset(getattr(node, "end_col_offset", None) or 0)

    def _offset(self, byte_offset: int) -> int:
        """Python gives UTF-8 byte offsets; errors report character offsets."""
        return self.lead + len(self.encoded[:byte_offset].decode(errors="ignore"))

    def _between(self, left: ast.AST, right: ast.AST, symbol: str) -> int:
        """The column of an operator written between two operands."""
        start, stop = self.end(left) - self.lead, self.col(right) - self.lead
        found = self.body.find(symbol, start, stop)
        return self.lead + found if found >= 0 else self.col(left)

    def convert(self, node: ast.AST, depth: int) -> Node:
        col = self.col(node)
        if depth > MAX_DEPTH:
            raise ExprError(f"too deeply nested (max {MAX_DEPTH} levels)", col)
        sub = depth + 1
        match node:
            case ast.Constant():
                return self._constant(node, col)
            case ast.Name() | ast.Attribute():
                return self._name(node)
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                inner = self.convert(operand, sub)
                if isinstance(inner, Lit) and isinstance(inner.value, Decimal):
                    return Lit(-inner.value, col)
                return Neg(inner, col)
            case ast.UnaryOp(op=ast.Not(), operand=operand):
                return Not(self.convert(operand, sub), col)
            case ast.BinOp(left=left, op=op, right=right) if type(op) in _ARITH_OPS:
                symbol = _ARITH_OPS[type(op)]
                return Arith(
                    symbol, self.convert(left, sub), self.convert(right, sub), self._between(left, right, symbol)
                )
            case ast.BinOp(left=left, op=op, right=right):
                symbol = _OTHER_OPS.get(type(op), type(op).__name__)
                raise ExprError(f"not allowed: operator '{symbol}'", self._between(left, right, symbol))
            case ast.UnaryOp(op=op):
                raise ExprError(f"not allowed: operator '{_OTHER_OPS.get(type(op), type(op).__name__)}'", col)
            case ast.BoolOp(op=op, values=values):
                return Logic(
                    "and" if isinstance(op, ast.And) else "or", tuple(self.convert(v, sub) for v in values), col
                )
            case ast.Compare():
                return self._compare(node, col, sub)
            case ast.IfExp(test=test, body=body, orelse=orelse):
                return IfElse(self.convert(test, sub), self.convert(body, sub), self.convert(orelse, sub), col)
            case ast.Call():
                return self._call(node, col, sub)
        raise ExprError(f"not allowed: {_NOT_ALLOWED.get(type(node), type(node).__name__)}", col)

    def _constant(self, node: ast.Constant, col: int) -> Lit:
        value = node.value
        if value is None or isinstance(value, bool):
            return Lit(value, col)
        segment = self.body[col - self.lead : self.end(node) - self.lead]
        if isinstance(value, str):
            if "\n" in self.text[col : self.end(node)] or "\r" in self.text[col : self.end(node)]:
                raise ExprError("not allowed: line break inside a string", col)
            return Lit(value, col)
        if isinstance(value, int):
            number = Decimal(value)  # exact; also for 0x/0o/0b literals
        elif isinstance(value, float):
            number = Decimal(segment.replace("_", ""))  # from the source text, never via float
        else:
            kind = {bytes: "bytes literal", complex: "complex number"}.get(type(value), "'...'")
            raise ExprError(f"not allowed: {kind}", col)
        if not number.is_finite() or number.adjusted() >= MAX_DIGITS:
            raise ExprError(f"number too large (max {MAX_DIGITS} digits)", col)
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent > 0:
            number = Decimal(int(number))  # 1e3 -> 1000
        return Lit(number, col)

    def _dotted(self, node: ast.AST) -> list[tuple[str, int]] | None:
        """`a.b.c` as [(part, column), ...]; None when the chain does not start at a plain name."""
        if isinstance(node, ast.Name):
            return [(node.id, self.col(node))]
        if isinstance(node, ast.Attribute):
            base = self._dotted(node.value)
            if base is None:
                return None
            return [*base, (node.attr, self.end(node) - len(node.attr))]
        return None

    def _name(self, node: ast.Name | ast.Attribute) -> Node:
        parts = self._dotted(node)
        if parts is None:
            base: ast.expr = node
            while isinstance(base, ast.Attribute):
                base = base.value
            what = {ast.Call: "a call", ast.Constant: "a literal"}.get(type(base), "an expression")
            raise ExprError(f"not allowed: attribute access on {what}", self.col(node))
        for part, column in parts:
            if part.startswith("__"):
                raise ExprError(f"not allowed: name '{part}'", column)
        if parts[0][0] in KEYWORDS:
            if len(parts) > 1:
                raise ExprError("not allowed: attribute access on a literal", self.col(node))
            return Lit(KEYWORDS[parts[0][0]], self.col(node))
        return Name(".".join(part for part, _ in parts), self.col(node))

    def _compare(self, node: ast.Compare, col: int, sub: int) -> Node:
        operands = [node.left, *node.comparators]
        cols = tuple(
            self._between(left, right, _COMPARE_OPS.get(type(op)) or _OTHER_OPS.get(type(op)) or _IN_SYMBOL[type(op)])
            for left, op, right in zip(operands[:-1], node.ops, node.comparators, strict=True)
        )
        if any(isinstance(op, ast.In | ast.NotIn) for op in node.ops):
            if len(node.ops) > 1:
                raise ExprError("not allowed: 'in' in a chained comparison", col)
            return self._in(node, col, cols[0], sub)
        ops = []
        for op, op_col in zip(node.ops, cols, strict=True):
            if type(op) not in _COMPARE_OPS:
                symbol = _OTHER_OPS.get(type(op), type(op).__name__)
                raise ExprError(f"not allowed: operator '{symbol}' (use == or !=)", op_col)
            ops.append(_COMPARE_OPS[type(op)])
        return Compare(tuple(ops), tuple(self.convert(o, sub) for o in operands), cols, col)

    def _in(self, node: ast.Compare, col: int, op_col: int, sub: int) -> In:
        negated = isinstance(node.ops[0], ast.NotIn)
        items_node = node.comparators[0]
        if not isinstance(items_node, ast.List):
            raise ExprError("not allowed: 'in' needs a list literal [...]", self.col(items_node))
        if not items_node.elts:
            raise ExprError("not allowed: empty list", self.col(items_node))
        items: list[Lit] = []
        for element in items_node.elts:
            item = self.convert(element, sub + 1)
            if not isinstance(item, Lit):
                raise ExprError("not allowed: list items must be literals", self.col(element))
            if item.value is None:
                raise ExprError("not allowed: null in a list", item.col)
            if items and _kind(item.value) != _kind(items[0].value):
                raise ExprError(f"not allowed: list mixing {_kind(items[0].value)} and {_kind(item.value)}", item.col)
            items.append(item)
        return In(self.convert(node.left, sub), tuple(items), negated, op_col)

    def _call(self, node: ast.Call, col: int, sub: int) -> Node:
        if not isinstance(node.func, ast.Name):
            parts = self._dotted(node.func)
            if parts is None:
                raise ExprError("not allowed: call of an expression", col)
            raise ExprError(f"unknown function '{'.'.join(p for p, _ in parts)}'", col)
        function = node.func.id
        if function not in FUNCTIONS and function not in MEASURE_FUNCTIONS:
            raise ExprError(f"unknown function '{function}'", col)
        if node.keywords:
            raise ExprError("not allowed: keyword argument", self.col(node.keywords[0]))
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise ExprError("not allowed: starred argument", self.col(arg))
        if function in MEASURE_FUNCTIONS:
            if len(node.args) != 1 or not isinstance(node.args[0], ast.Name) or node.args[0].id in KEYWORDS:
                raise ExprError(f"{function}() takes a measure name, e.g. {function}(bookings)", col)
            return Ref(function, node.args[0].id, col)
        low, high = FUNCTIONS[function]
        count = len(node.args)
        if count < low or (high is not None and count > high):
            wanted = f"{low}" if low == high else f"at least {low}"
            raise ExprError(f"{function}() takes {wanted} argument{'s' if low > 1 else ''}, got {count}", col)
        return Call(function, tuple(self.convert(a, sub) for a in node.args), col)


def check_names(expr: Expr, allowed: Callable[[str], bool], where: str) -> None:
    """Raise `ExprError` for the first name (in text order) that `allowed` rejects.

    Names are dotted names (`product.family`) and measure references as looked up (`attainment(bookings)`).
    `where` says where the expression is (e.g. "measure bookings filter") and prefixes the message.
    """
    refs = [(node.col, node.name) for node in _walk(expr.tree) if isinstance(node, Name)]
    refs += [(node.col, node.key) for node in _walk(expr.tree) if isinstance(node, Ref)]
    for column, name in sorted(refs, key=lambda ref: ref[0]):
        if not allowed(name):
            raise ExprError(f"{where}: unknown name '{name}'" if where else f"unknown name '{name}'", column)


# --- evaluation in Python ------------------------------------------------------------------


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, Decimal | int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


def _normalize(value: object) -> Any:
    """Environment values as the language sees them: ints and floats as Decimal, NaN as null."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return None if value != value else Decimal(repr(value))  # NaN (pandas' null) is null
    if isinstance(value, Decimal) and value.is_nan():
        return None
    return value


_ARITH: Final[Mapping[str, Callable[[Decimal, Decimal], Decimal]]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}
_COMPARE: Final[Mapping[str, Callable[[Any, Any], bool]]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def evaluate(expr: Expr, env: Mapping[str, Any]) -> Any:
    """Evaluate in Python for one scalar context (a payee × period).

    Names are looked up in `env` by their full dotted name (`env["product.family"]`), measure references
    as `env["attainment(bookings)"]`. Numbers are Decimals (env ints and floats are converted; a float via
    its shortest repr). Raises `ExprError` for unknown names, type mismatches and division by zero.
    """
    return _Evaluator(env).eval(expr.tree)


class _Evaluator:
    def __init__(self, env: Mapping[str, Any]) -> None:
        self.env = env

    def lookup(self, key: str, col: int) -> Any:
        if key not in self.env:
            raise ExprError(f"unknown name '{key}'", col)
        return _normalize(self.env[key])

    def number(self, value: Any, what: str, col: int) -> Decimal:
        if not isinstance(value, Decimal):
            raise ExprError(f"{what} needs numbers, got {_kind(value)}", col)
        return value

    def truth(self, node: Node, what: str) -> bool:
        value = self.eval(node)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise ExprError(f"{what} needs true/false, got {_kind(value)}", node.col)
        return value

    def compare(self, op: str, left: Any, right: Any, col: int) -> bool:
        if left is None or right is None:
            return False
        if _kind(left) != _kind(right):
            raise ExprError(f"cannot compare {_kind(left)} with {_kind(right)}", col)
        try:
            return _COMPARE[op](left, right)
        except TypeError:
            raise ExprError(f"cannot compare {_kind(left)} with '{op}'", col) from None

    def eval(self, node: Node) -> Any:
        match node:
            case Lit(value=value):
                return value
            case Name(name=name, col=col):
                return self.lookup(name, col)
            case Ref(col=col):
                return self.lookup(node.key, col)
            case Neg(operand=operand, col=col):
                value = self.eval(operand)
                return None if value is None else -self.number(value, "'-'", col)
            case Arith(op=op, left=left, right=right, col=col):
                a, b = self.eval(left), self.eval(right)
                if a is None or b is None:
                    return None
                a, b = self.number(a, f"'{op}'", col), self.number(b, f"'{op}'", col)
                if op == "/" and b == 0:
                    raise ExprError("division by zero", col)
                return _ARITH[op](a, b)
            case Compare(ops=ops, operands=operands, cols=cols):
                left = self.eval(operands[0])
                for op, right_node, col in zip(ops, operands[1:], cols, strict=True):
                    right = self.eval(right_node)
                    if not self.compare(op, left, right, col):
                        return False
                    left = right
                return True
            case In(operand=operand, items=items, negated=negated, col=col):
                value = self.eval(operand)
                if value is None:
                    return False
                if _kind(value) != _kind(items[0].value):
                    raise ExprError(f"cannot compare {_kind(value)} with {_kind(items[0].value)}", col)
                return (value in [item.value for item in items]) != negated
            case Logic(op="and", operands=operands):
                return all(self.truth(o, "'and'") for o in operands)
            case Logic(operands=operands):
                return any(self.truth(o, "'or'") for o in operands)
            case Not(operand=operand):
                return not self.truth(operand, "'not'")
            case IfElse(cond=cond, then=then, orelse=orelse):
                return self.eval(then) if self.truth(cond, "'if'") else self.eval(orelse)
            case Call():
                return self.call(node)
        raise AssertionError(node)  # pragma: no cover

    def call(self, node: Call) -> Any:
        if node.function == "coalesce":
            for arg in node.args:
                value = self.eval(arg)
                if value is not None:
                    return value
            return None
        values = [self.eval(arg) for arg in node.args]
        if node.function == "abs":
            return None if values[0] is None else abs(self.number(values[0], "abs()", node.col))
        if any(value is None for value in values):
            return None
        kinds = {_kind(value) for value in values}
        if len(kinds) > 1:
            raise ExprError(f"{node.function}() cannot mix {' and '.join(sorted(kinds))}", node.col)
        try:
            return min(values) if node.function == "min" else max(values)
        except TypeError:
            raise ExprError(f"{node.function}() cannot order {kinds.pop()}", node.col) from None


# --- compilation to Ibis -------------------------------------------------------------------


def to_ibis(expr: Expr, resolve: Callable[[str], Any]) -> Any:
    """Compile to an Ibis value expression.

    `resolve(name)` returns the Ibis value for a dotted name or a measure reference (`"attainment(x)"`);
    its Ibis type must be the type the backend really produces (plain columns are). Conditions compile
    to non-null booleans; see the module docstring for null, division and decimal typing rules.
    """
    return _IbisCompiler(resolve).compile(expr.tree)


def _decimal_type(value: Decimal, col: int) -> tuple[int, int]:
    """(precision, scale) of a literal, as written: 0.050 -> (3, 3), 100 -> (3, 0)."""
    digits, exponent = value.as_tuple().digits, value.as_tuple().exponent
    assert isinstance(exponent, int)
    scale = max(-exponent, 0)
    precision = max(len(digits), scale, 1)
    if precision > MAX_DIGITS:
        raise ExprError(f"number has more than {MAX_DIGITS} digits", col)
    return precision, scale


class _IbisCompiler:
    def __init__(self, resolve: Callable[[str], Any]) -> None:
        import ibis  # imported here: slow, and only SQL needs it
        import ibis.expr.datatypes as dt
        import ibis.expr.operations as ops
        from ibis.common.annotations import ValidationError
        from ibis.common.exceptions import IbisError

        self.ibis: Any = ibis
        self.dt: Any = dt
        self.ops: Any = ops
        self.errors: tuple[type[Exception], ...] = (IbisError, ValidationError, TypeError, ValueError)
        self.resolve = resolve

    # types

    def kind(self, dtype: Any) -> str:
        if dtype.is_null():
            return "null"
        if dtype.is_boolean():
            return "true/false"
        if dtype.is_numeric():
            return "number"
        if dtype.is_string():
            return "text"
        return str(dtype)

    def digits(self, dtype: Any) -> tuple[int, int] | None:
        """(integer digits, scale) of a decimal or integer type; None if unknown."""
        if dtype.is_integer():
            return {1: 3, 2: 5, 4: 10, 8: 20 if dtype.is_unsigned_integer() else 19}[dtype.nbytes], 0
        if dtype.is_decimal() and dtype.precision is not None and dtype.scale is not None:
            return dtype.precision - dtype.scale, dtype.scale
        return None

    def fit(self, integer_digits: int, scale: int, col: int) -> Any:
        """A decimal type for the digits; beyond 38 it keeps the scale and gives up integer digits.

        So a value too large for its type is an overflow error in the backend, never a silent rounding.
        """
        if scale > MAX_DIGITS:
            raise ExprError(f"decimal scale {scale} exceeds {MAX_DIGITS}", col)
        return self.dt.Decimal(min(max(integer_digits + scale, 1), MAX_DIGITS), scale)

    def force_cast(self, value: Any, dtype: Any) -> Any:
        """CAST even when Ibis believes the value already has `dtype` (its `.cast` would drop it)."""
        return self.ops.Cast(value, to=dtype).to_expr()

    def cast(self, value: Any, node: Node, dtype: Any) -> Any:
        """`value` as `dtype`; a number literal is written in that type directly (no CAST of a CAST)."""
        if value.type() == dtype:
            return value
        if isinstance(node, Lit) and isinstance(node.value, Decimal) and dtype.is_decimal():
            return self.ibis.literal(node.value, type=dtype)
        return value.cast(dtype)

    def unify(self, values: list[Any], nodes: tuple[Node, ...], what: str, col: int) -> tuple[list[Any], Any]:
        """Cast values to one common type (for min/max/coalesce/if-else); return them and the type."""
        typed = [v.type() for v in values if not v.type().is_null()]
        if not typed:
            return values, self.dt.null
        kinds = {self.kind(t) for t in typed}
        if len(kinds) > 1:
            raise ExprError(f"{what} cannot mix {' and '.join(sorted(kinds))}", col)
        target = typed[0]
        if kinds == {"number"}:
            digits = [self.digits(t) for t in typed]
            if any(t.is_floating() for t in typed):
                target = self.dt.float64
            elif all(t.is_integer() for t in typed):
                target = self.dt.int64 if len(set(typed)) > 1 else target
            elif all(d is not None for d in digits):
                known = [d for d in digits if d is not None]
                target = self.fit(max(i for i, _ in known), max(s for _, s in known), col)
            else:
                return values, target  # decimals of unknown precision: leave typing to Ibis
        return [self.cast(v, n, target) for v, n in zip(values, nodes, strict=True)], target

    # nodes

    def compile(self, node: Node) -> Any:
        if isinstance(node, Name):
            return self.resolve(node.name)
        if isinstance(node, Ref):
            return self.resolve(node.key)
        try:
            return self._compile(node)
        except ExprError:
            raise
        except self.errors as e:
            raise ExprError(
                f"cannot compile: {str(e).splitlines()[0] if str(e) else type(e).__name__}", node.col
            ) from e

    def truth(self, node: Node, what: str) -> Any:
        """A non-null boolean: null counts as false."""
        value = self.compile(node)
        dtype = value.type()
        if dtype.is_null():
            return self.ibis.literal(False)
        if not dtype.is_boolean():
            raise ExprError(f"{what} needs true/false, got {self.kind(dtype)}", node.col)
        if isinstance(node, Compare | In | Logic | Not | Lit):
            return value  # never null
        return value.fill_null(False)

    def literal(self, value: Scalar, col: int) -> Any:
        ibis, dt = self.ibis, self.dt
        if value is None:
            return ibis.null()
        if isinstance(value, bool):
            return ibis.literal(value, type=dt.boolean)
        if isinstance(value, str):
            return ibis.literal(value, type=dt.string)
        return ibis.literal(value, type=dt.Decimal(*_decimal_type(value, col)))

    def _compile(self, node: Node) -> Any:
        ibis = self.ibis
        match node:
            case Lit(value=value, col=col):
                return self.literal(value, col)
            case Neg(operand=operand, col=col):
                value = self.compile(operand)
                if not (value.type().is_numeric() or value.type().is_null()):
                    raise ExprError(f"'-' needs numbers, got {self.kind(value.type())}", col)
                return value if value.type().is_null() else -value
            case Arith():
                return self.arith(node)
            case Compare(ops=ops, operands=operands, cols=cols):
                values = [self.compile(o) for o in operands]
                parts = [
                    self.compare(op, values[i], values[i + 1], operands[i], operands[i + 1], cols[i])
                    for i, op in enumerate(ops)
                ]
                return reduce(operator.and_, parts)
            case In():
                return self.isin(node)
            case Logic(op=op, operands=operands):
                parts = [self.truth(o, f"'{op}'") for o in operands]
                return reduce(operator.and_ if op == "and" else operator.or_, parts)
            case Not(operand=operand):
                return ~self.truth(operand, "'not'")
            case IfElse(cond=cond, then=then, orelse=orelse, col=col):
                condition = self.truth(cond, "'if'")
                (a, b), target = self.unify([self.compile(then), self.compile(orelse)], (then, orelse), "'if'", col)
                if target.is_null():
                    return ibis.null()
                return ibis.ifelse(condition, a, b)
            case Call():
                return self.call(node)
        raise AssertionError(node)  # pragma: no cover

    def arith(self, node: Arith) -> Any:
        op, col = node.op, node.col
        left, right = self.compile(node.left), self.compile(node.right)
        lt, rt = left.type(), right.type()
        for dtype in (lt, rt):
            if not (dtype.is_numeric() or dtype.is_null()):
                raise ExprError(f"'{op}' needs numbers, got {self.kind(dtype)}", col)
        if op == "/" and isinstance(node.right, Lit) and node.right.value == 0:
            raise ExprError("division by zero", col)
        if lt.is_null() or rt.is_null():  # null propagates
            other = rt if lt.is_null() else lt
            if other.is_null():
                return self.ibis.null()
            return self.ibis.null().cast(self.dt.float64 if op == "/" else other)
        if op == "/":  # float64 in Ibis and DuckDB; x / 0 is null (a row cannot raise)
            return left / (right if isinstance(node.right, Lit) else right.nullif(0))
        if lt.is_floating() or rt.is_floating():
            return _ARITH[op](left.cast(self.dt.float64), right.cast(self.dt.float64))
        if lt.is_integer() and rt.is_integer():
            return _ARITH[op](left, right)
        ld, rd = self.digits(lt), self.digits(rt)
        if ld is None or rd is None:
            return _ARITH[op](left, right)  # decimals of unknown precision: leave typing to Ibis
        (li, ls), (ri, rs) = ld, rd
        if op == "*":
            target = self.fit(li + ri, ls + rs, col)
            left = self.cast(left, node.left, self.dt.Decimal(target.precision, ls))
            right = self.cast(right, node.right, self.dt.Decimal(target.precision, rs))
        else:
            target = self.fit(max(li, ri) + 1, max(ls, rs), col)
            left, right = self.cast(left, node.left, target), self.cast(right, node.right, target)
        return self.force_cast(_ARITH[op](left, right), target)

    def compare(self, op: str, left: Any, right: Any, left_node: Node, right_node: Node, col: int) -> Any:
        lt, rt = left.type(), right.type()
        if lt.is_null() or rt.is_null():
            return self.ibis.literal(False)
        if self.kind(lt) != self.kind(rt):
            raise ExprError(f"cannot compare {self.kind(lt)} with {self.kind(rt)}", col)
        if lt.is_decimal() and rt.is_decimal() and not (lt.castable(rt) or rt.castable(lt)):
            ld, rd = self.digits(lt), self.digits(rt)
            if ld is not None and rd is not None:
                common = self.fit(max(ld[0], rd[0]), max(ld[1], rd[1]), col)
                # cast only literals when possible, so a column compares as is (and filters push down)
                left_literal, right_literal = isinstance(left_node, Lit), isinstance(right_node, Lit)
                if left_literal or not right_literal:
                    left = self.cast(left, left_node, common)
                if right_literal or not left_literal:
                    right = self.cast(right, right_node, common)
        result: Any = _COMPARE[op](left, right)
        return result.fill_null(False)

    def isin(self, node: In) -> Any:
        value = self.compile(node.operand)
        dtype = value.type()
        if dtype.is_null():
            return self.ibis.literal(False)
        item_kind = _kind(node.items[0].value)
        if self.kind(dtype) != item_kind:
            raise ExprError(f"cannot compare {self.kind(dtype)} with {item_kind}", node.col)
        items = [self.literal(item.value, item.col) for item in node.items]
        result = value.notin(items) if node.negated else value.isin(items)
        return result.fill_null(False)

    def call(self, node: Call) -> Any:
        ibis = self.ibis
        values = [self.compile(arg) for arg in node.args]
        if node.function == "abs":
            dtype = values[0].type()
            if dtype.is_null():
                return values[0]
            if not dtype.is_numeric():
                raise ExprError(f"abs() needs numbers, got {self.kind(dtype)}", node.col)
            return values[0].abs()
        values, target = self.unify(values, node.args, f"{node.function}()", node.col)
        if target.is_null():
            return ibis.null()
        if node.function == "coalesce":
            return ibis.coalesce(*values)
        if any(isinstance(arg, Lit) and arg.value is None for arg in node.args):
            return ibis.null().cast(target)  # min/max with null is null
        result = (ibis.least if node.function == "min" else ibis.greatest)(*values)
        nullable = [v for v, arg in zip(values, node.args, strict=True) if not isinstance(arg, Lit)]
        if not nullable:
            return result
        any_null = reduce(operator.or_, [v.isnull() for v in nullable])
        return ibis.ifelse(any_null, ibis.null().cast(target), result)
