"""The OpenAPI 3.1 document for the REST API under /api/: what Spyglass actually accepts and
returns, built from small schema pieces (not copied from PostHog's document).

Response objects list every key they carry and allow no others, so a key added to a REST
document in `gateway/rest.py` without a line here fails the schemathesis run
(tests/test_openapi_schemathesis.py), which holds the server to this document.
Ingestion (/capture, /batch, /e, /decide, ...) is outside /api/ and is not described here.
"""

from __future__ import annotations

from functools import cache

from starlette.requests import Request
from starlette.responses import JSONResponse

from gateway.scalars import MAX_SAFE
from gateway.schema import MAX_PAGE
from resolvers.insight_list import ORDER_FIELDS
from resolvers.trends_filter import MAX_BREAKDOWN_LIMIT

INT32 = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}  # GraphQL's Int
ID = {"type": "integer", "minimum": 1, "maximum": MAX_SAFE}  # ids stay below 2^53 (BigInt)
STR = {"type": "string"}
BOOL = {"type": "boolean"}
DATETIME = {"type": "string", "format": "date-time"}
URL = {"type": ["string", "null"], "format": "uri"}
ANY: dict = {}  # any JSON value, null included
OBJECT = {"type": "object"}
MAX_NAME = 400  # resolvers/insights.py
MAX_TAGS = 100
JSON_TYPE, CSV_TYPE = "application/json", "text/csv"


# -- pieces -----------------------------------------------------------------------------------


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict) -> dict:
    if "type" in schema and isinstance(schema["type"], str):
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def array(items: dict, **extra) -> dict:
    return {"type": "array", "items": items, **extra}


def closed(properties: dict, *, optional: tuple[str, ...] = (), description: str = "") -> dict:
    """A response object: every key present (but `optional`), no others."""
    schema = {
        "type": "object",
        "properties": properties,
        "required": [k for k in properties if k not in optional],
        "additionalProperties": False,
    }
    return {**schema, "description": description} if description else schema


def body_of(properties: dict, *, description: str = "") -> dict:
    """A request object: every key optional; unknown keys are ignored, as PostHog's serializers."""
    schema = {"type": "object", "properties": properties, "additionalProperties": True}
    return {**schema, "description": description} if description else schema


def limit_offset_page(item: str) -> dict:
    return closed({"count": {"type": "integer", "minimum": 0}, "next": URL, "previous": URL,
                   "results": array(ref(item))})  # fmt: skip


# -- schemas ----------------------------------------------------------------------------------

USER = closed({"id": {"type": "integer"}, "uuid": STR, "distinct_id": nullable(STR),
               "first_name": STR, "email": STR})  # fmt: skip
LEVEL = {"type": "integer", "enum": [21, 37]}  # PostHog's restriction/privilege levels
INSIGHT_FIELDS = {
    "id": {"type": "integer"},
    "short_id": {"type": "string", "minLength": 8, "maxLength": 8},
    "name": nullable(STR),
    "derived_name": nullable(STR),
    "filters": {**OBJECT, "description": "PostHog's filter JSON, `insight` filled in"},
    "filters_hash": {"type": "string", "pattern": "^cache_[0-9a-f]{32}$"},
    "order": nullable(INT32),
    "deleted": BOOL,
    "dashboards": array({"type": "integer"}),
    "last_refresh": nullable(DATETIME),
    "refreshing": BOOL,
    "result": {**ANY, "description": "the computed result, from the cache; null if none"},
    "created_at": DATETIME,
    "created_by": nullable(ref("User")),
    "description": nullable(STR),
    "updated_at": DATETIME,
    "tags": array(STR),
    "favorited": BOOL,
    "saved": BOOL,
    "last_modified_at": DATETIME,
    "last_modified_by": nullable(ref("User")),
    "is_sample": BOOL,
    "effective_restriction_level": LEVEL,
    "effective_privilege_level": LEVEL,
    "timezone": STR,
    "is_cached": BOOL,
}
BASIC_INSIGHT_KEYS = ("id", "short_id", "name", "derived_name", "filters", "dashboards",
                      "description", "last_refresh", "refreshing", "saved", "tags",
                      "updated_at", "created_by", "created_at", "last_modified_at",
                      "favorited")  # fmt: skip
TILE_FIELDS = {"color": nullable(STR), "layouts": nullable(OBJECT)}
INSIGHT_INPUT = body_of({
    "name": nullable({"type": "string", "maxLength": MAX_NAME}),
    "derived_name": nullable({"type": "string", "maxLength": MAX_NAME}),
    "filters": {"type": ["object", "string", "null"],
                "description": "an object, or a string holding one as JSON; null is {}"},
    "order": nullable(INT32),
    "deleted": {**BOOL, "description": "true soft-deletes (PATCH only), false restores"},
    "dashboards": array(ID, description="the ids of live dashboards of the project to be on; "
                                        "the insight is on exactly these afterwards"),
    "description": nullable(STR),
    "tags": array(STR, maxItems=MAX_TAGS),
    "favorited": BOOL,
    "saved": BOOL,
})  # fmt: skip
ACTIVITY = closed({
    "id": STR,
    "activity": {"type": "string", "enum": ["created", "updated"]},
    "scope": {"type": "string", "enum": ["Insight"]},
    "item_id": STR,
    "detail": closed({
        "id": {"type": "integer"},
        "changes": nullable(array(closed({
            "type": STR, "action": {"type": "string", "enum": ["created", "changed", "deleted"]},
            "field": STR, "before": ANY, "after": ANY}))),
        "merge": {"type": "null"}, "trigger": {"type": "null"}, "type": {"type": "null"},
        "name": nullable(STR), "short_id": nullable(STR),
    }),
    "created_at": DATETIME,
    "user": closed({"first_name": nullable(STR), "email": nullable(STR), "is_system": BOOL}),
})  # fmt: skip
ACTIVITY_PAGE = closed({"results": array(ref("ActivityEntry")), "next": URL, "previous": URL,
                        "total_count": {"type": "integer", "minimum": 0}})  # fmt: skip
DASHBOARD_FIELDS = {
    "id": {"type": "integer"},
    "name": STR,
    "description": STR,
    "pinned": BOOL,
    "created_at": DATETIME,
    "created_by": nullable(ref("User")),
    "last_accessed_at": nullable(DATETIME),
    "is_shared": BOOL,
    "deleted": BOOL,
    "creation_mode": STR,
    "filters": OBJECT,
    "tags": array(STR),
    "restriction_level": LEVEL,
    "effective_restriction_level": LEVEL,
    "effective_privilege_level": LEVEL,
    "team_id": {"type": "integer"},
    "tiles": array(ref("DashboardTile")),
}
TILE = closed({
    "id": {"type": "integer"}, "color": nullable(STR), "layouts": OBJECT,
    "order": {"type": "integer"}, "text": nullable(OBJECT), "last_refresh": nullable(DATETIME),
    "is_cached": BOOL, "insight": nullable(ref("Insight")),
})  # fmt: skip
DASHBOARD_INPUT = {
    "name": nullable(STR), "description": nullable(STR), "pinned": BOOL, "tags": array(STR),
    "filters": {**OBJECT, "description": "filters that override its insights' own"},
    "deleted": {**BOOL, "description": "true soft-deletes, false restores"},
}  # fmt: skip
DASHBOARD_PATCH = {
    **DASHBOARD_INPUT,
    "tiles": array(
        {"type": "object", "required": ["id"], "properties": {
            "id": ID, "layouts": nullable(OBJECT), "color": nullable(STR)}},
        description="tile edits (layouts, colour) by tile id; other tile keys are ignored",
    ),
}  # fmt: skip
ACTION_STEP = {"type": "object", "properties": {
    "event": nullable(STR), "url": nullable(STR), "text": nullable(STR), "href": nullable(STR),
    "selector": nullable(STR), "tag_name": nullable(STR),
    "url_matching": nullable({"type": "string", "enum": ["contains", "exact", "regex"]}),
    "text_matching": nullable({"type": "string", "enum": ["contains", "exact", "regex"]}),
    "href_matching": nullable({"type": "string", "enum": ["contains", "exact", "regex"]}),
    "properties": {"description": "property filters, as in an insight's `properties`"},
}}  # fmt: skip
ACTION = closed({
    "id": {"type": "integer"}, "name": STR, "description": STR, "steps": array(OBJECT),
    "deleted": BOOL, "tags": array(STR), "created_at": DATETIME,
    "created_by": nullable(ref("User")),
})  # fmt: skip
ACTION_INPUT = body_of({"name": {"type": "string", "minLength": 1, "pattern": r"\S"},
                        "description": ANY, "steps": array(ref("ActionStep"), maxItems=50),
                        "deleted": BOOL})  # fmt: skip
INSIGHT_RESULT = closed(
    {"result": ANY, "last_refresh": nullable(DATETIME), "is_cached": BOOL, "timezone": STR,
     "filters_hash": INSIGHT_FIELDS["filters_hash"],
     "next": {**URL, "description": "trend: the next page of breakdown values, when this one "
              "is full"}},
    description="PostHog's computed envelope",
)  # fmt: skip
FILTER_KEYS = {
    "insight": {"type": "string", "description": "TRENDS, STICKINESS, LIFECYCLE, FUNNELS, "
                                                "RETENTION or PATHS (any case)"},
    "events": {"description": "a list of event entities (JSON-encoded in a query string)"},
    "actions": {"description": "a list of action entities (JSON-encoded in a query string)"},
    "properties": {"description": "property filters (JSON-encoded in a query string)"},
    "date_from": STR, "date_to": STR, "interval": STR,
    "breakdown": {"description": "a property name, or JSON"},
    "breakdown_type": STR, "shown_as": STR, "display": STR,
}  # fmt: skip
FILTERS_BODY = body_of(
    {**FILTER_KEYS, "refresh": {"description": "as the `refresh` query parameter"}},
    description="PostHog's filter JSON; keys override those of the query string",
)
PROJECT = closed({
    "id": {"type": "integer"}, "organization": {"type": "integer"}, "name": STR,
    "api_token": {"type": "string", "pattern": "^phc_"}, "timezone": STR,
    "week_start_day": {"type": "integer", "enum": [0, 1]},
    "test_account_filters": array(OBJECT), "path_cleaning_filters": array(OBJECT),
    "created_at": DATETIME, "team_id": {"type": "integer"}, "project_id": {"type": "integer"},
    "has_completed_onboarding_for": OBJECT,
})  # fmt: skip
PROJECT_PATCH = body_of({
    "name": {"type": "string", "pattern": r"\S"}, "timezone": STR,
    "week_start_day": {"type": "integer", "enum": [0, 1]},
    "test_account_filters": nullable(array(OBJECT)),
    "path_cleaning_filters": nullable(array(
        {"type": "object", "required": ["regex", "alias"],
         "properties": {"regex": STR, "alias": STR}})),
})  # fmt: skip
COHORT = closed({
    "id": {"type": "integer"}, "name": STR, "description": STR, "is_static": BOOL,
    "filters": OBJECT, "groups": ANY, "deleted": BOOL, "count": nullable({"type": "integer"}),
    "created_at": DATETIME,
})  # fmt: skip
COHORT_FIELDS = {
    "name": {"type": "string", "pattern": r"\S", "description": "required on create"},
    "description": ANY, "is_static": BOOL,
    "filters": {**OBJECT, "description": "PostHog's cohort definition (`properties` tree)"},
    "groups": {"description": "PostHog's older definition format"},
    "deleted": {**BOOL, "description": "true soft-deletes (PATCH only), false restores"},
}  # fmt: skip
COHORT_INPUT = body_of({**COHORT_FIELDS, "csv": {
    "type": "string", "description": "a static cohort's distinct ids, one a line"}})  # fmt: skip
COHORT_FORM = body_of({
    "name": COHORT_FIELDS["name"], "description": STR,
    "is_static": {"type": "string", "enum": ["true", "false"]},
    "csv": {"type": "string", "format": "binary",
            "description": "a CSV file of distinct ids, one a row, an optional header"},
}, description="PostHog's upload of a static cohort")  # fmt: skip
PERSON_PAGE = closed({
    "count": {"type": "integer", "minimum": 0}, "next": URL, "previous": URL,
    "results": array(closed({"id": STR, "distinct_ids": array(STR)})),
})  # fmt: skip
CORRELATION_PERSONS = closed({
    "results": array(closed({
        "people": array(closed({"id": STR, "uuid": STR, "distinct_ids": array(STR)})),
        "count": {"type": "integer", "minimum": 0},
    })),
    "next": URL, "missing_persons": {"type": "integer", "minimum": 0},
}, description="PostHog's funnel persons page: one result holding the page's people")  # fmt: skip
ME = closed({"id": {"type": "integer"}, "email": STR, "first_name": STR,
             "organization": {"type": "integer"}, "uuid": STR,
             "date_joined": DATETIME})  # fmt: skip
ERROR = closed({
    "type": {"type": "string", "enum": ["validation_error", "authentication_error",
                                        "invalid_request", "throttled_error",
                                        "server_error"]},
    "code": STR, "detail": STR, "attr": nullable(STR),
}, description="PostHog's error shape")  # fmt: skip

# -- the people behind a data point (gateway/rest_people.py) -----------------------------------

ACTOR_CREATED = {**nullable(STR), "description": "when first seen, ISO 8601"}
PERSON_ACTOR = closed({
    "type": {"type": "string", "enum": ["person"]}, "id": STR, "uuid": STR,
    "distinct_ids": array(STR), "properties": OBJECT, "created_at": ACTOR_CREATED,
    "is_identified": BOOL, "name": STR,
})  # fmt: skip
GROUP_ACTOR = closed({
    "type": {"type": "string", "enum": ["group"]}, "id": STR, "group_key": STR,
    "group_type_index": {"type": "integer", "minimum": 0, "maximum": 4},
    "group_properties": OBJECT, "created_at": ACTOR_CREATED,
}, description="an actor when the insight aggregates by a group type")  # fmt: skip
ACTOR = {"oneOf": [ref("PersonActor"), ref("GroupActor")]}
COUNT = {"type": "integer", "minimum": 0}
PEOPLE_PAGE = closed({
    "results": array(closed({"people": array(ACTOR), "count": COUNT}), minItems=1, maxItems=1),
    "next": URL, "previous": URL, "initial": URL, "missing_persons": COUNT,
    "is_cached": BOOL, "last_refresh": nullable(DATETIME),
}, description="one page of the actors behind a data point")  # fmt: skip
RETENTION_PEOPLE = closed({
    "result": array(closed({"person": ACTOR, "appearances": array(
        {"type": "integer", "enum": [0, 1]})})),
    "next": URL, "previous": URL, "missing_persons": COUNT,
}, description="one page of a retention cohort's actors, most appearances first")  # fmt: skip
_ENTITY_KEYS = [("entity_id", STR), ("entity_type", STR), ("entity_math", STR),
                ("entity_index", INT32), ("date_from", STR), ("date_to", STR)]  # fmt: skip
PEOPLE_KEYS = {
    "trends": [*_ENTITY_KEYS, ("entity_order", INT32), ("breakdown_value", STR),
               ("insight_date_from", STR), ("insight_date_to", STR)],
    "stickiness": [*_ENTITY_KEYS, ("stickiness_days", INT32)],
    "lifecycle": [("target_date", STR), ("date_from", STR), ("date_to", STR), (
        "lifecycle_type", {"type": "string", "enum": ["new", "returning", "resurrecting",
                                                      "dormant"]})],
    "funnel": [("funnel_step", INT32), ("funnel_custom_steps", STR),
               ("funnel_step_breakdown", STR), ("entrance_period_start", STR),
               ("drop_off", {"type": "string", "enum": ["true", "false"]})],
    "retention": [("selected_interval", INT32), ("breakdown_values", STR)],
    "path": [("path_start_key", STR), ("path_end_key", STR), ("path_dropoff_key", STR)],
}  # fmt: skip

SCHEMAS = {
    "PersonActor": PERSON_ACTOR, "GroupActor": GROUP_ACTOR, "PeoplePage": PEOPLE_PAGE,
    "RetentionPeople": RETENTION_PEOPLE,
    "Error": ERROR, "User": USER, "Insight": closed(INSIGHT_FIELDS),
    "InsightInDashboard": closed({**INSIGHT_FIELDS, **TILE_FIELDS}, optional=tuple(TILE_FIELDS)),
    "InsightInput": INSIGHT_INPUT, "InsightPage": limit_offset_page("Insight"),
    "BasicInsight": closed({k: INSIGHT_FIELDS[k] for k in BASIC_INSIGHT_KEYS}),
    "BasicInsightPage": limit_offset_page("BasicInsight"),
    "BasicInsightInDashboard": closed({**{k: INSIGHT_FIELDS[k] for k in BASIC_INSIGHT_KEYS},
                                       **TILE_FIELDS}, optional=tuple(TILE_FIELDS)),
    "ActivityEntry": ACTIVITY, "ActivityPage": ACTIVITY_PAGE, "InsightResult": INSIGHT_RESULT,
    "Filters": FILTERS_BODY, "DashboardTile": TILE, "Dashboard": closed(DASHBOARD_FIELDS),
    "DashboardInput": body_of(DASHBOARD_INPUT), "DashboardPatch": body_of(DASHBOARD_PATCH),
    "DashboardPage": limit_offset_page("Dashboard"), "Action": ACTION, "ActionStep": ACTION_STEP,
    "ActionInput": ACTION_INPUT, "ActionPage": limit_offset_page("Action"), "Project": PROJECT,
    "ProjectPatch": PROJECT_PATCH, "Me": ME, "Cohort": COHORT, "CohortInput": COHORT_INPUT,
    "CohortForm": COHORT_FORM, "CohortPage": limit_offset_page("Cohort"),
    "PersonPage": PERSON_PAGE, "CorrelationPersons": CORRELATION_PERSONS,
}  # fmt: skip


# -- parameters -------------------------------------------------------------------------------


def query(name: str, schema: dict, description: str = "") -> dict:
    parameter = {"name": name, "in": "query", "required": False, "schema": schema}
    return {**parameter, "description": description} if description else parameter


def path_param(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema,
            "description": description}  # fmt: skip


PARAMETERS = {
    "project_id": path_param(
        "project_id",
        {"type": "string", "pattern": r"^([0-9]+|@current)$"},
        "the project's id, or `@current` for the key's first project; anything else is 404",
    ),
    "id": path_param("id", ID, "the object's id"),
    "format": query(
        "format",
        {"type": "string", "enum": ["json", "csv"], "default": "json"},
        "`csv` (or `Accept: text/csv`) renders the body as CSV; another value is 404",
    ),  # fmt: skip
    "limit": query(
        "limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 100}
    ),  # fmt: skip
    "offset": query(
        "offset", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1, "default": 0}
    ),  # fmt: skip
    "activity_limit": query(
        "limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 10}
    ),  # fmt: skip
    "page": query("page", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1, "default": 1}),
    "refresh": query(
        "refresh",
        {
            "type": "string",
            "enum": [
                "true",
                "false",
                "1",
                "0",
                "",
                "blocking",
                "force_blocking",
                "force_cache",
                "async",
                "lazy_async",
                "force_async",
            ],
        },
        "recompute (`true`, empty) or a named mode; without it a saved insight's result is "
        "read from the cache only",
    ),  # fmt: skip
}
BASIC = query("basic", BOOL, "PostHog's basic serializer: fewer fields and no `result`")
LIST_FILTERS = [
    query("created_by", ID, "the creator's user id"),
    query("short_id", STR),
    query("saved", BOOL, "saved or on a dashboard"),
    query("favorited", BOOL),
    query("search", STR, "in name, derived name, description and tags"),
    query("insight", STR, "the insight kind, e.g. TRENDS"),
    query("user", BOOL, "only the caller's insights"),
    query("dashboards", {"type": "string", "pattern": r"^\[\s*([0-9]+\s*(,\s*[0-9]+\s*)*)?\]$"},
          "a JSON list of dashboard ids the insight must all be on, e.g. `[1,2]`"),
    query("date_from", STR, "last modified after this: `-7d`, `-1m`, an ISO date or time"),
    query("date_to", STR, "last modified before this (same forms)"),
    query("my_last_viewed", BOOL, "only insights the caller viewed, most recent view first"),
    *(query(name, {"type": "string", "enum": [f"{sign}{field}" for field in ORDER_FIELDS
                                              for sign in ("", "-")]},
            "sort by this field; `-` for descending" + (" (same as `order`)" if alias else ""))
      for name, alias in (("order", False), ("ordering", True))),
    BASIC,
]  # fmt: skip
COMPUTED_QUERY = [
    query("insight", STR, FILTER_KEYS["insight"]["description"]),
    query("events", STR, "JSON list of event entities, e.g. `[{\"id\": \"$pageview\"}]`"),
    query("actions", STR, "JSON list of action entities"),
    query("properties", STR, "JSON property filters"),
    query("date_from", STR, "e.g. `-7d` or an ISO date"),
    query("date_to", STR),
    query("interval", STR, "hour, day, week or month"),
    query("breakdown", STR),
    query("shown_as", STR),
]  # fmt: skip


# A trend's page of breakdown values (`next` moves `offset` on by the limit).
BREAKDOWN_PAGE = (
    query("breakdown_limit", {"type": "integer", "minimum": 1, "maximum": MAX_BREAKDOWN_LIMIT},
          "breakdown values per page (25; WorldMap 300)"),
    query("offset", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
          "the first breakdown value of the page"),
)  # fmt: skip


# Funnel correlation (spec funnels.md §5.1): lists arrive JSON-encoded in a query string.
CORRELATION_QUERY = (
    query("funnel_correlation_type", STR,
          "events (the default, also for an unknown value), properties or "
          "event_with_properties"),
    query("funnel_correlation_names", STR,
          "JSON list of property names (`$all`: every property); required for properties"),
    query("funnel_correlation_exclude_names", STR, "JSON list of property names to leave out"),
    query("funnel_correlation_exclude_event_names", STR, "JSON list of event names to leave out"),
    query("funnel_correlation_event_names", STR,
          "JSON list of event names; required for event_with_properties"),
    query("funnel_correlation_event_exclude_property_names", STR,
          "JSON list of event property keys to leave out"),
)  # fmt: skip
# Funnel paths (spec retention_paths.md B7), on the path insight and the people behind it.
FUNNEL_PATHS_QUERY = (
    query("funnel_paths", {"type": "string", "enum": ["funnel_path_after_step",
          "funnel_path_before_step", "funnel_path_between_steps"]},
          "the paths of a funnel's people after, before or between steps; needs funnel_filter "
          "and funnel_step"),
    query("funnel_filter", STR, "the funnel: PostHog's funnel filter as a JSON object"),
    query("funnel_step", INT32, "N: the people who reached step N (the paths take its time); "
          "-N: who reached step N-1 but not step N (N ≥ 2). Read from funnel_filter when "
          "absent here"),
)  # fmt: skip
CORRELATION_PERSON_QUERY = (
    query("funnel_correlation_person_converted", {"type": "string", "enum": ["true", "false"]},
          "the row's converters or its failures (required)"),
    query("funnel_correlation_person_entity", STR,
          "JSON entity of the row's event (events, event_with_properties)"),
    query("funnel_correlation_property_values", STR,
          "JSON list holding the row's property filter (properties)"),
    query("funnel_correlation_person_limit", {"type": "integer", "minimum": 0,
                                              "maximum": 2**31 - 1, "default": 100}),
    query("funnel_correlation_person_offset", {"type": "integer", "minimum": 0,
                                               "maximum": 2**31 - 1, "default": 0}),
)  # fmt: skip


def p(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


# -- responses --------------------------------------------------------------------------------


def error(description: str) -> dict:
    return {"description": description, "content": {JSON_TYPE: {"schema": ref("Error")}}}


RESPONSES = {
    "BadRequest": error("a parameter or field is invalid; `attr` names it"),
    "Unauthorized": error("no key, or an unknown or revoked key"),
    "Forbidden": error("the key cannot reach this project, or lacks the scope"),
    "NotFound": error("unknown project, object or `format`"),
    "PayloadTooLarge": error("the request body is over the limit (1 MiB by default)"),
    "NotImplemented": error("this insight kind's engine is not built yet"),
    "TooManyRequests": {
        **error("over the key's rate limit (per minute; 1200 by default)"),
        "headers": {
            "Retry-After": {
                "description": "seconds to wait",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    },
    "MethodNotAllowed": {
        "description": 'refused with an empty body: delete by PATCH `{"deleted": true}`'
    },  # fmt: skip
}


def r(name: str) -> dict:
    return {"$ref": f"#/components/responses/{name}"}


def ok(description: str, schema: str, *, csv: bool = True) -> dict:
    content = {JSON_TYPE: {"schema": ref(schema)}}
    if csv:
        content[CSV_TYPE] = {"schema": STR}
    return {"description": description, "content": content}


# -- operations -------------------------------------------------------------------------------


def operation(
    op_id: str,
    summary: str,
    tag: str,
    scope: str,
    success: dict[str, dict],
    *,
    parameters: list[dict] = (),
    body: str | None = None,
    form: str | None = None,
    errors: tuple[str, ...] = ("400", "401", "403", "404"),
    project: bool = True,
) -> dict:
    """One operation. `errors` lists the error statuses it can answer with."""
    names = {"400": "BadRequest", "401": "Unauthorized", "403": "Forbidden", "404": "NotFound",
             "405": "MethodNotAllowed", "413": "PayloadTooLarge",
             "429": "TooManyRequests", "501": "NotImplemented"}  # fmt: skip
    if "401" in errors:  # every authenticated request counts against the key's rate limit
        errors = (*errors, "429")
    responses = {**success, **{code: r(names[code]) for code in errors if code not in success}}
    op = {
        "operationId": op_id,
        "summary": summary,
        "tags": [tag],
        "parameters": ([p("project_id")] if project else []) + list(parameters),
        "responses": dict(sorted(responses.items())),
    }
    if scope:
        op["description"] = f"Needs the key scope `{scope}` (a key without scopes has all)."
    if body is not None:
        content = {JSON_TYPE: {"schema": ref(body)}}
        if form is not None:
            content["multipart/form-data"] = {"schema": ref(form)}
        op["requestBody"] = {"required": False, "content": content}
        if "413" not in responses:
            op["responses"] = dict(sorted({**responses, "413": r("PayloadTooLarge")}.items()))
    return op


DELETE_REFUSED = {"405": r("MethodNotAllowed")}


def _deleted_refused(op_id: str, what: str, tag: str) -> dict:
    return operation(op_id, f"Delete {what}: refused (405)", tag, "", DELETE_REFUSED,
                     parameters=[p("id")], errors=("401", "404"))  # fmt: skip


def _computed(kind: str, what: str, extra: tuple[dict, ...] = ()) -> dict[str, dict]:
    success = {"200": {
        "description": what,
        "content": {JSON_TYPE: {"schema": ref("InsightResult")},
                    CSV_TYPE: {"schema": STR}},
    }}  # fmt: skip
    errors = ("400", "401", "403", "404", "501")
    params = [p("format"), p("refresh"), *COMPUTED_QUERY, *extra]
    return {
        "get": operation(
            f"insights_{kind}_retrieve",
            f"Compute {what} from query-string filters",
            "insights",
            "insight:read",
            success,
            parameters=params,
            errors=errors,
        ),  # fmt: skip
        "post": operation(
            f"insights_{kind}_create",
            f"Compute {what} from a filter body",
            "insights",
            "insight:read",
            success,
            parameters=params,
            body="Filters",
            errors=errors,
        ),  # fmt: skip
    }


def _people_paths(base: str) -> dict:
    """The persons paths a data point's URL names, per insight kind, and PostHog's legacy
    `/api/person/<kind>/` spelling (the key's first project)."""
    out = {}
    for kind, keys in PEOPLE_KEYS.items():
        schema = "RetentionPeople" if kind == "retention" else "PeoplePage"
        params = [p("format"), p("limit"), p("offset"), *COMPUTED_QUERY,
                  *(query(name, value) for name, value in keys),
                  *(FUNNEL_PATHS_QUERY if kind == "path" else ())]  # fmt: skip
        for path, prefix in ((f"{base}/persons/{kind}/", "persons"), (f"/api/person/{kind}/",
                                                                     "person")):  # fmt: skip
            out[path] = {method: operation(
                f"{prefix}_{kind}_{'retrieve' if method == 'get' else 'create'}",
                f"The actors behind one {kind} data point", "persons", "person:read",
                {"200": ok("a page of actors", schema)}, parameters=params,
                body="Filters" if method == "post" else None,
                project=prefix == "persons") for method in ("get", "post")}  # fmt: skip
    return out


def paths() -> dict:
    base = "/api/projects/{project_id}"
    insights = f"{base}/insights"
    page = [p("format"), p("limit"), p("offset")]
    activity = ok("the activity log, newest first", "ActivityPage")
    out = {
        f"{insights}/": {
            "get": operation(
                "insights_list",
                "List insights",
                "insights",
                "insight:read",
                {
                    "200": {
                        "description": "a page of insights (with `basic`, basic ones)",
                        "content": {
                            JSON_TYPE: {
                                "schema": {"anyOf": [ref("InsightPage"), ref("BasicInsightPage")]}
                            },
                            CSV_TYPE: {"schema": STR},
                        },
                    }
                },
                parameters=[*page, *LIST_FILTERS],
            ),  # fmt: skip
            "post": operation(
                "insights_create",
                "Create an insight",
                "insights",
                "insight:write",
                {"201": ok("the new insight", "Insight")},
                parameters=[p("format")],
                body="InsightInput",
            ),  # fmt: skip
        },
        f"{insights}/{{id}}/": {
            "get": operation(
                "insights_retrieve",
                "Retrieve an insight",
                "insights",
                "insight:read",
                {
                    "200": {
                        "description": "the insight; with `from_dashboard`, the dashboard's "
                        "filters merged in and the tile's `color` and `layouts`",
                        "content": {
                            JSON_TYPE: {
                                "schema": {
                                    "anyOf": [
                                        ref("InsightInDashboard"),
                                        ref("BasicInsightInDashboard"),
                                    ]
                                }
                            },
                            CSV_TYPE: {"schema": STR},
                        },
                    }
                },
                parameters=[
                    p("id"),
                    p("format"),
                    p("refresh"),
                    query("from_dashboard", ID, "a dashboard the insight is on"),
                    BASIC,
                ],
                errors=("400", "401", "403", "404", "501"),
            ),  # fmt: skip
            "patch": operation(
                "insights_partial_update",
                "Update an insight (deleted: true soft-deletes it, deleted: false restores it)",
                "insights",
                "insight:write",
                {"200": ok("the insight", "Insight")},
                parameters=[p("id"), p("format")],
                body="InsightInput",
            ),  # fmt: skip
            "delete": _deleted_refused("insights_destroy", "an insight", "insights"),
        },
        f"{insights}/{{id}}/activity/": {
            "get": operation(
                "insights_activity_retrieve",
                "One insight's activity log",
                "insights",
                "activity_log:read",
                {
                    "200": activity,
                    "404": {
                        "description": "an empty body for an unknown insight or project, as "
                        "PostHog answers (an unknown `format` gets the JSON "
                        "error)"
                    },
                },
                parameters=[p("id"), p("format"), p("activity_limit"), p("page")],
            ),  # fmt: skip
        },
        f"{insights}/{{id}}/viewed/": {
            "post": operation(
                "insights_viewed_create",
                "Mark an insight viewed",
                "insights",
                "insight:read",
                {"201": {"description": "an empty body"}},
                parameters=[p("id")],
                errors=("401", "403", "404"),
            ),  # fmt: skip
        },
        f"{insights}/activity/": {
            "get": operation(
                "insights_all_activity_retrieve",
                "The project's insight activity",
                "insights",
                "activity_log:read",
                {"200": activity},
                parameters=[p("format"), p("activity_limit"), p("page")],
            ),  # fmt: skip
        },
        f"{insights}/trend/": _computed(
            "trend", "a trends (or stickiness, lifecycle) insight", BREAKDOWN_PAGE
        ),
        f"{insights}/funnel/": _computed("funnel", "a funnel insight"),
        f"{insights}/funnel/correlation/": _computed(
            "funnel_correlation",
            "a funnel's correlation: `result` is `{events, skewed}`",
            CORRELATION_QUERY,
        ),
        f"{base}/persons/funnel/correlation/": {
            method: operation(
                f"persons_funnel_correlation_{name}",
                f"The persons behind a funnel correlation row ({how})",
                "persons",
                "person:read",
                {"200": ok("a page of persons", "CorrelationPersons")},
                parameters=[
                    p("format"),
                    *COMPUTED_QUERY,
                    *CORRELATION_QUERY,
                    *CORRELATION_PERSON_QUERY,
                ],
                body="Filters" if method == "post" else None,
            )  # fmt: skip
            for method, name, how in (
                ("get", "retrieve", "query-string filters"),
                ("post", "create", "a filter body"),
            )
        },
        f"{insights}/retention/": _computed("retention", "a retention insight"),
        f"{insights}/path/": _computed("path", "a paths insight", FUNNEL_PATHS_QUERY),
        f"{base}/dashboards/": {
            "get": operation(
                "dashboards_list",
                "List dashboards",
                "dashboards",
                "dashboard:read",
                {"200": ok("a page of dashboards", "DashboardPage")},
                parameters=page,
            ),  # fmt: skip
            "post": operation(
                "dashboards_create",
                "Create a dashboard",
                "dashboards",
                "dashboard:write",
                {"201": ok("the new dashboard", "Dashboard")},
                parameters=[p("format")],
                body="DashboardInput",
            ),  # fmt: skip
        },
        f"{base}/dashboards/{{id}}/": {
            "get": operation(
                "dashboards_retrieve",
                "Retrieve a dashboard with its tiles (`refresh` computes their results)",
                "dashboards",
                "dashboard:read",
                {"200": ok("the dashboard", "Dashboard")},
                parameters=[p("id"), p("format"), p("refresh")],
                errors=("400", "401", "403", "404", "501"),
            ),  # fmt: skip
            "patch": operation(
                "dashboards_partial_update",
                "Update a dashboard and its tiles",
                "dashboards",
                "dashboard:write",
                {"200": ok("the dashboard", "Dashboard")},
                parameters=[p("id"), p("format")],
                body="DashboardPatch",
            ),  # fmt: skip
            "delete": _deleted_refused("dashboards_destroy", "a dashboard", "dashboards"),
        },
        f"{base}/actions/": {
            "get": operation(
                "actions_list",
                "List actions",
                "actions",
                "action:read",
                {"200": ok("a page of actions", "ActionPage")},
                parameters=page,
            ),  # fmt: skip
            "post": operation(
                "actions_create",
                "Create an action",
                "actions",
                "action:write",
                {"201": ok("the new action", "Action")},
                parameters=[p("format")],
                body="ActionInput",
            ),  # fmt: skip
        },
        f"{base}/actions/{{id}}/": {
            "get": operation(
                "actions_retrieve",
                "Retrieve an action",
                "actions",
                "action:read",
                {"200": ok("the action", "Action")},
                parameters=[p("id"), p("format")],
            ),  # fmt: skip
            "patch": operation(
                "actions_partial_update",
                "Update an action",
                "actions",
                "action:write",
                {"200": ok("the action", "Action")},
                parameters=[p("id"), p("format")],
                body="ActionInput",
            ),  # fmt: skip
            "delete": _deleted_refused("actions_destroy", "an action", "actions"),
        },
        f"{base}/cohorts/": {
            "get": operation(
                "cohorts_list",
                "List cohorts",
                "cohorts",
                "cohort:read",
                {"200": ok("a page of cohorts", "CohortPage")},
                parameters=page,
            ),  # fmt: skip
            "post": operation(
                "cohorts_create",
                "Create a cohort (static: with a CSV)",
                "cohorts",
                "cohort:write",
                {"201": ok("the new cohort", "Cohort")},
                parameters=[p("format")],
                body="CohortInput",
                form="CohortForm",
            ),  # fmt: skip
        },
        f"{base}/cohorts/{{id}}/": {
            "get": operation(
                "cohorts_retrieve",
                "Retrieve a cohort",
                "cohorts",
                "cohort:read",
                {"200": ok("the cohort", "Cohort")},
                parameters=[p("id"), p("format")],
            ),  # fmt: skip
            "patch": operation(
                "cohorts_partial_update",
                "Update a cohort (a static one: a new CSV replaces its people)",
                "cohorts",
                "cohort:write",
                {"200": ok("the cohort", "Cohort")},
                parameters=[p("id"), p("format")],
                body="CohortInput",
                form="CohortForm",
            ),  # fmt: skip
            "delete": _deleted_refused("cohorts_destroy", "a cohort", "cohorts"),
        },
        f"{base}/cohorts/{{id}}/persons/": {
            "get": operation(
                "cohorts_persons_retrieve",
                "The cohort's people now",
                "cohorts",
                "cohort:read",
                {"200": ok("a page of people", "PersonPage")},
                parameters=[p("id"), *page],
            ),  # fmt: skip
        },
        f"{base}/": {
            "get": operation(
                "projects_retrieve",
                "Project settings",
                "projects",
                "project:read",
                {"200": ok("the project", "Project")},
                parameters=[p("format")],
                errors=("401", "403", "404"),
            ),  # fmt: skip
            "patch": operation(
                "projects_partial_update",
                "Update project settings",
                "projects",
                "project:write",
                {"200": ok("the project", "Project")},
                parameters=[p("format")],
                body="ProjectPatch",
            ),  # fmt: skip
        },
        "/api/users/@me/": {
            "get": operation(
                "users_me",
                "The key's user",
                "users",
                "",
                {"200": ok("the user", "Me", csv=False)},
                errors=("401",),
                project=False,
            ),  # fmt: skip
        },
        "/api/schema/": {
            "get": {
                "operationId": "schema_retrieve",
                "summary": "This document",
                "tags": ["schema"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "the OpenAPI document",
                        "content": {JSON_TYPE: {"schema": OBJECT}},
                    }
                },
            },  # fmt: skip
        },
    }
    out.update(_people_paths(base))
    return out


@cache
def _document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Spyglass",
            "version": "0.1.0",
            "description": (
                "PostHog's Insights REST API as Spyglass serves it. Every path also answers "
                "without its trailing slash. The personal API key (`phx_...`) is read from "
                "`Authorization: Bearer`, else a JSON body's `personal_api_key`, else the "
                "query string's. Errors are `{type, code, detail, attr}`."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"PersonalAPIKey": []}, {"PersonalAPIKeyQuery": []}],
        "tags": [{"name": n} for n in
                 ("insights", "dashboards", "actions", "cohorts", "persons", "projects", "users",
                  "schema")],
        "paths": paths(),
        "components": {
            "securitySchemes": {
                "PersonalAPIKey": {"type": "http", "scheme": "bearer",
                                   "description": "a personal API key, `phx_...`"},
                "PersonalAPIKeyQuery": {"type": "apiKey", "in": "query",
                                        "name": "personal_api_key"},
            },
            "schemas": SCHEMAS,
            "parameters": PARAMETERS,
            "responses": RESPONSES,
        },
    }  # fmt: skip


def openapi_document() -> dict:
    """The document (a fresh copy: callers may change theirs)."""
    import copy

    return copy.deepcopy(_document())


async def schema_endpoint(request: Request) -> JSONResponse:
    document = openapi_document()
    document["servers"] = [{"url": str(request.base_url).rstrip("/") or "/"}]
    return JSONResponse(document)
