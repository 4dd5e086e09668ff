"""Reading persons back: a person's distinct ids and folded properties."""

from __future__ import annotations

import json
import uuid

import sql
from gateway.identity import person_id_for
from gateway.store import Store


def template(path: str) -> str:
    return sql.load(path)


async def person_of(store: Store, project_id: int, distinct_id: str) -> dict | None:
    """{id, distinct_ids, properties} of the person a distinct id belongs to now."""
    ids = await store.query(
        "SELECT distinct_id, original_person_id, person_id FROM ("
        + template("persons/distinct_ids.sql")
        + ")",
        {"project_id": project_id},
    )
    mapping = {row[0]: (uuid.UUID(str(row[1])), uuid.UUID(str(row[2]))) for row in ids.rows}
    if distinct_id not in mapping:
        return None
    person = mapping[distinct_id][1]
    members = sorted(d for d, (_, current) in mapping.items() if current == person)
    raw_ids = sorted(
        {str(orig) for d, (orig, current) in mapping.items() if current == person}
        | {str(person), str(person_id_for(project_id, distinct_id))}
    )
    props = await store.query(
        template("persons/properties.sql"), {"project_id": project_id, "person_ids": raw_ids}
    )
    return {
        "id": str(person),
        "distinct_ids": members,
        "properties": {key: json.loads(value) for key, value in props.rows},
    }
