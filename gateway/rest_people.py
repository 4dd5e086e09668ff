"""PostHog's persons paths for insight data points, on the REST shim's terms: each is one
GraphQL document (gateway/schema_people.py) plus the mapping of its parameters.

`/api/projects/:id/persons/<kind>/` and the legacy `/api/person/<kind>/` (the key's first
project) take the insight's filter with the data point's keys — exactly the URLs the insight
results carry. The data point's keys become the typed input; every other parameter travels as
the filter. Answers are PostHog's envelopes with absolute `next`/`previous` URLs.
"""

from __future__ import annotations

import json

from starlette.convertors import register_url_convertor
from starlette.requests import Request
from starlette.routing import Route

from gateway.errors import ValidationError
from gateway.rest import (
    Choice,
    _both,
    _limit_offset_page,
    bool_param,
    int_param,
    page_url,
    request_filters,
    respond,
    run,
)

ACTOR = (
    "... on PersonActor { type id uuid distinct_ids: distinctIds properties "
    "created_at: createdAt is_identified: isIdentified name } "
    "... on GroupActor { type id group_key: groupKey group_type_index: groupTypeIndex "
    "group_properties: groupProperties created_at: createdAt }"
)


def _text(value, attr: str) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _integer(value, attr: str) -> int:
    return int_param(str(value), attr)


def _boolean(value, attr: str) -> bool | None:
    return bool_param(str(value), attr)


def _integers(value, attr: str) -> list[int]:
    parsed = _json(value, attr)
    if not isinstance(parsed, list) or not all(isinstance(v, int) for v in parsed):
        raise ValidationError(f"{attr} must be a JSON list of integers", attr=attr)
    return parsed


def _json(value, attr: str):
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # a bare breakdown value, as PostHog's URLs may carry one


_ENTITY = {"entity_id": _text, "entity_type": _text, "entity_math": _text,
           "entity_index": _integer, "date_from": _text, "date_to": _text}  # fmt: skip
# kind → (GraphQL field, input type, the data point's keys and how each is read)
KINDS = {
    "trends": ("trendsPeople", "TrendsPoint", {
        **_ENTITY, "entity_order": _integer, "breakdown_value": _text,
        "insight_date_from": _text, "insight_date_to": _text}),
    "stickiness": ("stickinessPeople", "StickinessPoint", {
        **_ENTITY, "stickiness_days": _integer}),
    "lifecycle": ("lifecyclePeople", "LifecyclePoint", {
        "target_date": _text, "lifecycle_type": _text, "date_from": _text, "date_to": _text}),
    "funnel": ("funnelPeople", "FunnelStep", {
        "funnel_step": _integer, "funnel_custom_steps": _integers,
        "funnel_step_breakdown": _json, "entrance_period_start": _text,
        "drop_off": _boolean}),
    "retention": ("retentionPeople", "RetentionCell", {
        "selected_interval": _integer, "breakdown_values": _json}),
    "path": ("pathPeople", "PathNode", {
        "path_start_key": _text, "path_end_key": _text, "path_dropoff_key": _text}),
}  # fmt: skip
_NOT_FILTERS = {"limit", "offset", "format", "personal_api_key"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def document(kind: str) -> str:
    field, point_type, _ = KINDS[kind]
    return f"""query ($p: String!, $filters: JSON!, $point: {point_type}!, $limit: Int!,
                      $offset: Int!) {{
  page: {field}(projectId: $p, filters: $filters, point: $point, limit: $limit,
                offset: $offset) {{ count results {{ actor {{ {ACTOR} }} appearances }} }} }}"""


async def people(request: Request):
    kind = request.path_params["kind"]
    _, _, keys = KINDS[kind]
    filters = await request_filters(request)
    point = {}
    for key, read in keys.items():
        value = filters.pop(key, None)
        if value not in (None, ""):
            point[_camel(key)] = read(value, key)
    if kind == "lifecycle" and "lifecycleType" in point:
        point["lifecycleType"] = str(point["lifecycleType"]).lower()
    limit = int_param(_str(filters.get("limit")), "limit", 100)
    offset = int_param(_str(filters.get("offset")), "offset", 0)
    variables = {"p": request.path_params.get("project_id", "@current"), "point": point,
                 "filters": {k: v for k, v in filters.items() if k not in _NOT_FILTERS},
                 "limit": limit, "offset": offset}  # fmt: skip
    page = (await run(request, document(kind), variables))["page"]
    paged = _limit_offset_page(request, page, limit, offset)
    shown = max(0, min(limit, page["count"] - offset))
    links = {"next": paged["next"], "previous": paged["previous"],
             "missing_persons": max(0, shown - len(page["results"]))}  # fmt: skip
    if kind == "retention":  # A7: one entry per actor, beside its appearances
        result = [{"person": r["actor"], "appearances": r["appearances"]}
                  for r in page["results"]]  # fmt: skip
        return respond(request, {"result": result, **links}, rows=result)
    actors = [r["actor"] for r in page["results"]]
    body = {"results": [{"people": actors, "count": len(actors)}], **links,
            "initial": page_url(request, offset=None), "is_cached": False,
            "last_refresh": None}  # fmt: skip
    return respond(request, body, rows=actors)


def _str(value) -> str | None:
    return None if value is None else str(value)


register_url_convertor("people_kind", Choice(*KINDS))


def routes() -> list[Route]:
    return [*_both("/api/projects/{project_id}/persons/{kind:people_kind}", people,
                   ["GET", "POST"]),
            *_both("/api/person/{kind:people_kind}", people, ["GET", "POST"])]  # fmt: skip
