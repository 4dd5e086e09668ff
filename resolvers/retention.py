"""Retention: who comes back, by cohort period (spec retention_paths.md part A; the spec's
README wins: monthly periods are calendar months whose cohorts start on the 1st).

Validate the filter → derive the window (A3) in the project's timezone → one query builds,
per actor, the cohorts they belong to and the periods they returned in (A4) → cells are
distinct actors per (cohort, interval) → shape PostHog's rows (A5, A6). Period boundaries are
computed here, in Python, and travel as one bound array, so DST days and calendar months cost
the SQL nothing but comparisons of instants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sql
from gateway.errors import ValidationError
from resolvers.actors import people_url
from resolvers.dates import bucket_start, next_bucket, zone
from resolvers.filters import json_value
from resolvers.properties import parse_properties
from resolvers.where import Context, Params, compile_entity, compile_filter, event_property_text

PERIODS = {"Hour": "hour", "Day": "day", "Week": "week", "Month": "month"}  # A2: case-sensitive
MAX_INTERVALS = 100  # PostHog has no upper bound; ours keeps a request's query bounded
DEFAULT_INTERVALS = 11
DEFAULT_ENTITY = {"id": "$pageview", "type": "events"}
MAX_PAGE = 10_000

# The person an event belongs to now: its own id, unless a merge pointed it at another.
PERSON = (
    "if(o.old_person_id = toUUID('00000000-0000-0000-0000-000000000000'), "
    "e.person_id, o.override_person_id)"
)


def template(name: str) -> str:
    return sql.load(f"retention/{name}")


# -- dates ------------------------------------------------------------------------------------

_RELATIVE = re.compile(r"^-?(?P<n>\d+)?(?P<unit>[hdwmqyMs])(?P<edge>Start|End)?$")
_LOOSE_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def add_months(day: date, months: int) -> date:
    """Calendar months; the day is clamped to the target month's length."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    following = date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    return date(year, month + 1, min(day.day, (following - timedelta(days=1)).day))


def wall(day: date, moment: time, tz: ZoneInfo) -> datetime:
    """A local wall-clock time (fold 0; a time inside a spring-forward gap moves forward)."""
    return datetime.combine(day, moment).replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


def parse_moment(value, tz: ZoneInfo, now: datetime, field: str) -> tuple[datetime, str | None]:
    """A PostHog date string → (aware instant in `tz`, relative unit or None; 'D' for a bare
    date). Relative values always count back from `now` (the sign is optional, as in
    PostHog); hours, minutes and seconds are real elapsed time, longer units calendar steps on
    the local wall clock. Naive absolute values are read in `tz`."""
    text = str(value).strip()
    match = _RELATIVE.match(text)
    if match:
        n, unit, edge = int(match["n"] or 0), match["unit"], match["edge"]
        local_now = now.astimezone(tz)
        if unit in "hMs":
            seconds = {"h": 3600, "M": 60, "s": 1}[unit] * n
            moment = (now.astimezone(UTC) - timedelta(seconds=seconds)).astimezone(tz)
        else:
            day = local_now.date()
            if unit in "dwq":
                day -= timedelta(days={"d": 1, "w": 7, "q": 91}[unit] * n)
            else:
                day = add_months(day, -n * (12 if unit == "y" else 1))
            moment = wall(day, local_now.time().replace(tzinfo=None), tz)
        if edge and unit in "hdmy":
            moment = _edge(moment, unit, edge == "Start", tz)
            return moment, None
        return moment, unit
    loose = _LOOSE_DATE.match(text)
    try:
        if loose:
            return wall(date(*(int(part) for part in loose.groups())), time(), tz), "D"
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{field} is not a date: {text[:40]!r}", attr=field) from None
    if parsed.tzinfo is None:
        return wall(parsed.date(), parsed.time(), tz), None
    return parsed.astimezone(tz), None


def _edge(moment: datetime, unit: str, start: bool, tz: ZoneInfo) -> datetime:
    if unit == "h":
        first = moment.replace(minute=0, second=0, microsecond=0)
        return first if start else first.replace(minute=59, second=59, microsecond=999999)
    day = moment.date()
    if unit == "m":
        first, last = day.replace(day=1), add_months(day.replace(day=1), 1) - timedelta(days=1)
    elif unit == "y":
        first, last = date(day.year, 1, 1), date(day.year, 12, 31)
    else:
        first = last = day
    return wall(first, time(), tz) if start else wall(last, time(23, 59, 59, 999999), tz)


# -- the request ------------------------------------------------------------------------------


def _int(value, attr: str) -> int:
    if isinstance(value, bool):
        raise ValidationError(f"{attr} must be an integer", attr=attr)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise ValidationError(f"{attr} must be an integer", attr=attr)


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


@dataclass(frozen=True)
class RetentionRequest:
    period: str  # Hour | Day | Week | Month
    total_intervals: int
    first_time: bool
    target: dict
    returning: dict
    breakdowns: tuple[str, ...] | None
    breakdown_type: str | None
    group_type_index: int | None

    @property
    def interval(self) -> str:
        return PERIODS[self.period]


def _entity(filters: dict, attr: str, default: dict, actions: dict) -> dict:
    raw = filters.get(attr)
    if raw in (None, "", {}):
        return default
    entity = json_value(raw, attr)
    if not isinstance(entity, dict):
        raise ValidationError(f"{attr} must be an object", attr=attr)
    kind = entity.get("type") or "events"
    if kind not in ("events", "actions"):
        raise ValidationError(f"{attr}.type must be events or actions", attr=f"{attr}.type")
    if kind == "actions":
        try:
            action_id = int(entity.get("id"))
        except (TypeError, ValueError):
            raise ValidationError(f"{attr}.id must be an action id", attr=f"{attr}.id") from None
        if action_id not in actions:
            raise ValidationError(f"{attr}: unknown action id {action_id}", attr=f"{attr}.id")
        entity = {**entity, "id": action_id}
    return {**entity, "type": kind}


def parse_request(filters: dict, actions: dict | None = None) -> RetentionRequest:
    actions = actions or {}
    period = filters.get("period") or "Day"
    if period not in PERIODS:
        raise ValidationError(f"period must be one of {', '.join(PERIODS)}", attr="period")
    raw_n = filters.get("total_intervals")
    n = DEFAULT_INTERVALS if raw_n in (None, "") else _int(raw_n, "total_intervals")
    if not 1 <= n <= MAX_INTERVALS:
        raise ValidationError(f"total_intervals must be between 1 and {MAX_INTERVALS}",
                              attr="total_intervals")  # fmt: skip
    target = _entity(filters, "target_entity", DEFAULT_ENTITY, actions)
    returning = _entity(filters, "returning_entity", target, actions)
    breakdowns, breakdown_type = None, None
    raw = filters.get("breakdowns")
    if raw not in (None, "", []):
        items = json_value(raw, "breakdowns")
        if not isinstance(items, list) or not all(
            isinstance(item, dict) and isinstance(item.get("property"), str) for item in items
        ):
            raise ValidationError("breakdowns must be a list of {type, property} objects",
                                  attr="breakdowns")  # fmt: skip
        breakdown_type = filters.get("breakdown_type")
        if breakdown_type not in ("person", "event"):
            raise ValidationError("breakdown_type is required with breakdowns: person or event",
                                  attr="breakdown_type")  # fmt: skip
        breakdowns = tuple(item["property"] for item in items)
    group = filters.get("aggregation_group_type_index")
    group_index = None if group in (None, "") else _int(group, "aggregation_group_type_index")
    if group_index is not None and not 0 <= group_index <= 4:
        raise ValidationError("aggregation_group_type_index must be between 0 and 4",
                              attr="aggregation_group_type_index")  # fmt: skip
    return RetentionRequest(
        period=period,
        total_intervals=n,
        first_time=filters.get("retention_type") == "retention_first_time",
        target=target,
        returning=returning,
        breakdowns=breakdowns,
        breakdown_type=breakdown_type,
        group_type_index=group_index,
    )


# -- A3: the window ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionWindow:
    date_from: datetime  # start of period 0
    date_to: datetime  # inclusive upper bound of the event filter
    starts: tuple[datetime, ...]  # starts of periods 0..N, then the end of period N


def retention_window(request: RetentionRequest, project: dict, filters: dict,
                     now: datetime) -> RetentionWindow:  # fmt: skip
    tz = zone(project.get("timezone") or "UTC")
    week = int(project.get("week_start_day") or 0)
    n, interval = request.total_intervals, request.interval
    raw = filters.get("date_to")
    raw_to = now.astimezone(tz) if raw in (None, "") else parse_moment(raw, tz, now, "date_to")[0]
    raw_day = raw_to.date()
    if request.period == "Hour":
        date_to = bucket_start((raw_to.astimezone(UTC) + timedelta(hours=1)).astimezone(tz),
                               "hour", week)  # fmt: skip
        date_from = bucket_start((date_to.astimezone(UTC) - timedelta(hours=n)).astimezone(tz),
                                 "hour", week)  # fmt: skip
    elif request.period == "Day":
        to_day = raw_day + timedelta(days=1)
        date_to, date_from = wall(to_day, time(), tz), wall(to_day - timedelta(days=n), time(), tz)
    elif request.period == "Week":
        to_day = raw_day + timedelta(days=7)
        date_to = wall(to_day, time(), tz)
        date_from = bucket_start(wall(to_day - timedelta(weeks=n), time(), tz), "week", week)
    else:  # calendar months (spec README): cohorts start on the 1st
        to_day = add_months(raw_day, 1)
        date_to = wall(to_day, time(), tz)
        date_from = wall(add_months(to_day, -n).replace(day=1), time(), tz)
    starts = [date_from]
    while len(starts) < n + 2:
        starts.append(next_bucket(starts[-1], interval))
    return RetentionWindow(date_from, date_to, tuple(starts))


def serialise_datetime(moment: datetime, tz: ZoneInfo) -> str:
    """DRF's encoding: ISO-8601 in the project timezone, UTC written as Z."""
    text = moment.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# -- A4: the query ----------------------------------------------------------------------------


def _breakdown_sql(request: RetentionRequest, params: Params) -> tuple[str, str]:
    """(SQL of the breakdown value as Array(String), joins it needs)."""
    if request.breakdowns is None:
        return "CAST([], 'Array(String)')", ""
    parts, joins = [], []
    for index, name in enumerate(request.breakdowns):
        if request.breakdown_type == "event":
            parts.append(event_property_text("e", name))
            continue
        alias = f"b{index}"
        subquery = sql.load("filters/person_property.sql").replace("__KEY__", params.name(name))
        joins.append(f"LEFT JOIN ({subquery}) AS {alias} ON {alias}.person_id = {PERSON}")
        value = f"{alias}.value"
        parts.append(f"if(JSONType({value}) = 'String', JSONExtractString({value}), {value})")
    return "[" + ", ".join(parts) + "]", "\n".join(joins)


def global_filters(filters: dict, project: dict, params: Params, ctx: Context) -> str:
    """The filter's `properties`, and the project's test-account filters when asked for."""
    parts = [compile_filter(parse_properties(filters.get("properties")), params, ctx)]
    if _truthy(filters.get("filter_test_accounts")):
        test_accounts = parse_properties(project.get("test_account_filters") or [],
                                         "test_account_filters")  # fmt: skip
        parts.append(compile_filter(test_accounts, params, ctx, "test_account_filters"))
    return " AND ".join(parts)


def actors_query(
    request: RetentionRequest,
    window: RetentionWindow,
    project: dict,
    filters: dict,
    params: Params,
    ctx: Context,
    actions: dict,
) -> str:
    target = compile_entity(request.target, params, ctx, actions=actions, attr="target_entity")
    returning = compile_entity(request.returning, params, ctx, actions=actions,
                               attr="returning_entity")  # fmt: skip
    breakdown, joins = _breakdown_sql(request, params)
    if request.group_type_index is None:
        actor, has_actor = f"toString({PERSON})", "1"
    else:
        column = f"e.group_{int(request.group_type_index)}"
        actor, has_actor = column, f"{column} != ''"
    if request.first_time:
        # A4: the first matching target event over all time; returns only inside the window.
        cohorts = (
            "if(minIf(ts, is_target) >= {date_from:DateTime64(6, 'UTC')}, "
            "[(toUInt32(arrayCount(s -> s <= minIf(ts, is_target), "
            "{starts:Array(DateTime64(6, 'UTC'))}) - 1), "
            "argMinIf(breakdown, (ts, breakdown), is_target))], [])"
        )
        scope = f"{has_actor} AND (is_target OR (is_returning AND in_window))"
    else:
        cohorts = "groupUniqArrayIf((period, breakdown), is_target AND in_window)"
        scope = f"{has_actor} AND in_window AND (is_target OR is_returning)"
    return (
        template("actors.sql")
        .replace("__COHORTS__", cohorts)
        .replace("__ACTOR__", actor)
        .replace("__TARGET__", target)
        .replace("__RETURNING__", returning)
        .replace("__BREAKDOWN__", breakdown)
        .replace("__JOINS__", joins)
        .replace("__SCOPE__", scope)
        .replace("__FILTERS__", global_filters(filters, project, params, ctx))
    )


def _window_params(project: dict, window: RetentionWindow) -> dict:
    return {
        "project_id": int(project["id"]),
        "starts": list(window.starts[:-1]),
        "date_from": window.date_from,
        "date_to": window.date_to,
        "window_end": window.starts[-1],
    }


@dataclass
class _Prepared:
    request: RetentionRequest
    window: RetentionWindow
    actors_sql: str
    params: dict


def _prepare(project, filters, now, actions, cohorts) -> _Prepared:
    actions = actions or {}
    request = parse_request(filters, actions)
    window = retention_window(request, project, filters, now)
    params = Params()
    ctx = Context(person=PERSON, cohorts=cohorts, actions=actions, now=now)
    actors = actors_query(request, window, project, filters, params, ctx, actions)
    return _Prepared(request, window, actors, {**params.values, **_window_params(project, window)})


async def compute_retention(
    store,
    project: dict,
    filters: dict,
    *,
    now: datetime,
    actions: dict[int, dict] | None = None,
    cohorts: dict[int, dict] | None = None,
) -> list[dict]:
    """PostHog's retention `result` rows (A5; A6 with breakdowns). Cells carry `count`,
    `people` (always empty) and, when someone is behind them, a `people_url` (relative: the
    REST layer makes it absolute)."""
    prepared = _prepare(project, filters, now, actions, cohorts)
    request, window = prepared.request, prepared.window
    n = request.total_intervals
    key = "period" if request.breakdowns is None else "breakdown"
    query = template("cells.sql").replace("__ACTORS__", prepared.actors_sql)
    rows = (
        await store.query(query.replace("__KEY__", key), {**prepared.params, "intervals": n})
    ).rows
    tz = zone(project.get("timezone") or "UTC")
    urls = _PeopleUrls(int(project["id"]), filters)
    if request.breakdowns is not None:
        counts: dict[tuple, dict[int, int]] = {}
        for _, values, interval, actors in rows:
            counts.setdefault(tuple(values), {})[interval] = actors
        return [
            {
                "values": [urls.cell(counts[value].get(k, 0), list(value), k) for k in range(n)],
                "label": "::".join(value),
                "breakdown_values": list(value),
                "people_url": urls.row(list(value)),
            }
            for value in sorted(counts)
        ]
    grid = {(period, interval): actors for period, _, interval, actors in rows}
    return [
        {
            "values": [urls.cell(grid.get((c, k), 0), [c], k) for k in range(n - c)],
            "label": f"{request.period} {c}",
            "date": serialise_datetime(window.starts[c], tz),
            "people_url": urls.row([c]),
        }
        for c in range(n)
    ]


@dataclass(frozen=True)
class _PeopleUrls:
    """A5: the row's URL lists its cohort; a cell's (only a cell with people: PostHog adds
    none to zero-filled cells) its cohort and interval."""

    project_id: int
    filters: dict

    def row(self, cohort: list) -> str:
        point = {"display": "ActionsTable", "breakdown_values": cohort}
        return people_url(self.project_id, "retention", self.filters, point)

    def cell(self, count: int, cohort: list, interval: int) -> dict:
        if not count:
            return {"count": 0, "people": []}
        point = {"breakdown_values": cohort, "selected_interval": interval}
        url = people_url(self.project_id, "retention", self.filters, point)
        return {"count": count, "people": [], "people_url": url}


async def retention_people(
    store,
    project: dict,
    filters: dict,
    *,
    now: datetime,
    actions: dict[int, dict] | None = None,
    cohorts: dict[int, dict] | None = None,
) -> dict:
    """The actors behind a cohort (A7): `breakdown_values` picks the cohort (`[c]`, or the
    breakdown value list); without it the cohort is `selected_interval`, which never filters
    by period. Returns {"results": [{"actor", "appearances"}], "total": raw actor count,
    "group_type_index"}; actors are person uuids, or group keys when aggregating by group."""
    prepared = _prepare(project, filters, now, actions, cohorts)
    request = prepared.request
    n = request.total_intervals
    raw_selected = filters.get("selected_interval")
    selected = 0 if raw_selected in (None, "") else _int(raw_selected, "selected_interval")
    if not 0 <= selected < n:
        raise ValidationError("selected_interval must be between 0 and total_intervals - 1",
                              attr="selected_interval")  # fmt: skip
    params = dict(prepared.params)
    raw_values = filters.get("breakdown_values")
    if raw_values in (None, ""):
        values = None
    else:
        values = json_value(raw_values, "breakdown_values")
        if not isinstance(values, list) or not values:
            raise ValidationError("breakdown_values must be a non-empty list",
                                  attr="breakdown_values")  # fmt: skip
    if request.breakdowns is not None and values is not None:
        selected_sql = "breakdown = {cohort_values:Array(String)}"
        params["cohort_values"] = [str(v) for v in values]
        shown = n
    else:
        cohort = selected if values is None else _int(values[0], "breakdown_values")
        if request.breakdowns is not None:  # no value given: nobody's cohort is a number
            selected_sql = "0"
        else:
            selected_sql = "period = {cohort_period:UInt32}"
            params["cohort_period"] = max(cohort, 0)
        shown = max(n - cohort, 0)
    page_size = _int(filters.get("limit") or 100, "limit")
    page_start = _int(filters.get("offset") or 0, "offset")
    if not 1 <= page_size <= MAX_PAGE or page_start < 0:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}", attr="limit")
    query = (template("people.sql").replace("__ACTORS__", prepared.actors_sql)
           .replace("__SELECTED__", selected_sql))  # fmt: skip
    page = {"shown": shown, "width": n - selected, "page_size": page_size,
            "page_start": page_start}  # fmt: skip
    rows = (await store.query(query, {**params, **page})).rows
    return {
        "results": [
            {"actor": actor, "appearances": list(appearances)} for actor, appearances, _ in rows
        ],  # fmt: skip
        "total": rows[0][2] if rows else 0,
        "group_type_index": request.group_type_index,
    }
