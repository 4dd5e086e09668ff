"""Parsing property filters: every form clients send, and a 400 naming the field otherwise."""

import json

import pytest

from gateway.errors import ValidationError
from resolvers.properties import Property, PropertyGroup, parse_properties, to_json


def test_flat_list_is_an_and_group_and_query_string_json_is_accepted():
    raw = [{"key": "$browser", "value": ["Chrome", "Safari"], "operator": "exact",
            "type": "event"}]  # fmt: skip
    group = parse_properties(json.dumps(raw))
    assert group == PropertyGroup("AND", (Property("$browser", ["Chrome", "Safari"], "exact",
                                                   "event"),))  # fmt: skip
    assert parse_properties(raw) == group


def test_nested_groups_and_defaults():
    raw = {"type": "OR", "values": [
        {"type": "AND", "values": [{"key": "a", "value": "1"}]},
        {"key": "email", "value": "x", "operator": "icontains", "type": "person"},
    ]}  # fmt: skip
    group = parse_properties(raw)
    assert group.type == "OR"
    assert group.values[0] == PropertyGroup("AND", (Property("a", "1", "exact", "event"),))
    assert to_json(parse_properties(to_json(group))) == to_json(group)


@pytest.mark.parametrize(
    ("raw", "attr", "code"),
    [
        ([{"key": "a", "value": 1, "operator": "bigger"}], "properties[0].operator", None),
        ([{"key": "a", "value": "ten", "operator": "gt"}], "properties[0].value", None),
        ([{"key": "a", "value": "(?=x)", "operator": "regex"}], "properties[0].value", None),
        ([{"key": "a", "value": "([", "operator": "regex"}], "properties[0].value", None),
        ([{"key": "a", "value": [1], "operator": "between"}], "properties[0].value", None),
        ([{"key": "", "value": 1}], "properties[0].key", None),
        ([{"key": "a", "value": 1, "type": "planet"}], "properties[0].type", None),
        ([{"key": "a", "value": 1, "type": "group"}], "properties[0].group_type_index", None),
        ([{"key": "x", "value": "nope", "type": "cohort"}], "properties[0].value", None),
        ([{"key": "a", "value": {"x": 1}}], "properties[0].value", None),
        ([{"key": "1 = 1", "type": "hogql"}], "properties[0]", "unsupported_hogql"),
        ("{not json", "properties", None),
        ({"type": "XOR", "values": []}, "properties.type", None),
    ],
)
def test_bad_filters_are_400s_naming_the_field(raw, attr, code):
    with pytest.raises(ValidationError) as info:
        parse_properties(raw)
    assert info.value.attr == attr
    assert info.value.status == 400
    if code:
        assert info.value.code == code


def test_limits_on_nesting_list_length_and_count():
    deep = {"key": "a", "value": 1}
    for _ in range(8):
        deep = {"type": "AND", "values": [deep]}
    with pytest.raises(ValidationError, match="nest"):
        parse_properties(deep)
    with pytest.raises(ValidationError, match="at most 1000 values"):
        parse_properties([{"key": "a", "value": list(range(1001))}])
    with pytest.raises(ValidationError, match="at most 200"):
        parse_properties([{"key": "a", "value": 1}] * 201)
