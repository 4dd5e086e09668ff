"""Property filters: PostHog's JSON (flat lists or nested AND/OR groups) → a typed tree.

Parsing validates everything a user can get wrong and names the field; compiling the tree to
SQL is `resolvers/where.py`'s job. Accepts what clients send: a list, a `{type, values}` group,
or either one JSON-encoded in a query string.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from gateway.errors import ValidationError

OPERATORS = frozenset({
    "exact", "is_not", "icontains", "not_icontains", "regex", "not_regex", "gt", "gte", "lt",
    "lte", "is_set", "is_not_set", "is_date_before", "is_date_after", "is_date_exact",
    "between", "not_between", "min", "max",
})  # fmt: skip
TYPES = frozenset({"event", "person", "group", "cohort", "element", "session"})
ELEMENT_KEYS = frozenset({"tag_name", "text", "href", "selector"})
SESSION_KEYS = frozenset({"$session_duration"})
NUMERIC_OPERATORS = frozenset({"gt", "gte", "lt", "lte", "min", "max"})
RANGE_OPERATORS = frozenset({"between", "not_between"})
DATE_OPERATORS = frozenset({"is_date_before", "is_date_after", "is_date_exact"})

# `negation: true` on a filter means the opposite operator.
NEGATED = {
    "exact": "is_not", "is_not": "exact", "icontains": "not_icontains",
    "not_icontains": "icontains", "regex": "not_regex", "not_regex": "regex", "gt": "lte",
    "lte": "gt", "lt": "gte", "gte": "lt", "is_set": "is_not_set", "is_not_set": "is_set",
    "is_date_before": "is_date_after", "is_date_after": "is_date_before",
    "between": "not_between", "not_between": "between", "in": "not_in", "not_in": "in",
    "min": "lt", "max": "gt",
}  # fmt: skip

MAX_DEPTH = 5
MAX_FILTERS = 200
MAX_VALUES = 1000
MAX_VALUE_LENGTH = 65_536
# RE2 (ClickHouse's engine) has no look-around and no backreferences.
_NOT_RE2 = re.compile(r"\(\?(?:=|!|<=|<!)|\\[1-9]")


@dataclass(frozen=True)
class Property:
    key: str
    value: Any
    operator: str
    type: str
    group_type_index: int | None = None


@dataclass(frozen=True)
class PropertyGroup:
    type: str  # "AND" | "OR"
    values: tuple[Property | PropertyGroup, ...]

    def is_empty(self) -> bool:
        return all(isinstance(v, PropertyGroup) and v.is_empty() for v in self.values)

    def walk(self):
        for value in self.values:
            if isinstance(value, PropertyGroup):
                yield from value.walk()
            else:
                yield value


EMPTY = PropertyGroup("AND", ())


def _fail(detail: str, attr: str, code: str = "invalid_input"):
    raise ValidationError(detail, attr=attr, code=code)


def _as_number(value, attr: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        _fail(f"{attr}: value must be a number, got {str(value)[:40]!r}", attr)
    if number != number or number in (float("inf"), float("-inf")):
        _fail(f"{attr}: value must be a finite number", attr)
    return number


def _check_regex(pattern, attr: str) -> None:
    if not isinstance(pattern, str):
        _fail(f"{attr}: a regex must be a string", attr)
    if _NOT_RE2.search(pattern):
        _fail(f"{attr}: look-around and backreferences are not supported (RE2 syntax)", attr)
    try:
        re.compile(pattern)
    except re.error as exc:
        _fail(f"{attr}: invalid regex: {exc}", attr)


def _check_value(value, attr: str) -> None:
    values = value if isinstance(value, list) else [value]
    if len(values) > MAX_VALUES:
        _fail(f"{attr}: at most {MAX_VALUES} values", attr)
    for item in values:
        if isinstance(item, dict | list):
            _fail(f"{attr}: values must be strings, numbers or booleans", attr)
        if isinstance(item, str) and len(item) > MAX_VALUE_LENGTH:
            _fail(f"{attr}: a value is longer than {MAX_VALUE_LENGTH} characters", attr)


def parse_property(raw, attr: str) -> Property:
    if not isinstance(raw, dict):
        _fail(f"{attr}: each property filter must be an object", attr)
    kind = raw.get("type") or "event"
    if kind == "hogql":
        _fail(f"{attr}: HogQL filters are not supported (no expression language yet)", attr,
              "unsupported_hogql")  # fmt: skip
    if kind not in TYPES:
        _fail(f"{attr}: unknown property type {str(kind)[:30]!r}", f"{attr}.type")
    key = raw.get("key")
    if kind != "cohort" and (not isinstance(key, str) or not key):
        _fail(f"{attr}: key is required", f"{attr}.key")
    operator = raw.get("operator") or "exact"
    if raw.get("negation") and operator in NEGATED:
        operator = NEGATED[operator]  # PostHog's `negation: true` flips the operator
    elif raw.get("negation"):
        _fail(f"{attr}: operator {operator} cannot be negated", f"{attr}.negation")
    if kind == "cohort":
        operator = {"exact": "in", "is_not": "not_in"}.get(operator, operator)
        if operator not in ("in", "not_in"):
            _fail(f"{attr}: cohort filters take operator in or not_in", f"{attr}.operator")
        try:
            return Property("id", int(raw.get("value")), operator, kind)
        except (TypeError, ValueError):
            _fail(f"{attr}: cohort value must be a cohort id", f"{attr}.value")
    if operator not in OPERATORS:
        _fail(f"{attr}: unknown operator {str(operator)[:30]!r}", f"{attr}.operator")
    if kind == "element" and key not in ELEMENT_KEYS:
        _fail(f"{attr}: element filters take key {sorted(ELEMENT_KEYS)}", f"{attr}.key")
    if kind == "session" and key not in SESSION_KEYS:
        _fail(f"{attr}: session filters take key $session_duration", f"{attr}.key")
    group_type_index = None
    if kind == "group":
        group_type_index = raw.get("group_type_index")
        if not isinstance(group_type_index, int) or not 0 <= group_type_index <= 4:
            _fail(f"{attr}: group filters need group_type_index 0-4",
                  f"{attr}.group_type_index")  # fmt: skip
    value = raw.get("value")
    value_attr = f"{attr}.value"
    if operator in ("is_set", "is_not_set"):
        value = None
    elif operator in NUMERIC_OPERATORS:
        value = _as_number(value[0] if isinstance(value, list) and len(value) == 1 else value,
                           value_attr)  # fmt: skip
    elif operator in RANGE_OPERATORS:
        if not isinstance(value, list) or len(value) != 2:
            _fail(f"{value_attr}: {operator} takes [low, high]", value_attr)
        value = (_as_number(value[0], value_attr), _as_number(value[1], value_attr))
    elif operator in ("regex", "not_regex"):
        _check_regex(value, value_attr)
    elif operator in DATE_OPERATORS:
        if not isinstance(value, str) or not value:
            _fail(f"{value_attr}: a date is required", value_attr)
    else:
        if value is None:
            _fail(f"{value_attr}: a value is required for {operator}", value_attr)
        _check_value(value, value_attr)
    return Property(key if kind != "cohort" else "id", value, operator, kind, group_type_index)


def _decode(raw, attr: str):
    if isinstance(raw, str):
        if not raw.strip():
            return []
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            _fail(f"{attr} must be JSON", attr)
    return raw


def parse_properties(raw, attr: str = "properties") -> PropertyGroup:
    """Any accepted form → a PropertyGroup (a flat list is an AND group)."""
    counter = {"n": 0}
    return _parse_group(_decode(raw, attr), attr, 0, counter)


def _parse_group(raw, attr: str, depth: int, counter: dict) -> PropertyGroup:
    if raw is None:
        return EMPTY
    if depth > MAX_DEPTH:
        _fail(f"{attr}: property groups nest at most {MAX_DEPTH} levels", attr)
    if isinstance(raw, list):
        kind, values = "AND", raw
    elif isinstance(raw, dict) and "values" in raw:
        kind = str(raw.get("type") or "AND").upper()
        if kind not in ("AND", "OR"):
            _fail(f"{attr}.type must be AND or OR", f"{attr}.type")
        values = raw["values"]
        if not isinstance(values, list):
            _fail(f"{attr}.values must be a list", f"{attr}.values")
    elif isinstance(raw, dict):  # legacy {"key": value, "key__operator": value}, as PostHog
        kind, values = "AND", [_legacy(name, value) for name, value in raw.items()]
    else:
        _fail(f"{attr} must be a list or a property group", attr)
    parsed = []
    for index, item in enumerate(values):
        item_attr = f"{attr}[{index}]"
        counter["n"] += 1
        if counter["n"] > MAX_FILTERS:
            _fail(f"{attr}: at most {MAX_FILTERS} property filters", attr)
        if isinstance(item, dict) and "values" in item:
            parsed.append(_parse_group(item, item_attr, depth + 1, counter))
        else:
            parsed.append(parse_property(item, item_attr))
    return PropertyGroup(kind, tuple(parsed))


def _legacy(name: str, value) -> dict:
    key, _, operator = str(name).partition("__")
    return {"key": key, "value": value, "operator": operator or "exact", "type": "event"}


def to_json(group: PropertyGroup) -> dict:
    """The normalised form (for filter hashes and echoes)."""
    return {
        "type": group.type,
        "values": [
            to_json(v) if isinstance(v, PropertyGroup) else _property_json(v) for v in group.values
        ],  # fmt: skip
    }


def _property_json(p: Property) -> dict:
    out = {"key": p.key, "value": list(p.value) if isinstance(p.value, tuple) else p.value,
           "operator": p.operator, "type": p.type}  # fmt: skip
    if p.group_type_index is not None:
        out["group_type_index"] = p.group_type_index
    return out
