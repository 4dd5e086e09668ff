"""A query reads the person tables only when it filters on persons: ClickHouse's analysed
query tree (EXPLAIN QUERY TREE) names every table the query would read."""

import re

import pytest

from resolvers.properties import parse_properties
from resolvers.where import Context, Params, compile_filter

PERSON_TABLES = {"person_property_writes", "person_distinct_ids", "persons",
                 "static_cohort_people"}  # fmt: skip


def tables_read(spyglass, tenant, properties) -> set[str]:
    params = Params()
    where = compile_filter(parse_properties(properties), params, Context())
    plan = spyglass.query(
        "EXPLAIN QUERY TREE SELECT count() FROM events AS e "
        f"WHERE e.project_id = {{project_id:UInt64}} AND {where}",
        {**params.values, "project_id": tenant["id"]})  # fmt: skip
    text = "\n".join(str(row[0]) for row in plan.rows)
    return {name.split(".")[-1] for name in re.findall(r"table_name: ([\w.]+)", text)}


@pytest.mark.parametrize(
    "properties",
    [[], [{"key": "$browser", "value": "Chrome"}],
     [{"key": "$current_url", "value": "/x", "operator": "icontains"},
      {"type": "element", "key": "tag_name", "value": "button"}]],
)  # fmt: skip
def test_event_only_filters_read_only_events(spyglass, tenant, properties):
    assert tables_read(spyglass, tenant, properties) == {"events"}


def test_person_filters_read_the_person_log(spyglass, tenant):
    read = tables_read(spyglass, tenant, [{"type": "person", "key": "email", "value": "x"}])
    assert "person_property_writes" in read and "events" in read
