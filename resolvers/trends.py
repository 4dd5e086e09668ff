"""Trends, stickiness and lifecycle (spec/trends.md, spec/README.md): filter → SQL → result.

`compute_trends` is the engine `resolvers/compute.py` runs for TRENDS, STICKINESS and LIFECYCLE
insights; it dispatches like PostHog's endpoint (§1). The shape of a request:

1. `parse_trends_filter` validates and normalises (resolvers/trends_filter.py);
2. the date range and buckets come from resolvers/dates.py (project timezone, DST-correct);
3. per series and period, SQL templates from sql/trends/ compute the math per breakdown value
   and bucket in ClickHouse (property and entity SQL from resolvers/where.py);
4. the rows are zero-filled, smoothed, ordered, joined by formula and shaped as PostHog does.
"""

from __future__ import annotations

import asyncio
import copy
import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from zoneinfo import ZoneInfo

import sql
from gateway.errors import ValidationError
from resolvers.actors import people_urls
from resolvers.dates import DateRange, bucket_start, date_range, zone
from resolvers.properties import parse_properties
from resolvers.trends_filter import (
    ACTIVE_MATHS,
    PER_ACTOR_MATHS,
    PROPERTY_MATHS,
    QUANTILES,
    RANK_BY_EVENT_COUNT,
    Breakdown,
    Series,
    TrendsFilter,
    parse_trends_filter,
)
from resolvers.trends_formula import evaluate, parse_formula
from resolvers.where import Context, Params, compile_entity, compile_filter, event_property_text

NULL_VALUE = "$$_posthog_breakdown_null_$$"
OTHER_VALUE = "$$_posthog_breakdown_other_$$"
NULL_NUMERIC = 9007199254740990
NULL_LABEL = "None (i.e. no value)"
OTHER_LABEL = "Other (i.e. all remaining values)"
LIFECYCLE_STATUSES = ("new", "returning", "resurrecting", "dormant")

# Maths that grow with the number of distinct ids read: under sampling_factor f they are
# divided by f. Averages, quantiles, extremes and per-actor figures are left as read.
SAMPLED_MATHS = frozenset({"total", "dau", "weekly_active", "monthly_active", "unique_group",
                           "unique_session", "sum"})  # fmt: skip
# Maths that count events, sessions, groups or property values — never persons.
ACTORLESS_MATHS = frozenset({"total", "unique_session", "unique_group", *PROPERTY_MATHS})
PERSON = (
    "if(o.old_person_id = toUUID('00000000-0000-0000-0000-000000000000'), "
    "e.person_id, o.override_person_id)"
)
SESSION = "if(isNull(e.properties.`$session_id`), '', toString(e.properties.`$session_id`))"
UTC_TIME = "DateTime64(6, 'UTC')"
# Bucket starts in the project timezone, as unix times (closed enum: spliced, never user text).
_WEEK_MODE = {0: 0, 1: 3}  # week_start_day → toStartOfWeek mode (Sunday / Monday)
_BUCKETS = {
    "hour": "toUnixTimestamp(toStartOfHour(toTimeZone(ts, {tz:String})))",
    "day": "toUnixTimestamp(toStartOfDay(toTimeZone(ts, {tz:String})))",
    "week": "toUnixTimestamp(toDateTime(toStartOfWeek(toTimeZone(ts, {tz:String}), __MODE__), "
    "{tz:String}))",
    "month": "toUnixTimestamp(toDateTime(toStartOfMonth(toTimeZone(ts, {tz:String})), "
    "{tz:String}))",
}
_REDUCE = {"sum": ("sum", ""), "avg": ("avg", ""), "min": ("min", ""), "max": ("max", ""),
           **{name: ("quantile", f"({level})") for name, level in QUANTILES.items()}}  # fmt: skip


def _reduce(how: str, column: str, condition: str | None = None) -> str:
    """A closed-enum aggregate call, e.g. `quantileIf(0.9)(x, cond)`."""
    function, levels = _REDUCE[how]
    if condition is None:
        return f"{function}{levels}({column})"
    return f"{function}If{levels}({column}, {condition})"


_INTERVAL_SECONDS = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 30 * 86400}


def _template(name: str) -> str:
    return sql.load(f"trends/{name}")


def _filter_template(name: str) -> str:
    return sql.load(f"filters/{name}")


def _floor_second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _wall_shift(moment: datetime, tz: ZoneInfo, days: float) -> datetime:
    """Calendar days in local time (a DST day is still one day)."""
    naive = moment.astimezone(tz).replace(tzinfo=None) + timedelta(days=days)
    return naive.replace(tzinfo=tz)


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    following = datetime(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    days = (following - timedelta(days=1)).day
    return moment.replace(year=year, month=month + 1, day=min(moment.day, days))


# --- periods ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A resolved range (§3.1) and its buckets (§3.2)."""

    date_from: datetime  # project timezone, inclusive
    date_to: datetime  # inclusive
    lower: datetime  # events counted from here (date_from rounded down to its interval)
    buckets: list[datetime]

    @property
    def keys(self) -> list[int]:
        return [int(b.timestamp()) for b in self.buckets]

    def window(self) -> tuple[datetime, datetime]:
        """[from, to) in UTC for `lower <= ts <= date_to` compared at whole seconds."""
        return _floor_second(self.lower), _floor_second(self.date_to) + timedelta(seconds=1)


@dataclass
class Part:
    """One output series of one entity in one period, before shaping."""

    series: Series
    value: object  # breakdown value (None without breakdown)
    label: str
    data: list[float] = field(default_factory=list)  # smoothed, not accumulated
    aggregated_value: float | None = None

    @property
    def count(self) -> float:
        return float(sum(self.data))

    @property
    def rank_value(self) -> float:
        """What series are ordered by; rounded so that float noise (6.3999999999999995 from
        one quantile's interpolation, 6.4 from another's) is a tie, settled by label."""
        value = self.aggregated_value if self.aggregated_value is not None else self.count
        return round(value, 9)


class _Request:
    """Everything fixed for one request: project, filter, timezone, SQL context."""

    def __init__(self, store, project: dict, tf: TrendsFilter, now: datetime, actions: dict,
                 cohorts: dict | None = None):  # fmt: skip
        self.store = store
        self.project = project
        self.tf = tf
        self.now = now
        self.actions = actions
        self.cohorts = cohorts or {}
        # Histogram breakdowns: the bins of the series being computed, (low, high, label).
        self.histogram: list[tuple[float, float, str]] | None = None
        self.url_builders: dict = {}  # persons-URL kind → resolvers.actors.people_urls builder
        self.timezone = project.get("timezone") or "UTC"
        self.tz = zone(self.timezone)
        self.week_start_day = int(project.get("week_start_day") or 0)
        if self.week_start_day not in _WEEK_MODE:
            raise ValidationError("week_start_day must be 0 or 1", attr="week_start_day")
        self.bucket_sql = _BUCKETS[tf.interval].replace(
            "__MODE__", str(_WEEK_MODE[self.week_start_day]))  # fmt: skip

    # -- dates ----------------------------------------------------------------------------

    async def current_range(self) -> DateRange:
        first = None
        if self.tf.raw.get("date_from") == "all":
            result = await self.store.query(_template("first_event.sql"),
                                            {"project_id": self.project["id"]})  # fmt: skip
            row = result.rows[0] if result.rows else None
            first = row[0] if row and row[1] else None
        rng = date_range(self.tf.raw, now=self.now, timezone=self.timezone,
                         week_start_day=self.week_start_day, first_event=first,
                         interval=self.tf.interval)  # fmt: skip
        if self.tf.interval == "hour":
            span = rng.date_to.astimezone(UTC) - rng.date_from.astimezone(UTC)
            if span > timedelta(days=31):
                raise ValidationError("an hourly insight covers at most 31 days",
                                      attr="interval")  # fmt: skip
        return rng

    def period(self, date_from: datetime, date_to: datetime, *, round_lower: bool) -> Period:
        date_from, date_to = self.local(date_from), self.local(date_to)
        rng = DateRange(date_from, date_to, self.tf.interval, self.timezone, self.week_start_day)
        buckets = [self.local(b) for b in rng.buckets()]
        lower = date_from
        explicit = str(self.tf.raw.get("explicit_date", "")).lower() in ("true", "1")
        if round_lower and not explicit:
            span = (date_to.astimezone(UTC) - date_from.astimezone(UTC)).total_seconds()
            if self.tf.interval in ("week", "month") or span >= 2 * _INTERVAL_SECONDS[
                    self.tf.interval]:  # fmt: skip
                lower = bucket_start(date_from, self.tf.interval, self.week_start_day)
        return Period(date_from, date_to, self.local(lower), buckets)

    def local(self, moment: datetime) -> datetime:
        """The instant in the project timezone (a wall time in a DST gap moves past it)."""
        return moment.astimezone(UTC).astimezone(self.tz)

    def previous_range(self, date_from: datetime, date_to: datetime) -> tuple[datetime, datetime]:
        """§6: same length, ending where the current range starts, aligned per interval."""
        start = self.local(date_from).replace(tzinfo=None)
        end = self.local(date_to).replace(tzinfo=None)
        diff = end - start
        new_from = _same_clock(start - diff, start, hour=True)
        if new_from > start - diff:
            new_from -= timedelta(days=1)
        if self.tf.interval == "hour":
            new_to = _same_clock(new_from + diff, end, hour=False)
        else:
            if self.tf.interval == "day" and _weeks_of_days(self.tf.raw.get("date_from")) and \
                    not _is_relative(self.tf.raw.get("date_to")):  # fmt: skip
                new_from += timedelta(days=1)  # `-7d` compares with the 8 days ending today-7
            new_to = _same_clock(new_from + diff, end, hour=True)
        return new_from.replace(tzinfo=self.tz), new_to.replace(tzinfo=self.tz)

    # -- SQL ------------------------------------------------------------------------------

    def context(self) -> Context:
        return Context(person=PERSON, actions=self.actions, cohorts=self.cohorts, now=self.now)

    def base_params(self, params: Params) -> dict:
        return {**params.values, "project_id": self.project["id"], "tz": self.timezone}

    def where(self, series: Series, params: Params) -> str:
        ctx = self.context()
        parts = [compile_entity(series.entity, params, ctx, actions=self.actions,
                                attr=series.attr)]  # fmt: skip
        parts.append(compile_filter(parse_properties(self.tf.properties), params, ctx))
        if self.tf.filter_test_accounts:
            test_filters = self.project.get("test_account_filters") or []
            parts.append(compile_filter(parse_properties(test_filters), params, ctx,
                                        "test_account_filters"))  # fmt: skip
        if series.math == "unique_group":
            parts.append(f"e.group_{int(series.group_index)} != ''")
        return " AND ".join(parts)

    def events_sql(
        self,
        series: Series | None,
        params: Params,
        window: tuple[datetime, datetime],
        *,
        actor_group: int | None = None,
        breakdown: Breakdown | None = None,
        number: str | None = None,
        needs_actor: bool = True,
    ) -> str:
        """One series' events in [from, to): columns person, actor, raw_value, number, session.

        Without `needs_actor` the math reads neither `person` nor `actor`, and unless a filter
        or breakdown reads the merged person, the join with person_overrides is left out: on
        10M events it costs more than the scan itself (bench/README.md)."""
        joins = []
        if actor_group is not None:
            actor = f"e.group_{int(actor_group)}"
        else:
            actor = f"toString({PERSON})" if needs_actor else "''"
        raw_value = "''"
        needs_sessions = number == "$session_duration"
        if breakdown is not None:
            raw_value, join = self.breakdown_raw(breakdown, params)
            joins.extend(join)
            needs_sessions = needs_sessions or breakdown.type == "session"
        if needs_sessions:
            joins.append(f"LEFT JOIN ({_filter_template('session_duration.sql')}) AS sd "
                         f"ON sd.session_id = {SESSION}")  # fmt: skip
        if number == "$session_duration":
            number_sql = "toFloat64OrNull(sd.value)"
        elif number is not None:
            number_sql = f"toFloat64OrNull({event_property_text('e', number)})"
        else:
            number_sql = "CAST(NULL AS Nullable(Float64))"
        columns = ",\n    ".join([f"{actor} AS actor", f"{raw_value} AS raw_value",
                                  f"{number_sql} AS number", f"{SESSION} AS session"])  # fmt: skip
        where = self.where(series, params) if series is not None else "1"
        if self.tf.sampling is not None:
            # What `SAMPLE f` applies on the table's sampling key (cityHash64(distinct_id)):
            # the hashes below f of their range. Written out because SAMPLE takes only a
            # literal, and the factor stays a bound parameter.
            threshold = min(int(self.tf.sampling * 2**64), 2**64 - 1)
            where = f"{where} AND cityHash64(e.distinct_id) < {params.bind(threshold, 'UInt64')}"
        uses_person = PERSON in columns or PERSON in where or any(PERSON in j for j in joins)
        return (
            _template("events.sql" if uses_person else "events_unmerged.sql")
            .replace("__COLUMNS__", columns)
            .replace("__JOINS__", "\n".join(joins))
            .replace("__FROM__", params.bind(window[0].astimezone(UTC), UTC_TIME))
            .replace("__TO__", params.bind(window[1].astimezone(UTC), UTC_TIME))
            .replace("__WHERE__", where)
        )

    def breakdown_raw(self, bd: Breakdown, params: Params, alias: str = "bp") -> tuple:
        """The breakdown value of an event as text ('' = none), a number for sessions, or an
        array of texts for multiple breakdowns; with the joins it needs."""
        if bd.multiple:
            texts, joins = [], []
            for index, dim in enumerate(bd.dims):
                text, join = self.breakdown_raw(dim, params, f"{alias}{index}")
                texts.append(text)
                joins.extend(join)
            return "[" + ", ".join(texts) + "]", joins
        if bd.type == "event":
            return event_property_text("e", bd.key), []
        if bd.type == "session":
            return f"ifNull(toInt64OrNull(sd.value), {NULL_NUMERIC})", []
        key = params.name(bd.key)
        if bd.type == "person":
            sub, on = _filter_template("person_property.sql"), f"{alias}.person_id = {PERSON}"
        else:
            sub = _filter_template("group_property.sql").replace(
                "__INDEX__", params.name(bd.group_index)
            )
            on = f"{alias}.group_key = e.group_{int(bd.group_index)}"
        # The JSON text becomes PostHog's string once per person (group), not once per event:
        # on 10M events that is most of a person breakdown's time.
        text = "if(value = '', '', if(JSONType(value) = 'String', JSONExtractString(value), value))"
        sub = f"SELECT *, {text} AS text FROM ({sub.replace('__KEY__', key)})"
        return f"{alias}.text", [f"LEFT JOIN ({sub}) AS {alias} ON {on}"]

    def breakdown_value_sql(self, bd: Breakdown | None, params: Params) -> str:
        """raw_value with the null sentinel and URL normalisation (§4.4.3, §4.4.10), or the
        histogram bin's label ('' outside every bin, §4.4.9)."""
        if self.histogram is not None:
            lows = params.bind([low for low, _, _ in self.histogram], "Array(Float64)")
            highs = params.bind([high for _, high, _ in self.histogram], "Array(Float64)")
            labels = params.bind([label for _, _, label in self.histogram], "Array(String)")
            number = "toFloat64OrNull(raw_value)"
            found = (f"arrayFirstIndex((low, high) -> low <= {number} AND {number} < high, "
                     f"{lows}, {highs})")  # fmt: skip
            return f"if(isNull({number}), '', arrayElement({labels}, {found}))"
        if bd is None:
            # A number, not '': grouping by (UInt8, UUID) hashes fixed-size keys, while a String
            # in the key — even a constant one behind a subquery — makes every row serialise
            # its key (WAU at 10M events: 1.8 s → 1.2 s). The value is never read.
            return "toUInt8(0)"
        if bd.numeric:
            return "raw_value"
        if bd.multiple:
            return "[" + ", ".join(_text_value(dim, f"raw_value[{i + 1}]")
                                   for i, dim in enumerate(bd.dims)) + "]"  # fmt: skip
        return _text_value(bd, "raw_value")


def _text_value(bd: Breakdown, raw: str) -> str:
    """A text breakdown value with the null sentinel and URL normalisation."""
    value = f"if({raw} = '', '{NULL_VALUE}', {raw})"
    if bd.normalize_url:
        trimmed = f"replaceRegexpOne({raw}, '[/?#]+$', '')"
        value = (f"if({raw} = '', '{NULL_VALUE}', "
                 f"if({trimmed} = '', '/', {trimmed}))")  # fmt: skip
    return value


def _same_clock(moment: datetime, like: datetime, *, hour: bool) -> datetime:
    """`moment` with the clock time of `like` (minutes and below only, unless `hour`)."""
    moment = moment.replace(minute=like.minute, second=like.second, microsecond=like.microsecond)
    return moment.replace(hour=like.hour) if hour else moment


def _weeks_of_days(raw) -> bool:
    """A relative `-Nd` date_from with N > 0 a multiple of 7 (the compare shift of §6)."""
    import re

    match = re.fullmatch(r"-?(\d+)d(Start|End)?", raw) if isinstance(raw, str) else None
    return bool(match and int(match.group(1)) > 0 and int(match.group(1)) % 7 == 0)


def _is_relative(raw) -> bool:
    import re

    if not isinstance(raw, str) or raw == "all":
        return False
    match = re.fullmatch(r"-?(\d*)[a-zA-Z](Start|End)?", raw)
    return bool(match and (match.group(1) or match.group(2)))


# --- series computation ----------------------------------------------------------------------


def _aggregate_sql(series: Series) -> tuple[str, dict]:
    """(template, replacements) computing the series' math per breakdown value and bucket."""
    m = series.math
    if m in PER_ACTOR_MATHS:
        how = m.removesuffix("_count_per_actor")
        return "buckets_per_unit.sql", {
            "__UNIT__": "actor",
            "__UNIT_VALUE__": "count()",
            "__AGGREGATE__": _reduce(how, "unit_value", "unit != ''"),
        }
    if m in PROPERTY_MATHS and series.math_property == "$session_duration":
        return "buckets_per_unit.sql", {
            "__UNIT__": "session",
            "__UNIT_VALUE__": "any(number)",
            "__AGGREGATE__": _reduce(m, "unit_value", "unit != ''"),
        }
    aggregate = {
        "total": "count()",
        "dau": "uniqExact(person)",
        "unique_group": "uniqExact(actor)",
        "unique_session": "uniqExactIf(session, session != '')",
        "active": "uniqExactIf(actor, actor != '')",
    }.get(m) or _reduce(m, "number")
    return "buckets.sql", {"__AGGREGATE__": aggregate}


def _number_of(series: Series) -> str | None:
    return series.math_property if series.math in PROPERTY_MATHS else None


async def _rows(req: _Request, template: str, replacements: dict, params: Params) -> list[tuple]:
    sql = _template(template)
    for key, value in replacements.items():
        sql = sql.replace(key, value)
    result = await req.store.query(sql, req.base_params(params))
    return result.rows


def _keep(req: _Request, params: Params, kept: list | None, with_other: bool) -> tuple:
    """SQL mapping the breakdown value onto the kept values (and "Other"), and the filter."""
    bd = req.tf.breakdown
    value = req.breakdown_value_sql(bd, params)
    if bd is None or kept is None:
        return value, "1"
    if bd.multiple:
        listed = params.bind([list(v) for v in kept], "Array(Array(String))")
        other = "[" + ", ".join(f"'{OTHER_VALUE}'" for _ in bd.dims) + "]"
    else:
        listed = params.bind(list(kept), "Array(Int64)" if bd.numeric else "Array(String)")
        other = f"'{OTHER_VALUE}'"
    if with_other:
        return f"if(has({listed}, {value}), {value}, {other})", "1"
    return value, f"has({listed}, {value})"


async def _math_rows(
    req: _Request,
    series: Series,
    window: tuple[datetime, datetime],
    *,
    bucket: str,
    kept: list | None,
    with_other: bool,
    math_series: Series | None = None,
    template_override: tuple[str, dict] | None = None,
) -> list[tuple]:
    target = math_series or series
    params = Params()
    events = req.events_sql(series, params, window, actor_group=target.actor_group,
                            breakdown=req.tf.breakdown, number=_number_of(target),
                            needs_actor=target.math not in ACTORLESS_MATHS)  # fmt: skip
    value_sql, keep_sql = _keep(req, params, kept, with_other)
    events = f"SELECT *, {value_sql} AS breakdown_value FROM ({events})"
    template, replacements = template_override or _aggregate_sql(target)
    return await _rows(req, template, {**replacements, "__EVENTS__": events, "__BUCKET__": bucket,
                                       "__KEEP__": keep_sql}, params)  # fmt: skip


async def _ranked_total_rows(
    req: _Request, series: Series, period: Period
) -> tuple[list, bool, list[tuple]]:
    """_top_values and _series_rows in one query, for event counts (buckets_ranked.sql)."""
    bd = req.tf.breakdown
    bucket = "0" if req.tf.aggregated else req.bucket_sql
    params = Params()
    events = req.events_sql(series, params, period.window(), breakdown=bd, needs_actor=False)
    events = f"SELECT *, {req.breakdown_value_sql(bd, params)} AS breakdown_value FROM ({events})"
    rows = await _rows(req, "buckets_ranked.sql", {
        "__EVENTS__": events, "__BUCKET__": bucket,
        "__LOW__": params.bind(bd.offset, "UInt64"),
        "__HIGH__": params.bind(bd.offset + bd.limit, "UInt64"),
        "__OTHER__": params.bind(OTHER_VALUE, "String"),
    }, params)  # fmt: skip
    ranks = {value: rank for value, _, _, rank, _ in rows if value != OTHER_VALUE}
    kept = sorted(ranks, key=ranks.get)
    with_other = bool(rows) and rows[0][4] > bd.offset + bd.limit and not bd.hide_other
    rows = [row[:3] for row in rows if with_other or row[0] != OTHER_VALUE]
    return kept, with_other, rows


async def _top_values(req: _Request, series: Series, period: Period) -> tuple[list, bool]:
    """§4.4.1: values ranked by the math (event counts for some maths) over the range."""
    bd = req.tf.breakdown
    ranking = series
    if series.math in RANK_BY_EVENT_COUNT:
        ranking = Series(series.entity, series.echo, series.name, "total", None, None, series.attr)
    rows = await _math_rows(req, series, period.window(), bucket="0", kept=None,
                            with_other=False, math_series=ranking)  # fmt: skip
    scored = [(_number(r[2]), _key(r[0])) for r in rows]
    ranked = [value for _, value in sorted(scored, reverse=True)]
    window = ranked[bd.offset : bd.offset + bd.limit + 1]
    kept = window[: bd.limit]
    with_other = len(window) > bd.limit and not bd.hide_other and not bd.numeric
    return kept, with_other


def _number(value) -> float:
    """A math result as a float: NULL (no values) and NaN (an empty -If aggregate) are 0."""
    if value is None:
        return 0.0
    number = float(value)
    return number if math.isfinite(number) else 0.0


def _key(value):
    """A breakdown value as a dict key: a multiple breakdown's array from ClickHouse as a
    tuple (_echoed turns it back into a list for the response)."""
    return tuple(value) if isinstance(value, list) else value


def _echoed(value):
    """A breakdown value as the response shows it: a multiple breakdown's as a list."""
    return list(value) if isinstance(value, tuple) else value


def _value_label(value) -> str:
    if isinstance(value, tuple):  # multiple breakdowns
        return "::".join(_value_label(part) for part in value)
    if value in (NULL_VALUE, NULL_NUMERIC):
        return NULL_LABEL
    if value == OTHER_VALUE:
        return OTHER_LABEL
    return str(value)


def _smooth(values: list[float], window: int) -> list[float]:
    if window <= 1:
        return list(values)
    out = []
    for i in range(len(values)):
        chunk = values[max(0, i - window + 1) : i + 1]
        out.append(sum(chunk) / len(chunk))
    return out


def _accumulate(values: list[float]) -> list[float]:
    out, total = [], 0.0
    for value in values:
        total += value
        out.append(total)
    return out


async def _entity_parts(req: _Request, series: Series, period: Period) -> list[Part]:
    """The series of one entity in one period (§4), ordered per §4.4.6."""
    tf, bd = req.tf, req.tf.breakdown
    if bd is not None and bd.type == "cohort":
        return await _cohort_parts(req, series, period)
    if bd is not None and bd.bins:
        return await _histogram_parts(req, series, period)
    kept, with_other = None, False
    if bd is not None and series.math == "total" and not bd.numeric and not bd.multiple:
        kept, with_other, rows = await _ranked_total_rows(req, series, period)
        if not kept:
            return []  # §4.4.11
    else:
        if bd is not None:
            kept, with_other = await _top_values(req, series, period)
            if not kept:
                return []  # §4.4.11
        rows = await _series_rows(req, series, period, kept, with_other)
    if bd is not None and bd.multiple:
        rows = [(_key(value), *rest) for value, *rest in rows]
    other = (OTHER_VALUE,) * len(bd.dims) if bd is not None and bd.multiple else OTHER_VALUE
    values = [None] if bd is None else [*kept, *([other] if with_other else [])]
    parts = {v: Part(series, v, series.name if bd is None else _value_label(v)) for v in values}
    _fill(req, series, period, parts, rows)
    multiple = len(tf.series) > 1
    ordered = list(parts.values())
    if bd is not None:
        ordered.sort(key=lambda p: (-p.rank_value, _label(p, multiple)))
    return ordered


async def _cohort_parts(req: _Request, series: Series, period: Period) -> list[Part]:
    """§4.4.7: one series per listed cohort, counting the events of its members now (cohorts
    may overlap); `all` is everyone, labelled "all users" and listed first; a cohort without
    events gives no series."""
    unbroken = copy.copy(req)
    unbroken.tf = replace(req.tf, breakdown=None)

    async def one(cohort_id, member_series: Series, label: str) -> Part | None:
        rows = await _series_rows(unbroken, member_series, period, None, False)
        if series.math in ACTIVE_MATHS:
            exists = await _has_events(unbroken, member_series, period)
        else:
            exists = bool(rows)
        if not exists:
            return None  # §4.4.11
        part = Part(series, cohort_id, label)
        _fill(req, series, period, {cohort_id: part}, [(cohort_id, *row[1:]) for row in rows])
        return part

    # Every cohort id is checked before any query runs; then the cohorts compute side by side.
    members = [(c, *cohort_series(req, series, c)) for c in req.tf.breakdown.cohorts]
    found = await asyncio.gather(*(one(*member) for member in members))
    parts = [part for part in found if part is not None]
    multiple = len(req.tf.series) > 1
    parts.sort(key=lambda p: (p.value != "all", -p.rank_value, _label(p, multiple)))
    return parts


def cohort_series(req: _Request, series: Series, cohort_id) -> tuple[Series, str]:
    """The series narrowed to a cohort's members now (`all`: everyone), and its label."""
    if cohort_id == "all":
        return series, "all users"
    cohort = req.cohorts.get(cohort_id)
    if cohort is None:
        raise ValidationError(f"breakdown: unknown cohort id {cohort_id}", attr="breakdown")
    member = {"type": "cohort", "key": "id", "value": cohort_id}
    own = series.entity.get("properties") or []
    properties = [*own, member] if isinstance(own, list) else {
        "type": "AND", "values": [own, member]}  # fmt: skip
    entity = {**series.entity, "properties": properties}
    return replace(series, entity=entity), cohort.get("name") or str(cohort_id)


async def _histogram_parts(req: _Request, series: Series, period: Period) -> list[Part]:
    """§4.4.9: the series' numeric values in the range cut at their quantiles 0, 1/N, …, 1
    (floored to 2 decimals, repeats dropped); bin k is [edge k, edge k+1), the last one closed
    by adding 0.01; series ordered by lower bound, no "Other"."""
    bins = req.tf.breakdown.bins
    params = Params()
    events = req.events_sql(series, params, period.window(), breakdown=req.tf.breakdown,
                            needs_actor=False)  # fmt: skip
    levels = ", ".join(repr(k / bins) for k in range(bins + 1))  # closed: from an int
    ((seen, numeric, quantiles),) = await _rows(req, "histogram_edges.sql", {
        "__EVENTS__": events, "__LEVELS__": levels}, params)  # fmt: skip
    if not seen:
        return []  # §4.4.11
    if not numeric:
        empty = Part(series, "[nan,nan]", "[nan,nan]")
        _fill(req, series, period, {empty.value: empty}, [])
        return [empty]
    edges: list[float] = []
    for quantile in quantiles:
        edge = _floor_hundredths(quantile)
        if not edges or edges[-1] != edge:
            edges.append(edge)
    lows = edges[:-1] or edges  # one distinct value: a single bin [v, v + 0.01]
    highs = [*edges[1:-1], round(edges[-1] + 0.01, 2)]
    binned = copy.copy(req)
    binned.histogram = [(low, high, f"[{low},{high}]")
                        for low, high in zip(lows, highs, strict=True)]  # fmt: skip
    labels = [label for _, _, label in binned.histogram]
    rows = await _series_rows(binned, series, period, labels, False)
    parts = {label: Part(series, label, label) for label in labels}
    _fill(req, series, period, parts, rows)
    return list(parts.values())


def _floor_hundredths(value: float) -> float:
    """floor(x, 2) of the number meant: 0.29 stays 0.29 (not 0.28 from binary noise), and an
    interpolated 6.3999999999999995 counts as the 6.4 it stands for."""
    meant = Decimal(repr(round(value, 9)))
    return float(meant.quantize(Decimal("0.01"), rounding=ROUND_FLOOR))


async def _has_events(req: _Request, series: Series, period: Period) -> bool:
    """Whether the series matches any event inside the range: rolling-window maths also read
    the weeks before it, which do not make a series appear."""
    counted = replace(series, math="total", math_property=None, group_index=None)
    rows = await _math_rows(req, counted, period.window(), bucket="0", kept=None,
                            with_other=False)  # fmt: skip
    return bool(rows)


def _fill(req: _Request, series: Series, period: Period, parts: dict, rows: list) -> None:
    """Each part's data (or aggregated value) from rows of (value, bucket, number)."""
    tf, bd = req.tf, req.tf.breakdown
    values = list(parts)
    if tf.sampling is not None and series.math in SAMPLED_MATHS:
        rows = [(value, bucket, _number(number) / tf.sampling) for value, bucket, number in rows]
    if tf.aggregated:
        found: dict = {}
        for value, _, number in rows:  # one row per value (bucket 0: the whole range)
            key = None if bd is None else value
            found[key] = found.get(key, 0.0) + _number(number)
        for value, part in parts.items():
            part.aggregated_value = found.get(value, 0.0)
    else:
        position = {key: i for i, key in enumerate(period.keys)}
        if series.math in ACTIVE_MATHS:
            position = {i + 1: i for i in range(len(period.keys))}
        data = {v: [0.0] * len(period.keys) for v in values}
        for value, bucket, number in rows:
            key = None if bd is None else value
            if key in data and int(bucket) in position:
                data[key][position[int(bucket)]] = _number(number)
        for value, part in parts.items():
            part.data = _smooth(data[value], tf.smoothing)


async def _series_rows(
    req: _Request, series: Series, period: Period, kept: list | None, with_other: bool
) -> list[tuple]:
    tf = req.tf
    if series.math in ACTIVE_MATHS:
        days = ACTIVE_MATHS[series.math]
        active = Series(series.entity, series.echo, series.name, "active", None,
                        series.group_index, series.attr)  # fmt: skip
        if tf.aggregated:
            start = _wall_shift(period.date_to, req.tz, -days)
            window = (start.astimezone(UTC), period.date_to.astimezone(UTC) + timedelta(
                microseconds=1))  # fmt: skip
            return await _math_rows(req, series, window, bucket="0", kept=kept,
                                    with_other=with_other, math_series=active)  # fmt: skip
        fetch_from = _floor_second(_wall_shift(period.lower, req.tz, -days))
        window = (fetch_from, _floor_second(period.date_to) + timedelta(seconds=1))
        params_starts = [_wall_shift(b, req.tz, -(days - 1)).astimezone(UTC)
                         for b in period.buckets]  # fmt: skip
        params_ends = [_wall_shift(b, req.tz, 1).astimezone(UTC) for b in period.buckets]
        return await _active_rows(req, series, window, kept, with_other, active,
                                  params_starts, params_ends)  # fmt: skip
    bucket = "0" if tf.aggregated else req.bucket_sql
    if tf.cumulative and series.math in ("dau", "unique_group") and not tf.aggregated:
        unit = Series(series.entity, series.echo, series.name, series.math, None,
                      series.group_index if series.math == "unique_group" else None,
                      series.attr)  # fmt: skip
        return await _math_rows(req, series, period.window(), bucket=bucket, kept=kept,
                                with_other=with_other, math_series=unit,
                                template_override=("first_seen.sql", {}))  # fmt: skip
    return await _math_rows(req, series, period.window(), bucket=bucket, kept=kept,
                            with_other=with_other)  # fmt: skip


async def _active_rows(req, series, window, kept, with_other, active, starts, ends):
    params = Params()
    events = req.events_sql(series, params, window, actor_group=active.group_index,
                            breakdown=req.tf.breakdown)  # fmt: skip
    value_sql, keep_sql = _keep(req, params, kept, with_other)
    events = f"SELECT *, {value_sql} AS breakdown_value FROM ({events})"
    unit = "hour" if req.tf.interval == "hour" else "day"
    segments = _segments(window, req.tz, unit)
    if segments is not None and set(starts) | set(ends) <= set(segments):
        starts_at = {moment: position for position, moment in enumerate(segments)}
        cover = [[]] + [
            [i + 1 for i, (lo, hi) in enumerate(zip(starts, ends, strict=True))
             if lo <= segment and following <= hi]
            for segment, following in zip(segments, segments[1:], strict=False)
        ]  # fmt: skip
        return await _rows(req, "active_segments.sql", {
            "__EVENTS__": events, "__KEEP__": keep_sql,
            "__SEGMENT__": "toStartOfHour" if unit == "hour" else "toStartOfDay",
            # Persons group by their UUID: hashing it is half the cost of its text form.
            "__UNIT__": "actor" if active.group_index is not None else "person",
            "__HAS_ACTOR__": "actor != ''" if active.group_index is not None else "1",
            "__SEGMENTS__": params.bind([int(m.timestamp()) for m in segments], "Array(UInt32)"),
            "__POSITIONS__": params.bind(
                [starts_at[m] + 1 for m in segments], "Array(UInt32)"),
            "__COVER__": params.bind(cover, "Array(Array(UInt32))"),
        }, params)  # fmt: skip
    return await _rows(req, "active.sql", {
        "__EVENTS__": events, "__KEEP__": keep_sql,
        "__STARTS__": params.bind(starts, f"Array({UTC_TIME})"),
        "__ENDS__": params.bind(ends, f"Array({UTC_TIME})"),
    }, params)  # fmt: skip


def _segments(window: tuple[datetime, datetime], tz: ZoneInfo, unit: str) -> list[datetime] | None:
    """The local day (or hour) starts, as UTC instants, from the one before window[0] to the
    first after window[1]. None when a local midnight does not exist (a DST gap at midnight):
    there ClickHouse's day start and ours could differ."""
    if unit == "hour":  # every instant whose wall clock reads :00:00 (DST repeats one hour)
        moment = window[0].astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        moment -= timedelta(hours=2)
        segments = []
        while not segments or segments[-1] <= window[1]:
            if moment.astimezone(tz).minute == 0:
                segments.append(moment)
            moment += timedelta(minutes=15)
        return segments
    day = window[0].astimezone(tz).date() - timedelta(days=1)
    segments = []
    while not segments or segments[-1] <= window[1]:
        midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
        if midnight.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != midnight.replace(
            tzinfo=None
        ):
            return None
        segments.append(midnight.astimezone(UTC))
        day += timedelta(days=1)
    return segments


def _label(part: Part, multiple_entities: bool) -> str:
    if part.value is None:
        return part.series.name
    if multiple_entities:
        return f"{part.series.name} - {part.label}"
    return part.label


# --- shaping ---------------------------------------------------------------------------------


def _days(req: _Request, buckets: list[datetime]) -> list[str]:
    fmt = "%Y-%m-%d %H:%M:%S" if req.tf.interval == "hour" else "%Y-%m-%d"
    return [b.astimezone(req.tz).strftime(fmt) for b in buckets]


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _labels(req: _Request, buckets: list[datetime]) -> list[str]:
    out = []
    for b in buckets:
        local = b.astimezone(req.tz)
        label = f"{local.day}-{_MONTHS[local.month - 1]}-{local.year}"
        if req.tf.interval == "hour":
            label += f" {local.hour:02d}:{local.minute:02d}"
        out.append(label)
    return out


def _aggregated_days(req: _Request, period: Period) -> list[str]:
    """§3.2: step from the unrounded date_from while <= date_to (calendar steps, real hours)."""
    out, step = [], 0
    fmt = "%Y-%m-%d %H:%M:%S" if req.tf.interval == "hour" else "%Y-%m-%d"
    while True:
        if req.tf.interval == "hour":
            current = (period.date_from.astimezone(UTC) + timedelta(hours=step)).astimezone(req.tz)
        else:
            days = {"day": 1, "week": 7, "month": 30}[req.tf.interval] * step
            current = _wall_shift(period.date_from, req.tz, days)
        if current.astimezone(UTC) > period.date_to.astimezone(UTC):
            return out
        out.append(current.astimezone(req.tz).strftime(fmt))
        step += 1


def _bucket_end(req: _Request, bucket: datetime) -> datetime:
    if req.tf.interval == "day":
        return bucket.replace(hour=23, minute=59, second=59, microsecond=999999)
    if req.tf.interval == "hour":
        return (bucket.astimezone(UTC) + timedelta(hours=1)).astimezone(req.tz)
    if req.tf.interval == "week":
        return _wall_shift(bucket, req.tz, 6)
    return _wall_shift(_add_months(bucket, 1), req.tz, -1)


def _request_echo(req: _Request, period: Period, insight: str) -> dict:
    return {**req.tf.raw, "insight": insight, "interval": req.tf.interval,
            "display": req.tf.display, "date_from": period.date_from.isoformat(),
            "date_to": period.date_to.isoformat()}  # fmt: skip


def _persons_url(req: _Request, flt: dict, kind: str = "trends",
                 extra: dict | None = None) -> str:  # fmt: skip
    """The point's filter over the insight's; a trends point also carries the insight's
    resolved range, so the persons endpoint counts exactly the events the point counted (a
    bucket may reach past the range's ends, and "Other" needs the range's top values)."""
    builder = req.url_builders.get(kind)
    if builder is None:  # one per kind and request: the insight's filter is encoded once
        builder = req.url_builders[kind] = people_urls(req.project["id"], kind, req.tf.raw)
    return builder({**flt, **(extra or {})})


def _point_keys(req: _Request, series: Series, period: Period) -> dict:
    """What a trends URL adds to the spec's filter: the series' position (two entities may
    look alike) and the insight's resolved range."""
    return {"entity_index": req.tf.series.index(series),
            "insight_date_from": period.date_from.isoformat(),
            "insight_date_to": period.date_to.isoformat()}  # fmt: skip


def _persons_filter(req: _Request, part: Part) -> dict:
    echo = part.series.echo
    out = {"entity_id": echo["id"], "entity_type": echo["type"], "entity_math": echo["math"],
           "entity_order": echo["order"]}  # fmt: skip
    if req.tf.breakdown is not None:
        out["breakdown_value"] = _echoed(part.value)
        out["breakdown_type"] = req.tf.breakdown.type
    return out


def _format(req: _Request, part: Part, period: Period) -> dict:
    multiple = len(req.tf.series) > 1
    out: dict = {"action": part.series.echo, "label": _label(part, multiple)}
    if req.tf.breakdown is not None:
        out["breakdown_value"] = _echoed(part.value)
    if part.aggregated_value is not None:
        persons = {**_persons_filter(req, part), "date_from": period.date_from.isoformat(),
                   "date_to": period.date_to.isoformat()}  # fmt: skip
        url = _persons_url(req, persons, extra=_point_keys(req, part.series, period))
        out.update({"aggregated_value": part.aggregated_value, "count": 0.0, "data": [],
                    "labels": [], "days": _aggregated_days(req, period),
                    "persons": {"filter": persons, "url": url}})  # fmt: skip
    else:
        base = _persons_filter(req, part)
        point_keys = _point_keys(req, part.series, period)
        urls = []
        for bucket in period.buckets:
            start = period.date_from if req.tf.cumulative else bucket
            flt = {**base, "date_from": start.isoformat(),
                   "date_to": _bucket_end(req, bucket).isoformat()}  # fmt: skip
            urls.append({"filter": flt, "url": _persons_url(req, flt, extra=point_keys)})
        out.update({
            "count": part.count,
            "data": _accumulate(part.data) if req.tf.cumulative else list(part.data),
            "labels": _labels(req, period.buckets), "days": _days(req, period.buckets),
            "persons_urls": urls,
        })  # fmt: skip
    out["filter"] = _request_echo(req, period, "TRENDS")
    return out


def _mark_compare(items: list[dict], which: str, interval: str) -> list[dict]:
    for item in items:
        item["compare"] = True
        item["compare_label"] = which
        item["labels"] = [f"{interval} {i}" for i in range(len(item["labels"]))]
    return items


# --- formula ---------------------------------------------------------------------------------


async def _formula_items(req: _Request, period: Period) -> list[dict]:
    """§5: the formula element-wise over the series, joined on breakdown value."""
    tf = req.tf
    tree = parse_formula(tf.formula, len(tf.series))
    per_series = await asyncio.gather(*(_entity_parts(req, s, period) for s in tf.series))
    keys: list = []
    rows: list[dict] = []
    labels: dict = {}
    for parts in per_series:
        row = {}
        for part in parts:
            row[part.value] = part
            labels[part.value] = part.label
            if part.value not in keys:
                keys.append(part.value)
        rows.append(row)
    width = len(period.buckets)
    items = []
    for key in keys:
        if tf.aggregated:
            inputs = [row[key].aggregated_value if key in row else 0.0 for row in rows]
            item: dict = {"aggregated_value": evaluate(tree, inputs), "data": [], "count": 0.0,
                          "labels": [], "days": _aggregated_days(req, period)}  # fmt: skip
        else:
            columns = [row[key].data if key in row else [0.0] * width for row in rows]
            data = [evaluate(tree, [c[i] for c in columns]) for i in range(width)]
            item = {"data": _accumulate(data) if tf.cumulative else data,
                    "count": float(sum(data)), "labels": _labels(req, period.buckets),
                    "days": _days(req, period.buckets)}  # fmt: skip
        if tf.breakdown is None:
            item["label"] = f"Formula ({tf.formula})"
        elif tf.breakdown.type == "cohort":  # §5: cohorts by name, "all users"
            item["label"] = item["breakdown_value"] = labels[key]
        else:
            # §5: label and breakdown_value are the raw value (a multiple breakdown's parts
            # joined with "::", as its label)
            label = "::".join(map(str, key)) if isinstance(key, tuple) else key
            item["label"] = item["breakdown_value"] = label
        items.append(item)
    return items


# --- trends ----------------------------------------------------------------------------------


async def _trends(req: _Request) -> list[dict]:
    tf = req.tf
    if tf.formula:
        parse_formula(tf.formula, len(tf.series))  # a bad formula is a 400 before any query
    rng = await req.current_range()
    periods = [("current", req.period(rng.date_from, rng.date_to, round_lower=True))]
    if tf.compare:
        previous = req.previous_range(rng.date_from, rng.date_to)
        periods.append(("previous", req.period(*previous, round_lower=True)))
    compare = len(periods) == 2
    out: list[dict] = []
    if tf.formula:
        for which, period in periods:
            items = await _formula_items(req, period)
            out.extend(_mark_compare(items, which, tf.interval) if compare else items)
        return out
    jobs = [(series, which, period) for series in tf.series for which, period in periods]
    computed = await asyncio.gather(*(_entity_parts(req, s, p) for s, _, p in jobs))
    for (_, which, period), parts in zip(jobs, computed, strict=True):
        items = [_format(req, part, period) for part in parts]
        out.extend(_mark_compare(items, which, tf.interval) if compare else items)
    return out


# --- stickiness ------------------------------------------------------------------------------


def _sticky_points(req: _Request, period: Period) -> int:
    start, end = period.date_from.astimezone(req.tz), period.date_to.astimezone(req.tz)
    wall = end.replace(tzinfo=None) - start.replace(tzinfo=None)
    if req.tf.interval == "month":
        steps = (end.year - start.year) * 12 + end.month - start.month
    elif req.tf.interval == "week":
        steps = wall.days // 7
    elif req.tf.interval == "day":
        steps = wall.days
    else:
        steps = math.floor((end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 3600)
    return steps + 1


def sticky_group(req: _Request, series: Series) -> int | None:
    """The group type stickiness counts (None: persons)."""
    if series.math == "unique_group":
        return series.group_index
    return req.tf.aggregation_group_index


def sticky_actors_sql(req: _Request, series: Series, period: Period, params: Params) -> str:
    """Per actor, the number of buckets of the period with a matching event."""
    events = req.events_sql(series, params, period.window(), actor_group=sticky_group(req, series))
    return (_template("sticky_actors.sql").replace("__EVENTS__", events)
            .replace("__BUCKET__", req.bucket_sql))  # fmt: skip


async def _sticky_item(req: _Request, series: Series, period: Period) -> dict:
    points = _sticky_points(req, period)
    params = Params()
    actors = sticky_actors_sql(req, series, period, params)
    rows = await _rows(req, "stickiness.sql", {"__ACTORS__": actors}, params)
    data = [0.0] * points
    for active, actors in rows:
        if 1 <= int(active) <= points:
            data[int(active) - 1] += float(actors)
    unit = req.tf.interval
    base = {"entity_id": series.echo["id"], "entity_type": series.echo["type"],
            "entity_math": series.echo["math"], "date_from": period.date_from.isoformat(),
            "date_to": period.date_to.isoformat()}  # fmt: skip
    position = {"entity_index": req.tf.series.index(series)}
    urls = []
    for k in range(1, points + 1):
        flt = {**base, "stickiness_days": k}
        urls.append({"filter": flt, "url": _persons_url(req, flt, "stickiness", position)})
    return {
        "action": series.echo, "label": series.name, "count": float(sum(data)), "data": data,
        "labels": [f"{k} {unit}" + ("" if k == 1 else "s") for k in range(1, points + 1)],
        "days": list(range(1, points + 1)), "filter": _request_echo(req, period, "STICKINESS"),
        "persons_urls": urls,
    }  # fmt: skip


async def _stickiness(req: _Request) -> list[dict]:
    rng = await req.current_range()
    periods = [("current", req.period(rng.date_from, rng.date_to, round_lower=False))]
    if req.tf.compare:
        previous = req.previous_range(rng.date_from, rng.date_to)
        periods.append(("previous", req.period(*previous, round_lower=False)))
    out = []
    jobs = [(series, which, period) for series in req.tf.series for which, period in periods]
    items = await asyncio.gather(*(_sticky_item(req, s, p) for s, _, p in jobs))
    for (_, which, _), item in zip(jobs, items, strict=True):
        compared = len(periods) == 2
        out.extend(_mark_compare([item], which, req.tf.interval) if compared else [item])
    return out


# --- lifecycle -------------------------------------------------------------------------------


def _next_bucket(req: _Request, bucket: datetime) -> datetime:
    jump = {"hour": 1.5 / 24, "day": 1.5, "week": 10, "month": 40}[req.tf.interval]
    moment = (bucket.astimezone(UTC) + timedelta(days=jump)).astimezone(req.tz)
    return bucket_start(moment, req.tf.interval, req.week_start_day)


def _previous_bucket(req: _Request, bucket: datetime) -> datetime:
    moment = (bucket.astimezone(UTC) - timedelta(microseconds=1)).astimezone(req.tz)
    return bucket_start(moment, req.tf.interval, req.week_start_day)


def lifecycle_statuses_sql(req: _Request, series: Series, shown: list[datetime],
                           params: Params) -> str:  # fmt: skip
    """Rows (person, status, position): position 2 is the first shown bucket (1-based, the
    bucket before the range comes first)."""
    if not shown:
        raise ValidationError("date_from is after date_to", attr="date_from")
    before, after = _previous_bucket(req, shown[0]), _next_bucket(req, shown[-1])
    timeline = [before, *shown, after]
    counted = Series(series.entity, series.echo, series.name, "total", None, None, series.attr)
    events = req.events_sql(counted, params, (before.astimezone(UTC), after.astimezone(UTC)))
    starts = params.bind([int(b.timestamp()) for b in timeline], "Array(Int64)")
    positions = params.bind(list(range(1, len(timeline) + 1)), "Array(UInt64)")
    position = f"transform(toInt64({req.bucket_sql}), {starts}, {positions}, 0)"
    statement = _template("lifecycle_statuses.sql")
    for key, value in (("__EVENTS__", events), ("__POSITION__", position),
                       ("__FIRST_EVENTS__", _template("first_event_per_person.sql"))):  # fmt: skip
        statement = statement.replace(key, value)
    return statement


async def _lifecycle(req: _Request) -> list[dict]:
    if not req.tf.series:
        return []
    series = req.tf.series[0]  # §8: the first entity only; math ignored
    rng = await req.current_range()
    period = req.period(rng.date_from, rng.date_to, round_lower=False)
    shown = period.buckets
    params = Params()
    statuses = lifecycle_statuses_sql(req, series, shown, params)
    rows = await _rows(req, "lifecycle.sql", {"__STATUSES__": statuses}, params)
    counts = {status: [0.0] * len(shown) for status in LIFECYCLE_STATUSES}
    for status, position, persons in rows:
        index = int(position) - 2  # 1-based timeline positions; the first is `before`
        if 0 <= index < len(shown):
            counts[status][index] += float(persons)
    base = {"entity_id": series.echo["id"], "entity_type": series.echo["type"]}
    out = []
    for status in LIFECYCLE_STATUSES:
        data = counts[status]
        if status == "dormant":
            data = [-v if v else 0.0 for v in data]
        urls = []
        for b in shown:
            flt = {**base, "date_from": period.date_from.isoformat(),
                   "date_to": period.date_to.isoformat(), "target_date": b.isoformat(),
                   "lifecycle_type": status}  # fmt: skip
            urls.append({"filter": flt, "url": _persons_url(req, flt, "lifecycle")})
        out.append({
            "action": series.echo, "label": f"{series.name} - {status}", "status": status,
            "count": float(sum(data)), "data": data, "labels": _labels(req, shown),
            "days": _days(req, shown), "persons_urls": urls,
        })  # fmt: skip
    return out


# --- entry points ----------------------------------------------------------------------------


async def compute_trends(
    store,
    project: dict,
    filters: dict,
    *,
    now: datetime,
    actions: dict[int, dict] | None = None,
    cohorts: dict[int, dict] | None = None,
) -> list[dict]:
    """PostHog's `result` list for `/insights/trend/` (dispatching like the endpoint, §1)."""
    tf = parse_trends_filter(filters, actions)
    req = _Request(store, project, tf, now, actions or {}, cohorts)
    if tf.kind == "LIFECYCLE":
        return await _lifecycle(req)
    if tf.kind == "STICKINESS":
        return await _stickiness(req)
    return await _trends(req)


async def compute_stickiness(store, project: dict, filters: dict, *, now: datetime,
                             actions: dict[int, dict] | None = None) -> list[dict]:  # fmt: skip
    return await compute_trends(store, project, {**filters, "insight": "STICKINESS"}, now=now,
                                actions=actions)  # fmt: skip


async def compute_lifecycle(store, project: dict, filters: dict, *, now: datetime,
                            actions: dict[int, dict] | None = None) -> list[dict]:  # fmt: skip
    return await compute_trends(store, project, {**filters, "insight": "LIFECYCLE"}, now=now,
                                actions=actions)  # fmt: skip
