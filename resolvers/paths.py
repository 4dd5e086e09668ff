"""Paths: the journeys people take, as weighted edges between numbered nodes (spec
retention_paths.md part B).

Validate the filter → one query makes every event a path item (B2 rules, cleaning and
groupings, B4), splits each person's events into 30-minute sessions, collapses repeats, cuts
each session by the start/end points and the step limit (B3, B5) and counts the transitions
(B6) → edges ordered and limited by ClickHouse; orphans pruned here (at most `edge_limit`
edges). Every user value — names, points, regexes, aliases, patterns — is a bound parameter.
Funnel paths (B7) narrow the same query to a funnel's people and their time ranges
(resolvers/funnel_paths.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import sql
from gateway.errors import ValidationError
from resolvers.dates import zone
from resolvers.filters import json_value
from resolvers.funnel_paths import NO_FUNNEL, FunnelPaths, funnel_people
from resolvers.funnel_paths import parse as parse_funnel_paths
from resolvers.retention import PERSON, global_filters, parse_moment, wall
from resolvers.where import Context, Params

SESSION_GAP_US = 30 * 60 * 1_000_000  # B3: a gap of at least 30 minutes opens a session
DEFAULT_STEP_LIMIT = 5
MAX_STEP_LIMIT = 50
DEFAULT_EDGE_LIMIT = 50
MAX_EDGE_LIMIT = 10_000
MAX_PAGE = 10_000
ELLIPSIS = "..."
EVENT_TYPES = ("$pageview", "$screen", "custom_event", "hogql")
# RE2 (ClickHouse's engine) has no look-around and no backreferences.
_NOT_RE2 = re.compile(r"\(\?(?:=|!|<=|<!)|\\[1-9]")


def template(name: str) -> str:
    return sql.load(f"paths/{name}")


# -- the request ------------------------------------------------------------------------------


def _list(filters: dict, attr: str) -> list:
    raw = filters.get(attr)
    if raw in (None, ""):
        return []
    value = json_value(raw, attr)
    if not isinstance(value, list):
        raise ValidationError(f"{attr} must be a list", attr=attr)
    return value


def _int(filters: dict, attr: str, default: int | None, low: int, high: int) -> int | None:
    raw = filters.get(attr)
    if raw in (None, ""):
        return default
    if isinstance(raw, bool) or not (
        isinstance(raw, int) or (isinstance(raw, str) and re.fullmatch(r"\s*-?\d+\s*", raw))
    ):
        raise ValidationError(f"{attr} must be an integer", attr=attr)
    value = int(raw)
    if not low <= value <= high:
        raise ValidationError(f"{attr} must be between {low} and {high}", attr=attr)
    return value


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def _point(filters: dict, attr: str) -> str | None:
    value = filters.get(attr)
    if value in (None, ""):
        return None
    text = str(value)
    return text[:-1] if len(text) > 1 and text.endswith("/") else text  # B5: one trailing /


def _check_regex(pattern, attr: str) -> str:
    if not isinstance(pattern, str):
        raise ValidationError(f"{attr} must be a string", attr=attr)
    if _NOT_RE2.search(pattern):
        raise ValidationError(f"{attr}: look-around and backreferences are not supported "
                              "(RE2 syntax)", attr=attr)  # fmt: skip
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValidationError(f"{attr}: invalid regex: {exc}", attr=attr) from None
    return pattern


@dataclass(frozen=True)
class PathRequest:
    event_types: tuple[str, ...]
    custom_events: tuple[str, ...]
    exclude_events: tuple[str, ...]
    start_point: str | None
    end_point: str | None
    step_limit: int
    cleaning: tuple[tuple[str, str], ...]  # (regex, alias), team rules first
    groupings: tuple[str, ...]
    edge_limit: int | None
    min_edge_weight: int | None
    max_edge_weight: int | None
    date_from: datetime | None
    date_to: datetime
    funnel: FunnelPaths | None


def parse_request(filters: dict, project: dict, now: datetime) -> PathRequest:
    if filters.get("path_type") not in (None, ""):  # B1: the legacy single type
        event_types = [filters["path_type"]]
        types_attr = "path_type"
    else:
        event_types, types_attr = _list(filters, "include_event_types"), "include_event_types"
    for kind in event_types:
        if kind not in EVENT_TYPES:
            raise ValidationError(f"{types_attr}: unknown event type {str(kind)[:40]!r}",
                                  attr=types_attr)  # fmt: skip
    if "hogql" in event_types:
        detail = f"{types_attr}: hogql paths are not supported (no expression language yet)"
        raise ValidationError(detail, attr=types_attr, code="unsupported_hogql")
    if filters.get("paths_hogql_expression") not in (None, "", "event"):
        raise ValidationError("paths_hogql_expression is not supported (no expression language "
                              "yet)", attr="paths_hogql_expression",
                              code="unsupported_hogql")  # fmt: skip
    custom = [str(name) for name in _list(filters, "include_custom_events")]
    if custom and "custom_event" in event_types:
        raise ValidationError("Cannot include all custom events and specific custom events in "
                              "the same query", attr="include_custom_events")  # fmt: skip
    funnel = parse_funnel_paths(filters)
    start, end = _point(filters, "start_point"), _point(filters, "end_point")
    both = start is not None and end is not None
    min_weight = _int(filters, "min_edge_weight", None, 0, 2**53)
    max_weight = _int(filters, "max_edge_weight", None, 0, 2**53)
    if min_weight is not None and max_weight is not None and max_weight < min_weight:
        raise ValidationError("max_edge_weight must not be smaller than min_edge_weight",
                              attr="max_edge_weight")  # fmt: skip
    rules = []
    if _truthy(filters.get("path_replacements")):
        rules += [("path_cleaning_filters", rule) for rule in
                  project.get("path_cleaning_filters") or []]  # fmt: skip
    rules += [("local_path_cleaning_filters", rule)
              for rule in _list(filters, "local_path_cleaning_filters")]  # fmt: skip
    cleaning = []
    for index, (source, rule) in enumerate(rules):
        attr = f"{source}[{index}]"
        if not isinstance(rule, dict):
            raise ValidationError(f"{attr} must be an object with regex and alias", attr=attr)
        regex = _check_regex(rule.get("regex"), f"{attr}.regex")
        cleaning.append((regex, str(rule.get("alias") or "")))
    date_from, date_to = _date_range(filters, project, now)
    return PathRequest(
        event_types=tuple(event_types),
        custom_events=tuple(custom),
        exclude_events=tuple(str(item) for item in _list(filters, "exclude_events")),
        start_point=start,
        end_point=end,
        step_limit=_int(filters, "step_limit", DEFAULT_STEP_LIMIT, 1, MAX_STEP_LIMIT),
        cleaning=tuple(cleaning),
        groupings=tuple(str(p) for p in _list(filters, "path_groupings")),
        edge_limit=_int(
            filters, "edge_limit", None if both else DEFAULT_EDGE_LIMIT, 1, MAX_EDGE_LIMIT
        ),  # fmt: skip
        min_edge_weight=min_weight,
        max_edge_weight=max_weight,
        date_from=date_from,
        date_to=date_to,
        funnel=funnel,
    )


def _date_range(filters: dict, project: dict, now: datetime) -> tuple[datetime | None, datetime]:
    """B2: `date_from <= ts <= date_to`. date_from defaults to 00:00 seven days ago; relative
    day-or-longer values start at 00:00, hour values at the hour; `all` has no lower bound.
    date_to defaults to now; a bare date or a relative day-or-longer value is the whole day;
    times are exact."""
    tz = zone(project.get("timezone") or "UTC")
    raw_from = filters.get("date_from")
    if raw_from == "all":
        date_from = None
    elif raw_from in (None, ""):
        date_from = wall(now.astimezone(tz).date() - timedelta(days=7), time(), tz)
    else:
        date_from, unit = parse_moment(raw_from, tz, now, "date_from")
        if unit in ("d", "w", "m", "q", "y"):
            date_from = wall(date_from.date(), time(), tz)
        elif unit == "h":
            date_from = date_from.replace(minute=0, second=0, microsecond=0)
    raw_to = filters.get("date_to")
    if raw_to in (None, ""):
        date_to = now
    else:
        date_to, unit = parse_moment(raw_to, tz, now, "date_to")
        if unit in ("D", "d", "w", "m", "q", "y"):
            date_to = wall(date_to.date(), time(23, 59, 59, 999999), tz)
    if date_from is not None and date_from > date_to:
        raise ValidationError("date_from is after date_to", attr="date_from")
    return date_from, date_to.astimezone(UTC)


# -- SQL --------------------------------------------------------------------------------------


def _item_sql(request: PathRequest, params: Params) -> str:
    """B2 `path_item_ungrouped`, then cleaning rules in order, then the first matching
    grouping (B4: patterns regex-escaped, `*` as `.*`, matched anywhere)."""
    no_types = not request.event_types
    pageviews = "$pageview" in request.event_types or (
        no_types and "$pageview" not in request.exclude_events)  # fmt: skip
    screens = "$screen" in request.event_types or (
        no_types and "$screen" not in request.exclude_events)  # fmt: skip
    url = "e.properties.`$current_url`"
    screen = "e.properties.`$screen_name`"
    branches = []
    if pageviews:
        branches.append(f"e.event = '$pageview', replaceRegexpOne(if(isNull({url}), '', "
                        f"toString({url})), '(.)/$', '\\\\1')")  # fmt: skip
    if screens:
        branches.append(f"e.event = '$screen', if(isNull({screen}), '', toString({screen}))")
    item = f"multiIf({', '.join(branches)}, e.event)" if branches else "toString(e.event)"
    for regex, alias in request.cleaning:
        item = (f"replaceRegexpAll({item}, {params.bind(regex, 'String')}, "
                f"{params.bind(alias, 'String')})")  # fmt: skip
    if request.groupings:
        cases = []
        for pattern in request.groupings:
            regex = ".*".join(re.escape(part) for part in pattern.split("*"))
            cases.append(f"match(cleaned, {params.bind(regex, 'String')}), "
                         f"{params.bind(pattern, 'String')}")  # fmt: skip
        item = f"multiIf({', '.join(cases)}, {item} AS cleaned)"
    return item


def _selected_sql(request: PathRequest, params: Params) -> str:
    """B2: the event kinds are ORed; no kinds and no custom events means every event."""
    types = request.event_types
    if not types and not request.custom_events:
        return "1"
    parts = []
    if "$pageview" in types:
        parts.append("e.event = '$pageview'")
    if "$screen" in types:
        parts.append("e.event = '$screen'")
    if "custom_event" in types:
        parts.append("NOT startsWith(e.event, '$')")
    if request.custom_events:
        parts.append(f"has({params.bind(list(request.custom_events), 'Array(String)')}, e.event)")
    return "(" + " OR ".join(parts) + ")"


def _cut_sql(request: PathRequest, params: Params) -> dict[str, str]:
    """B3.5 and B5 on a session's `t` (times) and `it` (items): the path's first node `s`, its
    last `f`, and the step limit (with `...` in the middle when both points are set)."""
    steps = params.bind(request.step_limit, "UInt32")
    start, end = request.start_point, request.end_point
    if start is not None and end is not None:
        half = params.bind(request.step_limit // 2, "UInt32")
        end_param = params.bind(end, "String")
        start_at = f"indexOf(it, {params.bind(start, 'String')})"
        end_at = f"arrayFirstIndex((x, i) -> x = {end_param} AND i > s, it, arrayEnumerate(it))"

        def cut(array: str, middle: str) -> str:
            whole = f"arraySlice({array}, s, f - s + 1)"
            shortened = (f"arrayConcat(arraySlice({whole}, 1, {half}), [{middle}], "
                         f"arraySlice({whole}, f - s + 2 - {half}, {half}))")  # fmt: skip
            return f"if(f - s + 1 <= {steps}, {whole}, {shortened})"

        return {"__START_AT__": start_at, "__END_AT__": end_at, "__KEEP__": "s > 0 AND f > 0",
                "__CUT_TIMES__": cut("t", f"t[s + {half}]"),
                "__CUT_ITEMS__": cut("it", f"'{ELLIPSIS}'")}  # fmt: skip
    if start is not None:
        start_at = f"indexOf(it, {params.bind(start, 'String')})"
        return {"__START_AT__": start_at, "__END_AT__": "0", "__KEEP__": "s > 0",
                "__CUT_TIMES__": f"arraySlice(t, s, {steps})",
                "__CUT_ITEMS__": f"arraySlice(it, s, {steps})"}  # fmt: skip
    if end is not None:
        end_at = f"indexOf(it, {params.bind(end, 'String')})"
        last = f"greatest(1, toInt64(f) - {steps} + 1), least(f, {steps})"
        return {"__START_AT__": "0", "__END_AT__": end_at, "__KEEP__": "f > 0",
                "__CUT_TIMES__": f"arraySlice(t, {last})",
                "__CUT_ITEMS__": f"arraySlice(it, {last})"}  # fmt: skip
    return {"__START_AT__": "0", "__END_AT__": "0", "__KEEP__": "1",
            "__CUT_TIMES__": f"arraySlice(t, 1, {steps})",
            "__CUT_ITEMS__": f"arraySlice(it, 1, {steps})"}  # fmt: skip


def sessions_query(request: PathRequest, project: dict, filters: dict, params: Params,
                   ctx: Context, funnel: dict[str, str]) -> str:  # fmt: skip
    # not date_from/date_to: a funnel's own date range goes by those names
    dates = ["e.timestamp <= {path_to:DateTime64(6, 'UTC')}"]
    if request.date_from is not None:
        dates.append("e.timestamp >= {path_from:DateTime64(6, 'UTC')}")
    query = template("sessions.sql")
    for name, fragment in {
        "__PERSON__": PERSON,
        "__ITEM__": _item_sql(request, params),
        "__DATES__": " AND ".join(dates),
        "__SELECTED__": _selected_sql(request, params),
        "__FILTERS__": global_filters(filters, project, params, ctx),
        **_cut_sql(request, params),
        **funnel,
    }.items():
        query = query.replace(name, fragment)
    return query


@dataclass
class _Prepared:
    request: PathRequest
    sessions_sql: str
    params: dict


async def _prepare(store, project, filters, now, actions, cohorts) -> _Prepared:
    request = parse_request(filters, project, now)
    params, funnel, gap = Params(), NO_FUNNEL, SESSION_GAP_US
    if request.funnel is not None:
        people = await funnel_people(store, project, request.funnel, now=now, actions=actions,
                                     cohorts=cohorts)  # fmt: skip
        # the funnel's parameters ride along; ours are numbered after them
        params, funnel = Params(dict(people.params)), people.fragments
        gap = 0  # the gaps measure the time past the funnel window (funnel_paths.py)
    ctx = Context(person=PERSON, cohorts=cohorts, actions=actions or {}, now=now)
    sessions = sessions_query(request, project, filters, params, ctx, funnel)
    values = {**params.values, "project_id": int(project["id"]), "gap": gap,
              "excluded": list(request.exclude_events), "path_to": request.date_to}  # fmt: skip
    if request.date_from is not None:
        values["path_from"] = request.date_from
    return _Prepared(request, sessions, values)


async def compute_paths(
    store,
    project: dict,
    filters: dict,
    *,
    now: datetime,
    actions: dict[int, dict] | None = None,
    cohorts: dict[int, dict] | None = None,
) -> list[dict]:
    """PostHog's path edges: `{source, target, value, average_conversion_time}` (B1, B6)."""
    prepared = await _prepare(store, project, filters, now, actions, cohorts)
    request, params = prepared.request, dict(prepared.params)
    having = ["1"]
    if request.min_edge_weight is not None:
        having.append("value >= {min_weight:UInt64}")
        params["min_weight"] = request.min_edge_weight
    if request.max_edge_weight is not None:
        having.append("value <= {max_weight:UInt64}")
        params["max_weight"] = request.max_edge_weight
    limit = ""
    if request.edge_limit is not None:
        limit, params["edge_limit"] = "LIMIT {edge_limit:UInt64}", request.edge_limit
    query = (template("edges.sql").replace("__SESSIONS__", prepared.sessions_sql)
             .replace("__HAVING__", " AND ".join(having)).replace("__LIMIT__", limit))  # fmt: skip
    rows = (await store.query(query, params)).rows
    edges = [{"source": source, "target": target, "value": value,
              "average_conversion_time": float(average)}
             for source, target, value, average in rows]  # fmt: skip
    if request.min_edge_weight is None and request.max_edge_weight is None:
        edges = prune_unreachable(edges)
    return edges


def prune_unreachable(edges: list[dict]) -> list[dict]:
    """B6: keep edges whose source is reachable from a first node (`1_*`) over these edges."""
    reachable = {edge["source"] for edge in edges if edge["source"].startswith("1_")}
    frontier = list(reachable)
    targets: dict[str, list[str]] = {}
    for edge in edges:
        targets.setdefault(edge["source"], []).append(edge["target"])
    while frontier:
        for target in targets.get(frontier.pop(), ()):
            if target not in reachable:
                reachable.add(target)
                frontier.append(target)
    return [edge for edge in edges if edge["source"] in reachable]


async def paths_people(
    store,
    project: dict,
    filters: dict,
    *,
    now: datetime,
    actions: dict[int, dict] | None = None,
    cohorts: dict[int, dict] | None = None,
) -> dict:
    """The persons behind a node or an edge (B8): `path_dropoff_key` (paths that end exactly
    there), else `path_start_key` / `path_end_key` on one transition (a first node counts as a
    transition without a source). Returns {"results": [person uuid, ...], "total": n}, ordered
    by person id; edge limits and pruning do not apply."""
    prepared = await _prepare(store, project, filters, now, actions, cohorts)
    params = dict(prepared.params)
    dropoff = filters.get("path_dropoff_key") or None
    start_key = filters.get("path_start_key") or None
    end_key = filters.get("path_end_key") or None
    if dropoff is not None:
        selected = "concat(toString(length(items)), '_', items[-1]) = {dropoff:String}"
        params["dropoff"] = str(dropoff)
    elif start_key is None and end_key is None:
        selected = "1"
    else:
        parts = []
        if start_key is not None:
            parts.append(
                "i > 1 AND concat(toString(i - 1), '_', items[i - 1]) = {start_key:String}"
            )
            params["start_key"] = str(start_key)
        if end_key is not None:
            parts.append("concat(toString(i), '_', items[i]) = {end_key:String}")
            params["end_key"] = str(end_key)
        selected = f"arrayExists(i -> {' AND '.join(parts)}, range(1, length(items) + 1))"
    page_size = _int(filters, "limit", 100, 1, MAX_PAGE)
    page_start = _int(filters, "offset", 0, 0, 2**53)
    query = (template("people.sql").replace("__SESSIONS__", prepared.sessions_sql)
             .replace("__SELECTED__", selected))  # fmt: skip
    rows = (await store.query(query, {**params, "page_size": page_size,
                                      "page_start": page_start})).rows  # fmt: skip
    return {"results": [actor for actor, _ in rows], "total": rows[0][1] if rows else 0}
