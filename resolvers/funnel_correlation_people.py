"""The actors behind one funnel correlation row (spec funnels.md §5.1, §5.7): what a row's
`success_people_url` / `failure_people_url` point at.

The request is the correlation filter plus `funnel_correlation_person_converted` and the
candidate — `funnel_correlation_person_entity` (events, event_with_properties) or
`funnel_correlation_property_values` (properties). The actors are read from the very
candidates query the counts came from (resolvers/funnel_correlation.py), so a row's count and
its people always agree.
"""

from __future__ import annotations

from datetime import datetime

import sql
from gateway.errors import ValidationError
from resolvers.funnel_correlation import AUTOCAPTURE, correlation_candidates
from resolvers.funnels_request import json_param

DEFAULT_PAGE = 100


def _converted(filters: dict) -> bool:
    raw = str(filters.get("funnel_correlation_person_converted") or "").lower()
    if raw not in ("true", "false"):
        raise ValidationError("funnel_correlation_person_converted must be true or false",
                              attr="funnel_correlation_person_converted")  # fmt: skip
    return raw == "true"


def _first(filters: dict, name: str, kind: type):
    value = json_param(filters.get(name))
    if isinstance(value, list) and kind is dict:
        value = value[0] if value else None
    if not isinstance(value, kind):
        raise ValidationError(f"{name} is required for this correlation type", attr=name)
    return value


def candidate_of(kind: str, filters: dict) -> str:
    """The candidate name a people URL carries (inverse of `describe_candidate`)."""
    if kind == "properties":
        prop = _first(filters, "funnel_correlation_property_values", dict)
        return f"{prop.get('key')}::{_text(prop.get('value'))}"
    entity = _first(filters, "funnel_correlation_person_entity", dict)
    event = str(entity.get("id"))
    if kind == "events":
        return event
    props = entity.get("properties") or [{}]
    prop = props[0] if isinstance(props, list) and isinstance(props[0], dict) else {}
    if event == AUTOCAPTURE and "elements_chain" in entity:
        chain = entity["elements_chain"]
        return f"{AUTOCAPTURE}::elements_chain::{_text(prop.get('value'))}__~~__{chain}"
    return f"{event}::{prop.get('key')}::{_text(prop.get('value'))}"


def _text(value) -> str:
    if isinstance(value, list):  # PostHog sends exact values as one-item lists too
        value = value[0] if value else ""
    return "" if value is None else str(value)


def page_of(filters: dict) -> tuple[int, int]:
    """`funnel_correlation_person_limit` / `_offset` (PostHog's), or plain `limit` / `offset`."""
    out = []
    for name, default in (("limit", DEFAULT_PAGE), ("offset", 0)):
        raw = filters.get(f"funnel_correlation_person_{name}", filters.get(name))
        try:
            value = default if raw in (None, "") else int(raw)
        except (TypeError, ValueError):
            value = -1
        if value < 0:
            attr = f"funnel_correlation_person_{name}"
            raise ValidationError(f"{attr} must be a non-negative integer", attr=attr)
        out.append(value)
    limit, offset = out
    return limit or DEFAULT_PAGE, offset  # PostHog: a limit of 0 is the default page


async def correlation_people(store, project: dict, filters: dict, *, now: datetime,
                             actions: dict | None = None, cohorts: dict | None = None,
                             ) -> tuple[int, list[dict]]:  # fmt: skip
    """(how many, one page of {id, distinct_ids}) of the actors behind one correlation row;
    group actors have no distinct ids."""
    limit, offset = page_of(filters)
    converted = _converted(filters)
    found = await correlation_candidates(store, project, filters, now, actions, cohorts)
    if found is None:
        return 0, []
    req, creq, candidates, params = found
    name = params.bind(candidate_of(creq.kind, filters), "String")
    success = params.bind(int(converted), "UInt8")
    members = f"SELECT actor FROM ({candidates}) WHERE success = {success} AND has(names, {name})"
    values = {**params.values, "page_size": limit, "page_start": offset}
    if req.group_index is not None:
        statement = (f"SELECT actor, count() OVER () FROM ({members}) ORDER BY actor "
                     "LIMIT {page_size:UInt64} OFFSET {page_start:UInt64}")  # fmt: skip
        rows = (await store.query(statement, values)).rows
        return (int(rows[0][1]) if rows else 0), [{"id": r[0], "distinct_ids": []} for r in rows]
    persons = f"SELECT toUUID(actor) AS person_id FROM ({members})"
    statement = sql.load("filters/people_page.sql").replace("__MEMBERS__", persons)
    rows = (await store.query(statement, values)).rows
    total = int(rows[0][2]) if rows else 0
    return total, [{"id": str(r[0]), "distinct_ids": sorted(r[1])} for r in rows]
