"""Trends, stickiness and lifecycle oracle, written from the spec alone.

Spec: /work/shared/spec/trends.md, overridden by /work/shared/spec/README.md (formula division by
zero on aggregated displays gives 0; lifecycle statuses come in the order new, returning,
resurrecting, dormant; an unknown action or cohort id is an error naming the field; `hogql`
math and breakdowns are refused).

Public functions (each returns PostHog's `result` list for a legacy filter dict):
- `trends(filter, world)`: `/insights/trend/`; dispatches to stickiness / lifecycle like the
  endpoint does (§1 "Which engine runs").
- `stickiness(filter, world)`: §7.
- `lifecycle(filter, world)`: §8.

Invalid requests raise `ValueError` whose message starts with the offending field's name
(`"formula: ..."`, `"math_property: ..."`), the oracle's stand-in for a 400 naming the field.

Conventions of the output:
- Numbers are floats (`data`, `count`, `aggregated_value`); compare them approximately.
- `persons_urls[i]["url"]` and `persons["url"]` are `None`: the URL text (project id, encoded
  parameters) is the engine's business; the `filter` beside it is as §4.1 documents.
- The `filter` key of a series is the request as the oracle understood it (parsed JSON params,
  resolved ISO dates, interval, display, insight); it is informative, not a comparison target.

Choices where the spec leaves room are listed in `OPEN_QUESTIONS` below (also asserted by the
module's tests where observable).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from zoneinfo import ZoneInfo

from tests.oracles import dates, filters
from tests.oracles.model import Event, World

OPEN_QUESTIONS = """
- Lifecycle status order: new, returning, resurrecting, dormant (README).
- Formula with an aggregated display and division by zero: 0 (README).
- Smoothing keeps fractional averages (newest legacy code, §2.3); smoothing is applied to each
  series before a formula and before cumulative accumulation; `count` is the sum of the
  smoothed values.
- A person's `created_at` (lifecycle `new`) is the timestamp of the person's earliest event of
  any kind in the world: PostHog creates a person with the timestamp of its first event and
  keeps the earliest one on merges; the oracle's model has no other source.
- Cohort breakdown labels use `cohort.name` when the model object has one, else the id as a
  string (the model has no names). A cohort with no matching events gives no series (§4.4.11);
  `all` comes first, the other cohorts follow by count descending, label ascending.
- Breakdown ranking (§4.4.1): `total` ranks by event count, `dau`, `weekly_active`,
  `monthly_active` and the count-per-actor maths by event count, every other math by its own
  aggregate over the range (distinct groups / sessions, sum, avg, ...).
- Breakdown series are ordered by count (or aggregated_value) descending, then label ascending,
  for event/person/group/session breakdowns alike; "Other" and "None" take part like any
  value. Session-duration breakdowns therefore do not keep an "SQL order".
- `breakdown_normalize_url` applies to any breakdown key when set (the UI offers it for
  `$current_url` / `$pathname`); the null bucket is not touched.
- A JSON `null` breakdown property is the null bucket like a missing one.
- Session breakdown (`$session_duration`): events without a `$session_id` go to the numeric
  null bucket 9007199254740990; no "Other" bucket, values past the limit are dropped.
- Session duration is `filters.session_duration`: whole seconds between the first and last
  event of ALL the world's events carrying that `$session_id` (`dateDiff('second', min, max)`).
- `unique_session` ignores events without a `$session_id` (PostHog's legacy column would count
  the empty string as one session: a wrong number).
- Count-per-actor maths and WAU/MAU with `math_group_type_index` aggregate by that group;
  events without a key for it are left out, like the implicit filter of `unique_group`.
- WAU/MAU time series never look past `date_to` (the events query's upper bound); the hour
  interval's "next 24 hours" oddity is kept inside the range.
- `weekly_active`/`monthly_active` ranking, cumulative display: plain running sum (only `dau`
  and `unique_group` get the first-seen treatment, §2.2).
- Percentiles (median, p75, p90, p95, p99 and histogram edges) use linear interpolation between
  closest ranks, ClickHouse's `quantile` for small inputs.
- Non-numeric values for property math: booleans, objects, arrays, and strings that are not a
  plain decimal/scientific number (no spaces, no `nan`/`inf`) are ignored.
- Buckets are DST-correct for breakdowns too (PostHog's fixed-seconds bucket count for
  breakdowns, §3.2, would duplicate or drop a local day); aggregated displays' `days` step by
  calendar days / weeks / 30 days in local time, and by real hours for the hour interval
  (unlike `dates.aggregated_days`, which steps fixed seconds and repeats or skips a date
  across a DST change).
- The event range is `dates.in_range` (inclusive, whole seconds); the WAU/MAU windows inside
  it compare timestamps at full precision (§4.3).
- `offset` follows §4.4.1 literally: "Other" exists when `limit + 1` values start at `offset`;
  values ranked before `offset` then fall into it.
- A list `breakdown` with a non-cohort type must hold one property; more is an error.
- Compare: the previous period is derived from the normalised current range (QueryDateRange
  values), so `date_from=2020-01-08&date_to=2020-01-14` compares with Jan 1-7. The `-Nd`
  shift (§6) applies only when `date_from` is given explicitly as `-Nd`, N > 0 a multiple of 7.
  The previous start is the latest instant with date_from's clock time not after
  `date_from - diff`: PostHog's `.replace()` on that day's date can land after it, and an
  hourly range shorter than a day (10:00-12:59) would then compare with itself; the oracle
  compares it with the same hours of the day before (deviation, as a wrong-number bug).
- Compare on stickiness replaces `labels` by `"<interval> <i>"` as in trends.
- Stickiness counts buckets with events in [date_from, date_to] without rounding date_from to
  the interval start; actors active in more buckets than the formula of §7 provides points for
  are not shown. It aggregates by group when the entity is `unique_group` with a group index or
  the filter has `aggregation_group_type_index`.
- An event entity's `name` wins over its `id` for labels; with neither (all events) it is
  "All events". Breakdown labels of several entities use that name, not `custom_name`.
- Lifecycle ignores `compare`, breakdowns and `formula`; a range with no bucket is an error
  naming `date_from`.
- Formula: letters are case-insensitive; `^`, implicit multiplication and adjacent letters are
  syntax errors; unary `+` and `-` are allowed.
- Formula + breakdown: labels are the raw values (§5); a multi-`breakdowns` value labels as
  its parts joined with "::", and `breakdown_value` is that label too (§5: label =
  breakdown_value).
- Multiple breakdowns (`breakdowns` list, HogQL engine): `breakdown_value` is the list of
  per-part values, `label` the per-part labels joined with "::", "Other" is every part set to
  the other sentinel; histogram bins inside `breakdowns` are not implemented.
- `Metric` and `BoxPlot` ignore breakdowns (§1) and otherwise render as time series.
- `sampling_factor` other than 1 is not modelled (NotImplementedError); 1 is a no-op.
- Unknown `math` values are errors naming `math`.
"""

# --- constants from the spec -----------------------------------------------------------------

NULL_VALUE = "$$_posthog_breakdown_null_$$"  # §4.4.3
OTHER_VALUE = "$$_posthog_breakdown_other_$$"  # §4.4.4
NULL_NUMERIC = 9007199254740990
OTHER_NUMERIC = 9007199254740991
NULL_LABEL = "None (i.e. no value)"
OTHER_LABEL = "Other (i.e. all remaining values)"


CUMULATIVE = "ActionsLineGraphCumulative"
# §2.2 NON_TIME_SERIES_DISPLAY_TYPES.
AGGREGATED_DISPLAYS = frozenset(
    {
        "ActionsTable",
        "ActionsPie",
        "ActionsDonut",
        "ActionsBarValue",
        "WorldMap",
        "BoldNumber",
        "CalendarHeatmap",
    }
)
# §1: these displays never take the breakdown path.
BREAKDOWN_IGNORED_DISPLAYS = frozenset({"BoldNumber", "Metric", "CalendarHeatmap", "BoxPlot"})

QUANTILES = {"median": 0.5, "p75": 0.75, "p90": 0.9, "p95": 0.95, "p99": 0.99}
PROPERTY_MATHS = frozenset({"sum", "avg", "min", "max", *QUANTILES})
PER_ACTOR_MATHS = frozenset(
    f"{how}_count_per_actor" for how in ("avg", "min", "max", *QUANTILES)
)  # §4.2
ACTIVE_MATHS = {"weekly_active": 7, "monthly_active": 30}  # §4.3: look-back days
SIMPLE_MATHS = frozenset({"total", "dau", "unique_group", "unique_session"})
KNOWN_MATHS = SIMPLE_MATHS | PROPERTY_MATHS | PER_ACTOR_MATHS | frozenset(ACTIVE_MATHS)
# §4.4.1: maths whose breakdown values are ranked by plain event counts.
RANK_BY_EVENT_COUNT = frozenset({"total", "dau", *ACTIVE_MATHS, *PER_ACTOR_MATHS})

LIFECYCLE_STATUSES = ("new", "returning", "resurrecting", "dormant")  # README order
FORMULA_CHARS = re.compile(r"[^a-zA-Z \-*^0-9+/().]")  # §5: everything else is dropped
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class _Missing:
    """Marks 'no breakdown' (None is a legitimate value elsewhere)."""


NO_BREAKDOWN = _Missing()


# --- small helpers ---------------------------------------------------------------------------


def _fail(field: str, message: str) -> ValueError:
    """The oracle's 400: a ValueError whose message starts with the field's name."""
    return ValueError(f"{field}: {message}")


def _json_param(value: object) -> object:
    """GET passes complex params as JSON strings (§1); POST as native JSON."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _utc(ts: datetime) -> datetime:
    return ts.astimezone(UTC)


def _wall_delta(start: datetime, end: datetime, zone: ZoneInfo) -> timedelta:
    """Local wall-clock difference (what PostHog's Python date arithmetic computes)."""
    return end.astimezone(zone).replace(tzinfo=None) - start.astimezone(zone).replace(tzinfo=None)


def _wall_shift(ts: datetime, zone: ZoneInfo, **delta: float) -> datetime:
    """Shift by calendar units in local time (a DST day is still one day)."""
    naive = ts.astimezone(zone).replace(tzinfo=None) + timedelta(**delta)
    return naive.replace(tzinfo=zone)


def _add_months(ts: datetime, months: int) -> datetime:
    """Same wall time `months` later, day clamped (used for month bucket ends only)."""
    index = ts.year * 12 + ts.month - 1 + months
    year, month = divmod(index, 12)
    day = min(ts.day, _days_in_month(year, month + 1))
    return ts.replace(year=year, month=month + 1, day=day)


def _days_in_month(year: int, month: int) -> int:
    nxt = datetime(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def _to_float(value: object) -> float | None:
    """ClickHouse `toFloat64OrNull` on the raw property (§4.2: "25" → 25, junk ignored)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and NUMBER.fullmatch(value):
        return float(value)
    return None


def _quantile(values: list[float], level: float) -> float:
    """Linear interpolation between closest ranks (ClickHouse `quantile` on small inputs)."""
    ordered = sorted(values)
    position = level * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _reduce(values: list[float], how: str) -> float:
    """Aggregate a bucket's values; an empty bucket is 0 (zero-filled rows, §3.2)."""
    if not values:
        return 0.0
    if how == "sum":
        return float(sum(values))
    if how == "avg":
        return sum(values) / len(values)
    if how == "min":
        return float(min(values))
    if how == "max":
        return float(max(values))
    return _quantile(values, QUANTILES[how])


def _session_id(event: Event) -> str | None:
    value = event.properties.get("$session_id")
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _clean(value: float) -> float:
    """§5: NaN / ±Inf become 0."""
    return value if math.isfinite(value) else 0.0


# --- the request -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One entity of the request (§2.1), normalised."""

    entity: dict  # as handed to filters.entity_matches
    echo: dict  # the `action` key of each result item
    name: str
    math: str
    math_property: str | None
    group_index: int | None  # math_group_type_index


@dataclass(frozen=True)
class Dim:
    """One breakdown dimension (event/person/group/session property)."""

    type: str
    key: str
    group_index: int | None
    normalize_url: bool


@dataclass(frozen=True)
class Breakdown:
    kind: str  # "values" | "cohort" | "histogram"
    dims: tuple[Dim, ...]
    multi: bool  # from `breakdowns`: values are lists
    cohorts: tuple  # cohort ids and/or "all"
    bin_count: int | None
    limit: int
    offset: int
    hide_other: bool
    type: str  # breakdown_type echoed in persons filters


@dataclass(frozen=True)
class Ctx:
    """Everything fixed for one request."""

    world: World
    filter: dict  # normalised request (parsed JSON params, bool test-account flag)
    zone: ZoneInfo
    timezone: str
    week_start_day: int
    interval: str
    display: str
    now: datetime
    series: tuple[Series, ...]  # sorted by order (§2.1)

    def bucket_of(self, ts: datetime) -> datetime:
        return dates.bucket_of(
            ts, interval=self.interval, timezone=self.timezone, week_start_day=self.week_start_day
        ).astimezone(self.zone)

    def buckets(self, date_from: datetime, date_to: datetime) -> list[datetime]:
        starts = dates.buckets(
            date_from,
            date_to,
            interval=self.interval,
            timezone=self.timezone,
            week_start_day=self.week_start_day,
        )
        return [start.astimezone(self.zone) for start in starts]


@dataclass(frozen=True)
class Period:
    """A resolved date range (§3.1) and its buckets (§3.2)."""

    date_from: datetime  # normalised, inclusive, project timezone
    date_to: datetime
    lower: datetime  # event range lower bound after interval rounding
    buckets: list[datetime]

    def contains(self, ts: datetime) -> bool:
        """§3.1: both bounds inclusive (at whole seconds, as the dates helper decides)."""
        return dates.in_range(ts, self.lower, self.date_to)


def _normalise_filter(filter: dict) -> dict:
    """Parse JSON-encoded params and booleans once, so every helper sees native values."""
    out = dict(filter)
    for key in ("events", "actions", "properties", "breakdowns"):
        if key in out:
            out[key] = _json_param(out[key])
    if isinstance(out.get("breakdown"), str) and out["breakdown"].startswith("["):
        out["breakdown"] = _json_param(out["breakdown"])
    out["filter_test_accounts"] = dates.is_truthy(out.get("filter_test_accounts", False))
    if out.get("properties") is None:
        out["properties"] = []
    return out


def _context(filter: dict, world: World) -> Ctx:
    project = world.project
    normalised = _normalise_filter(filter)
    # §2: case-insensitive, `minute` silently becomes `hour`, anything else is an error.
    interval = dates.normalize_interval(normalised.get("interval") or None)
    normalised["interval"] = interval
    _check_sampling(normalised)
    series = tuple(_series_list(normalised, world))
    return Ctx(
        world=world,
        filter=normalised,
        zone=ZoneInfo(project.timezone),
        timezone=project.timezone,
        week_start_day=project.week_start_day,
        interval=interval,
        display=normalised.get("display") or "ActionsLineGraph",
        now=world.now or datetime.now(UTC),
        series=series,
    )


def _check_sampling(filter: dict) -> None:
    """§2.4: 0/empty = off; outside (0, 1] is an error; real sampling is not modelled."""
    raw = filter.get("sampling_factor")
    if raw in (None, "", 0, "0"):
        return
    try:
        factor = float(raw)
    except (TypeError, ValueError):
        raise _fail("sampling_factor", f"not a number: {raw!r}") from None
    if not 0 < factor <= 1:
        raise _fail("sampling_factor", "must be in (0, 1]")
    if factor != 1:
        raise NotImplementedError("sampling_factor < 1 is random; the oracle counts everything")


def _optional_int(value: object, field: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _fail(field, f"not an integer: {value!r}") from None


def _series_list(filter: dict, world: World) -> list[Series]:
    """§2.1: actions then events, type forced, stable sort by `order` (missing = -1)."""
    raw: list[dict] = []
    for list_key in ("actions", "events"):
        entities = filter.get(list_key) or []
        if not isinstance(entities, list):
            raise _fail(list_key, "must be a list of entities")
        raw.extend({**entity, "type": list_key} for entity in entities)
    raw.sort(key=lambda e: -1 if e.get("order") is None else int(e["order"]))
    return [_series(entity, world) for entity in raw]


def _series(entity: dict, world: World) -> Series:
    entity = dict(entity)
    entity["properties"] = _json_param(entity.get("properties")) or []
    if entity["type"] == "actions":
        try:
            action_id = int(entity.get("id"))
        except (TypeError, ValueError):
            raise _fail("actions", f"bad action id {entity.get('id')!r}") from None
        if action_id not in world.actions:
            # README: an unknown action id is a 400 naming the field (PostHog returns []).
            raise _fail("actions", f"unknown action id {action_id}")
        entity["id"] = action_id
        name = world.actions[action_id].name
    else:
        name = entity.get("name") or entity.get("id") or "All events"
    math_name = entity.get("math") or "total"
    if math_name == "hogql":
        raise _fail("math", "unsupported_hogql")
    if math_name not in KNOWN_MATHS:
        raise _fail("math", f"unknown math {math_name!r}")
    math_property = entity.get("math_property") or None
    if math_name in PROPERTY_MATHS and not math_property:
        raise _fail("math_property", f"math {math_name!r} needs a math_property")
    group_index = _optional_int(entity.get("math_group_type_index"), "math_group_type_index")
    if math_name == "unique_group" and group_index is None:
        raise _fail("math_group_type_index", "unique_group needs math_group_type_index")
    echo = {
        "id": entity.get("id"),
        "type": entity["type"],
        "order": entity.get("order"),
        "name": name,
        "custom_name": entity.get("custom_name"),
        "math": entity.get("math"),
        "math_property": entity.get("math_property"),
        "math_hogql": entity.get("math_hogql"),
        "math_group_type_index": entity.get("math_group_type_index"),
        "properties": entity["properties"] or [],
    }
    return Series(entity, echo, str(name), math_name, math_property, group_index)


def _smoothing(ctx: Ctx) -> int:
    """§2.3: a positive integer; 1 = no smoothing."""
    raw = ctx.filter.get("smoothing_intervals", 1)
    if raw is None or raw == "":
        return 1
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise _fail("smoothing_intervals", f"must be a positive integer, got {raw!r}")
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise _fail("smoothing_intervals", f"must be a positive integer, got {raw!r}") from None
    if value < 1:
        raise _fail("smoothing_intervals", f"must be a positive integer, got {raw!r}")
    return value


# --- dates -----------------------------------------------------------------------------------


def _current_range(ctx: Ctx) -> tuple[datetime, datetime]:
    date_from, date_to = dates.parse_date_range(
        ctx.filter,
        now=ctx.now,
        timezone=ctx.timezone,
        first_event_time=dates.first_event_time(e.timestamp for e in ctx.world.events),
        interval=ctx.interval,
    )
    return date_from.astimezone(ctx.zone), date_to.astimezone(ctx.zone)


def _period(ctx: Ctx, date_from: datetime, date_to: datetime, *, round_lower: bool) -> Period:
    """§3.1: the event range's lower bound is rounded down to its interval's start for
    week/month, and for day/hour when the range spans at least 2 intervals (not `-24h`)."""
    lower = date_from
    if round_lower:
        lower, _ = dates.event_range(
            date_from,
            date_to,
            interval=ctx.interval,
            timezone=ctx.timezone,
            week_start_day=ctx.week_start_day,
            explicit_date=ctx.filter.get("explicit_date", False),
        )
    return Period(date_from, date_to, lower.astimezone(ctx.zone), ctx.buckets(date_from, date_to))


RELATIVE_DAYS = re.compile(r"-?(\d+)d(Start|End)?")
RELATIVE_DATE = re.compile(r"-?(\d*)[a-zA-Z](Start|End)?")


def _is_relative(raw: object) -> bool:
    """A relative date string that carries a delta (`-3d`, `dEnd`), not `all` or a date."""
    if not isinstance(raw, str) or raw == "all":
        return False
    match = RELATIVE_DATE.fullmatch(raw)
    return bool(match and (match.group(1) or match.group(2)))


def _previous_range(ctx: Ctx, date_from: datetime, date_to: datetime) -> tuple[datetime, datetime]:
    """§6: same length, ending where the current period starts, aligned per interval."""
    start = date_from.astimezone(ctx.zone).replace(tzinfo=None)
    end = date_to.astimezone(ctx.zone).replace(tzinfo=None)
    diff = end - start
    # Previous start: date_from's clock time on an earlier day. PostHog sets that clock time on
    # the day of `date_from - diff`, which for a range shorter than a day can land after it (an
    # hourly 10:00-12:59 range would compare with itself); the latest such instant not after
    # `date_from - diff` is the same whenever PostHog's periods do not overlap.
    new_from = (start - diff).replace(
        hour=start.hour, minute=start.minute, second=start.second, microsecond=start.microsecond
    )
    if new_from > start - diff:
        new_from -= timedelta(days=1)
    if ctx.interval == "hour":
        new_to = (new_from + diff).replace(
            minute=end.minute, second=end.second, microsecond=end.microsecond
        )
    else:
        raw_from = ctx.filter.get("date_from")
        match = RELATIVE_DAYS.fullmatch(raw_from) if isinstance(raw_from, str) else None
        if (
            ctx.interval == "day"
            and match
            and int(match.group(1)) > 0
            and int(match.group(1)) % 7 == 0
            and not _is_relative(ctx.filter.get("date_to"))
        ):
            # "-7d" is 8 buckets; PostHog moves the previous start one day later so the previous
            # period ends on the first day of the current one.
            new_from += timedelta(days=1)
        new_to = (new_from + diff).replace(
            hour=end.hour, minute=end.minute, second=end.second, microsecond=end.microsecond
        )
    return new_from.replace(tzinfo=ctx.zone), new_to.replace(tzinfo=ctx.zone)


def _days(ctx: Ctx, buckets: list[datetime]) -> list[str]:
    """§3.2 `days`: local date (hour interval: with time), no offset."""
    return [dates.bucket_day(b, interval=ctx.interval, timezone=ctx.timezone) for b in buckets]


def _labels(ctx: Ctx, buckets: list[datetime]) -> list[str]:
    """§3.2 `labels`: `1-Jan-2020`, hour interval `1-Jan-2020 13:00`."""
    return [dates.bucket_label(b, interval=ctx.interval, timezone=ctx.timezone) for b in buckets]


def _aggregated_days(ctx: Ctx, period: Period) -> list[str]:
    """§3.2: step from date_from by a fixed interval while <= date_to."""
    out: list[str] = []
    step = 0
    while True:
        if ctx.interval == "hour":
            current = (_utc(period.date_from) + timedelta(hours=step)).astimezone(ctx.zone)
        else:
            days = {"day": 1, "week": 7, "month": 30}[ctx.interval] * step
            current = _wall_shift(period.date_from, ctx.zone, days=days)
        if _utc(current) > _utc(period.date_to):
            return out
        out.append(dates.bucket_day(current, interval=ctx.interval, timezone=ctx.timezone))
        step += 1


def _bucket_end(ctx: Ctx, bucket: datetime) -> datetime:
    """§4.1 persons filter `date_to` for a bucket."""
    if ctx.interval == "day":
        return bucket.replace(hour=23, minute=59, second=59, microsecond=999999)
    if ctx.interval == "hour":
        return (_utc(bucket) + timedelta(hours=1)).astimezone(ctx.zone)
    if ctx.interval == "week":
        return _wall_shift(bucket, ctx.zone, days=6)
    return _wall_shift(_add_months(bucket, 1), ctx.zone, days=-1)


def _bucket_index(period: Period, ctx: Ctx) -> Callable[[datetime], int | None]:
    """Map an event time to its bucket's position (keys are UTC instants: DST-safe)."""
    positions = {_utc(b): i for i, b in enumerate(period.buckets)}

    def index(ts: datetime) -> int | None:
        return positions.get(_utc(ctx.bucket_of(ts)))

    return index


# --- event selection -------------------------------------------------------------------------


def _group_key(event: Event, index: int | None) -> str | None:
    if index is None:
        return None
    key = event.groups.get(index)
    return key if key not in (None, "") else None


def _matched_events(series: Series, ctx: Ctx) -> list[Event]:
    """Events of the series: entity, global filters, test accounts (§4.5, §9), no dates."""
    out = []
    for event in ctx.world.events:
        if series.math == "unique_group" and _group_key(event, series.group_index) is None:
            continue  # §9: implicit `$group_N is_not ''`
        if not filters.entity_matches(event, series.entity, ctx.world):
            continue
        if not filters.passes_global_filters(event, ctx.filter, ctx.world):
            continue
        out.append(event)
    return out


def _actor(event: Event, series: Series) -> str | None:
    """Who a per-actor / active-users math counts: the group when an index is set."""
    if series.math == "dau":
        return event.person_id
    if series.group_index is not None and series.math != "unique_session":
        return _group_key(event, series.group_index)
    return event.person_id


# --- math ------------------------------------------------------------------------------------


class SessionDurations:
    """`$session_duration` of an event's session (filters.session_duration, memoised per id)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.by_session: dict[str, int | None] = {}

    def of(self, event: Event) -> int | None:
        sid = _session_id(event)
        if sid is None:
            return None
        if sid not in self.by_session:
            self.by_session[sid] = filters.session_duration(event, self.world)
        return self.by_session[sid]


def _aggregate(events: list[Event], series: Series, sessions: SessionDurations) -> float:
    """§4.2: the value of one bucket (or of the whole range) for the series' math."""
    math_name = series.math
    if math_name == "total":
        return float(len(events))
    if math_name == "dau":
        return float(len({e.person_id for e in events}))
    if math_name == "unique_group":
        return float(len({_group_key(e, series.group_index) for e in events} - {None}))
    if math_name == "unique_session":
        return float(len({_session_id(e) for e in events} - {None}))
    if math_name in PROPERTY_MATHS:
        return _reduce(_property_values(events, series, sessions), math_name)
    if math_name in PER_ACTOR_MATHS:
        counts: dict[str, int] = {}
        for event in events:
            actor = _actor(event, series)
            if actor is not None:
                counts[actor] = counts.get(actor, 0) + 1
        how = math_name.removesuffix("_count_per_actor")
        return _reduce([float(c) for c in counts.values()], how)
    raise AssertionError(f"{math_name} is handled by the caller")


def _property_values(
    events: list[Event], series: Series, sessions: SessionDurations
) -> list[float]:
    if series.math_property == "$session_duration":
        # §4.2: one value per session in the bucket, whatever its number of events.
        seen = {_session_id(e): sessions.of(e) for e in events}
        return [float(v) for sid, v in seen.items() if sid is not None]
    values = (_to_float(e.properties.get(series.math_property)) for e in events)
    return [v for v in values if v is not None]


def _active_window_count(
    events: list[Event], series: Series, start: datetime, end: datetime, *, include_start: bool
) -> float:
    """Distinct actors with an event in (start, end] (or [start, end])."""
    low, high = _utc(start), _utc(end)
    actors = set()
    for event in events:
        ts = _utc(event.timestamp)
        after_start = ts >= low if include_start else ts > low
        if after_start and ts <= high:
            actors.add(_actor(event, series))
    return float(len(actors - {None}))


def _bucket_values(
    events: list[Event], series: Series, period: Period, ctx: Ctx, sessions: SessionDurations
) -> list[float]:
    """Per-bucket values of one series (zero-filled), before smoothing and accumulation."""
    if series.math in ACTIVE_MATHS:
        return _active_values(events, series, period, ctx)
    index = _bucket_index(period, ctx)
    in_range = [e for e in events if period.contains(e.timestamp)]
    per_bucket: list[list[Event]] = [[] for _ in period.buckets]
    if ctx.display == CUMULATIVE and series.math in ("dau", "unique_group"):
        # §2.2: each actor counts in the bucket of its first event, so the running total is the
        # number of distinct actors seen so far.
        in_range = _first_event_per_actor(in_range, series)
    for event in in_range:
        position = index(event.timestamp)
        if position is not None:
            per_bucket[position].append(event)
    return [_aggregate(bucket, series, sessions) for bucket in per_bucket]


def _first_event_per_actor(events: list[Event], series: Series) -> list[Event]:
    def actor(event: Event) -> str | None:
        if series.math == "unique_group":
            return _group_key(event, series.group_index)
        return event.person_id

    first: dict[str, Event] = {}
    for event in sorted(events, key=lambda e: _utc(e.timestamp)):
        first.setdefault(actor(event), event)
    return list(first.values())


def _active_values(events: list[Event], series: Series, period: Period, ctx: Ctx) -> list[float]:
    """§4.3: bucket D counts actors with D - 6 (29) days < t <= D + 1 day, t <= date_to."""
    back = ACTIVE_MATHS[series.math] - 1
    fetch_from = _utc(_wall_shift(period.lower, ctx.zone, days=-(back + 1)))
    # "Events are fetched from date_from - 7 (30) days", up to date_to (the range condition).
    fetched = [e for e in events if dates.in_range(e.timestamp, fetch_from, period.date_to)]
    return [
        _active_window_count(
            fetched,
            series,
            _wall_shift(bucket, ctx.zone, days=-back),
            _wall_shift(bucket, ctx.zone, days=1),
            include_start=False,
        )
        for bucket in period.buckets
    ]


def _aggregated_value(
    events: list[Event], series: Series, period: Period, ctx: Ctx, sessions: SessionDurations
) -> float:
    """§2.2: one number over the whole range (uniques are distinct over the range)."""
    if series.math in ACTIVE_MATHS:
        days = ACTIVE_MATHS[series.math]
        start = _wall_shift(period.date_to, ctx.zone, days=-days)
        return _active_window_count(events, series, start, period.date_to, include_start=True)
    return _aggregate([e for e in events if period.contains(e.timestamp)], series, sessions)


def _smooth(values: list[float], window: int) -> list[float]:
    """§2.3: average of the bucket and the previous N-1 (fewer at the start), fractional."""
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


# --- breakdowns ------------------------------------------------------------------------------


def _breakdown(ctx: Ctx) -> Breakdown | None:
    """§2 / §4.4: read the breakdown params; None when there is no breakdown to apply."""
    f = ctx.filter
    if ctx.display in BREAKDOWN_IGNORED_DISPLAYS:
        return None
    default_limit = 300 if ctx.display == "WorldMap" else 25
    limit = _optional_int(f.get("breakdown_limit"), "breakdown_limit") or default_limit
    offset = _optional_int(f.get("offset"), "offset") or 0
    hide_other = dates.is_truthy(f.get("breakdown_hide_other_aggregation", False))
    common = {"limit": limit, "offset": offset, "hide_other": hide_other}
    if f.get("breakdowns"):
        return _multi_breakdown(f["breakdowns"], common)
    raw = f.get("breakdown")
    if raw is None or raw == "" or raw == []:
        return None
    kind = f.get("breakdown_type") or "event"
    if kind == "hogql":
        raise _fail("breakdown", "unsupported_hogql")
    if kind == "cohort":
        return _cohort_breakdown(raw, ctx, common)
    if isinstance(raw, list):
        if len(raw) != 1:
            raise _fail("breakdown", "a list breakdown needs breakdown_type=cohort")
        raw = raw[0]
    dim = _dim(
        kind,
        str(raw),
        f.get("breakdown_group_type_index"),
        dates.is_truthy(f.get("breakdown_normalize_url", False)),
    )
    bins = _optional_int(f.get("breakdown_histogram_bin_count"), "breakdown_histogram_bin_count")
    if bins is not None and bins < 1:
        raise _fail("breakdown_histogram_bin_count", "must be positive")
    return Breakdown(
        kind="histogram" if bins else "values",
        dims=(dim,),
        multi=False,
        cohorts=(),
        bin_count=bins,
        type=kind,
        **common,
    )


def _dim(kind: str, key: str, group_index: object, normalize_url: bool) -> Dim:
    if kind not in ("event", "person", "group", "session"):
        raise _fail("breakdown_type", f"unsupported breakdown_type {kind!r}")
    index = _optional_int(group_index, "breakdown_group_type_index")
    if kind == "group" and index is None:
        raise _fail("breakdown_group_type_index", "group breakdowns need a group type index")
    if kind == "session" and key != "$session_duration":
        raise _fail("breakdown", "session breakdowns support only $session_duration")
    return Dim(kind, key, index, normalize_url)


def _multi_breakdown(raw: object, common: dict) -> Breakdown:
    if not isinstance(raw, list):
        raise _fail("breakdowns", "must be a list")
    dims = []
    for item in raw:
        kind = item.get("type") or "event"
        if kind in ("hogql", "cohort"):
            raise _fail("breakdowns", f"{kind} is not supported in breakdowns")
        if item.get("histogram_bin_count"):
            raise NotImplementedError("histogram bins inside `breakdowns`")
        dims.append(
            _dim(
                kind,
                str(item.get("property")),
                item.get("group_type_index"),
                dates.is_truthy(item.get("normalize_url", False)),
            )
        )
    return Breakdown(
        kind="values",
        dims=tuple(dims),
        multi=True,
        cohorts=(),
        bin_count=None,
        type="multiple",
        **common,
    )


def _cohort_breakdown(raw: object, ctx: Ctx, common: dict) -> Breakdown:
    values = raw if isinstance(raw, list) else [raw]
    cohorts: list[object] = []
    for value in values:
        if value == "all":
            cohorts.append("all")
            continue
        cohort_id = _optional_int(value, "breakdown")
        if cohort_id not in ctx.world.cohorts:
            raise _fail("breakdown", f"unknown cohort id {value!r}")  # README: 400
        cohorts.append(cohort_id)
    return Breakdown(
        kind="cohort",
        dims=(),
        multi=False,
        cohorts=tuple(cohorts),
        bin_count=None,
        type="cohort",
        **common,
    )


def _property_string(value: object) -> str | None:
    """§4.4.2: the JSON raw value without surrounding quotes (2 → "2"); None for the null
    bucket (missing, JSON null or empty string, §4.4.3)."""
    if value is None or value == "":
        return None
    return filters.property_string(value)


def _raw_property(event: Event, dim: Dim, world: World) -> object:
    if dim.type == "event":
        return event.properties.get(dim.key)
    if dim.type == "person":
        return event.person_properties.get(dim.key)
    key = _group_key(event, dim.group_index)
    if key is None:
        return None
    return world.group_properties.get((dim.group_index, key), {}).get(dim.key)


def _dim_value(event: Event, dim: Dim, ctx: Ctx, sessions: SessionDurations) -> object:
    """The breakdown value of one dimension, sentinels included (§4.4.2, §4.4.3, §4.4.10)."""
    if dim.type == "session":
        duration = sessions.of(event)
        return NULL_NUMERIC if duration is None else duration
    text = _property_string(_raw_property(event, dim, ctx.world))
    if text is None:
        return NULL_VALUE
    if dim.normalize_url:
        text = text.rstrip("/?#") or "/"
    return text


def _value_of(event: Event, bd: Breakdown, ctx: Ctx, sessions: SessionDurations) -> object:
    """Breakdown value as a hashable key: a scalar, or a tuple for multiple breakdowns."""
    values = tuple(_dim_value(event, dim, ctx, sessions) for dim in bd.dims)
    return values if bd.multi else values[0]


def _other_value(bd: Breakdown) -> object:
    return tuple(OTHER_VALUE for _ in bd.dims) if bd.multi else OTHER_VALUE


def _value_label(value: object) -> str:
    """§4.4.3-4: display label of one breakdown value."""
    if isinstance(value, tuple):
        return "::".join(_value_label(part) for part in value)
    if value in (NULL_VALUE, NULL_NUMERIC):
        return NULL_LABEL
    if value in (OTHER_VALUE, OTHER_NUMERIC):
        return OTHER_LABEL
    return str(value)


@dataclass
class Part:
    """One breakdown bucket of one series: the events it owns and how it is presented."""

    value: object  # breakdown_value (sentinels, cohort id, "all", "[lo,hi]", list for multi)
    label: str  # value label for normal series
    formula_label: object  # §5: the raw value (cohort name, "all users")
    events: list[Event]
    order_key: tuple | None = None  # fixed ordering (histogram, cohort "all"); None = by count


def _breakdown_parts(
    events: list[Event],
    series: Series,
    bd: Breakdown,
    period: Period,
    ctx: Ctx,
    sessions: SessionDurations,
) -> list[Part]:
    if bd.kind == "cohort":
        return _cohort_parts(events, bd, period, ctx)
    if bd.kind == "histogram":
        return _histogram_parts(events, bd, period, ctx)
    return _value_parts(events, series, bd, period, ctx, sessions)


def _value_parts(
    events: list[Event],
    series: Series,
    bd: Breakdown,
    period: Period,
    ctx: Ctx,
    sessions: SessionDurations,
) -> list[Part]:
    """§4.4.1: top values over the range, then "Other" for the rest."""
    # Keyed by object identity: random worlds may repeat a uuid.
    value_of: dict[int, object] = {id(e): _value_of(e, bd, ctx, sessions) for e in events}
    by_value: dict[object, list[Event]] = {}
    for event in events:
        if period.contains(event.timestamp):
            by_value.setdefault(value_of[id(event)], []).append(event)

    def score(value: object) -> float:
        group = by_value[value]
        if series.math in RANK_BY_EVENT_COUNT:
            return float(len(group))
        return _aggregate(group, series, sessions)

    # Aggregate descending, then value descending; keep `limit` from `offset`.
    ranked = sorted(by_value, key=lambda v: (score(v), v), reverse=True)
    window = ranked[bd.offset : bd.offset + bd.limit + 1]
    kept = window[: bd.limit]
    session_only = all(dim.type == "session" for dim in bd.dims)
    with_other = len(window) > bd.limit and not bd.hide_other and not session_only
    other = _other_value(bd)
    owned: dict[object, list[Event]] = {value: [] for value in kept}
    if with_other:
        owned[other] = []
    for event in events:  # all matched events: WAU/MAU look back before the range
        value = value_of[id(event)]
        if value in owned and value != other:
            owned[value].append(event)
        elif with_other:
            owned[other].append(event)
    return [
        Part(
            value=list(value) if isinstance(value, tuple) else value,
            label=_value_label(value),
            formula_label="::".join(map(str, value)) if isinstance(value, tuple) else value,
            events=group,
        )
        for value, group in owned.items()
    ]


def _cohort_parts(events: list[Event], bd: Breakdown, period: Period, ctx: Ctx) -> list[Part]:
    """§4.4.7: one series per cohort (they may overlap); `all` is everyone, listed first."""
    parts = []
    for cohort_id in bd.cohorts:
        if cohort_id == "all":
            members, label = events, "all users"
        else:
            members = [e for e in events if filters.person_in_cohort(e, cohort_id, ctx.world)]
            cohort = ctx.world.cohorts[cohort_id]
            label = getattr(cohort, "name", None) or str(cohort_id)
        if not any(period.contains(e.timestamp) for e in members):
            continue  # §4.4.11: no events, no series
        order_key = (0,) if cohort_id == "all" else None
        parts.append(Part(cohort_id, label, label, members, order_key))
    return parts


def _floor2(value: float) -> float:
    """ClickHouse floor(x, 2) on the decimal value (no binary noise: 0.29 stays 0.29). The
    interpolation's own noise does not count either: 2.9999999999999996 is the 3.0 it stands
    for (ClickHouse and this module interpolate with different float arithmetic)."""
    return float(Decimal(repr(round(value, 9))).quantize(Decimal("0.01"), rounding=ROUND_FLOOR))


def _histogram_edges(values: list[float], bins: int) -> list[float]:
    """§4.4.9: quantiles 0, 1/N, ..., 1, floored to 2 decimals, consecutive duplicates dropped."""
    edges: list[float] = []
    for k in range(bins + 1):
        edge = _floor2(_quantile(values, k / bins))
        if not edges or edges[-1] != edge:
            edges.append(edge)
    return edges


def _in_bin(value: float | None, low: float, high: float) -> bool:
    return value is not None and low <= value < high


def _histogram_parts(events: list[Event], bd: Breakdown, period: Period, ctx: Ctx) -> list[Part]:
    """§4.4.9: numeric buckets `[lo,hi]`, the last one closed (+0.01); nulls left out."""
    dim = bd.dims[0]
    numbers = {id(e): _to_float(_raw_property(e, dim, ctx.world)) for e in events}
    in_range = [e for e in events if period.contains(e.timestamp)]
    if not in_range:
        return []  # §4.4.11
    values = [numbers[id(e)] for e in in_range if numbers[id(e)] is not None]
    if not values:
        return [Part("[nan,nan]", "[nan,nan]", "[nan,nan]", [], (0, 0.0))]
    edges = _histogram_edges(values, bd.bin_count or 1)
    bounds = [(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]
    last_high = round(edges[-1] + 0.01, 2)
    bounds = bounds[:-1] + [(bounds[-1][0], last_high)] if bounds else [(edges[0], last_high)]
    parts = []
    for low, high in bounds:
        name = f"[{low},{high}]"
        owned = [e for e in events if _in_bin(numbers[id(e)], low, high)]
        parts.append(Part(name, name, name, owned, (0, low)))
    return parts


# --- computing series ------------------------------------------------------------------------


@dataclass
class Computed:
    """One output series of one entity, before formatting."""

    series: Series
    part: Part | None
    data: list[float]  # per bucket, smoothed, not accumulated ([] for aggregated displays)
    aggregated_value: float | None

    @property
    def count(self) -> float:
        return float(sum(self.data))

    @property
    def rank_value(self) -> float:
        return self.aggregated_value if self.aggregated_value is not None else self.count


def _compute_entity(
    series: Series,
    period: Period,
    ctx: Ctx,
    bd: Breakdown | None,
    sessions: SessionDurations,
    events: list[Event],
) -> list[Computed]:
    """The series of one entity in one period, ordered per §4.4.6."""
    aggregated = ctx.display in AGGREGATED_DISPLAYS
    window = _smoothing(ctx)

    def compute(owned: list[Event], part: Part | None) -> Computed:
        if aggregated:
            value = _aggregated_value(owned, series, period, ctx, sessions)
            return Computed(series, part, [], value)
        values = _bucket_values(owned, series, period, ctx, sessions)
        return Computed(series, part, _smooth(values, window), None)

    if bd is None:
        return [compute(events, None)]
    parts = _breakdown_parts(events, series, bd, period, ctx, sessions)
    computed = [compute(part.events, part) for part in parts]
    return _order_breakdown(computed, series, ctx)


def _order_breakdown(computed: list[Computed], series: Series, ctx: Ctx) -> list[Computed]:
    """§4.4.6: fixed keys first (histogram lower bound, cohort `all`), then count desc, label."""
    multiple_entities = len(ctx.series) > 1

    def key(item: Computed) -> tuple:
        fixed = item.part.order_key
        if fixed is not None:
            return (0, fixed, 0.0, "")
        return (1, (), -item.rank_value, _series_label(series, item.part, multiple_entities))

    return sorted(computed, key=key)


def _series_label(series: Series, part: Part | None, multiple_entities: bool) -> str:
    """§4.4.5: entity name; with breakdown the value label, prefixed with the entity name
    when the request has several entities."""
    if part is None:
        return series.name
    if multiple_entities:
        return f"{series.name} - {part.label}"
    return part.label


# --- formatting ------------------------------------------------------------------------------


def _request_echo(ctx: Ctx, period: Period, insight: str = "TRENDS") -> dict:
    """The `filter` key: the request as understood (informative, not a comparison target)."""
    return {
        **ctx.filter,
        "insight": insight,
        "interval": ctx.interval,
        "display": ctx.display,
        "date_from": period.date_from.isoformat(),
        "date_to": period.date_to.isoformat(),
    }


def _persons_filter(series: Series, ctx: Ctx, bd: Breakdown | None, part: Part | None) -> dict:
    out = {
        "entity_id": series.echo["id"],
        "entity_type": series.echo["type"],
        "entity_math": series.echo["math"],
        "entity_order": series.echo["order"],
    }
    if bd is not None and part is not None:
        out["breakdown_value"] = part.value
        out["breakdown_type"] = bd.type
    return out


def _persons_urls(item: Computed, ctx: Ctx, period: Period, bd: Breakdown | None) -> list[dict]:
    """§4.1: one entry per bucket; date_from is the bucket start (range start if cumulative)."""
    base = _persons_filter(item.series, ctx, bd, item.part)
    urls = []
    for bucket in period.buckets:
        start = period.date_from if ctx.display == CUMULATIVE else bucket
        flt = {
            **base,
            "date_from": start.isoformat(),
            "date_to": _bucket_end(ctx, bucket).isoformat(),
        }
        urls.append({"filter": flt, "url": None})
    return urls


def _format_item(item: Computed, ctx: Ctx, period: Period, bd: Breakdown | None) -> dict:
    multiple_entities = len(ctx.series) > 1
    out: dict = {
        "action": item.series.echo,
        "label": _series_label(item.series, item.part, multiple_entities),
    }
    if item.part is not None:
        out["breakdown_value"] = item.part.value
    if item.aggregated_value is not None:
        persons = {
            **_persons_filter(item.series, ctx, bd, item.part),
            "date_from": period.date_from.isoformat(),
            "date_to": period.date_to.isoformat(),
        }
        out.update(
            {
                "aggregated_value": item.aggregated_value,
                "count": 0.0,
                "data": [],
                "labels": [],
                "days": _aggregated_days(ctx, period),
                "persons": {"filter": persons, "url": None},
            }
        )
    else:
        data = _accumulate(item.data) if ctx.display == CUMULATIVE else list(item.data)
        out.update(
            {
                "count": item.count,  # §2.2: the sum of the non-accumulated values
                "data": data,
                "labels": _labels(ctx, period.buckets),
                "days": _days(ctx, period.buckets),
                "persons_urls": _persons_urls(item, ctx, period, bd),
            }
        )
    out["filter"] = _request_echo(ctx, period)
    return out


def _mark_compare(items: list[dict], which: str, interval: str) -> list[dict]:
    """§6: compare flags; labels become `<interval> <i>`, days keep the real dates."""
    for item in items:
        item["compare"] = True
        item["compare_label"] = which
        item["labels"] = [f"{interval} {i}" for i in range(len(item["labels"]))]
    return items


# --- formula ---------------------------------------------------------------------------------


Node = tuple  # ("num", float) | ("var", int) | ("neg", Node) | (op, Node, Node)


def parse_formula(formula: str, series_count: int) -> Node:
    """§5: + - * / parentheses, numbers, unary minus, letters A.. by series position.

    Characters outside `[a-zA-Z \\-*^0-9+/().]` are dropped first, as PostHog does. Any
    syntax error or a letter past the last series raises ValueError naming `formula`.
    """
    tokens = _formula_tokens(FORMULA_CHARS.sub("", formula))
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        token = peek()
        if token is None:
            raise _fail("formula", f"unexpected end of {formula!r}")
        position += 1
        return token

    def expression() -> Node:
        node = term()
        while peek() in ("+", "-"):
            node = (take(), node, term())
        return node

    def term() -> Node:
        node = unary()
        while peek() in ("*", "/"):
            node = (take(), node, unary())
        return node

    def unary() -> Node:
        if peek() == "-":
            take()
            return ("neg", unary())
        if peek() == "+":
            take()
            return unary()
        return primary()

    def primary() -> Node:
        token = take()
        if token == "(":
            node = expression()
            if take() != ")":
                raise _fail("formula", f"missing ')' in {formula!r}")
            return node
        if token.isalpha():
            index = ord(token.upper()) - ord("A")
            if index >= series_count:
                raise _fail("formula", f"{token} refers to a series that does not exist")
            return ("var", index)
        if NUMBER.fullmatch(token):
            return ("num", float(token))
        raise _fail("formula", f"unexpected {token!r} in {formula!r}")

    if not tokens:
        raise _fail("formula", "empty formula")
    tree = expression()
    if peek() is not None:
        raise _fail("formula", f"unexpected {peek()!r} in {formula!r}")
    return tree


def _formula_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for match in re.finditer(r"\s*(\d+\.?\d*|\.\d+|[a-zA-Z]|[-+*/()^.])", text):
        tokens.append(match.group(1))
    if "".join(tokens) != re.sub(r"\s", "", text):
        raise _fail("formula", f"cannot read {text!r}")
    for left, right in zip(tokens, tokens[1:], strict=False):
        # Adjacent operands ("2A", "AB", "A(") are not implicit products: ClickHouse would
        # reject them as unknown identifiers or syntax errors.
        if _is_operand_end(left) and _is_operand_start(right):
            raise _fail("formula", f"missing operator between {left!r} and {right!r}")
    return tokens


def _is_operand_end(token: str) -> bool:
    return token == ")" or token.isalpha() or bool(NUMBER.fullmatch(token))


def _is_operand_start(token: str) -> bool:
    return token == "(" or token.isalpha() or bool(NUMBER.fullmatch(token))


def _divide(a: float, b: float) -> float:
    """IEEE division (ClickHouse `/` is Float64): x/0 is ±inf, 0/0 NaN; cleaned later."""
    if b != 0:
        return a / b
    if a == 0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def evaluate_formula(tree: Node, values: list[float]) -> float:
    """Evaluate at one point; `values[i]` is the i-th series' value there."""
    kind = tree[0]
    if kind == "num":
        return tree[1]
    if kind == "var":
        return values[tree[1]]
    if kind == "neg":
        return -evaluate_formula(tree[1], values)
    left, right = evaluate_formula(tree[1], values), evaluate_formula(tree[2], values)
    if kind == "+":
        return left + right
    if kind == "-":
        return left - right
    if kind == "*":
        product = left * right
        return product
    return _divide(left, right)


def _formula_items(
    ctx: Ctx, series_list: list[Series], period: Period, bd: Breakdown | None
) -> list[dict]:
    """§5: evaluate the formula element-wise over the series (joined on breakdown value)."""
    formula = str(ctx.filter["formula"])
    tree = parse_formula(formula, len(series_list))
    sessions = SessionDurations(ctx.world)
    per_series = [
        _compute_entity(s, period, ctx, bd, sessions, _matched_events(s, ctx)) for s in series_list
    ]
    aggregated = ctx.display in AGGREGATED_DISPLAYS
    width = len(period.buckets)
    # Join keys: A's values in A's order, then values new in B, C, ... (§5).
    keys: list[object] = []
    rows: list[dict[object, Computed]] = []
    for computed in per_series:
        row: dict[object, Computed] = {}
        for item in computed:
            key = _join_key(item)
            row[key] = item
            if key not in keys:
                keys.append(key)
        rows.append(row)
    items = []
    for key in keys:
        present = next(row[key] for row in rows if key in row)
        if aggregated:
            inputs = [row[key].aggregated_value if key in row else 0.0 for row in rows]
            value = _clean(evaluate_formula(tree, inputs))
            item: dict = {"aggregated_value": value, "data": [], "count": 0.0, "labels": []}
            item["days"] = _aggregated_days(ctx, period)
        else:
            columns = [row[key].data if key in row else [0.0] * width for row in rows]
            data = [
                _clean(evaluate_formula(tree, [column[i] for column in columns]))
                for i in range(width)
            ]
            item = {
                "data": _accumulate(data) if ctx.display == CUMULATIVE else data,
                "count": float(sum(data)),
                "labels": _labels(ctx, period.buckets),
                "days": _days(ctx, period.buckets),
            }
        if bd is None:
            item["label"] = f"Formula ({formula})"
        else:
            raw_label = present.part.formula_label
            item["label"] = raw_label
            item["breakdown_value"] = raw_label
        items.append(item)
    return items


def _join_key(item: Computed) -> object:
    if item.part is None:
        return NO_BREAKDOWN
    value = item.part.value
    return tuple(value) if isinstance(value, list) else value


# --- trends ----------------------------------------------------------------------------------


def trends(filter: dict, world: World) -> list[dict]:
    """The `result` list of `/insights/trend/` for a legacy filter (§1 "Which engine runs")."""
    insight = str(filter.get("insight") or "TRENDS").upper()
    shown_as = filter.get("shown_as")
    if insight == "LIFECYCLE" or shown_as == "Lifecycle":
        return lifecycle(filter, world)
    if insight == "STICKINESS" or shown_as == "Stickiness":
        return stickiness(filter, world)
    ctx = _context(filter, world)
    series_list = list(ctx.series)
    _smoothing(ctx)  # validate even when no series uses it
    bd = _breakdown(ctx)
    date_from, date_to = _current_range(ctx)
    periods = [("current", _period(ctx, date_from, date_to, round_lower=True))]
    if dates.is_truthy(ctx.filter.get("compare", False)):
        previous_from, previous_to = _previous_range(ctx, date_from, date_to)
        periods.append(("previous", _period(ctx, previous_from, previous_to, round_lower=True)))
    compare = len(periods) == 2
    if ctx.filter.get("formula"):
        out = []
        for which, period in periods:
            items = _formula_items(ctx, series_list, period, bd)
            out.extend(_mark_compare(items, which, ctx.interval) if compare else items)
        return out
    sessions = SessionDurations(world)
    out = []
    for series in series_list:  # §4.1: per entity, current series then previous series
        events = _matched_events(series, ctx)
        for which, period in periods:
            computed = _compute_entity(series, period, ctx, bd, sessions, events)
            items = [_format_item(item, ctx, period, bd) for item in computed]
            out.extend(_mark_compare(items, which, ctx.interval) if compare else items)
    return out


# --- stickiness ------------------------------------------------------------------------------


def _sticky_points(ctx: Ctx, period: Period) -> int:
    """§7: total_intervals - 1 points, total_intervals = floor(span / interval) + 2."""
    start, end = period.date_from.astimezone(ctx.zone), period.date_to.astimezone(ctx.zone)
    if ctx.interval == "month":
        steps = (end.year - start.year) * 12 + end.month - start.month
    elif ctx.interval == "week":
        steps = _wall_delta(start, end, ctx.zone).days // 7
    elif ctx.interval == "day":
        steps = _wall_delta(start, end, ctx.zone).days  # a DST day is still one day
    else:
        steps = math.floor((_utc(end) - _utc(start)).total_seconds() / 3600)  # real hours
    return steps + 1


def _sticky_actor(event: Event, series: Series, ctx: Ctx) -> str | None:
    group_index = _optional_int(
        ctx.filter.get("aggregation_group_type_index"), "aggregation_group_type_index"
    )
    if series.math == "unique_group":
        group_index = series.group_index
    if group_index is not None:
        return _group_key(event, group_index)
    return event.person_id


def _sticky_item(series: Series, ctx: Ctx, period: Period) -> dict:
    points = _sticky_points(ctx, period)
    active: dict[str, set[datetime]] = {}
    for event in _matched_events(series, ctx):
        if not period.contains(event.timestamp):  # [date_from, date_to], not rounded (§7)
            continue
        actor = _sticky_actor(event, series, ctx)
        if actor is not None:
            active.setdefault(actor, set()).add(_utc(ctx.bucket_of(event.timestamp)))
    data = [0.0] * points
    for buckets in active.values():
        if len(buckets) <= points:
            data[len(buckets) - 1] += 1
    unit = ctx.interval
    base = {
        "entity_id": series.echo["id"],
        "entity_type": series.echo["type"],
        "entity_math": series.echo["math"],
        "date_from": period.date_from.isoformat(),
        "date_to": period.date_to.isoformat(),
    }
    return {
        "action": series.echo,
        "label": series.name,
        "count": float(sum(data)),
        "data": data,
        "labels": [f"{k} {unit}" + ("" if k == 1 else "s") for k in range(1, points + 1)],
        "days": list(range(1, points + 1)),
        "filter": _request_echo(ctx, period, "STICKINESS"),
        "persons_urls": [
            {"filter": {**base, "stickiness_days": k}, "url": None} for k in range(1, points + 1)
        ],
    }


def stickiness(filter: dict, world: World) -> list[dict]:
    """§7: how many actors were active in exactly k buckets of the range."""
    ctx = _context(filter, world)
    series_list = list(ctx.series)
    date_from, date_to = _current_range(ctx)
    periods = [("current", _period(ctx, date_from, date_to, round_lower=False))]
    if dates.is_truthy(ctx.filter.get("compare", False)):
        previous_from, previous_to = _previous_range(ctx, date_from, date_to)
        periods.append(("previous", _period(ctx, previous_from, previous_to, round_lower=False)))
    out = []
    for series in series_list:
        for which, period in periods:
            item = _sticky_item(series, ctx, period)
            out.extend(_mark_compare([item], which, ctx.interval) if len(periods) == 2 else [item])
    return out


# --- lifecycle -------------------------------------------------------------------------------


def _created_at(world: World) -> dict[str, datetime]:
    """A person's created_at: its earliest event of any kind (OPEN_QUESTIONS)."""
    first: dict[str, datetime] = {}
    for event in world.events:
        ts = _utc(event.timestamp)
        if event.person_id not in first or ts < first[event.person_id]:
            first[event.person_id] = ts
    return first


def _next_bucket(ctx: Ctx, bucket: datetime) -> datetime:
    """Start of the following bucket: jump well inside it, then truncate (DST-safe)."""
    jump = {"hour": 1.5 / 24, "day": 1.5, "week": 10, "month": 40}[ctx.interval]
    return ctx.bucket_of(_utc(bucket) + timedelta(days=jump))


def _previous_bucket(ctx: Ctx, bucket: datetime) -> datetime:
    return ctx.bucket_of(_utc(bucket) - timedelta(microseconds=1))


def lifecycle(filter: dict, world: World) -> list[dict]:
    """§8: new / returning / resurrecting / dormant persons per bucket, dormant negative."""
    ctx = _context(filter, world)
    series_list = list(ctx.series)
    if not series_list:
        return []
    series = series_list[0]  # §8: the first entity only; math ignored
    date_from, date_to = _current_range(ctx)
    shown = ctx.buckets(date_from, date_to)
    if not shown:
        raise _fail("date_from", "date_from is after date_to")
    before, after = _previous_bucket(ctx, shown[0]), _next_bucket(ctx, shown[-1])
    timeline = [before, *shown, after]  # fetch window: one interval either side
    position = {_utc(b): i for i, b in enumerate(timeline)}
    fetch_low, fetch_high = _utc(before), _utc(after)  # [low, high)

    activity: dict[str, set[int]] = {}
    for event in _matched_events(replace(series, math="total"), ctx):
        ts = _utc(event.timestamp)
        if fetch_low <= ts < fetch_high:
            index = position[_utc(ctx.bucket_of(event.timestamp))]
            activity.setdefault(event.person_id, set()).add(index)

    created = _created_at(world)
    counts = {status: [0.0] * len(timeline) for status in LIFECYCLE_STATUSES}
    for person, periods in activity.items():
        created_position = position.get(_utc(ctx.bucket_of(created[person])))
        for index, status in _person_statuses(periods, created_position):
            if index < len(timeline):
                counts[status][index] += 1

    base = {"entity_id": series.echo["id"], "entity_type": series.echo["type"]}
    out = []
    for status in LIFECYCLE_STATUSES:
        data = counts[status][1:-1]  # keep [trunc(from), trunc(to)] only
        if status == "dormant":
            data = [-v if v else 0.0 for v in data]  # §8: negative (and no -0.0)
        out.append(
            {
                "action": series.echo,
                "label": f"{series.name} - {status}",
                "status": status,
                "count": float(sum(data)),
                "data": data,
                "labels": _labels(ctx, shown),
                "days": _days(ctx, shown),
                "persons_urls": [
                    {
                        "filter": {
                            **base,
                            "date_from": date_from.isoformat(),
                            "date_to": date_to.isoformat(),
                            "target_date": b.isoformat(),
                            "lifecycle_type": status,
                        },
                        "url": None,
                    }
                    for b in shown
                ],
            }
        )
    return out


def _person_statuses(periods: set[int], created_position: int | None) -> Iterable[tuple[int, str]]:
    """§8 for one person; `periods` are timeline positions (adjacent buckets differ by 1).

    The first active period is `new` when the person was created in it, else `resurrecting`;
    a later one is `returning` after an active period, else `resurrecting`; the period after
    an active one without activity is `dormant`.
    """
    ordered = sorted(periods)
    for i, period in enumerate(ordered):
        if i == 0:
            yield period, "new" if period == created_position else "resurrecting"
        else:
            yield period, "returning" if period - 1 in periods else "resurrecting"
        if period + 1 not in periods:
            yield period + 1, "dormant"
