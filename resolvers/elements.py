"""Autocapture element filters (`tag_name`, `text`, `href`, `selector`) as SQL over the chain.

`elements_chain` is PostHog's text form of the clicked element and its ancestors:
`tag.class1.class2:key="value"key2="value2";parent…`, `;` separating elements outside quotes,
`"` inside values escaped as `\\"`. We parse it in ClickHouse into arrays (one entry per
element, clicked element first) and match semantically: a filter holds when some element has
the value; a CSS selector (tag, .class, #id, [attr="v"], :nth-child(n), :nth-of-type(n); space
and `>` combinators) matches the clicked element or any ancestor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.errors import ValidationError

# Regexes are ours (fixed text), never users' — theirs arrive as parameters.
_ELEMENT = r"'(?:[^;\"]|\"(?:\\\\.|[^\"\\\\])*\")+'"
_SPLIT = r"'^(.*?)(?::([a-zA-Z_0-9-]*=.*))?$'"
_PAIR = r"'([^=\";]*?)=\"((?:\\\\.|[^\"\\\\])*)\"'"


def _elements(events: str) -> str:
    return f"extractAll({events}.elements_chain, {_ELEMENT})"


def heads(events: str) -> str:
    return f"arrayMap(el -> regexpExtract(el, {_SPLIT}, 1), {_elements(events)})"


def pairs(events: str) -> str:
    return (f"arrayMap(el -> extractAllGroupsHorizontal(regexpExtract(el, {_SPLIT}, 2), "
            f"{_PAIR}), {_elements(events)})")  # fmt: skip


def _value(kv: str, key_sql: str) -> str:
    """One attribute of one element (NULL when absent), `\\"` unescaped."""
    return (f"if(has({kv}[1], {key_sql}), replaceAll({kv}[2][indexOf({kv}[1], {key_sql})], "
            f"'\\\\\"', '\"'), NULL)")  # fmt: skip


def values(events: str, key: str) -> str:
    """Per element, its `text` or `href` (NULL when it has none)."""
    return f"arrayMap(kv -> {_value('kv', repr(key))}, {pairs(events)})"


def tags(events: str) -> str:
    return f"arrayMap(h -> splitByChar('.', h)[1], {heads(events)})"


# -- selectors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compound:
    tag: str | None
    classes: tuple[str, ...]
    attr_id: str | None
    attributes: tuple[tuple[str, str], ...]
    nth_child: int | None
    nth_of_type: int | None


_TAG = re.compile(r"\*|[a-zA-Z][a-zA-Z0-9-]*")
_NAME = r"((?:\\.|[^.#\[:\\\s>])+)"
_PIECES = (
    ("class", re.compile(r"\." + _NAME)),
    ("id", re.compile(r"#" + _NAME)),
    ("attribute", re.compile(r"\[\s*([^\]=\s]+)\s*=\s*(['\"])(.*?)\2\s*\]")),
    ("nth-child", re.compile(r":nth-child\((\d+)\)")),
    ("nth-of-type", re.compile(r":nth-of-type\((\d+)\)")),
)
MAX_PARTS = 8


def _tokens(selector: str) -> list[str]:
    """Split on whitespace and `>` outside brackets and quotes."""
    tokens, current, quote, depth = [], "", None, 0
    for char in selector:
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'" and depth:
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
        if not quote and not depth and (char.isspace() or char == ">"):
            if current:
                tokens.append(current)
            current = ""
            if char == ">":
                tokens.append(">")
            continue
        current += char
    if current:
        tokens.append(current)
    return tokens


def _compound(text: str, attr: str) -> Compound:
    match = _TAG.match(text)
    tag = match.group(0) if match else None
    position = match.end() if match else 0
    classes, attributes = [], []
    attr_id = nth_child = nth_of_type = None
    while position < len(text):
        for kind, pattern in _PIECES:  # noqa: B007 - `kind` is read after the loop
            piece = pattern.match(text, position)
            if piece:
                break
        else:
            raise ValidationError(f"{attr}: unsupported selector syntax {text[position:]!r}",
                                  attr=attr)  # fmt: skip
        position = piece.end()
        if kind == "class":
            classes.append(re.sub(r"\\(.)", r"\1", piece[1]))
        elif kind == "id":
            attr_id = re.sub(r"\\(.)", r"\1", piece[1])
        elif kind == "attribute" and piece[1] == "id":
            attr_id = piece[3]
        elif kind == "attribute":
            attributes.append((piece[1], piece[3]))
        elif kind == "nth-child":
            nth_child = int(piece[1])
        else:
            nth_of_type = int(piece[1])
    return Compound(tag, tuple(classes), attr_id, tuple(attributes), nth_child, nth_of_type)


def parse_selector(selector: str, attr: str) -> list[tuple[str, Compound]]:
    """[(combinator, compound)], outermost first; the first combinator is ''."""
    parts: list[tuple[str, Compound]] = []
    combinator = ""
    for token in _tokens(selector):
        if token == ">":
            if not parts or combinator == ">":
                raise ValidationError(f"{attr}: misplaced '>' in the selector", attr=attr)
            combinator = ">"
            continue
        parts.append((combinator or (" " if parts else ""), _compound(token, attr)))
        combinator = ""
    if not parts or combinator == ">" or len(parts) > MAX_PARTS:
        raise ValidationError(f"{attr}: cannot read the selector", attr=attr)
    return parts


def _compound_sql(c: Compound, params) -> str:
    """True for one element (`h` its head, `kv` its attributes) matching the compound."""
    checks = []
    if c.tag not in (None, "*"):
        checks.append(f"splitByChar('.', h)[1] = {params.bind(c.tag, 'String')}")
    if c.classes:
        checks.append(f"hasAll(arraySlice(splitByChar('.', h), 2), "
                      f"{params.bind(list(c.classes), 'Array(String)')})")  # fmt: skip
    if c.attr_id is not None:
        checks.append(f"ifNull({_value('kv', repr('attr_id'))} = "
                      f"{params.bind(c.attr_id, 'String')}, 0)")  # fmt: skip
    for key, value in c.attributes:
        if key in ("href", "text"):
            actual = _value("kv", repr(key))
        else:  # custom HTML attributes are `attr__<name>` in the chain
            custom = params.bind(f"attr__{key}", "String")
            actual = f"coalesce({_value('kv', custom)}, {_value('kv', params.bind(key, 'String'))})"
        checks.append(f"ifNull({actual} = {params.bind(value, 'String')}, 0)")
    for name, number in (("nth-child", c.nth_child), ("nth-of-type", c.nth_of_type)):
        if number is not None:
            checks.append(f"ifNull(toInt64OrNull({_value('kv', repr(name))}) = {int(number)}, 0)")
    return " AND ".join(checks) or "1"


def selector_sql(selector: str, params, events: str, attr: str) -> str:
    """Some element of the chain, with its ancestors, matches the selector.

    Working outward from the innermost part: `m_k[j]` says element j matches part k and, by
    the combinators, the parts inside it at descendants of j. Each array is named once (a
    query-wide alias) so the SQL grows linearly with the selector.
    """
    parts = parse_selector(selector, attr)
    tag = f"sel{params.next_alias()}"
    hs, kvs = f"{tag}_h", f"{tag}_kv"
    sql = [f"(({heads(events)}) AS {hs})", f"(({pairs(events)}) AS {kvs})"]

    def matches(k: int) -> str:
        return f"arrayMap((h, kv) -> {_compound_sql(parts[k][1], params)}, {hs}, {kvs})"

    last = len(parts) - 1
    sql.append(f"(({matches(last)}) AS {tag}_m{last})")
    for k in range(last - 1, -1, -1):
        inner, here = f"{tag}_m{k + 1}", f"{tag}_here{k}"
        sql.append(f"(({matches(k)}) AS {here})")
        if parts[k + 1][0] == ">":  # the inner part's element is the direct child of j
            link = f"(j > 1 AND {inner}[j - 1])"
        else:  # some descendant of j (positions before j) matched the inner parts
            link = f"arrayExists(x -> x, arraySlice({inner}, 1, j - 1))"
        sql.append(f"((arrayMap(j -> {here}[j] AND {link}, arrayEnumerate({here}))) "
                   f"AS {tag}_m{k})")  # fmt: skip
    # The alias definitions must appear in the expression; `AND 1` keeps them side-effect free.
    definitions = " AND ".join(f"(length({s}) >= 0)" for s in sql)
    return f"({definitions} AND arrayExists(x -> x, {tag}_m0))"
