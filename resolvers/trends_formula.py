"""Trend formulas (spec/trends.md §5): `A + B`, `(A-B)/B`, constants, parentheses, unary minus.

Letters name series by position (A = first after sorting by `order`), case-insensitively.
Characters outside PostHog's allowed set are dropped first; anything else that does not parse,
or a letter past the last series, is a 400 naming `formula`. Evaluation is element-wise over
the series' bucket values (a handful of numbers per bucket, never per event); NaN and ±Inf
(division by zero) become 0.
"""

from __future__ import annotations

import math
import re

from gateway.errors import ValidationError

_DROPPED = re.compile(r"[^a-zA-Z \-*^0-9+/().]")
_TOKEN = re.compile(r"\s*(\d+\.?\d*|\.\d+|[a-zA-Z]|[-+*/()^.])")
_NUMBER = re.compile(r"(\d+(\.\d*)?|\.\d+)")

Node = tuple  # ("num", x) | ("var", i) | ("neg", node) | (op, left, right)


def _fail(message: str) -> ValidationError:
    return ValidationError(f"formula: {message}", attr="formula")


def _operand_end(token: str) -> bool:
    return token == ")" or token.isalpha() or bool(_NUMBER.fullmatch(token))


def _operand_start(token: str) -> bool:
    return token == "(" or token.isalpha() or bool(_NUMBER.fullmatch(token))


def _tokens(text: str) -> list[str]:
    tokens = [m.group(1) for m in _TOKEN.finditer(text)]
    if "".join(tokens) != re.sub(r"\s", "", text):
        raise _fail(f"cannot read {text!r}")
    for left, right in zip(tokens, tokens[1:], strict=False):
        if _operand_end(left) and _operand_start(right):
            raise _fail(f"missing operator between {left!r} and {right!r}")
    return tokens


def parse_formula(formula: str, series_count: int) -> Node:
    tokens = _tokens(_DROPPED.sub("", formula))
    if not tokens:
        raise _fail("empty formula")
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        token = peek()
        if token is None:
            raise _fail(f"unexpected end of {formula!r}")
        position += 1
        return token

    def expression() -> Node:
        node = term()
        while peek() in ("+", "-"):
            node = (take(), node, term())
        return node

    def term() -> Node:
        node = unary()
        while peek() in ("*", "/"):
            node = (take(), node, unary())
        return node

    def unary() -> Node:
        if peek() == "-":
            take()
            return ("neg", unary())
        if peek() == "+":
            take()
            return unary()
        return primary()

    def primary() -> Node:
        token = take()
        if token == "(":
            node = expression()
            if take() != ")":
                raise _fail(f"missing ')' in {formula!r}")
            return node
        if token.isalpha():
            index = ord(token.upper()) - ord("A")
            if index >= series_count:
                raise _fail(f"{token} refers to a series that does not exist")
            return ("var", index)
        if _NUMBER.fullmatch(token):
            return ("num", float(token))
        raise _fail(f"unexpected {token!r} in {formula!r}")

    tree = expression()
    if peek() is not None:
        raise _fail(f"unexpected {peek()!r} in {formula!r}")
    return tree


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
