"""Property filters, entities, actions and cohorts for the oracles.

Written from `/work/shared/spec/trends.md` §2.1 (entities, actions), §4.5 (property filters) and
§9 (filter_test_accounts), `funnels.md` §1.1–1.2 and `retention_paths.md` A2/B2, with the spec
README winning (an unknown action or cohort id is an error naming the field; HogQL is refused).
Where the spec says nothing (element chains, cohort definitions, sessions) the behaviour follows
PostHog's documented formats, computed semantically rather than by PostHog's regexes over the
chain string. Choices are marked "Decision:".

Entry points: `event_matches`, `entity_matches`, `action_matches`, `passes_global_filters`.
Every function raises `ValueError` naming the field for input PostHog would refuse.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from tests.oracles.dates import is_truthy
from tests.oracles.model import Action, Event, World

# ---------------------------------------------------------------------------------------------
# Property values as PostHog's SQL sees them (§4.5)


def _lookup(properties: dict, key: str) -> tuple[bool, object]:
    """(is the property set, its value). Decision: a JSON null counts as not set, like a missing
    key (the HogQL engine reads it as NULL); so `is_set` and `is_not_set` are complements."""
    value = properties.get(key)
    return value is not None, value


def property_string(value: object) -> str:
    """§4.5 `p`: the property as a string, JSON quotes removed: `"abc"` → abc, 2 → "2",
    true → "true", objects and arrays as compact JSON. (Missing is handled by callers as ''.)"""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _filter_value_string(value: object) -> str:
    """§4.5: filter values are stringified with Python `str`, except booleans.

    Decision (trends.md §12 open question): a boolean filter value compares as lowercase
    "true"/"false", as the HogQL engine does, so `true`, "true" and a stored JSON true all match.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _is_json_container(text: str) -> bool:
    if text[:1] not in ("{", "["):
        return False
    try:
        return isinstance(json.loads(text), dict | list)
    except ValueError:
        return False


def _equals(p: str, candidate: str) -> bool:
    """§4.5 exact: string equality; a JSON object/array value compares as raw JSON without
    spaces (PostHog removes every space from both sides)."""
    if _is_json_container(candidate):
        return p.replace(" ", "") == candidate.replace(" ", "")
    return p == candidate


def _candidates(value: object) -> list[str]:
    """§4.5: a scalar is boxed into a list; a JSON object stays one candidate."""
    values = value if isinstance(value, list) else [value]
    return [_filter_value_string(v) for v in values]


# ClickHouse toFloat64OrNull accepts plain decimal numbers with an optional exponent.
# Decision: "inf"/"nan" are not numbers here.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _to_number(value: object) -> float | None:
    """§4.5 gt/gte/lt/lte: `toFloat64OrNull(p with spaces removed)`; None when not numeric."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.replace(" ", "")
        return float(text) if _NUMBER.fullmatch(text) else None
    return None


# Regexes: ClickHouse uses RE2, we use Python `re`. We compile with re.ASCII so that \d, \w, \s
# and \b are ASCII-only as in RE2, and we treat constructs RE2 cannot compile (lookaround,
# backreferences, atomic groups, possessive quantifiers) as invalid, since ClickHouse rejects
# them. Known remaining differences: `$` in Python also matches before a final "\n"; `(?i)` on
# non-ASCII letters folds case in RE2 but not under re.ASCII; RE2 has no `(?x)`.
_NOT_RE2 = ("(?=", "(?!", "(?<=", "(?<!", "(?P=", "(?>")


def _uses_syntax_re2_lacks(pattern: str) -> bool:
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            if pattern[i + 1 : i + 2] in tuple("123456789"):
                return True  # a backreference
            i += 2
        elif char == "[":
            i = _end_of_class(pattern, i)
        elif pattern.startswith(_NOT_RE2, i):
            return True
        elif char in "*+?}" and pattern[i + 1 : i + 2] == "+":
            return True  # a possessive quantifier
        else:
            i += 1
    return False


def _end_of_class(pattern: str, start: int) -> int:
    """The index just after the `]` closing the character class that opens at `start`."""
    i = start + 1
    if pattern[i : i + 1] == "^":
        i += 1
    if pattern[i : i + 1] == "]":
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1


def compile_regex(pattern: object) -> re.Pattern | None:
    """The compiled pattern, or None when it is invalid (for RE2)."""
    if not isinstance(pattern, str) or _uses_syntax_re2_lacks(pattern):
        return None
    try:
        return re.compile(pattern, re.ASCII)
    except re.error:
        return None


# Dates for is_date_before/after/exact: ClickHouse parseDateTimeBestEffortOrNull(p), falling back
# to its first 10 characters. Decision: we accept ISO dates and datetimes (T or space, optional
# seconds, fraction and offset) and 10-digit unix timestamps; naive values are UTC; precision is
# whole seconds (the result is a ClickHouse DateTime).
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?)?"
)
_UNIX_SECONDS = re.compile(r"\d{10}")


def _parse_best_effort(text: str) -> datetime | None:
    text = text.strip()
    try:
        if _ISO_DATE.fullmatch(text):
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        match = _ISO_DATE_TIME.fullmatch(text)
        if match:
            wall = datetime(*(int(match[i] or 0) for i in range(1, 7)))
            offset = match[7]
            if offset is None or offset == "Z":
                return wall.replace(tzinfo=UTC)
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
            return (wall - sign * delta).replace(tzinfo=UTC)
        if _UNIX_SECONDS.fullmatch(text):
            return datetime.fromtimestamp(int(text), tz=UTC)
    except ValueError:
        return None
    return None


def _parse_property_date(p: str) -> datetime | None:
    return _parse_best_effort(p) or _parse_best_effort(p[:10])


def _parse_filter_date(value: object) -> tuple[datetime, bool]:
    """(the filter value as a UTC datetime, whether it was a bare `YYYY-MM-DD`)."""
    if isinstance(value, str):
        parsed = _parse_best_effort(value)
        if parsed is not None:
            return parsed, bool(_ISO_DATE.fullmatch(value.strip()))
    raise ValueError(f"properties: value {value!r} is not a date")


# ---------------------------------------------------------------------------------------------
# Operators (§4.5)

_NEGATED_OPERATOR = {
    # §4.5: `negation: true` flips the operator.
    "exact": "is_not",
    "is_not": "exact",
    "icontains": "not_icontains",
    "not_icontains": "icontains",
    "regex": "not_regex",
    "not_regex": "regex",
    "gt": "lte",
    "lte": "gt",
    "lt": "gte",
    "gte": "lt",
    "is_set": "is_not_set",
    "is_not_set": "is_set",
    "is_date_before": "is_date_after",
    "is_date_after": "is_date_before",
    # Decision: the natural pairs for operators the spec's list leaves out.
    "between": "not_between",
    "not_between": "between",
    "in": "not_in",
    "not_in": "in",
    "min": "lt",
    "max": "gt",
}
# Decision: is_date_exact has no flipped operator; a negated one is its logical NOT.
_OPERATORS = set(_NEGATED_OPERATOR) | {"is_date_exact"}
# For list values of the "one value" operators: positive operators match any element, negative
# ones must hold for every element (as PostHog's HogQL engine expands lists).
_NEGATIVE_OPERATORS = {
    "is_not",
    "not_in",
    "not_icontains",
    "not_regex",
    "is_not_set",
    "not_between",
}


def _effective_operator(prop: dict) -> tuple[str, bool]:
    """(operator after negation, whether the result must still be inverted)."""
    operator = prop.get("operator") or "exact"
    if operator not in _OPERATORS:
        raise ValueError(f"properties: unknown operator {operator!r}")
    if not prop.get("negation"):
        return operator, False
    if operator in _NEGATED_OPERATOR:
        return _NEGATED_OPERATOR[operator], False
    return operator, True


def operator_matches(operator: str, is_set: bool, raw: object, value: object) -> bool:
    """One operator applied to one property (§4.5). `raw` is the stored value when `is_set`."""
    p = property_string(raw) if is_set else ""  # §4.5: missing property → ''
    if operator in ("exact", "in"):
        # Missing property never matches (§4.5).
        return is_set and any(_equals(p, c) for c in _candidates(value))
    if operator in ("is_not", "not_in"):
        # Missing property ('') matches, unless '' is one of the values.
        return not any(_equals(p, c) for c in _candidates(value))
    if operator == "is_set":
        return is_set
    if operator == "is_not_set":
        return not is_set
    if operator in ("between", "not_between"):
        return _between(operator, p if is_set else None, value)
    if isinstance(value, list):
        results = [operator_matches(operator, is_set, raw, v) for v in value]
        return all(results) if operator in _NEGATIVE_OPERATORS else any(results)
    if operator == "icontains":
        # Decision: a plain case-insensitive substring; PostHog's ILIKE also treats % and _ in
        # the value as wildcards.
        return _filter_value_string(value).lower() in p.lower()
    if operator == "not_icontains":
        return _filter_value_string(value).lower() not in p.lower()
    if operator in ("regex", "not_regex"):
        pattern = compile_regex(_filter_value_string(value))
        if pattern is None:
            return False  # §4.5: an invalid regex makes both operators false
        found = pattern.search(p) is not None
        return found if operator == "regex" else not found
    if operator in ("gt", "gte", "lt", "lte", "min", "max"):
        return _numeric_compare(operator, _to_number(p) if is_set else None, _to_number(value))
    if operator in ("is_date_before", "is_date_after", "is_date_exact"):
        return _date_compare(operator, p if is_set else None, value)
    raise ValueError(f"properties: unknown operator {operator!r}")


def _numeric_compare(operator: str, left: float | None, right: float | None) -> bool:
    # §4.5: non-numeric → no match. min/max are gte/lte (PostHog's HogQL engine).
    if left is None or right is None:
        return False
    if operator == "gt":
        return left > right
    if operator in ("gte", "min"):
        return left >= right
    if operator == "lt":
        return left < right
    return left <= right  # lte, max


def _between(operator: str, p: str | None, value: object) -> bool:
    """§4.5: `v = [min, max]` numeric, inclusive; not_between = `< min or > max`."""
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"properties: {operator} needs a [min, max] value, got {value!r}")
    low, high = _to_number(value[0]), _to_number(value[1])
    if low is None or high is None:
        raise ValueError(f"properties: {operator} bounds must be numbers, got {value!r}")
    if low > high:
        raise ValueError(
            f"properties: {operator} min {value[0]!r} is greater than max {value[1]!r}"
        )
    number = _to_number(p) if p is not None else None
    if number is None:
        return False
    inside = low <= number <= high
    return inside if operator == "between" else not inside


def _date_compare(operator: str, p: str | None, value: object) -> bool:
    target, date_only = _parse_filter_date(value)
    if p is None:
        return False
    parsed = _parse_property_date(p)
    if parsed is None:
        return False
    parsed = parsed.replace(microsecond=0)
    if operator == "is_date_before":
        return parsed < target
    if operator == "is_date_after":
        # §4.5: a bare date means the end of that day (v + 1 day − 1 s).
        if date_only:
            target = target + timedelta(days=1) - timedelta(seconds=1)
        return parsed > target
    # is_date_exact: truncated to the day for a date-only value, else to the second.
    if date_only:
        return parsed.date() == target.date()
    return parsed == target.replace(microsecond=0)


# ---------------------------------------------------------------------------------------------
# Element chains (autocapture)


@dataclass(frozen=True)
class Element:
    """One element of an `elements_chain`; index 0 is the clicked element, then its ancestors."""

    tag_name: str | None = None
    classes: tuple[str, ...] = ()
    text: str | None = None
    href: str | None = None
    attr_id: str | None = None
    nth_child: int | None = None
    nth_of_type: int | None = None
    attributes: dict = field(default_factory=dict)


# PostHog's elements_to_string: `tag.class1.class2:key="value"key2="value2";next element`, with
# attributes sorted by key, `"` inside values escaped as `\"`, and `;` inside quotes not a
# separator.
_CHAIN_ELEMENT = re.compile(r'(?:[^;"]|"(?:\\.|[^"\\])*")+')
_TAG_AND_ATTRIBUTES = re.compile(r"(.*?)(?::([a-zA-Z\-_0-9]*=.*))?", re.DOTALL)
_ATTRIBUTE = re.compile(r'([^=";]*?)="((?:\\.|[^"\\])*)"')


def parse_elements_chain(chain: str) -> list[Element]:
    """PostHog's chain_to_elements. Decision: values may be empty (PostHog's own regex needs at
    least one character) and `\\"` is unescaped back to `"`."""
    elements = []
    for match in _CHAIN_ELEMENT.finditer(chain or ""):
        elements.append(_parse_element(match.group(0)))
    return elements


def _parse_element(text: str) -> Element:
    head, attributes_text = _TAG_AND_ATTRIBUTES.fullmatch(text).groups()
    tag_name, _, class_text = head.partition(".")
    classes = tuple(c for c in class_text.split(".") if c) if class_text else ()
    values: dict[str, str] = {}
    for key, value in _ATTRIBUTE.findall(attributes_text or ""):
        values[key] = value.replace('\\"', '"')
    return Element(
        tag_name=tag_name or None,
        classes=classes,
        text=values.pop("text", None),
        href=values.pop("href", None),
        attr_id=values.pop("attr_id", None),
        nth_child=_int_or_none(values.pop("nth-child", None)),
        nth_of_type=_int_or_none(values.pop("nth-of-type", None)),
        attributes=values,
    )


def _int_or_none(text: str | None) -> int | None:
    return int(text) if text is not None and text.lstrip("-").isdigit() else None


@dataclass(frozen=True)
class _Compound:
    """One compound selector: `tag.class#id[attr="v"]:nth-child(n):nth-of-type(n)`."""

    tag: str | None
    classes: tuple[str, ...]
    attr_id: str | None
    attributes: tuple[tuple[str, str], ...]
    nth_child: int | None
    nth_of_type: int | None


_SELECTOR_TAG = re.compile(r"\*|[a-zA-Z][a-zA-Z0-9-]*")
_SELECTOR_NAME = r"((?:\\.|[^.#\[:\\\s>])+)"
_SELECTOR_PIECES = (
    ("class", re.compile(r"\." + _SELECTOR_NAME)),
    ("id", re.compile(r"#" + _SELECTOR_NAME)),
    ("attribute", re.compile(r"\[\s*([^\]=\s]+)\s*=\s*(['\"])(.*?)\2\s*\]")),
    ("nth-child", re.compile(r":nth-child\((\d+)\)")),
    ("nth-of-type", re.compile(r":nth-of-type\((\d+)\)")),
)


def _unescape_css(name: str) -> str:
    return re.sub(r"\\(.)", r"\1", name)


def parse_selector(selector: str) -> list[tuple[str, _Compound]]:
    """A CSS selector as [(combinator, compound)], outermost first; the first combinator is ''.

    Supported: tag or `*`, `.class`, `#id`, `[attr="value"]`, `:nth-child(n)`,
    `:nth-of-type(n)`, descendant (space) and child (`>`) combinators — the subset PostHog's
    Selector understands. Anything else is a ValueError naming the selector.
    """
    parts: list[tuple[str, _Compound]] = []
    combinator = ""
    for token in _selector_tokens(selector):
        if token == ">":
            if not parts or combinator == ">":
                raise ValueError(f"selector: misplaced '>' in {selector!r}")
            combinator = ">"
            continue
        parts.append((combinator or (" " if parts else ""), _parse_compound(token, selector)))
        combinator = ""
    if not parts or combinator == ">":
        raise ValueError(f"selector: cannot parse {selector!r}")
    return parts


def _selector_tokens(selector: str) -> list[str]:
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


def _parse_compound(text: str, selector: str) -> _Compound:
    tag_match = _SELECTOR_TAG.match(text)
    tag = tag_match.group(0) if tag_match else None
    position = tag_match.end() if tag_match else 0
    classes, attributes = [], []
    attr_id = nth_child = nth_of_type = None
    while position < len(text):
        kind, match = _next_selector_piece(text, position, selector)
        position = match.end()
        if kind == "class":
            classes.append(_unescape_css(match[1]))
        elif kind == "id":
            attr_id = _unescape_css(match[1])
        elif kind == "attribute" and match[1] == "id":
            attr_id = match[3]
        elif kind == "attribute":
            attributes.append((match[1], match[3]))
        elif kind == "nth-child":
            nth_child = int(match[1])
        else:
            nth_of_type = int(match[1])
    return _Compound(tag, tuple(classes), attr_id, tuple(attributes), nth_child, nth_of_type)


def _next_selector_piece(text: str, position: int, selector: str) -> tuple[str, re.Match]:
    for kind, pattern in _SELECTOR_PIECES:
        match = pattern.match(text, position)
        if match:
            return kind, match
    raise ValueError(f"selector: unsupported syntax {text[position:]!r} in {selector!r}")


def _compound_matches(compound: _Compound, element: Element) -> bool:
    if compound.tag not in (None, "*") and element.tag_name != compound.tag:
        return False
    if not set(compound.classes) <= set(element.classes):
        return False
    if compound.attr_id is not None and element.attr_id != compound.attr_id:
        return False
    for key, value in compound.attributes:
        if key in ("href", "text"):
            actual = getattr(element, key)
        else:
            # Custom HTML attributes are stored as `attr__<name>` in the chain.
            actual = element.attributes.get(f"attr__{key}", element.attributes.get(key))
        if actual != value:
            return False
    if compound.nth_child is not None and element.nth_child != compound.nth_child:
        return False
    return compound.nth_of_type is None or element.nth_of_type == compound.nth_of_type


def selector_matches(elements: list[Element], selector: str) -> bool:
    """Whether the clicked element *or any of its ancestors* matches the CSS selector (PostHog
    matches the selector anywhere in the chain), with `>` meaning the direct parent and a space
    any ancestor. Decision: matched semantically, not with PostHog's regex over the chain."""
    parts = parse_selector(selector)
    return any(_match_from(parts, len(parts) - 1, elements, i) for i in range(len(elements)))


def _match_from(parts, index: int, elements: list[Element], position: int) -> bool:
    """Does parts[index] match elements[position], and parts[:index] match its ancestors?"""
    combinator, compound = parts[index]
    if not _compound_matches(compound, elements[position]):
        return False
    if index == 0:
        return True
    if combinator == ">":
        parent = position + 1
        return parent < len(elements) and _match_from(parts, index - 1, elements, parent)
    return any(
        _match_from(parts, index - 1, elements, j) for j in range(position + 1, len(elements))
    )


def _element_attribute_matches(elements: list[Element], key: str, operator: str, value) -> bool:
    """`text` / `href` filters: does any element's attribute satisfy the operator?

    PostHog matches `key="<value>"` anywhere in the chain; that is "some element has it". Decision:
    `regex` is searched inside each element's value (PostHog splices the regex between the
    quotes, so anchors never match), and the negated operators are NOT of the positive one.
    """
    positive = {
        "exact": "exact",
        "is_not": "exact",
        "icontains": "icontains",
        "not_icontains": "icontains",
        "regex": "regex",
        "not_regex": "regex",
        "is_set": "is_set",
        "is_not_set": "is_set",
    }.get(operator)
    if positive is None:
        raise ValueError(f"properties: element {key} does not support operator {operator!r}")
    values = value if isinstance(value, list) else [value]

    def element_has(element: Element, one_value) -> bool:
        actual = getattr(element, key)
        if positive == "is_set":
            return bool(actual)
        if actual is None:
            return False
        return operator_matches(positive, True, actual, one_value)

    if positive == "is_set":
        found = any(element_has(e, None) for e in elements)
    else:
        found = any(element_has(e, v) for v in values for e in elements)
    return found if positive == operator else not found


def _element_matches(event: Event, prop: dict) -> bool:
    """§4.5 `element` filters: keys tag_name, text, href, selector."""
    key = prop.get("key")
    operator, invert = _effective_operator(prop)
    elements = parse_elements_chain(event.elements_chain)
    value = prop.get("value")
    if key in ("selector", "tag_name"):
        # §4.5: selector (and, in PostHog, tag_name) only support exact / is_not.
        if operator not in ("exact", "is_not"):
            raise ValueError(f"properties: element {key} only supports exact and is_not")
        values = [v for v in (value if isinstance(value, list) else [value]) if v]
        if key == "selector":
            found = any(selector_matches(elements, str(v)) for v in values)
        else:
            found = any(e.tag_name == v for v in values for e in elements)
        result = found if operator == "exact" else not found
    elif key in ("text", "href"):
        result = _element_attribute_matches(elements, key, operator, value)
    else:
        raise ValueError(f"properties: unknown element key {key!r}")
    return not result if invert else result


# ---------------------------------------------------------------------------------------------
# Sessions


def session_duration(event: Event, world: World) -> int | None:
    """Seconds between the first and last event of the event's `$session_id`.

    Decision: over all of the world's events with that session id (whatever the date range; the
    HogQL engine reads the whole session), as ClickHouse `dateDiff('second', min, max)` (whole
    seconds subtracted). No `$session_id` → None (the property is not set).
    """
    session_id = event.properties.get("$session_id")
    if session_id is None or session_id == "":
        return None
    times = [e.timestamp for e in world.events if e.properties.get("$session_id") == session_id]
    times.append(event.timestamp)
    return int(max(times).timestamp() // 1) - int(min(times).timestamp() // 1)


def _session_matches(event: Event, prop: dict, world: World) -> bool:
    """§4.5 `session`: `$session_duration` seconds, compared numerically."""
    if prop.get("key") != "$session_duration":
        raise ValueError(f"properties: unsupported session property {prop.get('key')!r}")
    operator, invert = _effective_operator(prop)
    duration = session_duration(event, world)
    value = prop.get("value")
    if operator in ("is_set", "is_not_set"):
        result = (duration is not None) == (operator == "is_set")
    elif operator in ("between", "not_between"):
        result = _between(operator, None if duration is None else str(duration), value)
    else:
        target = _to_number(value)
        if target is None:
            raise ValueError(f"properties: $session_duration value must be a number, got {value!r}")
        if operator == "exact":
            result = duration is not None and duration == target
        elif operator == "is_not":
            result = duration is None or duration != target
        elif operator in ("gt", "gte", "lt", "lte", "min", "max"):
            result = _numeric_compare(
                operator, None if duration is None else float(duration), target
            )
        else:
            raise ValueError(f"properties: $session_duration does not support {operator!r}")
    return not result if invert else result


# ---------------------------------------------------------------------------------------------
# Cohorts


def _cohort_id(value: object, field: str) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{field}: cohort id must be an integer, got {value!r}") from exc


def person_in_cohort(
    event: Event, cohort_id: object, world: World, seen: frozenset = frozenset()
) -> bool:
    """Is the event's person in the cohort? Static cohorts by person id; dynamic ones by their
    `filters` document, evaluated against the person's current properties and `world.events`
    at `world.now`. README: an unknown cohort id is an error naming the field."""
    cid = _cohort_id(cohort_id, "properties")
    cohort = world.cohorts.get(cid)
    if cohort is None:
        raise ValueError(f"properties: unknown cohort id {cid}")
    if cid in seen:
        raise ValueError(f"properties: cohort {cid} refers to itself")
    if cohort.person_ids is not None:
        return event.person_id in cohort.person_ids
    filters = cohort.filters or {}
    seen = seen | {cid}
    if "properties" in filters:
        result = _cohort_node(event, filters["properties"], world, seen)
    elif "groups" in filters:
        result = _legacy_cohort_groups(event, filters["groups"], world, seen)
    else:
        result = None
    # Decision: a dynamic cohort without any criteria contains nobody.
    return bool(result)


def _cohort_node(event: Event, node, world: World, seen: frozenset) -> bool | None:
    """A cohort's property tree: groups of person / behavioral / cohort criteria."""
    if isinstance(node, list):
        node = {"type": "AND", "values": node}
    if _is_group(node):
        results = [_cohort_node(event, child, world, seen) for child in node.get("values") or []]
        return _combine(node.get("type"), results)
    return _cohort_criterion(event, node, world, seen)


def _cohort_criterion(event: Event, prop: dict, world: World, seen: frozenset) -> bool:
    kind = prop.get("type")
    if kind == "person":
        return _property_matches(event, prop, world)
    if kind in ("cohort", "static-cohort", "precalculated-cohort", "dynamic-cohort"):
        return _cohort_property_matches(event, prop, world, seen)
    if kind == "behavioral":
        result = _behavioral_matches(event, prop, world)
        return not result if prop.get("negation") else result
    raise ValueError(f"properties: property type {kind!r} is not allowed in a cohort")


def _cohort_property_matches(event: Event, prop: dict, world: World, seen=frozenset()) -> bool:
    """§4.5 `cohort` filters: `{key: "id", value: <cohort id>}`; operator `in` (default, also
    `exact`) or `not_in` (also `is_not`); negation flips."""
    operator = prop.get("operator") or "in"
    if operator not in ("in", "exact", "not_in", "is_not"):
        raise ValueError(f"properties: cohort filters do not support operator {operator!r}")
    member = person_in_cohort(event, prop.get("value"), world, seen)
    result = member if operator in ("in", "exact") else not member
    return not result if prop.get("negation") else result


_TIME_INTERVALS = ("minute", "hour", "day", "week", "month", "year")


def _ago(now: datetime, count: object, interval: object, field: str) -> datetime:
    """`now() - INTERVAL count interval`, in UTC, months and years by the calendar."""
    try:
        n = int(count)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{field}: must be an integer, got {count!r}") from exc
    if n <= 0:
        raise ValueError(f"{field}: must be greater than 0, got {count!r}")
    if interval not in _TIME_INTERVALS:
        raise ValueError(f"{field}: unknown time interval {interval!r}")
    if interval in ("month", "year"):
        months = n if interval == "month" else 12 * n
        index = now.year * 12 + now.month - 1 - months
        year, month = divmod(index, 12)
        month += 1
        last_day = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
        return now.replace(year=year, month=month, day=min(now.day, last_day))
    seconds = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800}[interval]
    return now - timedelta(seconds=n * seconds)


def _count_operator(operator: object) -> str:
    # PostHog's get_count_operator.
    mapping = {"gte": ">=", "lte": "<=", "gt": ">", "lt": "<", "eq": "=", "exact": "=", None: "="}
    if operator not in mapping:
        raise ValueError(
            f"properties: count operator must be gte, lte, gt, lt or eq, got {operator!r}"
        )
    return mapping[operator]


def _count_holds(count: int, operator: object, target: object) -> bool:
    symbol = _count_operator(operator)
    try:
        n = int(target)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"properties: operator_value must be an integer, got {target!r}") from exc
    return {
        ">=": count >= n,
        "<=": count <= n,
        ">": count > n,
        "<": count < n,
        "=": count == n,
    }[symbol]


def _behavioral_events(event: Event, prop: dict, world: World) -> list[datetime]:
    """Timestamps of the person's events matching the criterion's event or action (and its
    optional `event_filters`). Global filters do not apply inside cohort definitions."""
    event_type = prop.get("event_type") or "events"
    if event_type not in ("events", "actions"):
        raise ValueError(
            f"properties: behavioral event_type must be events or actions, got {event_type!r}"
        )
    entity = {"type": event_type, "id": prop.get("key"), "properties": prop.get("event_filters")}
    return [
        e.timestamp
        for e in world.events
        if e.person_id == event.person_id and entity_matches(e, entity, world)
    ]


def _behavioral_matches(event: Event, prop: dict, world: World) -> bool:
    """PostHog's behavioural cohort criteria (posthog/queries/foss_cohort_query.py and ee):

    * performed_event: ≥1 matching event with `now − T < ts < now`;
    * performed_event_multiple: the count in that window compared by `operator` with
      `operator_value`;
    * performed_event_first_time: the first matching event ever is in `[now − T, now)`;
    * stopped_performing_event: some in `(now − T, now − S]`, none in `(now − S, now]`;
    * restarted_performing_event: some at `<= now − T`, none in `(now − T, now − S]`, some in
      `(now − S, now]`;
    * performed_event_regularly: in at least `min_periods` of the last `total_periods` windows of
      length T, the count compared by `operator` with `operator_value`.
    (T = time_value time_interval, S = seq_time_value seq_time_interval.)
    """
    if world.now is None:
        raise ValueError("properties: behavioral cohort criteria need world.now")
    now = world.now.astimezone(UTC)
    times = _behavioral_events(event, prop, world)
    kind = prop.get("value")
    if kind == "performed_event_regularly":
        return _performed_regularly(times, prop, now)
    start = _ago(now, prop.get("time_value"), prop.get("time_interval"), "time_value")
    if kind == "performed_event":
        return any(start < t < now for t in times)
    if kind == "performed_event_multiple":
        count = sum(1 for t in times if start < t < now)
        return _count_holds(count, prop.get("operator"), prop.get("operator_value"))
    if kind == "performed_event_first_time":
        return bool(times) and start <= min(times) < now
    if kind in ("stopped_performing_event", "restarted_performing_event"):
        seq = _ago(now, prop.get("seq_time_value"), prop.get("seq_time_interval"), "seq_time_value")
        if seq < start:
            raise ValueError("properties: seq_time must be more recent than time")
        before = any(t <= start for t in times)
        middle = any(start < t <= seq for t in times)
        recent = any(seq < t <= now for t in times)
        if kind == "stopped_performing_event":
            return middle and not recent
        return before and not middle and recent
    raise ValueError(f"properties: unsupported behavioral criterion {kind!r}")


def _performed_regularly(times: list[datetime], prop: dict, now: datetime) -> bool:
    total = int(prop.get("total_periods") or 0)
    minimum = int(prop.get("min_periods") or 0)
    if total <= 0 or minimum <= 0 or minimum > total:
        raise ValueError(
            "properties: performed_event_regularly needs 0 < min_periods <= total_periods"
        )
    length, unit = prop.get("time_value"), prop.get("time_interval")
    _ago(now, length, unit, "time_value")  # validates both
    hits = 0
    for period in range(total):
        # Period k covers (now − (k+1)·T, now − k·T].
        newer = now if period == 0 else _ago(now, int(length) * period, unit, "time_value")
        older = _ago(now, int(length) * (period + 1), unit, "time_value")
        count = sum(1 for t in times if older < t <= newer)
        hits += _count_holds(count, prop.get("operator"), prop.get("operator_value"))
    return hits >= minimum


def _legacy_cohort_groups(event: Event, groups: list, world: World, seen: frozenset) -> bool | None:
    """PostHog's older cohort format: `{"groups": [...]}`, groups ORed. A group is either person
    properties (`{"properties": [...]}`, ANDed) or an event/action criterion
    (`{"event_id"|"action_id", "days", "count", "count_operator"}`: performed in the last `days`
    days, `count_operator` (default gte) `count` (default 1) times)."""
    results: list[bool | None] = []
    for group in groups:
        if "event_id" in group or "action_id" in group:
            results.append(_legacy_behavioral(event, group, world))
        else:
            results.append(_cohort_node(event, group.get("properties") or [], world, seen))
    return _combine("OR", results)


def _legacy_behavioral(event: Event, group: dict, world: World) -> bool:
    if world.now is None:
        raise ValueError("properties: behavioral cohort criteria need world.now")
    now = world.now.astimezone(UTC)
    if "action_id" in group:
        entity = {"type": "actions", "id": group["action_id"]}
    else:
        entity = {"type": "events", "id": group["event_id"]}
    start = _ago(now, group["days"], "day", "days") if group.get("days") else None
    count = sum(
        1
        for e in world.events
        if e.person_id == event.person_id
        and (start is None or start <= e.timestamp <= now)
        and entity_matches(e, entity, world)
    )
    return _count_holds(count, group.get("count_operator") or "gte", group.get("count") or 1)


# ---------------------------------------------------------------------------------------------
# Property filter trees (§4.5)


def _is_group(node: object) -> bool:
    return (
        isinstance(node, dict)
        and str(node.get("type", "")).upper() in ("AND", "OR")
        and "values" in node
    )


def _combine(kind: object, results: list[bool | None]) -> bool | None:
    """AND / OR of children; an empty child (None) adds no condition, as PostHog drops empty
    clauses. A group whose children are all empty is itself empty (None)."""
    present = [r for r in results if r is not None]
    if not present:
        return None
    if str(kind).upper() == "OR":
        return any(present)
    return all(present)


def _legacy_dict_properties(properties: dict) -> list[dict]:
    """§4.5 legacy dict `{"<key>": value, "<key>__<operator>": value}` → event properties."""
    result = []
    for key, value in properties.items():
        parts = key.split("__")
        operator = parts[1] if len(parts) > 1 else "exact"
        result.append({"key": parts[0], "value": value, "operator": operator, "type": "event"})
    return result


def _as_tree(properties) -> object:
    """Normalise any accepted `properties` shape to a list or a group."""
    if properties is None or properties == "":
        return []
    if isinstance(properties, str):
        try:
            properties = json.loads(properties)
        except ValueError as exc:
            raise ValueError("properties: Properties are unparsable!") from exc
    if isinstance(properties, list) or _is_group(properties):
        return properties
    if isinstance(properties, dict):
        return _legacy_dict_properties(properties)
    raise ValueError(f"properties: unsupported shape {type(properties).__name__}")


def _evaluate(event: Event, node, world: World) -> bool | None:
    if isinstance(node, list):
        return _combine("AND", [_evaluate(event, child, world) for child in node])
    if _is_group(node):
        return _combine(node["type"], [_evaluate(event, child, world) for child in node["values"]])
    if isinstance(node, dict):
        return _property_matches(event, node, world)
    raise ValueError(f"properties: cannot read filter {node!r}")


def event_matches(event: Event, properties, world: World) -> bool:
    """Does the event pass a property filter (flat list ANDed, nested AND/OR groups, or the
    legacy dict)? An empty filter passes everything."""
    return _evaluate(event, _as_tree(properties), world) is not False


def _group_properties(event: Event, prop: dict, world: World) -> dict:
    index = prop.get("group_type_index")
    if index is None or str(index) not in ("0", "1", "2", "3", "4"):
        raise ValueError(f"properties: group filter needs group_type_index 0-4, got {index!r}")
    key = event.groups.get(int(index))
    if not key:
        return {}
    return world.group_properties.get((int(index), key), {})


_GROUP_KEY = re.compile(r"\$group_([0-4])")


def _event_properties(event: Event, key: str) -> dict:
    """Event properties; `$group_N` falls back to the event's groups (PostHog stores them in a
    column too)."""
    match = _GROUP_KEY.fullmatch(key or "")
    if match and key not in event.properties and int(match[1]) in event.groups:
        return {**event.properties, key: event.groups[int(match[1])]}
    return event.properties


def _property_matches(event: Event, prop: dict, world: World) -> bool:
    kind = prop.get("type") or "event"
    if kind == "cohort":
        return _cohort_property_matches(event, prop, world)
    if kind in ("static-cohort", "precalculated-cohort", "dynamic-cohort"):
        return _cohort_property_matches(event, {**prop, "type": "cohort"}, world)
    if kind == "element":
        return _element_matches(event, prop)
    if kind == "session":
        return _session_matches(event, prop, world)
    if kind == "hogql":
        # README: HogQL filters are refused (400 unsupported_hogql).
        raise ValueError("properties: hogql property filters are not supported")
    key = prop.get("key")
    if not isinstance(key, str):
        raise ValueError(f"properties: property key must be a string, got {key!r}")
    if kind == "event":
        source = _event_properties(event, key)
    elif kind == "person":
        source = event.person_properties
    elif kind == "group":
        source = _group_properties(event, prop, world)
    else:
        raise ValueError(f"properties: unknown property type {kind!r}")
    operator, invert = _effective_operator(prop)
    is_set, raw = _lookup(source, key)
    result = operator_matches(operator, is_set, raw, prop.get("value"))
    return not result if invert else result


# ---------------------------------------------------------------------------------------------
# Entities and actions (§2.1)


def _url_matches(event: Event, url: str, matching: str | None) -> bool:
    """Action step `url` against `$current_url`: contains (default; case-sensitive LIKE), exact,
    or regex. Decision: `contains` is a plain substring (PostHog's LIKE also treats % and _ in
    the url as wildcards)."""
    is_set, raw = _lookup(event.properties, "$current_url")
    current = property_string(raw) if is_set else ""
    if matching == "exact":
        return current == url
    if matching == "regex":
        pattern = compile_regex(url)
        return pattern is not None and pattern.search(current) is not None
    if matching in (None, "", "contains"):
        return url in current
    raise ValueError(f"actions: unknown url_matching {matching!r}")


def _step_element_operator(matching: str | None, field: str) -> str:
    operator = {
        None: "exact",
        "": "exact",
        "exact": "exact",
        "contains": "icontains",
        "regex": "regex",
    }
    if matching not in operator:
        raise ValueError(f"actions: unknown {field} {matching!r}")
    return operator[matching]


def _step_matches(event: Event, step: dict, world: World) -> bool:
    """One action step (PostHog's action_to_expr): event name (none = any event); for
    `$autocapture` steps the element conditions selector, tag_name, href, text (href/text with
    `href_matching`/`text_matching`: exact (default), contains (case-insensitive), regex); `url`;
    and the step's `properties`."""
    name = step.get("event")
    if name and event.event != name:
        return False
    if name == "$autocapture":
        elements = parse_elements_chain(event.elements_chain)
        if step.get("selector") and not selector_matches(elements, step["selector"]):
            return False
        if step.get("tag_name") is not None and not any(
            e.tag_name == step["tag_name"] for e in elements
        ):
            return False
        for key in ("href", "text"):
            if step.get(key) is not None:
                operator = _step_element_operator(step.get(f"{key}_matching"), f"{key}_matching")
                if not _element_attribute_matches(elements, key, operator, step[key]):
                    return False
    if step.get("url") and not _url_matches(event, step["url"], step.get("url_matching")):
        return False
    return event_matches(event, step.get("properties"), world)


def action_matches(event: Event, action: Action, world: World) -> bool:
    """§2.1: an action is an OR of its steps. Decision: an action without steps matches nothing
    (PostHog's legacy SQL)."""
    return any(_step_matches(event, step, world) for step in action.steps)


def _action(entity_id: object, world: World) -> Action:
    try:
        action_id = int(entity_id)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"actions: action id must be an integer, got {entity_id!r}") from exc
    action = world.actions.get(action_id)
    if action is None:
        # README: an unknown action id is a 400 naming the field.
        raise ValueError(f"actions: unknown action id {action_id}")
    return action


def entity_matches(event: Event, entity: dict, world: World) -> bool:
    """§2.1 entity of `events` (id = event name, None = all events) or `actions` (id = action
    id), plus the entity's own `properties`."""
    kind = entity.get("type") or "events"
    if kind == "events":
        name = entity.get("id")
        if name is not None and event.event != name:
            return False
    elif kind == "actions":
        if not action_matches(event, _action(entity.get("id"), world), world):
            return False
    else:
        raise ValueError(f"events: unknown entity type {kind!r}")
    return event_matches(event, entity.get("properties"), world)


def passes_global_filters(event: Event, filter: dict, world: World) -> bool:
    """The filter's `properties`, and with `filter_test_accounts` (true / "true") the project's
    `test_account_filters`, ANDed (§9)."""
    if not event_matches(event, filter.get("properties"), world):
        return False
    if is_truthy(filter.get("filter_test_accounts")):
        return event_matches(event, world.project.test_account_filters, world)
    return True
