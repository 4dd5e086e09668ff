"""The REST shim: each PostHog path is one GraphQL document plus a mapping of parameters.

Aliases in the documents spell PostHog's snake_case keys, so the GraphQL `data` is the REST
body. What GraphQL does not do — status codes, empty bodies (201, 405), absolute pagination
URLs, CSV — is added here. A partial GraphQL result is never returned as a REST success.
"""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import urlencode

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.auth import authenticate
from gateway.errors import NotFound, SpyglassError, ValidationError
from gateway.scalars import MAX_SAFE
from gateway.schema import Context, shim_schema
from gateway.tenancy import check_project_settings
from resolvers.dashboards import check_fields as check_dashboard
from resolvers.dashboards import check_tile
from resolvers.funnel_correlation_people import page_of
from resolvers.trends_filter import breakdown_page

USER = "{ id uuid distinct_id: distinctId first_name: firstName email }"
INSIGHT = " ".join([
    "id", "short_id: shortId", "name", "derived_name: derivedName", "filters",
    "filters_hash: filtersHash", "order", "deleted", "dashboards", "last_refresh: lastRefresh",
    "refreshing", "result", "created_at: createdAt", f"created_by: createdBy {USER}",
    "description", "updated_at: updatedAt", "tags", "favorited", "saved",
    "last_modified_at: lastModifiedAt", f"last_modified_by: lastModifiedBy {USER}",
    "is_sample: isSample", "effective_restriction_level: effectiveRestrictionLevel",
    "effective_privilege_level: effectivePrivilegeLevel", "timezone", "is_cached: isCached",
])  # fmt: skip
ACTIVITY = ("id activity scope item_id: itemId detail created_at: createdAt "
            "user { first_name: firstName email is_system: isSystem }")  # fmt: skip

# PostHog's basic serializer (`?basic=1` on list and retrieve): fewer fields, no result.
BASIC_INSIGHT = " ".join([
    "id", "short_id: shortId", "name", "derived_name: derivedName", "filters", "dashboards",
    "description", "last_refresh: lastRefresh", "refreshing", "saved", "tags",
    "updated_at: updatedAt", f"created_by: createdBy {USER}", "created_at: createdAt",
    "last_modified_at: lastModifiedAt", "favorited",
])  # fmt: skip


def _list_insights(fields: str) -> str:
    return f"""
query ($p: String!, $limit: Int!, $offset: Int!, $createdBy: BigInt, $shortId: String,
       $saved: Boolean, $favorited: Boolean, $search: String, $insight: String, $user: Boolean,
       $dashboards: [BigInt!], $dateFrom: String, $dateTo: String, $myLastViewed: Boolean,
       $order: String) {{
  page: insights(projectId: $p, limit: $limit, offset: $offset, createdBy: $createdBy,
                 shortId: $shortId, saved: $saved, favorited: $favorited, search: $search,
                 insight: $insight, user: $user, dashboards: $dashboards, dateFrom: $dateFrom,
                 dateTo: $dateTo, myLastViewed: $myLastViewed, order: $order) {{
    count results {{ {fields} }}
  }}
}}"""


LIST_INSIGHTS, LIST_BASIC_INSIGHTS = _list_insights(INSIGHT), _list_insights(BASIC_INSIGHT)


def _get_insight(fields: str) -> str:
    return f"""query ($p: String!, $id: BigInt!, $fromDashboard: BigInt, $refresh: JSON) {{
  insight(projectId: $p, id: $id, fromDashboard: $fromDashboard, refresh: $refresh) {{
    {fields} color layouts }} }}"""


GET_INSIGHT, GET_BASIC_INSIGHT = _get_insight(INSIGHT), _get_insight(BASIC_INSIGHT)
CREATE_INSIGHT = f"""mutation ($p: String!, $input: InsightInput!) {{
  insight: createInsight(projectId: $p, input: $input) {{ {INSIGHT} }} }}"""
UPDATE_INSIGHT = f"""mutation ($p: String!, $id: BigInt!, $input: InsightInput!) {{
  insight: updateInsight(projectId: $p, id: $id, input: $input) {{ {INSIGHT} }} }}"""
VIEWED = "mutation ($p: String!, $id: BigInt!) { markInsightViewed(projectId: $p, id: $id) }"
ACTIVITY_PAGE = f"""query ($p: String!, $id: BigInt, $limit: Int!, $page: Int!) {{
  page: insightActivity(projectId: $p, id: $id, limit: $limit, page: $page) {{
    total_count: totalCount results {{ {ACTIVITY} }} }} }}"""

DASHBOARD = " ".join([
    "id", "name", "description", "pinned", "created_at: createdAt",
    f"created_by: createdBy {USER}", "last_accessed_at: lastAccessedAt", "is_shared: isShared",
    "deleted", "creation_mode: creationMode", "filters", "tags",
    "restriction_level: restrictionLevel", "effective_restriction_level: effectiveRestrictionLevel",
    "effective_privilege_level: effectivePrivilegeLevel", "team_id: teamId",
    "tiles { id color layouts order text last_refresh: lastRefresh is_cached: isCached "
    f"insight {{ {INSIGHT} }} }}",
])  # fmt: skip
LIST_DASHBOARDS = f"""query ($p: String!, $limit: Int!, $offset: Int!) {{
  page: dashboards(projectId: $p, limit: $limit, offset: $offset) {{
    count results {{ {DASHBOARD} }} }} }}"""
GET_DASHBOARD = f"""query ($p: String!, $id: BigInt!, $refresh: JSON) {{
  dashboard(projectId: $p, id: $id, refresh: $refresh) {{ {DASHBOARD} }} }}"""
CREATE_DASHBOARD = f"""mutation ($p: String!, $input: DashboardInput!) {{
  dashboard: createDashboard(projectId: $p, input: $input) {{ {DASHBOARD} }} }}"""
UPDATE_DASHBOARD = f"""mutation ($p: String!, $id: BigInt!, $input: DashboardInput!) {{
  dashboard: updateDashboard(projectId: $p, id: $id, input: $input) {{ {DASHBOARD} }} }}"""
UPDATE_TILE = """mutation ($p: String!, $d: BigInt!, $t: BigInt!, $layouts: JSON,
                           $color: String) {
  updateDashboardTile(projectId: $p, dashboardId: $d, tileId: $t, layouts: $layouts,
                      color: $color) }"""
ENVELOPE = ("result last_refresh: lastRefresh is_cached: isCached timezone "
            "filters_hash: filtersHash filters")  # fmt: skip
COMPUTE = f"""query ($p: String!, $filters: JSON!, $refresh: JSON) {{
  r: insightResult(projectId: $p, filters: $filters, refresh: $refresh) {{ {ENVELOPE} }} }}"""
CORRELATION = f"""query ($p: String!, $filters: JSON!, $refresh: JSON) {{
  r: funnelCorrelation(projectId: $p, filters: $filters, refresh: $refresh) {{ {ENVELOPE} }} }}"""
CORRELATION_PERSONS = """query ($p: String!, $filters: JSON!) {
  page: funnelCorrelationPersons(projectId: $p, filters: $filters) {
    count results { id distinct_ids: distinctIds } } }"""
# path → the insight kinds it serves (the first is the default)
COMPUTED_PATHS = {"trend": ("TRENDS", "STICKINESS", "LIFECYCLE"), "funnel": ("FUNNELS",),
                  "retention": ("RETENTION",), "path": ("PATHS",)}  # fmt: skip
ACTION = (
    f"id name description steps deleted tags created_at: createdAt created_by: createdBy {USER}"
)
LIST_ACTIONS = f"""query ($p: String!, $limit: Int!, $offset: Int!) {{
  page: actions(projectId: $p, limit: $limit, offset: $offset) {{
    count results {{ {ACTION} }} }} }}"""
GET_ACTION = f"""query ($p: String!, $id: BigInt!) {{
  action(projectId: $p, id: $id) {{ {ACTION} }} }}"""
CREATE_ACTION = f"""mutation ($p: String!, $input: JSON!) {{
  action: createAction(projectId: $p, input: $input) {{ {ACTION} }} }}"""
UPDATE_ACTION = f"""mutation ($p: String!, $id: BigInt!, $input: JSON!) {{
  action: updateAction(projectId: $p, id: $id, input: $input) {{ {ACTION} }} }}"""
COHORT = (
    "id name description is_static: isStatic filters groups deleted count created_at: createdAt"
)
LIST_COHORTS = f"""query ($p: String!, $limit: Int!, $offset: Int!) {{
  page: cohorts(projectId: $p, limit: $limit, offset: $offset) {{
    count results {{ {COHORT} }} }} }}"""
GET_COHORT = f"""query ($p: String!, $id: BigInt!) {{
  cohort(projectId: $p, id: $id) {{ {COHORT} }} }}"""
CREATE_COHORT = f"""mutation ($p: String!, $input: JSON!, $csv: String) {{
  cohort: createCohort(projectId: $p, input: $input, csv: $csv) {{ {COHORT} }} }}"""
UPDATE_COHORT = f"""mutation ($p: String!, $id: BigInt!, $input: JSON!, $csv: String) {{
  cohort: updateCohort(projectId: $p, id: $id, input: $input, csv: $csv) {{ {COHORT} }} }}"""
COHORT_PERSONS = """query ($p: String!, $id: BigInt!, $limit: Int!, $offset: Int!) {
  page: cohortPersons(projectId: $p, id: $id, limit: $limit, offset: $offset) {
    count results { id distinct_ids: distinctIds } } }"""
DASHBOARD_FIELDS = ("name", "description", "pinned", "tags", "filters", "deleted")
PROJECT = ("id organization name api_token: apiToken timezone week_start_day: weekStartDay "
           "test_account_filters: testAccountFilters path_cleaning_filters: pathCleaningFilters "
           "created_at: createdAt team_id: id project_id: id "
           "has_completed_onboarding_for: hasCompletedOnboardingFor")  # fmt: skip
GET_PROJECT = f"query ($p: String!) {{ project(projectId: $p) {{ {PROJECT} }} }}"
UPDATE_PROJECT = f"""mutation ($p: String!, $input: ProjectInput!) {{
  project: updateProject(projectId: $p, input: $input) {{ {PROJECT} }} }}"""
PROJECT_INPUT = {"name": "name", "timezone": "timezone", "week_start_day": "weekStartDay",
                 "test_account_filters": "testAccountFilters",
                 "path_cleaning_filters": "pathCleaningFilters"}  # fmt: skip

INPUT_FIELDS = {"name": "name", "derived_name": "derivedName", "filters": "filters",
                "order": "order", "deleted": "deleted", "dashboards": "dashboards",
                "description": "description", "tags": "tags", "favorited": "favorited",
                "saved": "saved"}  # fmt: skip


_VARIABLE_FIELD = re.compile(r"invalid value at \.(\w+)")
_VARIABLE = re.compile(r"Variable '\$(\w+)' (?:got|has) invalid value")
_REST_NAMES = {v: k for k, v in INPUT_FIELDS.items()}


def bool_param(value: str | None, attr: str) -> bool | None:
    if value is None or value == "":
        return None
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValidationError(f"{attr} must be true or false", attr=attr)


def int_param(value: str | None, attr: str, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValidationError(f"{attr} must be an integer", attr=attr) from None


async def run(request: Request, document: str, variables: dict) -> dict:
    """Execute a document as the caller; a GraphQL error becomes the REST error it carries."""
    services = request.app.state.spyglass
    caller = await authenticate(request, services)
    response_format(request)
    if isinstance(variables.get("id"), int) and variables["id"] > MAX_SAFE:
        raise NotFound("Not found.")  # ids stay below 2^53: a larger path id names nothing
    result = await shim_schema.execute(document, variable_values=variables,
                                  context_value=Context(services, caller))  # fmt: skip
    if result.errors:
        original = result.errors[0].original_error
        if isinstance(original, SpyglassError):
            raise original
        if (result.errors[0].extensions or {}).get("code") == "internal_error":
            raise SpyglassError("A server error occurred.")  # masked: a 500, never a 400
        message = result.errors[0].message
        field = _VARIABLE_FIELD.search(message)
        attr = _REST_NAMES.get(field.group(1), field.group(1)) if field else None
        if attr is None and (variable := _VARIABLE.match(message)):  # a query parameter's
            attr = re.sub(r"([A-Z])", r"_\1", variable.group(1)).lower()  # createdBy → created_by
        raise ValidationError(message.split("; ")[0], attr=attr)
    return result.data


async def body(request: Request) -> dict:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):  # not JSON, or not UTF-8 at all
        raise ValidationError("JSON parse error", code="parse_error") from None
    if not isinstance(parsed, dict):
        raise ValidationError("the body must be a JSON object", code="parse_error")
    return parsed


def _as_input(fields: dict) -> dict:
    # GraphQL would coerce a lone value into a one-item list; PostHog's serializer refuses it.
    for key in ("tags", "dashboards"):
        if key in fields and fields[key] is not None and not isinstance(fields[key], list):
            kind = type(fields[key]).__name__
            raise ValidationError(f"Expected a list of items but got type {kind}.", attr=key,
                                  code="not_a_list")  # fmt: skip
    return {INPUT_FIELDS[k]: v for k, v in fields.items() if k in INPUT_FIELDS}


def page_url(request: Request, **changes) -> str:
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return str(request.url.replace(query=query))


# -- CSV (djangorestframework-csv's flattening; lists: one row per item) ----------------------


def flatten(value, prefix: str = "", out: dict | None = None) -> dict:
    out = {} if out is None else out
    if isinstance(value, dict):
        for key, item in value.items():
            flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            flatten(item, f"{prefix}.{index}" if prefix else str(index), out)
    else:
        out[prefix] = value
    return out


def csv_text(rows: list[dict]) -> str:
    flat = [flatten(r) for r in rows]
    header = sorted({k for row in flat for k in row})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in flat:
        writer.writerow(["" if row.get(k) is None else row.get(k) for k in header])
    return buffer.getvalue()


def response_format(request: Request) -> str:
    """`json` or `csv` from `?format=` or the Accept header. An unknown format is a 404, found
    before anything runs (as DRF negotiates before the view): a PATCH asked for in a format
    that cannot be answered writes nothing."""
    fmt = request.query_params.get("format") or (
        "csv" if "text/csv" in request.headers.get("accept", "") else "json")  # fmt: skip
    if fmt not in ("json", "csv"):
        raise NotFound(f"Not found: format {fmt!r} is not available (json, csv).")
    return fmt


def respond(request: Request, payload, *, status: int = 200, rows: list | None = None):
    if response_format(request) == "json":
        return JSONResponse(payload, status_code=status)
    return Response(csv_text(rows if rows is not None else [payload]), status_code=status,
                    media_type="text/csv; charset=utf-8")  # fmt: skip


# -- endpoints ------------------------------------------------------------------------------


async def insights_collection(request: Request):
    p = request.path_params["project_id"]
    if request.method == "POST":
        data = await run(request, CREATE_INSIGHT, {"p": p, "input": _as_input(await body(request))})
        return respond(request, data["insight"], status=201)
    q = request.query_params
    limit = int_param(q.get("limit"), "limit", 100)
    offset = int_param(q.get("offset"), "offset", 0)
    dashboards = q.get("dashboards")
    variables = {
        "p": p, "limit": limit, "offset": offset,
        "createdBy": int_param(q.get("created_by"), "created_by"),
        "shortId": q.get("short_id") or None, "saved": bool_param(q.get("saved"), "saved"),
        "favorited": bool_param(q.get("favorited"), "favorited"),
        "search": q.get("search") or None, "insight": q.get("insight") or None,
        "user": bool_param(q.get("user"), "user"),
        "dashboards": _json_ids(dashboards, "dashboards") if dashboards else None,
        "dateFrom": q.get("date_from") or None, "dateTo": q.get("date_to") or None,
        "myLastViewed": bool_param(q.get("my_last_viewed"), "my_last_viewed"),
        # PostHog's parameter is `order`; DRF's usual `ordering` is read too.
        "order": q.get("order") or q.get("ordering") or None,
    }  # fmt: skip
    document = LIST_BASIC_INSIGHTS if bool_param(q.get("basic"), "basic") else LIST_INSIGHTS
    try:
        page = (await run(request, document, variables))["page"]
    except ValidationError as error:
        if error.attr == "order" and "order" not in q:
            error.attr = "ordering"  # name the parameter the client sent
        raise
    return respond(request, _limit_offset_page(request, page, limit, offset),
                   rows=page["results"])  # fmt: skip


def _json_ids(text: str, attr: str) -> list[int]:
    try:
        ids = json.loads(text)
    except json.JSONDecodeError:
        raise ValidationError(f"{attr} must be a JSON list of ids", attr=attr) from None
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise ValidationError(f"{attr} must be a JSON list of ids", attr=attr)
    return ids


async def insight_item(request: Request):
    p, insight_id = request.path_params["project_id"], request.path_params["id"]
    if request.method == "DELETE":
        return await refuse_delete(request)
    if request.method == "PATCH":
        variables = {"p": p, "id": insight_id, "input": _as_input(await body(request))}
        return respond(request, (await run(request, UPDATE_INSIGHT, variables))["insight"])
    q = request.query_params
    variables = {"p": p, "id": insight_id,
                 "fromDashboard": int_param(q.get("from_dashboard"), "from_dashboard"),
                 "refresh": q.get("refresh")}  # fmt: skip
    document = GET_BASIC_INSIGHT if bool_param(q.get("basic"), "basic") else GET_INSIGHT
    insight = (await run(request, document, variables))["insight"]
    if variables["fromDashboard"] is None:  # tile fields only in a dashboard's context
        insight.pop("color"), insight.pop("layouts")
    absolute_people_urls(request, insight.get("result"))
    return respond(request, insight)


async def insight_viewed(request: Request):
    p, insight_id = request.path_params["project_id"], request.path_params["id"]
    await run(request, VIEWED, {"p": p, "id": insight_id})
    return Response(status_code=201)


async def insight_activity(request: Request):
    p = request.path_params["project_id"]
    insight_id = request.path_params.get("id")
    q = request.query_params
    limit, page = int_param(q.get("limit"), "limit", 10), int_param(q.get("page"), "page", 1)
    variables = {"p": p, "id": insight_id, "limit": limit, "page": page}
    try:
        data = (await run(request, ACTIVITY_PAGE, variables))["page"]
    except NotFound:
        if insight_id is not None:  # PostHog answers an unknown id with an empty 404
            return Response(status_code=404)
        raise
    total = data["total_count"]
    payload = {
        "results": data["results"],
        "next": page_url(request, page=page + 1) if page * limit < total else None,
        "previous": page_url(request, page=page - 1) if page > 1 else None,
        "total_count": total,
    }
    return respond(request, payload, rows=data["results"])


def _limit_offset_page(request: Request, page: dict, limit: int, offset: int) -> dict:
    count = page["count"]
    return {
        "count": count,
        "next": page_url(request, limit=limit, offset=offset + limit)
        if offset + limit < count else None,
        "previous": None if offset == 0 else page_url(
            request, limit=limit, offset=max(offset - limit, 0) or None),
        "results": page["results"],
    }  # fmt: skip


async def list_page(request: Request, document: str, variables: dict):
    """A limit/offset page of a list document (its result aliased `page`), as PostHog pages."""
    q = request.query_params
    limit, offset = int_param(q.get("limit"), "limit", 100), int_param(q.get("offset"), "offset", 0)
    page = (await run(request, document, {**variables, "limit": limit, "offset": offset}))["page"]
    return respond(request, _limit_offset_page(request, page, limit, offset),
                   rows=page["results"])  # fmt: skip


async def refuse_delete(request: Request) -> Response:
    """PostHog never deletes over REST: 405 with an empty body (soft delete is a PATCH)."""
    await authenticate(request, request.app.state.spyglass)
    return Response(status_code=405)


async def actions_collection(request: Request):
    p = request.path_params["project_id"]
    if request.method == "POST":
        data = await run(request, CREATE_ACTION, {"p": p, "input": await body(request)})
        return respond(request, data["action"], status=201)
    return await list_page(request, LIST_ACTIONS, {"p": p})


async def action_item(request: Request):
    p, action_id = request.path_params["project_id"], request.path_params["id"]
    if request.method == "DELETE":
        return await refuse_delete(request)
    if request.method == "PATCH":
        variables = {"p": p, "id": action_id, "input": await body(request)}
        return respond(request, (await run(request, UPDATE_ACTION, variables))["action"])
    return respond(request, (await run(request, GET_ACTION, {"p": p, "id": action_id}))["action"])


async def cohort_fields(request: Request) -> tuple[dict, str | None]:
    """JSON, or PostHog's multipart upload (fields plus a `csv` file of distinct ids)."""
    if "multipart/form-data" in request.headers.get("content-type", ""):
        form = await request.form()
        upload = form.get("csv")
        text = (await upload.read()).decode("utf-8", "replace") if upload is not None and \
            hasattr(upload, "read") else None  # fmt: skip
        fields = {k: v for k, v in form.items() if k != "csv"}
        if "is_static" in fields:
            fields["is_static"] = str(fields["is_static"]).lower() in ("true", "1")
        return fields, text
    fields = await body(request)
    text = fields.pop("csv", None)
    if text is not None and not isinstance(text, str):
        raise ValidationError("csv must be text", attr="csv")
    return fields, text


async def cohorts_collection(request: Request):
    p = request.path_params["project_id"]
    if request.method == "POST":
        fields, text = await cohort_fields(request)
        data = await run(request, CREATE_COHORT, {"p": p, "input": fields, "csv": text})
        return respond(request, data["cohort"], status=201)
    return await list_page(request, LIST_COHORTS, {"p": p})


async def cohort_item(request: Request):
    p, cohort_id = request.path_params["project_id"], request.path_params["id"]
    if request.method == "DELETE":
        return await refuse_delete(request)
    if request.method == "PATCH":
        fields, text = await cohort_fields(request)
        variables = {"p": p, "id": cohort_id, "input": fields, "csv": text}
        return respond(request, (await run(request, UPDATE_COHORT, variables))["cohort"])
    return respond(request, (await run(request, GET_COHORT, {"p": p, "id": cohort_id}))["cohort"])


async def cohort_persons(request: Request):
    p, cohort_id = request.path_params["project_id"], request.path_params["id"]
    return await list_page(request, COHORT_PERSONS, {"p": p, "id": cohort_id})


async def dashboards_collection(request: Request):
    p = request.path_params["project_id"]
    if request.method == "POST":
        fields = {k: v for k, v in (await body(request)).items() if k in DASHBOARD_FIELDS}
        data = await run(request, CREATE_DASHBOARD, {"p": p, "input": fields})
        return respond(request, data["dashboard"], status=201)
    return await list_page(request, LIST_DASHBOARDS, {"p": p})


async def dashboard_item(request: Request):
    p, dashboard_id = request.path_params["project_id"], request.path_params["id"]
    if request.method == "DELETE":
        return await refuse_delete(request)
    if request.method == "PATCH":
        patch = await body(request)
        if not isinstance(patch.get("tiles") or [], list):
            raise ValidationError("tiles must be a list", attr="tiles")
        tiles = patch.get("tiles") or []
        for tile in tiles:  # PostHog edits tile layouts and colours here
            if not isinstance(tile, dict) or not isinstance(tile.get("id"), int):
                raise ValidationError("each tile needs its id", attr="tiles")
            check_tile(tile)
        fields = {k: v for k, v in patch.items() if k in DASHBOARD_FIELDS}
        check_dashboard(fields)  # everything is validated before anything is written
        data = await run(request, UPDATE_DASHBOARD, {"p": p, "id": dashboard_id, "input": fields})
        for tile in tiles:
            await run(request, UPDATE_TILE, {"p": p, "d": dashboard_id, "t": tile["id"],
                                             "layouts": tile.get("layouts"),
                                             "color": tile.get("color")})  # fmt: skip
        if tiles:
            data = await run(request, GET_DASHBOARD, {"p": p, "id": dashboard_id})
        return respond(request, data["dashboard"])
    variables = {"p": p, "id": dashboard_id, "refresh": request.query_params.get("refresh")}
    data = await run(request, GET_DASHBOARD, variables)
    return respond(request, data["dashboard"])


async def project_detail(request: Request):
    """PostHog's project settings; other keys of a PATCH body (read-only ones) are ignored."""
    p = request.path_params["project_id"]
    if request.method == "PATCH":
        fields = {k: v for k, v in (await body(request)).items() if k in PROJECT_INPUT}
        check_project_settings(fields)  # PostHog's 400s, before GraphQL's own coercion
        variables = {"p": p, "input": {PROJECT_INPUT[k]: v for k, v in fields.items()}}
        return respond(request, (await run(request, UPDATE_PROJECT, variables))["project"])
    return respond(request, (await run(request, GET_PROJECT, {"p": p}))["project"])


async def request_filters(request: Request) -> dict:
    """GET query strings (lists JSON-encoded) or a POST body: PostHog clients send both."""
    filters = dict(request.query_params)
    if request.method == "POST":
        filters.update(await body(request))
    return filters


async def computed_insight(request: Request):
    return await _computed(request, request.path_params["kind"], COMPUTE)


async def funnel_correlation(request: Request):
    """Spec funnels.md §5: a funnel filter's correlation (cached apart from the funnel)."""
    return await _computed(request, "funnel", CORRELATION)


async def funnel_correlation_persons(request: Request):
    """The actors behind one correlation row, in PostHog's funnel-persons shape."""
    p = request.path_params["project_id"]
    filters = await request_filters(request)
    limit, offset = page_of(filters)
    page = (await run(request, CORRELATION_PERSONS, {"p": p, "filters": filters}))["page"]
    people = [{"id": r["id"], "uuid": r["id"], "distinct_ids": r["distinct_ids"]}
              for r in page["results"]]  # fmt: skip
    more = offset + len(people) < page["count"]
    payload = {
        "results": [{"people": people, "count": len(people)}],
        "next": page_url(request, funnel_correlation_person_offset=offset + limit) if more
        else None,
        "missing_persons": 0,
    }  # fmt: skip
    return respond(request, payload, rows=people)


async def _computed(request: Request, path: str, document: str):
    p = request.path_params["project_id"]
    filters = await request_filters(request)
    refresh = filters.pop("refresh", None)
    kinds = COMPUTED_PATHS[path]
    if str(filters.get("insight") or "").upper() not in kinds:
        shown = str(filters.get("shown_as") or "").upper()
        filters["insight"] = shown if shown in kinds else kinds[0]
    data = (await run(request, document, {"p": p, "filters": filters, "refresh": refresh}))["r"]
    applied = data.pop("filters")
    if path == "trend" and response_format(request) == "csv":
        return trend_csv(data["result"] or [], applied)
    absolute_people_urls(request, data["result"])
    following = breakdown_next(request, applied, data["result"]) if path == "trend" else None
    return respond(request, {**data, "next": following})


def breakdown_next(request: Request, applied: dict, result) -> str | None:
    """PostHog's `next` on a trend: this request with `offset` moved on by the breakdown limit,
    when the page of breakdown values is full (there may be more). Without a breakdown there
    is nothing to page (PostHog would still link to the same series)."""
    if not (applied.get("breakdown") or applied.get("breakdowns")) or not isinstance(result, list):
        return None
    limit, offset = breakdown_page(applied, str(applied.get("display") or ""))
    return page_url(request, offset=offset + limit) if len(result) >= limit else None


def absolute_people_urls(request: Request, result) -> None:
    """PostHog sends funnel steps' and retention cells' people URLs absolute; the engines
    (which know no host) write them relative to the API's root."""
    base = str(request.base_url)
    for item in result if isinstance(result, list) else []:
        if isinstance(item, list):
            absolute_people_urls(request, item)
        elif isinstance(item, dict):
            for key in ("converted_people_url", "dropped_people_url"):
                if isinstance(item.get(key), str) and item[key].startswith("api/"):
                    item[key] = base + item[key]
            for cell in item.get("values") or []:
                if isinstance(cell, dict) and str(cell.get("people_url", "")).startswith("api/"):
                    cell["people_url"] = base + cell["people_url"]


def trend_csv(series: list[dict], filters: dict) -> Response:
    """PostHog's trend CSV: one row per series, a column per date label."""
    rows = [{"series": (s.get("action") or {}).get("custom_name") or s.get("label"),
             **dict(zip(s.get("labels") or [], s.get("data") or [], strict=False))}
            for s in series]  # fmt: skip
    header = list(rows[0]) if rows else ["series"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    since = str(filters.get("date_from") or "up until")[:10]
    until = str(filters.get("date_to") or "now")[:10]
    name = f"export ({since} -> {until}) from PostHog.csv"
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


def _both(path: str, endpoint, methods: list[str]) -> list[Route]:
    """PostHog's router makes the trailing slash optional, with no redirect."""
    return [Route(path, endpoint, methods=methods), Route(path + "/", endpoint, methods=methods)]


class Choice(Convertor):
    """A path segment from a closed list of words."""

    def __init__(self, *words: str):
        self.regex = "|".join(words)

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("insight_kind", Choice(*COMPUTED_PATHS))


def routes() -> list[Route]:
    base = "/api/projects/{project_id}/insights"
    return [
        *_both("/api/projects/{project_id}", project_detail, ["GET", "PATCH"]),
        *_both(base + "/activity", insight_activity, ["GET"]),
        *_both(base + "/funnel/correlation", funnel_correlation, ["GET", "POST"]),
        *_both(base + "/{kind:insight_kind}", computed_insight, ["GET", "POST"]),
        *_both(base + "/{id:int}/activity", insight_activity, ["GET"]),
        *_both(base + "/{id:int}/viewed", insight_viewed, ["POST"]),
        *_both(base + "/{id:int}", insight_item, ["GET", "PATCH", "DELETE"]),
        *_both(base, insights_collection, ["GET", "POST"]),
        *_both(
            "/api/projects/{project_id}/dashboards/{id:int}",
            dashboard_item,
            ["GET", "PATCH", "DELETE"],
        ),
        *_both("/api/projects/{project_id}/dashboards", dashboards_collection, ["GET", "POST"]),
        *_both(
            "/api/projects/{project_id}/actions/{id:int}", action_item, ["GET", "PATCH", "DELETE"]
        ),
        *_both("/api/projects/{project_id}/actions", actions_collection, ["GET", "POST"]),
        *_both("/api/projects/{project_id}/cohorts/{id:int}/persons", cohort_persons, ["GET"]),
        *_both(
            "/api/projects/{project_id}/cohorts/{id:int}", cohort_item, ["GET", "PATCH", "DELETE"]
        ),
        *_both("/api/projects/{project_id}/cohorts", cohorts_collection, ["GET", "POST"]),
        *_both(
            "/api/projects/{project_id}/persons/funnel/correlation",
            funnel_correlation_persons,
            ["GET", "POST"],
        ),
    ]
