"""Hostile strings through every string field of a filter: property keys and values, regexes,
element values, action urls — all reach ClickHouse as data, results stay correct, nothing fails."""

import re

import httpx
import pytest

from gateway.errors import ValidationError
from resolvers.properties import parse_properties
from resolvers.where import Context, Params, compile_entity, compile_filter
from tests.test_store_chdb import INJECTION_CORPUS

# Event names are capped at 400 characters, so the 10,000-character value stays a property.
CORPUS = [v for v in INJECTION_CORPUS if v != "" and len(v) <= 400]


def chain_text(value: str) -> str:
    """The value as an element text in a chain (quotes and backslashes are the chain's own
    escape syntax, so they are left out of this one field)."""
    return value.replace('"', "").replace("\\", "")


@pytest.fixture(scope="module")
def stored(spyglass):
    tenant = spyglass.new_project()
    batch = [{"event": value, "distinct_id": f"d{i}", "properties": {value: value,
              "$current_url": f"https://x.io/{value}", "$set": {value: value}},
              "elements_chain": f'a:text="{chain_text(value)}"'}
             for i, value in enumerate(CORPUS)]  # fmt: skip
    r = httpx.post(f"{spyglass.url}/batch/", json={"api_key": tenant["token"], "batch": batch})
    assert r.status_code == 200 and "rejected" not in r.json()
    return tenant


def run(spyglass, tenant, where: str, params: Params) -> set[str]:
    rows = spyglass.query(f"SELECT event FROM events AS e WHERE e.project_id = "
                          f"{{project_id:UInt64}} AND {where}",
                          {**params.values, "project_id": tenant["id"]}).rows  # fmt: skip
    return {r[0] for r in rows}


@pytest.mark.parametrize("value", CORPUS, ids=range(len(CORPUS)))
def test_hostile_values_are_data_in_every_filter_field(spyglass, stored, value):
    for kind in ("event", "person"):
        params = Params()
        tree = parse_properties([{"type": kind, "key": value, "value": value}])
        assert run(spyglass, stored, compile_filter(tree, params), params) == {value}, kind
    params = Params()
    contains = parse_properties([{"key": value, "value": value[1:-1] or value,
                                  "operator": "icontains"}])  # fmt: skip
    assert value in run(spyglass, stored, compile_filter(contains, params), params)
    params = Params()
    pattern = re.escape(value)
    try:
        regex = parse_properties([{"key": value, "value": pattern, "operator": "regex"}])
    except ValidationError:
        regex = None  # a pattern RE2 would refuse is a clean 400, not a query error
    if regex is not None:
        found = run(spyglass, stored, compile_filter(regex, params), params)
        assert value in found
    params = Params()
    entity = {"type": "actions", "id": 1}
    actions = {1: {"steps": [{"event": value, "url": value, "url_matching": "contains"}]}}
    assert run(spyglass, stored, compile_entity(entity, params, Context(), actions=actions),
               params) == {value}  # fmt: skip
    params = Params()
    text = chain_text(value)
    element = parse_properties([{"type": "element", "key": "text", "value": text}])
    assert value in run(spyglass, stored, compile_filter(element, params), params)
