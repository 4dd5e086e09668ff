"""Trend formulas (spec/trends.md §5): `A + B`, `(A-B)/B`, constants, parentheses, unary minus.

Letters name series by position (A = first after sorting by `order`), case-insensitively.
Characters outside PostHog's allowed set are dropped first; anything else that does not parse,
or a letter past the last series, is a 400 naming `formula`. Evaluation is element-wise over
the series' bucket values (a handful of numbers per bucket, never per event); NaN and ±Inf
(division by zero) become 0.
"""

from __future__ import annotations

import ast
import math
import re

from gateway.errors import ValidationError

_DROPPED = re.compile(r"[^a-zA-Z \-*^0-9+/().]")
_NUMBER = re.compile(r"\d+\.?\d*|\.\d+")
# Python refuses integer literals with leading zeros ("007"); a formula may have them.
_LEADING_ZEROS = re.compile(r"(?<![\w.])0+(?=\d)")
_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}

Node = tuple  # ("num", x) | ("var", i) | ("neg", node) | (op, left, right)


def _fail(message: str) -> ValidationError:
    return ValidationError(f"formula: {message}", attr="formula")


def parse_formula(formula: str, series_count: int) -> Node:
    """The formula as a tree. Python's own parser reads it (the grammar of + - * /, unary
    signs and parentheses is Python's, with the same precedence); every node outside that
    grammar — names longer than a letter, calls, powers, `e`/`x`/`j` number forms — is refused."""
    text = _LEADING_ZEROS.sub("", _DROPPED.sub("", formula)).strip()
    if not text:
        raise _fail("empty formula")
    try:
        tree = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise _fail(f"cannot read {formula!r}") from None
    return _node(tree, text, series_count)


def _node(node: ast.AST, text: str, series_count: int) -> Node:
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _node(node.left, text, series_count), _node(node.right, text, series_count)
        return (_OPERATORS[type(node.op)], left, right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _node(node.operand, text, series_count)
        return ("neg", operand) if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Name) and len(node.id) == 1:
        index = ord(node.id.upper()) - ord("A")
        if index >= series_count:
            raise _fail(f"{node.id} refers to a series that does not exist")
        return ("var", index)
    if isinstance(node, ast.Constant):
        literal = text[node.col_offset : node.end_col_offset]
        if _NUMBER.fullmatch(literal):  # plain decimals only: not 1e5, 0x1F, 1j or True
            return ("num", float(literal))
    shown = ast.get_source_segment(text, node) or type(node).__name__
    raise _fail(f"unexpected {shown!r} in {text!r}")


def _divide(a: float, b: float) -> float:
    if b != 0:
        return a / b
    if a == 0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def evaluate(tree: Node, values: list[float]) -> float:
    """The formula at one point (`values[i]` is series i there), cleaned: NaN/±Inf → 0."""
    result = _evaluate(tree, values)
    return result if math.isfinite(result) else 0.0


def _evaluate(tree: Node, values: list[float]) -> float:
    kind = tree[0]
    if kind == "num":
        return tree[1]
    if kind == "var":
        return values[tree[1]]
    if kind == "neg":
        return -_evaluate(tree[1], values)
    left, right = _evaluate(tree[1], values), _evaluate(tree[2], values)
    if kind == "+":
        return left + right
    if kind == "-":
        return left - right
    if kind == "*":
        return left * right
    return _divide(left, right)
