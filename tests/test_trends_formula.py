"""The formula parser (resolvers/trends_formula.py, built on Python's own parser) against the
oracle's hand-written one (tests/oracles/trends.py): the same tree, or both refuse, for any
text over the characters a formula may hold — letters past the series, number forms Python
knows and a formula does not (1e5, 0x1F, 1j, 007), juxtaposed operands, powers, `^`."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import ValidationError
from resolvers.trends_formula import evaluate, parse_formula
from tests.oracles.trends import parse_formula as oracle_parse

ALPHABET = "ABCDabxej0123456789 .+-*/()^_%"


def _outcome(parse, text: str):
    try:
        return parse(text, 3)
    except (ValidationError, ValueError):
        return "refused"


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=12))
def test_parses_as_the_oracle_does(text):
    assert _outcome(parse_formula, text) == _outcome(oracle_parse, text)


def test_precedence_signs_and_refusals():
    values = [6.0, 2.0, 3.0]
    assert evaluate(parse_formula("A + B * C", 3), values) == 12.0
    assert evaluate(parse_formula("(A - B) / B", 3), values) == 2.0
    assert evaluate(parse_formula("-A * -B", 3), values) == 12.0
    assert evaluate(parse_formula("007 + .5 - 1.", 3), values) == 6.5
    assert evaluate(parse_formula("A / (B - 2)", 3), values) == 0.0  # ±Inf → 0
    for text in ("A B", "2A", "1e5", "0x1F", "A**B", "A^B", "D", "AB", "(A", "A.B", ""):
        try:
            parse_formula(text, 3)
        except ValidationError as exc:
            assert exc.attr == "formula"
        else:
            raise AssertionError(f"{text!r} was accepted")
