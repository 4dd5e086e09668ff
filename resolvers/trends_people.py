"""The actors behind one data point of trends, stickiness and lifecycle (spec trends.md §4.1,
§7, §8): what `persons_urls` point at.

A URL carries the insight's filter with the point's keys over it (`entity_*`, the bucket's
`date_from`/`date_to`, `breakdown_value`, `stickiness_days`, `target_date` + `lifecycle_type`)
and, for trends, the insight's resolved range. Each kind rebuilds the SQL its engine counted
with (resolvers/trends.py) and keeps the actors instead of counting them, so a point's people
are exactly the ones its number counts.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from gateway.errors import ValidationError
from resolvers.actors import ActorPage, actors_page, page_of
from resolvers.dates import bucket_start, next_bucket
from resolvers.trends import (
    OTHER_VALUE,
    Period,
    _floor_second,
    _Request,
    _top_values,
    _wall_shift,
    cohort_series,
    lifecycle_statuses_sql,
    sticky_actors_sql,
    sticky_group,
)
from resolvers.trends_filter import ACTIVE_MATHS, Series, optional_int, parse_trends_filter
from resolvers.where import Params

_UTC_TIME = "DateTime64(6, 'UTC')"


def _request(store, project, filters, now, actions, cohorts, kind: str) -> _Request:
    tf = parse_trends_filter({**filters, "insight": kind}, actions)
    return _Request(store, project, tf, now, actions or {}, cohorts)


def _series(req: _Request, filters: dict) -> Series:
    """The series a URL names by entity_type, entity_id (and entity_order when given);
    `entity_index` picks among look-alikes."""
    kind = filters.get("entity_type") or "events"
    if kind not in ("events", "actions"):
        raise ValidationError("entity_type must be events or actions", attr="entity_type")
    wanted = filters.get("entity_id")
    order = filters.get("entity_order")
    index = optional_int(filters.get("entity_index"), "entity_index")
    candidates = list(req.tf.series)
    if index is not None and 0 <= index < len(candidates):  # the engine's own URLs say which
        candidates = [candidates[index], *candidates]
    for series in candidates:
        echo = series.echo
        same_id = ("" if echo["id"] is None else str(echo["id"])) == str(wanted or "")
        same_order = order in (None, "") or str(echo["order"]) == str(order)
        if echo["type"] == kind and same_id and same_order:
            return series
    if wanted in (None, "") and kind == "actions":
        raise ValidationError("entity_id is required for an action", attr="entity_id")
    # A URL written by hand may name its entity only through the entity_* keys.
    entity = {"id": wanted or None, "math": filters.get("entity_math") or None}
    alone = parse_trends_filter({"insight": req.tf.kind, kind: [entity]}, req.actions)
    return alone.series[0]


def _instant(req: _Request, filters: dict, key: str) -> datetime | None:
    raw = filters.get(key)
    if raw in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=req.tz)
    return req.local(moment)


async def _range(req: _Request, filters: dict, prefix: str = "") -> tuple[datetime, datetime]:
    """The range named by `<prefix>date_from/to`: the instants the engine wrote, or (a URL
    written by hand) relative dates resolved as the insight resolves them."""
    start = _instant(req, filters, prefix + "date_from")
    end = _instant(req, filters, prefix + "date_to")
    if start is not None and end is not None:
        return start, end
    rng = await req.current_range()
    return start or req.local(rng.date_from), end or req.local(rng.date_to)


async def trends_actors(store, project: dict, filters: dict, *, now: datetime,
                       actions: dict | None = None,
                       cohorts: dict | None = None) -> ActorPage:  # fmt: skip
    """The actors behind one trends point (§4.1): those with a matching event in the point's
    bucket (or range) and breakdown value — for weekly/monthly active, in its rolling window."""
    page = page_of(filters)
    req = _request(store, project, filters, now, actions, cohorts, "TRENDS")
    series = _series(req, filters)
    point_from, point_to = await _range(req, filters)
    if filters.get("insight_date_from") and filters.get("insight_date_to"):
        insight_from, insight_to = await _range(req, filters, "insight_")
    else:
        insight_from, insight_to = point_from, point_to
    period = req.period(insight_from, insight_to, round_lower=True)
    params = Params()
    window, condition = _window(req, series, period, point_from, point_to, params)
    group = series.group_index if series.math in ACTIVE_MATHS else series.actor_group
    bd = req.tf.breakdown
    raw_value = filters.get("breakdown_value")
    if bd is not None and bd.type == "cohort":  # §4.4.7: the cohort's members, no breakdown
        if raw_value not in (None, ""):
            cohort = raw_value if raw_value == "all" else optional_int(raw_value, "breakdown_value")
            series, _ = cohort_series(req, series, cohort)
        bd = None
    events = req.events_sql(series, params, window, actor_group=group, breakdown=bd)
    if bd is not None and raw_value not in (None, ""):
        condition += " AND " + await _value_condition(req, series, period, str(raw_value), params)
    members = f"SELECT actor FROM ({events}) WHERE {condition}"
    return await actors_page(store, project["id"], members, req.base_params(params), page,
                             group_index=group)  # fmt: skip


async def _value_condition(req: _Request, series: Series, period: Period, value: str,
                           params: Params) -> str:  # fmt: skip
    """The events of one breakdown value: a histogram bin (§4.4.9), "Other" (every value
    outside the range's top values), or the value itself."""
    bd = req.tf.breakdown
    if bd.bins:
        bounds = re.fullmatch(r"\[(-?[0-9.e+-]+),(-?[0-9.e+-]+)\]", value)
        if bounds is None:
            return "0"  # "[nan,nan]": no numeric value, nobody
        number = "toFloat64OrNull(raw_value)"
        low, high = (params.bind(float(b), "Float64") for b in bounds.groups())
        return f"{number} >= {low} AND {number} < {high}"
    value_sql = req.breakdown_value_sql(bd, params)
    if bd.multiple:  # the URL carries the parts as a JSON list
        return await _parts_condition(req, series, period, value, value_sql, params)
    if value == OTHER_VALUE:
        kept, _ = await _top_values(req, series, period)
        kind = "Array(Int64)" if bd.numeric else "Array(String)"
        return f"NOT has({params.bind(list(kept), kind)}, {value_sql})"
    if bd.numeric:
        return f"{value_sql} = {params.bind(optional_int(value, 'breakdown_value'), 'Int64')}"
    return f"{value_sql} = {params.bind(value, 'String')}"


async def _parts_condition(req: _Request, series: Series, period: Period, value: str,
                           value_sql: str, params: Params) -> str:  # fmt: skip
    try:
        parts = json.loads(value)
    except ValueError:
        parts = None
    if not isinstance(parts, list):
        raise ValidationError("breakdown_value must be a JSON list with multiple breakdowns",
                              attr="breakdown_value")  # fmt: skip
    parts = [str(part) for part in parts]
    if parts and all(part == OTHER_VALUE for part in parts):
        kept, _ = await _top_values(req, series, period)
        listed = params.bind([list(v) for v in kept], "Array(Array(String))")
        return f"NOT has({listed}, {value_sql})"
    return f"{value_sql} = {params.bind(parts, 'Array(String)')}"


def _window(
    req: _Request,
    series: Series,
    period: Period,
    point_from: datetime,
    point_to: datetime,
    params: Params,
) -> tuple[tuple[datetime, datetime], str]:
    """The events window [from, to) the point counted, and any further condition on `ts`."""
    interval, week_start = req.tf.interval, req.week_start_day
    if series.math in ACTIVE_MATHS:
        days = ACTIVE_MATHS[series.math]
        if req.tf.aggregated:  # §4.3: the `days` days ending at date_to
            start = _wall_shift(period.date_to, req.tz, -days)
            return (start, period.date_to + timedelta(microseconds=1)), "1"
        # the union of the rolling windows of the buckets from date_from's to date_to's (one
        # bucket; or, for a cumulative point, every bucket up to it)
        first = bucket_start(point_from, interval, week_start)
        last = bucket_start(req.local(point_to - timedelta(microseconds=1)), interval, week_start)
        start = _wall_shift(first, req.tz, -(days - 1)).astimezone(UTC)
        end = _wall_shift(last, req.tz, 1).astimezone(UTC)
        fetch = (_floor_second(_wall_shift(period.lower, req.tz, -days)),
                 _floor_second(period.date_to) + timedelta(seconds=1))  # fmt: skip
        condition = f"ts > {params.bind(start, _UTC_TIME)} AND ts <= {params.bind(end, _UTC_TIME)}"
        return fetch, condition
    lower, upper = period.window()
    # the buckets from date_from's to date_to's (a bucket's date_to may be the next one's start)
    first = bucket_start(point_from, interval, week_start)
    last = bucket_start(req.local(point_to - timedelta(microseconds=1)), interval, week_start)
    after = next_bucket(last, interval)
    return (max(lower, first.astimezone(UTC)), min(upper, after.astimezone(UTC))), "1"


async def stickiness_actors(store, project: dict, filters: dict, *, now: datetime,
                            actions: dict | None = None,
                            cohorts: dict | None = None) -> ActorPage:  # fmt: skip
    """The actors active in exactly `stickiness_days` buckets of the range (§7)."""
    page = page_of(filters)
    req = _request(store, project, filters, now, actions, cohorts, "STICKINESS")
    series = _series(req, filters)
    days = optional_int(filters.get("stickiness_days"), "stickiness_days")
    if days is None:
        raise ValidationError("stickiness_days is required", attr="stickiness_days")
    period = req.period(*await _range(req, filters), round_lower=False)
    params = Params()
    actors = sticky_actors_sql(req, series, period, params)
    members = f"SELECT actor FROM ({actors}) WHERE active_buckets = {params.bind(days, 'Int64')}"
    return await actors_page(store, project["id"], members, req.base_params(params), page,
                             group_index=sticky_group(req, series))  # fmt: skip


LIFECYCLE_TYPES = ("new", "returning", "resurrecting", "dormant")


async def lifecycle_actors(store, project: dict, filters: dict, *, now: datetime,
                           actions: dict | None = None,
                           cohorts: dict | None = None) -> ActorPage:  # fmt: skip
    """The persons with status `lifecycle_type` in the bucket starting at `target_date` (§8)."""
    page = page_of(filters)
    req = _request(store, project, filters, now, actions, cohorts, "LIFECYCLE")
    status = filters.get("lifecycle_type")
    if status not in LIFECYCLE_TYPES:
        raise ValidationError(f"lifecycle_type must be one of {', '.join(LIFECYCLE_TYPES)}",
                              attr="lifecycle_type")  # fmt: skip
    target = _instant(req, filters, "target_date")
    if target is None:
        raise ValidationError("target_date must be a date", attr="target_date")
    if not req.tf.series:
        raise ValidationError("lifecycle needs an event or action", attr="events")
    series = req.tf.series[0]
    period = req.period(*await _range(req, filters), round_lower=False)
    shown = [b.astimezone(UTC) for b in period.buckets]
    bucket = bucket_start(target, req.tf.interval, req.week_start_day).astimezone(UTC)
    position = shown.index(bucket) + 2 if bucket in shown else 0  # 0: no such bucket shown
    params = Params()
    statuses = lifecycle_statuses_sql(req, series, period.buckets, params)
    members = (f"SELECT toString(person) AS actor FROM ({statuses}) "
               f"WHERE status = {params.bind(status, 'String')} "
               f"AND position = {params.bind(position, 'Int64')}")  # fmt: skip
    return await actors_page(store, project["id"], members, req.base_params(params), page)
