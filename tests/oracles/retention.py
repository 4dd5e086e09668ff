"""Retention oracle: PostHog's filter-based retention, written from the spec alone.

Spec: /work/shared/spec/retention_paths.md part A, overridden by /work/shared/spec/README.md
(monthly periods are calendar months whose cohorts start on the 1st; `ActionsLineGraph` with
recurring retention behaves like the table; an event exactly at the window end is included).

Public functions:
- `retention(filter, world)`: the `result` rows of `/insights/retention/` (A5, A6). Every cell
  also carries `actor_ids`, the set of actors behind it (an extra key; PostHog's response has
  no such key). PostHog adds `people_url` only to cells that had a result row, which is exactly
  the cells with `count > 0`; the oracle emits no URLs, so a comparison should check
  `("people_url" in cell) == (cell["count"] > 0)` on the engine's side.
- `retention_people(filter, world)`: the actors and `appearances` of `/api/person/retention/`
  (A7).
- `retention_window(filter, world)`: the derived date window (A3), for tests and for the engine
  comparison.
- `parse_date_param(value, timezone, now)`: PostHog date strings (absolute and relative), shared
  with the paths oracle.

Choices where the spec leaves room (also listed in the module tests):
- `total_intervals` must be an integer (or integer string) from 1 to 100 (`MAX_INTERVALS`).
- Entity-level `properties` on `target_entity` / `returning_entity` ARE applied (the HogQL
  runner's behaviour; the legacy engine ignored them).
- A breakdown property whose value is JSON null counts as missing: `""`.
- First-time mode with an event breakdown: when several earliest target events share the
  timestamp, the smallest breakdown value (tuple order) wins.
- Breakdown counts are distinct actors per (breakdown value, interval), over all cohort dates.
- `sampling_factor` is not modelled (the oracle counts everything).
"""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tests.oracles import dates, filters
from tests.oracles.model import Event, World

PERIODS = ("Hour", "Day", "Week", "Month")  # A2: case-sensitive; anything else is an error
MAX_INTERVALS = 100  # our choice: PostHog documents no upper bound
DEFAULT_INTERVALS = 11  # A2
DEFAULT_ENTITY = {"id": "$pageview", "type": "events"}  # A2

_INTERVAL_OF_PERIOD = {"Hour": "hour", "Day": "day", "Week": "week", "Month": "month"}


# --------------------------------------------------------------------------------------------
# Date strings (trends.md 3.1, referenced by A2 "absolute or relative date string")
# --------------------------------------------------------------------------------------------

_RELATIVE = re.compile(r"^-?(?P<number>\d+)?(?P<unit>[hdwmqyMs])(?P<position>Start|End)?$")
_LOOSE_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def add_months(d: date, months: int) -> date:
    """Calendar month arithmetic; the day is clamped to the target month's length."""
    index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def local(dt: datetime, timezone: str) -> datetime:
    return dt.astimezone(ZoneInfo(timezone))


def at_local(d: date, t: time, timezone: str) -> datetime:
    """Wall-clock time `t` on local date `d` (fold=0 for ambiguous and skipped times)."""
    return datetime.combine(d, t).replace(tzinfo=ZoneInfo(timezone))


def parse_date_param(
    value: str | datetime, timezone: str, now: datetime, field: str = "date_to"
) -> datetime:
    """Parse a PostHog `date_from`/`date_to` value into an aware datetime.

    Absolute values without an offset are read in the project timezone (A2, trends 3.1).
    Relative values (`-7d`, `-1mStart`, `dEnd`, `-3h`, ...) count back from `now` in the project
    timezone; the sign is optional and the direction is always the past, as in PostHog. Day,
    week, month, quarter (13 weeks) and year steps are calendar steps on the local wall clock;
    hour, minute and second steps are real elapsed time. `Start`/`End` apply to h, d, m and y
    only (`w` has no Start/End handling, trends 3.1).
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=ZoneInfo(timezone))
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field}: cannot parse {value!r}")
    text = value.strip()
    match = _RELATIVE.match(text)
    if match:
        return _relative(match, timezone, now)
    loose = _LOOSE_DATE.match(text)
    if loose:
        year, month, day = (int(part) for part in loose.groups())
        try:
            return at_local(date(year, month, day), time(0), timezone)
        except ValueError:
            raise ValueError(f"{field}: cannot parse {value!r}") from None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{field}: cannot parse {value!r}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=ZoneInfo(timezone))
    return parsed


def _relative(match: re.Match, timezone: str, now: datetime) -> datetime:
    number = int(match["number"] or 0)
    unit = match["unit"]
    position = match["position"]
    now_local = local(now, timezone)
    if unit in ("h", "M", "s"):
        seconds = {"h": 3600, "M": 60, "s": 1}[unit] * number
        # Real elapsed time: subtract in UTC (ZoneInfo arithmetic would be wall-clock).
        result = local(now.astimezone(UTC) - timedelta(seconds=seconds), timezone)
    else:
        d = now_local.date()
        if unit == "d":
            d -= timedelta(days=number)
        elif unit == "w":
            d -= timedelta(weeks=number)
        elif unit == "q":
            d -= timedelta(weeks=13 * number)
        elif unit == "m":
            d = add_months(d, -number)
        else:  # "y"
            d = add_months(d, -12 * number)
        result = at_local(d, now_local.time().replace(tzinfo=None), timezone)
    if position is None or unit in ("w", "q", "M", "s"):
        return result
    start = position == "Start"
    d = result.date()
    if unit == "h":
        t = result.replace(minute=0, second=0, microsecond=0)
        return t if start else t.replace(minute=59, second=59, microsecond=999999)
    if unit == "m":
        d = d.replace(day=1) if start else d.replace(day=calendar.monthrange(d.year, d.month)[1])
    elif unit == "y":
        d = date(d.year, 1, 1) if start else date(d.year, 12, 31)
    return at_local(d, time(0) if start else time(23, 59, 59, 999999), timezone)


# --------------------------------------------------------------------------------------------
# Request parsing and validation (A2)
# --------------------------------------------------------------------------------------------


def _json_value(value, field: str):
    """Non-scalar parameters may arrive as JSON-encoded strings (A1)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ValueError(f"{field}: not valid JSON") from None
    return value


def _int_param(value, field: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{field}: must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise ValueError(f"{field}: must be an integer")


def _entity(filter: dict, field: str, default: dict, world: World) -> dict:
    raw = filter.get(field)
    if raw is None or raw == "" or raw == {}:
        return default
    entity = _json_value(raw, field)
    if not isinstance(entity, dict):
        raise ValueError(f"{field}: must be an object")
    kind = entity.get("type", "events")
    if kind not in ("events", "actions"):
        raise ValueError(f"{field}: unknown type {kind!r}")
    if kind == "actions":
        # README: an unknown action id is a 400 naming the field, not an empty result.
        try:
            action_id = int(entity.get("id"))
        except (TypeError, ValueError):
            raise ValueError(f"{field}: action id must be an integer") from None
        if action_id not in world.actions:
            raise ValueError(f"{field}: unknown action {action_id}")
        entity = {**entity, "id": action_id}
    return {**entity, "type": kind}


@dataclass(frozen=True)
class RetentionRequest:
    period: str
    total_intervals: int
    first_time: bool
    target: dict
    returning: dict
    breakdowns: tuple[str, ...] | None  # property names, when in breakdown mode
    breakdown_type: str | None
    group_type_index: int | None


def parse_request(filter: dict, world: World) -> RetentionRequest:
    period = filter.get("period") or "Day"
    if period not in PERIODS:
        raise ValueError(f"period: unsupported value {period!r}; use one of {', '.join(PERIODS)}")
    raw_n = filter.get("total_intervals")
    n = DEFAULT_INTERVALS if raw_n is None or raw_n == "" else _int_param(raw_n, "total_intervals")
    if not 1 <= n <= MAX_INTERVALS:
        raise ValueError(f"total_intervals: must be between 1 and {MAX_INTERVALS}")
    target = _entity(filter, "target_entity", DEFAULT_ENTITY, world)
    returning = _entity(filter, "returning_entity", target, world)
    breakdowns, breakdown_type = _breakdowns(filter)
    return RetentionRequest(
        period=period,
        total_intervals=n,
        # A2: anything other than `retention_first_time` is recurring.
        first_time=filter.get("retention_type") == "retention_first_time",
        target=target,
        returning=returning,
        breakdowns=breakdowns,
        breakdown_type=breakdown_type,
        group_type_index=_group_type_index(filter),
    )


def _breakdowns(filter: dict) -> tuple[tuple[str, ...] | None, str | None]:
    raw = filter.get("breakdowns")
    if raw is None or raw == "" or raw == []:
        return None, None
    items = _json_value(raw, "breakdowns")
    if not isinstance(items, list) or not all(
        isinstance(item, dict) and isinstance(item.get("property"), str) for item in items
    ):
        raise ValueError("breakdowns: must be a list of {type, property} objects")
    # A2: `breakdown_type` is required and is the only type used for every property.
    breakdown_type = filter.get("breakdown_type")
    if breakdown_type not in ("person", "event"):
        raise ValueError("breakdown_type: required with breakdowns; use 'person' or 'event'")
    return tuple(item["property"] for item in items), breakdown_type


def _group_type_index(filter: dict) -> int | None:
    raw = filter.get("aggregation_group_type_index")
    if raw is None or raw == "":
        return None
    index = _int_param(raw, "aggregation_group_type_index")
    if not 0 <= index <= 4:
        raise ValueError("aggregation_group_type_index: must be between 0 and 4")
    return index


# --------------------------------------------------------------------------------------------
# A3: the date window
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionWindow:
    period: str
    date_from: datetime  # DATE_FROM, start of period 0
    date_to: datetime  # DATE_TO, inclusive upper bound of the event filter
    # Start of every period from DATE_FROM to the period holding DATE_TO: N+1 entries. The last
    # one only matters for breakdowns (an event exactly at DATE_TO, or the rest of a week that
    # DATE_TO cuts, has period index N).
    period_starts: tuple[datetime, ...]

    def index_of(self, start: datetime) -> int | None:
        for index, candidate in enumerate(self.period_starts):
            if candidate == start:
                return index
        return None


def retention_window(filter: dict, world: World) -> RetentionWindow:
    request = parse_request(filter, world)
    return _window(filter, request, world)


def _now(world: World) -> datetime:
    return world.now or datetime.now(UTC)


def _day_start(d: date, timezone: str, week_start_day: int) -> datetime:
    # Noon always exists, and the day bucket of noon is the first instant of that local day,
    # even where a DST change skips midnight (A3 step 4 "set to 00:00").
    return dates.bucket_of(
        at_local(d, time(12), timezone),
        interval="day",
        timezone=timezone,
        week_start_day=week_start_day,
    )


def _window(filter: dict, request: RetentionRequest, world: World) -> RetentionWindow:
    tz = world.project.timezone
    wsd = world.project.week_start_day
    n = request.total_intervals
    raw = filter.get("date_to")
    # A3.1: the parsed date_to (naive and relative values in team tz), or now.
    raw_to = _now(world) if raw in (None, "") else parse_date_param(raw, tz, _now(world))
    raw_date = local(raw_to, tz).date()
    interval = _INTERVAL_OF_PERIOD[request.period]

    def bucket(dt: datetime) -> datetime:
        return dates.bucket_of(dt, interval=interval, timezone=tz, week_start_day=wsd)

    if request.period == "Hour":
        # A3.2-3: one real hour later, minutes and seconds dropped; N real hours back.
        date_to = bucket(raw_to.astimezone(UTC) + timedelta(hours=1))
        date_from = bucket(date_to.astimezone(UTC) - timedelta(hours=n))
    elif request.period == "Day":
        to_day = raw_date + timedelta(days=1)
        date_to = _day_start(to_day, tz, wsd)
        date_from = _day_start(to_day - timedelta(days=n), tz, wsd)
    elif request.period == "Week":
        # A3.3: DATE_TO - N weeks, moved back to the start of its week (team week start).
        to_day = raw_date + timedelta(days=7)
        date_to = _day_start(to_day, tz, wsd)
        date_from = bucket(_day_start(to_day - timedelta(weeks=n), tz, wsd))
    else:
        # README overrides A3 for Month: calendar months, cohorts start on the 1st. We keep
        # DATE_TO = date_to + 1 month at 00:00 (A3.2) and move DATE_FROM back to the 1st of
        # its month, exactly like Week moves back to the week start.
        to_day = add_months(raw_date, 1)
        date_to = _day_start(to_day, tz, wsd)
        date_from = bucket(_day_start(add_months(to_day, -n), tz, wsd))
    starts = tuple(
        dates.buckets(date_from, date_to, interval=interval, timezone=tz, week_start_day=wsd)
    )
    if len(starts) != n + 1 or starts[0] != date_from:
        raise AssertionError(f"retention window: {len(starts)} periods from {starts[:1]}")
    return RetentionWindow(request.period, date_from, date_to, starts)


# --------------------------------------------------------------------------------------------
# A4: the target and returning relations
# --------------------------------------------------------------------------------------------


def _entity_matches(event: Event, entity: dict, world: World) -> bool:
    # A2: `id: null` with type events is any event (filters.entity_matches handles it); the
    # entity's own properties are applied (our choice, see the module docstring).
    return filters.entity_matches(event, entity, world)


def _actor(event: Event, request: RetentionRequest) -> str | None:
    if request.group_type_index is None:
        return event.person_id
    # A2: aggregate by group key; events without one are not counted.
    key = event.groups.get(request.group_type_index)
    return key if key not in (None, "") else None


def property_string(value) -> str:
    """A property value as the breakdown string (A6; trends 4.8 step 2).

    ClickHouse's raw JSON with the surrounding quotes removed: strings as they are, numbers and
    booleans as JSON (`2`, `1.5`, `true`), objects and lists as compact JSON. Missing values
    and JSON null give `""` (our choice for null; see module docstring).
    """
    return "" if value is None else filters.property_string(value)


def _breakdown_value(event: Event, request: RetentionRequest) -> tuple[str, ...] | None:
    if request.breakdowns is None:
        return None
    source = event.person_properties if request.breakdown_type == "person" else event.properties
    return tuple(property_string(source.get(name)) for name in request.breakdowns)


def _in_window(event: Event, window: RetentionWindow) -> bool:
    # A3.5: both ends inclusive; README keeps "exactly at DATE_TO" included.
    return window.date_from <= event.timestamp <= window.date_to


def _period_index(event: Event, window: RetentionWindow, world: World) -> int | None:
    start = dates.bucket_of(
        event.timestamp,
        interval=_INTERVAL_OF_PERIOD[window.period],
        timezone=world.project.timezone,
        week_start_day=world.project.week_start_day,
    )
    return window.index_of(start)


# (actor, cohort period index, breakdown value or None)
TargetRow = tuple[str, int, tuple[str, ...] | None]


def _target_rows(
    filter: dict, request: RetentionRequest, window: RetentionWindow, world: World
) -> set[TargetRow]:
    matching = [
        event
        for event in world.events
        if _actor(event, request) is not None
        and _entity_matches(event, request.target, world)
        and filters.passes_global_filters(event, filter, world)
    ]
    if not request.first_time:
        # A4 recurring: every (actor, period) with a target event inside the window.
        rows: set[TargetRow] = set()
        for event in matching:
            if _in_window(event, window):
                index = _period_index(event, window, world)
                rows.add((_actor(event, request), index, _breakdown_value(event, request)))
        return rows
    # A4 first-time: the earliest matching target event over ALL time, window not applied.
    first: dict[str, tuple[datetime, tuple[str, ...] | None]] = {}
    for event in matching:
        actor = _actor(event, request)
        candidate = (event.timestamp, _breakdown_value(event, request))
        if actor not in first or _earlier(candidate, first[actor]):
            first[actor] = candidate
    rows = set()
    for actor, (timestamp, value) in first.items():
        start = dates.bucket_of(
            timestamp,
            interval=_INTERVAL_OF_PERIOD[window.period],
            timezone=world.project.timezone,
            week_start_day=world.project.week_start_day,
        )
        # A4: kept only if that first period's start lies in [DATE_FROM, DATE_TO].
        if window.date_from <= start <= window.date_to:
            rows.add((actor, window.index_of(start), value))
    return rows


def _earlier(a: tuple, b: tuple) -> bool:
    # Ties on the timestamp: the smallest breakdown value wins (our deterministic choice).
    return (a[0], a[1] or ()) < (b[0], b[1] or ())


def _returning_periods(
    filter: dict, request: RetentionRequest, window: RetentionWindow, world: World
) -> dict[str, set[int]]:
    """A4 returning relation: actor -> period indexes with a returning event in the window."""
    periods: dict[str, set[int]] = {}
    for event in world.events:
        actor = _actor(event, request)
        if (
            actor is not None
            and _in_window(event, window)
            and _entity_matches(event, request.returning, world)
            and filters.passes_global_filters(event, filter, world)
        ):
            periods.setdefault(actor, set()).add(_period_index(event, window, world))
    return periods


def _cells(filter: dict, world: World) -> tuple[RetentionRequest, RetentionWindow, dict]:
    """(cohort key, interval) -> actors. The cohort key is the period index, or the breakdown
    value in breakdown mode (A6)."""
    request = parse_request(filter, world)
    window = _window(filter, request, world)
    returning = _returning_periods(filter, request, window, world)
    cells: dict[tuple, set[str]] = {}
    for actor, cohort, value in _target_rows(filter, request, window, world):
        key = cohort if value is None else value
        # A4: interval 0 is always counted, so values[0] is the cohort size.
        cells.setdefault((key, 0), set()).add(actor)
        for period in returning.get(actor, ()):
            # A4: strictly later periods only; same-period returns add nothing.
            if period > cohort:
                cells.setdefault((key, period - cohort), set()).add(actor)
    return request, window, cells


# --------------------------------------------------------------------------------------------
# A5 / A6: the response rows
# --------------------------------------------------------------------------------------------


def serialise_datetime(dt: datetime, timezone: str) -> str:
    """DRF's encoder: ISO-8601 in team tz, `+00:00` written as `Z` (A5, open question 7)."""
    text = local(dt, timezone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _cell(actors: set[str] | None) -> dict:
    actors = set(actors or ())
    return {"count": len(actors), "people": [], "actor_ids": actors}


def retention(filter: dict, world: World) -> list[dict]:
    request, window, cells = _cells(filter, world)
    n = request.total_intervals
    if request.breakdowns is not None:
        # A6: one row per breakdown value seen in the target relation, N cells each, no date.
        values = sorted({key for key, _ in cells})  # order is unspecified in PostHog
        return [
            {
                "values": [_cell(cells.get((value, k))) for k in range(n)],
                "label": "::".join(value),
                "breakdown_values": list(value),
            }
            for value in values
        ]
    # A5: exactly N rows; row c has intervals 0..N-1-c, zero-filled.
    return [
        {
            "values": [_cell(cells.get((c, k))) for k in range(n - c)],
            "label": f"{request.period} {c}",
            "date": serialise_datetime(window.period_starts[c], world.project.timezone),
        }
        for c in range(n)
    ]


# --------------------------------------------------------------------------------------------
# A7: the people endpoint
# --------------------------------------------------------------------------------------------


def retention_people(filter: dict, world: World) -> list[dict]:
    """Actors of one cohort with their `appearances` (A7), ordered and paginated.

    `breakdown_values` (a JSON list) selects the cohort: `[c]` for the plain table, the value
    list in breakdown mode. Without it the cohort is `selected_interval` (A7 quirk), which never
    filters by period. `appearances` has `total_intervals - selected_interval` entries; entry i
    is 1 when the actor is counted in cell (cohort, i). Cells that the table does not show
    (beyond the row's last interval) are 0. Returns `[{"actor": id, "appearances": [...]}]`
    ordered by the number of appearances descending, then actor id, after `offset`/`limit`.
    """
    request, _, cells = _cells(filter, world)
    n = request.total_intervals
    raw_selected = filter.get("selected_interval")
    selected = 0 if raw_selected in (None, "") else _int_param(raw_selected, "selected_interval")
    if not 0 <= selected < n:
        raise ValueError("selected_interval: must be between 0 and total_intervals - 1")
    raw_values = filter.get("breakdown_values")
    if raw_values in (None, ""):
        cohort_key = selected
    else:
        values = _json_value(raw_values, "breakdown_values")
        if not isinstance(values, list) or not values:
            raise ValueError("breakdown_values: must be a non-empty list")
        if request.breakdowns is None:
            cohort_key = _int_param(values[0], "breakdown_values")
        else:
            cohort_key = tuple(str(value) for value in values)
    shown = n if request.breakdowns is not None else n - cohort_key
    members = cells.get((cohort_key, 0), set())
    people = [
        {
            "actor": actor,
            "appearances": [
                1 if i < shown and actor in cells.get((cohort_key, i), ()) else 0
                for i in range(n - selected)
            ],
        }
        for actor in members
    ]
    people.sort(key=lambda person: (-sum(person["appearances"]), person["actor"]))
    offset = _int_param(filter.get("offset") or 0, "offset")
    limit = _int_param(filter.get("limit") or 100, "limit")
    return people[offset : offset + limit]
