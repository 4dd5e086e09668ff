"""The actors page (resolvers/actors.py): paging, merged persons once, properties folded."""

from __future__ import annotations

import uuid

import httpx
import pytest

from gateway.errors import ValidationError
from gateway.identity import person_id_for
from resolvers.actors import Page, actors_page, page_of

EVERYONE = """
SELECT toString(if(o.old_person_id = toUUID('00000000-0000-0000-0000-000000000000'),
                   e.person_id, o.override_person_id)) AS actor,
       toUInt64(count() OVER (PARTITION BY actor)) AS hits
FROM events AS e LEFT JOIN (SELECT old_person_id, argMax(override_person_id, version)
    AS override_person_id FROM person_overrides WHERE project_id = {project_id:UInt64}
    GROUP BY old_person_id) AS o ON o.old_person_id = e.person_id
WHERE e.project_id = {project_id:UInt64} AND e.event = {name:String}
"""


def send(spyglass, tenant, messages):
    batch = [{"uuid": str(uuid.uuid4()), **m} for m in messages]
    r = httpx.post(spyglass.url + "/batch/", json={"api_key": tenant["token"], "batch": batch})
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def people(spyglass):
    tenant = spyglass.new_project()
    at = "2024-01-0{}T10:00:00Z"
    messages = [
        {"event": "seen", "distinct_id": f"d{i}", "timestamp": at.format(1 + i % 5),
         "properties": {"$set": {"email": f"d{i}@x.io", "n": i}, "$set_once": {"first": i}}}
        for i in range(7)
    ]  # fmt: skip
    messages += [
        # anon merges into d0: one person with both ids, properties of both folded
        {"event": "seen", "distinct_id": "anon", "timestamp": at.format(1),
         "properties": {"$set": {"from_anon": True}}},
        {"event": "$identify", "distinct_id": "d0", "timestamp": at.format(2),
         "properties": {"$anon_distinct_id": "anon"}},
        {"event": "seen", "distinct_id": "d1", "timestamp": at.format(6),
         "properties": {"$unset": ["n"]}},
        {"event": "$groupidentify", "distinct_id": "d1", "timestamp": at.format(3),
         "properties": {"$group_type": "company", "$group_key": "acme",
                        "$group_set": {"size": 3}}},
    ]  # fmt: skip
    send(spyglass, tenant, messages)
    return tenant


def page(spyglass, tenant, limit=100, offset=0, **kw):
    store = spyglass.services.store
    return spyglass.run(actors_page(store, tenant["id"], EVERYONE, {"name": "seen"},
                                    Page(limit, offset), **kw))  # fmt: skip


def test_merged_persons_count_once_with_folded_properties(spyglass, people):
    found = page(spyglass, people, extras=("hits",))
    assert found.total == 7
    ids = [row["actor"]["id"] for row in found.rows]
    assert ids == sorted(ids)
    merged = next(r for r in found.rows if "d0" in r["actor"]["distinct_ids"])
    assert merged["actor"]["distinct_ids"] == ["anon", "d0"]
    assert merged["hits"] == 2  # the anonymous event and d0's own
    assert merged["actor"]["properties"] == {"email": "d0@x.io", "n": 0, "first": 0,
                                             "from_anon": True}  # fmt: skip
    assert merged["actor"]["name"] == "d0@x.io"
    assert merged["actor"]["is_identified"] is True
    unset = next(r for r in found.rows if r["actor"]["distinct_ids"] == ["d1"])
    assert "n" not in unset["actor"]["properties"]
    assert unset["actor"]["uuid"] == str(person_id_for(people["id"], "d1"))
    assert unset["actor"]["created_at"].endswith("Z")


def test_pages_are_disjoint_and_cover_the_set(spyglass, people):
    seen = []
    for offset in range(0, 8, 3):
        found = page(spyglass, people, limit=3, offset=offset)
        assert found.total == 7
        seen += [row["actor"]["id"] for row in found.rows]
    assert len(seen) == 7 and len(set(seen)) == 7


def test_groups_as_actors(spyglass, people):
    members = ("SELECT e.group_0 AS actor FROM events AS e WHERE e.project_id = "
               "{project_id:UInt64} AND e.event = {name:String} AND e.group_0 != ''")  # fmt: skip
    store = spyglass.services.store
    send(
        spyglass,
        people,
        [
            {
                "event": "g",
                "distinct_id": "d2",
                "timestamp": "2024-01-02T00:00:00Z",
                "properties": {"$groups": {"company": k}},
            }
            for k in ("acme", "new")
        ],
    )
    found = spyglass.run(actors_page(store, people["id"], members, {"name": "g"}, Page(),
                                     group_index=0))  # fmt: skip
    assert [r["actor"]["group_key"] for r in found.rows] == ["acme", "new"]
    assert found.rows[0]["actor"]["group_properties"] == {"size": 3}
    assert found.rows[1]["actor"] == {"type": "group", "id": "new", "group_key": "new",
                                      "group_type_index": 0, "group_properties": {},
                                      "created_at": None}  # fmt: skip


def test_page_bounds_are_checked():
    assert page_of({}) == Page(100, 0)
    assert page_of({"limit": "5", "offset": "10"}) == Page(5, 10)
    for bad in ({"limit": "0"}, {"limit": "x"}, {"offset": "-1"}, {"limit": 10**6}):
        with pytest.raises(ValidationError):
            page_of(bad)
