"""Funnel oracle: PostHog's legacy filter-based funnel, written from the spec alone.

Spec: /work/shared/spec/funnels.md, overridden by /work/shared/spec/README.md (strict funnels
honour exclusions; conversion times only for steps reached inside the window; deterministic
timestamp ties; steps sorted by `order` then position; the trends viz keeps "Other" and returns
`reached_from_step_count` / `reached_to_step_count`).

Public functions:
- `funnel(filter, world)`: PostHog's `result` for `/insights/funnel/` (steps, trends and
  time_to_convert visualisations). Steps carry the actors behind them under the extra keys
  `_converted_people` (reached this step or further) and `_dropped_people` (reached the step
  before but not this one; empty for step 0). Trends rows carry `_reached_from_people` /
  `_reached_to_people` (one set per bucket). No people URLs are emitted.
- `funnel_actors(filter, world)`: every actor who entered the funnel with its credited result
  (used by the correlation oracle and handy for persons-endpoint tests).
- `FunnelValidationError`: a `ValueError` carrying PostHog's `attr` and `detail`.

Semantics chosen where the spec leaves room (most are tested in test_oracle_funnels.py):
- Steps: a missing `order` keeps PostHog's sort key -1, an explicit 0 sorts as 0; ties keep
  "actions, then events, in list order". 0 steps give `[]` and 1 step is a valid funnel (§1.1).
  An unknown `funnel_order_type` means `ordered` (§1.4); an unknown `funnel_viz_type` is an
  error.
- Ties (README): a step that is not equal to / a superset of the step before it may share that
  step's timestamp, and in ordered funnels even the same event (the §2.2 quirk); an equal or
  superset step needs a strictly later event. Only timestamps decide, never row order.
  "Superset" = same type and id (or an "All events" step) with a sub-multiset of the property
  filters, groups flattened.
- Strict funnels: an attempt reaches k steps when k distinct events can be laid out
  consecutively in *some* ordering of tied timestamps, i.e. no other event of the actor lies
  strictly between the first and the last of them in time (events tied with the first may go
  before it, events tied with the last after it).
- Unordered funnels: for every event and every step it matches (the anchor), the other steps
  are taken in any order with the ordered rules (ties `<=`, equal/superset consecutive steps
  strictly later) but each by a distinct event, all within the window from the anchor. This
  fixes two artefacts of §2.5's SQL: an event tied with the anchor shadowing a later one, and one
  event counting for two identical steps. A step tied with the anchor counts (README's `<=`,
  where §2.5 says strictly after the anchor).
- Exclusions: an attempt is discarded when *any* exclusion event lies strictly between the
  attempt's `from` time and its `to` time (or `from` time + window when `to` was not reached).
  `from`/`to` times are those the attempt reached inside the window.
- Conversion times: among several attempts reaching the same furthest step, each uses its own
  earliest-completing event choice; an actor is credited (correlation) with the earliest one.
- Breakdowns: series with equal step counts are ordered by breakdown value ascending; first/last
  touch ties on timestamp take the smallest value; values are folded into "Other" before
  attribution; first/last touch look at events matching a step or an exclusion (also in strict
  funnels); with several target entities the value selection ignores their own property
  filters (§2.7.1). Attribution does not apply to cohort breakdowns. time_to_convert ignores
  the breakdown. Trends series: every kept value (zero-filled) plus any other value with data
  ("Other", a null group value), sorted by value.
- `funnel_window_interval` 0 means unset (§1.3); a negative window is an error.
- Events without a key for the aggregation group type form no actor.
- Window arithmetic is in UTC (the stored timestamps); months are calendar months with the day
  clamped to the month's end.
- Not modelled: `sampling_factor`, people URLs, HogQL (refused as README says).
"""

from __future__ import annotations

import calendar
import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tests.oracles import dates, filters
from tests.oracles.model import Event, World

ORDER_TYPES = ("ordered", "strict", "unordered")
VIZ_TYPES = ("steps", "trends", "time_to_convert")
WINDOW_UNITS = ("second", "minute", "hour", "day", "week", "month")
INTERVALS = ("hour", "day", "week", "month")
ATTRIBUTIONS = ("first_touch", "last_touch", "all_events", "step")
DEFAULT_WINDOW = (14, "day")
DEFAULT_BREAKDOWN_LIMIT = 25
DEFAULT_SERIES_LIMIT = 100
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NO_BREAKDOWN = object()  # the single partition key of a funnel without breakdown


class FunnelValidationError(ValueError):
    """PostHog's 400 `validation_error`: `attr` names the field, `detail` is the message."""

    def __init__(self, attr: str, detail: str):
        super().__init__(f"{attr}: {detail}")
        self.attr = attr
        self.detail = detail


# ---------------------------------------------------------------------------------------------
# Request parsing (§1)


def _json_param(value):
    """§1: every JSON-valued param may also arrive as a JSON string (query strings)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _int_param(filter: dict, name: str, default: int | None = None) -> int | None:
    value = filter.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise FunnelValidationError(name, f"{name} must be an integer")
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        raise FunnelValidationError(name, f"{name} must be an integer") from None
    if as_float != int(as_float):
        raise FunnelValidationError(name, f"{name} must be an integer")
    return int(as_float)


def _bool_param(value) -> bool:
    """README: booleans arrive as JSON true, "true" or 1."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


@dataclass(frozen=True)
class Step:
    index: int
    entity: dict  # the request's entity object, `type` filled in

    @property
    def type(self) -> str:
        return self.entity["type"]

    @property
    def id(self):
        return self.entity.get("id")


@dataclass(frozen=True)
class Exclusion:
    entity: dict
    from_step: int
    to_step: int


@dataclass(frozen=True)
class Breakdown:
    kind: str  # event | person | group | cohort
    # property breakdowns: (property name, property type, group type index) per element
    props: tuple[tuple[str, str, int | None], ...]
    boxed: bool  # values are arrays of strings (event / person breakdowns)
    limit: int
    attribution: str
    attribution_step: int | None
    normalize_url: bool
    cohort_ids: tuple[int, ...]  # cohort breakdowns; 0 = all users


@dataclass(frozen=True)
class Query:
    steps: tuple[Step, ...]
    exclusions: tuple[Exclusion, ...]
    order_type: str
    viz_type: str
    window: tuple[int, str]
    date_from: datetime
    date_to: datetime
    interval: str
    timezone: str
    week_start_day: int
    group_index: int | None
    breakdown: Breakdown | None
    from_step: int
    to_step: int
    bin_count: int | None
    series_limit: int
    # covers[i][j]: step i equals or is a superset of step j (§2.2), so after step j it needs a
    # strictly later event; repeat[i] = covers[i][i-1] for the fixed order of (strict) ordered
    covers: tuple[tuple[bool, ...], ...]
    repeat: tuple[bool, ...]


def _steps(filter: dict, world: World) -> tuple[Step, ...]:
    """§1.1 + README: actions then events, then a stable sort by `order`; a missing `order` keeps
    PostHog's key for it (-1), so only an explicit 0 and a missing order now differ."""
    entities = _entities(filter, "actions", "actions", world) + _entities(
        filter, "events", "events", world
    )
    ordered = sorted(entities, key=lambda e: -1 if e.get("order") is None else int(e["order"]))
    return tuple(Step(index, entity) for index, entity in enumerate(ordered))


def _entities(filter: dict, key: str, default_type: str, world: World) -> list[dict]:
    raw = _json_param(filter.get(key)) or []
    if not isinstance(raw, list):
        raise FunnelValidationError(key, f"{key} must be a list of entities")
    return [_entity(item, key, default_type, world) for item in raw]


def _entity(item, attr: str, default_type: str, world: World) -> dict:
    item = _json_param(item)
    if not isinstance(item, dict):
        raise FunnelValidationError(attr, f"{attr} must hold entity objects")
    entity = dict(item)
    entity["type"] = entity.get("type") or default_type
    if entity["type"] == "actions":
        try:
            entity["id"] = int(entity.get("id"))
        except (TypeError, ValueError):
            raise FunnelValidationError(attr, f"invalid action id {entity.get('id')!r}") from None
        # README: an unknown action id is a 400 naming the field, not an empty result
        if entity["id"] not in world.actions:
            raise FunnelValidationError(attr, f"Action {entity['id']} does not exist")
    elif entity["type"] != "events":
        raise FunnelValidationError(attr, f"unsupported entity type {entity['type']!r}")
    if entity.get("order") is not None:
        entity["order"] = _int_param(entity, "order")
    return entity


def _flat_properties(props) -> list[str]:
    """Leaf property filters as canonical strings; groups are flattened (AND/OR ignored) like
    PostHog's entity comparison does."""
    props = _json_param(props)
    if not props:
        return []
    if isinstance(props, list):
        return [leaf for p in props for leaf in _flat_properties(p)]
    if not isinstance(props, dict):
        return [json.dumps(props, sort_keys=True)]
    if props.get("type") in ("AND", "OR") and "values" in props:
        return [leaf for p in props["values"] for leaf in _flat_properties(p)]
    if "key" in props:
        leaf = {"operator": "exact", "type": "event", **props}
        return [json.dumps(leaf, sort_keys=True, default=str)]
    # legacy dict shorthand {"key": value, "key__operator": value}
    leaves = []
    for key, value in props.items():
        name, _, operator = key.partition("__")
        leaf = {"key": name, "value": value, "operator": operator or "exact", "type": "event"}
        leaves.append(json.dumps(leaf, sort_keys=True, default=str))
    return leaves


def is_same_or_superset(entity: dict, other: dict) -> bool:
    """§2.2: `entity` matches every event `other` matches — same event/action (or "All events")
    with a sub-multiset of its property filters."""
    all_events = entity.get("type") == "events" and entity.get("id") is None
    same_kind = entity.get("type") == other.get("type") and entity.get("id") == other.get("id")
    if not (all_events or same_kind):
        return False
    mine = Counter(_flat_properties(entity.get("properties")))
    theirs = Counter(_flat_properties(other.get("properties")))
    return not (mine - theirs)


def _window(filter: dict) -> tuple[int, str]:
    """§1.3: `funnel_window_days` (non-zero) wins; else interval × unit; else 14 days."""
    days = _int_param(filter, "funnel_window_days")
    if days:
        if days < 0:
            raise FunnelValidationError("funnel_window_days", "funnel_window_days must be > 0")
        return days, "day"
    amount = _int_param(filter, "funnel_window_interval")
    # README: both spellings of the unit are accepted, values in any case
    unit_raw = filter.get("funnel_window_interval_unit") or filter.get(
        "funnel_window_interval_type"
    )
    unit = str(unit_raw).lower() if unit_raw else "day"
    if unit not in WINDOW_UNITS:
        used = "_unit" if filter.get("funnel_window_interval_unit") else "_type"
        raise FunnelValidationError(f"funnel_window_interval{used}", f"{unit_raw} not supported")
    if not amount:  # §1.3: 0 / missing → unset → the default window
        return DEFAULT_WINDOW
    if amount < 0:
        raise FunnelValidationError(
            "funnel_window_interval", "funnel_window_interval must be a positive integer"
        )
    return amount, unit


def _exclusions(filter: dict, steps: tuple[Step, ...], order_type: str, world: World):
    """§1.6 validation, in PostHog's order, with its messages."""
    raw = _json_param(filter.get("exclusions")) or []
    if not isinstance(raw, list):
        raise FunnelValidationError("exclusions", "exclusions must be a list of entities")
    n = len(steps)
    out = []
    for item in raw:
        entity = _entity(item, "exclusions", "events", world)
        start, end = entity.get("funnel_from_step"), entity.get("funnel_to_step")
        if start is None or end is None:
            raise FunnelValidationError(
                "exclusions", "Exclusion event needs to define funnel steps"
            )
        start = _int_param(entity, "funnel_from_step")
        end = _int_param(entity, "funnel_to_step")
        if start >= end:
            raise FunnelValidationError(
                "exclusions",
                "Exclusion event range is invalid. End of range should be greater than start.",
            )
        if start >= n - 1:
            raise FunnelValidationError(
                "exclusions",
                "Exclusion event range is invalid. Start of range is greater than number of steps.",
            )
        if end > n - 1:
            raise FunnelValidationError(
                "exclusions",
                "Exclusion event range is invalid. End of range is greater than number of steps.",
            )
        if start < 0:  # not in the spec; a negative step index can only be a client error
            raise FunnelValidationError(
                "exclusions", "Exclusion event range is invalid. Start of range is negative."
            )
        for step in steps[start : end + 1]:
            if is_same_or_superset(entity, step.entity):
                raise FunnelValidationError(
                    "exclusions",
                    "Exclusion steps cannot contain an event that's part of funnel steps.",
                )
        if order_type == "unordered" and (start != 0 or end != n - 1):
            raise FunnelValidationError(
                "exclusions", "Partial Exclusions not allowed in unordered funnels"
            )
        out.append(Exclusion(entity, start, end))
    return tuple(out)


def _viz_type(filter: dict) -> str:
    """§1.5, including the `display=ActionsLineGraph` back-compat."""
    raw = filter.get("funnel_viz_type")
    if raw is None or raw == "":
        insight = str(filter.get("insight") or "").upper()
        if insight == "FUNNELS" and filter.get("display") == "ActionsLineGraph":
            return "trends"
        return "steps"
    viz = str(raw).lower()
    if viz not in VIZ_TYPES:
        raise FunnelValidationError("funnel_viz_type", f"{raw} not supported")
    return viz


def _order_type(filter: dict) -> str:
    """§1.4: `ordered` when missing or unknown."""
    raw = str(filter.get("funnel_order_type") or "ordered").lower()
    return raw if raw in ORDER_TYPES else "ordered"


def _group_index(filter: dict) -> int | None:
    index = _int_param(filter, "aggregation_group_type_index")
    if index is not None and not 0 <= index <= 4:
        raise FunnelValidationError(
            "aggregation_group_type_index", "aggregation_group_type_index must be 0-4"
        )
    return index


def _breakdown(filter: dict, steps: tuple[Step, ...], world: World) -> Breakdown | None:
    """§1.7 / §2.9."""
    raw = filter.get("breakdown")
    if isinstance(raw, str) and raw.lstrip().startswith("["):
        raw = _json_param(raw)  # a JSON list from a query string; plain names stay names
    breakdowns = _json_param(filter.get("breakdowns"))
    kind = str(filter.get("breakdown_type") or "event").lower()
    if raw in (None, "", []) and breakdowns:
        items = [_json_param(b) for b in breakdowns]
        raw = [b["property"] for b in items]
        types = [str(b.get("type") or kind).lower() for b in items]
        indexes = [b.get("group_type_index") for b in items]
        kind = types[0]
    else:
        types, indexes = None, None
    if raw in (None, "", []):
        return None
    if kind == "hogql" or (types and "hogql" in types):
        raise FunnelValidationError("breakdown", "unsupported_hogql: HogQL breakdowns")
    limit = _int_param(filter, "breakdown_limit", DEFAULT_BREAKDOWN_LIMIT)
    attribution = str(filter.get("breakdown_attribution_type") or "first_touch").lower()
    if attribution not in ATTRIBUTIONS:
        raise FunnelValidationError("breakdown_attribution_type", f"{attribution} not supported")
    attribution_step = None
    if attribution == "step":
        # §1.7: legacy crashes without it; a re-implementation answers 400
        attribution_step = _int_param(filter, "breakdown_attribution_value")
        if attribution_step is None or not 0 <= attribution_step < len(steps):
            raise FunnelValidationError(
                "breakdown_attribution_value",
                "breakdown_attribution_value must be a step index for step attribution",
            )
    normalize = _bool_param(filter.get("breakdown_normalize_url", False))
    if kind == "cohort":
        ids = raw if isinstance(raw, list) else [raw]
        cohort_ids = []
        for cid in ids:
            if cid == "all":
                cohort_ids.append(0)
                continue
            try:
                cid = int(cid)
            except (TypeError, ValueError):
                raise FunnelValidationError("breakdown", f"invalid cohort id {cid!r}") from None
            if cid not in world.cohorts:
                raise FunnelValidationError("breakdown", f"Cohort {cid} does not exist")
            cohort_ids.append(cid)
        return Breakdown(
            "cohort", (), False, limit, attribution, attribution_step, normalize, tuple(cohort_ids)
        )
    if kind not in ("event", "person", "group"):
        raise FunnelValidationError("breakdown_type", f"{kind} not supported")
    names = raw if isinstance(raw, list) else [raw]
    if kind == "group":
        if len(names) != 1:
            raise FunnelValidationError("breakdown", "group breakdowns take a single property")
        index = _int_param(filter, "breakdown_group_type_index")
        if indexes and indexes[0] is not None:
            index = int(indexes[0])
        if index is None:
            raise FunnelValidationError(
                "breakdown_group_type_index", "group breakdowns need breakdown_group_type_index"
            )
        props = ((str(names[0]), "group", index),)
        return Breakdown("group", props, False, limit, attribution, attribution_step, normalize, ())
    types = types or [kind] * len(names)
    for t in types:
        if t not in ("event", "person", "group"):
            raise FunnelValidationError("breakdowns", f"breakdown type {t} not supported")
    indexes = indexes or [None] * len(names)
    props = tuple(
        (str(name), t, None if i is None else int(i))
        for name, t, i in zip(names, types, indexes, strict=True)
    )
    return Breakdown(kind, props, True, limit, attribution, attribution_step, normalize, ())


def _parse(filter: dict, world: World) -> Query | None:
    steps = _steps(filter, world)
    if not steps:
        return None  # §1.1: no steps → result []
    order_type = _order_type(filter)
    viz_type = _viz_type(filter)
    window = _window(filter)
    if filter.get("funnel_aggregate_by_hogql") not in (None, "", "person_id"):
        # README: no expression language yet
        raise FunnelValidationError(
            "funnel_aggregate_by_hogql", "unsupported_hogql: funnel_aggregate_by_hogql"
        )
    exclusions = _exclusions(filter, steps, order_type, world)
    interval = str(filter.get("interval") or "day").lower()
    if interval not in INTERVALS:
        if viz_type == "trends":
            raise FunnelValidationError("interval", f"{interval} not supported")
        interval = "day"
    n = len(steps)
    from_step = _int_param(filter, "funnel_from_step", 0)
    # §1.8: funnel_to_step 0 means unset
    to_step = _int_param(filter, "funnel_to_step") or n - 1
    if viz_type == "time_to_convert" and not 0 < to_step < n:
        allowed = ", ".join(str(i) for i in range(1, n))
        raise FunnelValidationError(
            "funnel_to_step",
            f"Filter parameter funnel_to_step can only be one of {allowed} for time to convert!",
        )
    if viz_type != "steps" and not 0 <= to_step < n:
        raise FunnelValidationError("funnel_to_step", "funnel_to_step is not a step index")
    # not in the spec: a time-to-convert range must run forwards, a trends `from` must be a step
    if (viz_type == "time_to_convert" and not 0 <= from_step < to_step) or (
        viz_type == "trends" and not 0 <= from_step < n
    ):
        raise FunnelValidationError("funnel_from_step", "funnel_from_step is not a valid step")
    bin_count = _int_param(filter, "bin_count")
    timezone = world.project.timezone
    now = world.now or datetime.now(UTC)
    first_event = dates.first_event_time(e.timestamp for e in world.events)
    date_from, date_to = dates.parse_date_range(
        filter, now=now, timezone=timezone, first_event_time=first_event, interval=interval
    )
    covers = tuple(tuple(is_same_or_superset(a.entity, b.entity) for b in steps) for a in steps)
    repeat = (False,) + tuple(covers[i][i - 1] for i in range(1, n))
    return Query(
        steps=steps,
        exclusions=exclusions,
        order_type=order_type,
        viz_type=viz_type,
        window=window,
        date_from=date_from,
        date_to=date_to,
        interval=interval,
        timezone=timezone,
        week_start_day=world.project.week_start_day,
        group_index=_group_index(filter),
        breakdown=_breakdown(filter, steps, world),
        from_step=from_step,
        to_step=to_step,
        bin_count=bin_count,
        series_limit=_int_param(filter, "limit", DEFAULT_SERIES_LIMIT) or DEFAULT_SERIES_LIMIT,
        covers=covers,
        repeat=repeat,
    )


def parse_query(filter: dict, world: World) -> Query | None:
    """The validated request, or None when it has no steps (§1.1: result `[]`)."""
    return _parse(filter, world)


# ---------------------------------------------------------------------------------------------
# Events and actors (§2.1, §2.6)


@dataclass(frozen=True)
class Row:
    """One event in the date range that passes the global filters, with what it matches."""

    event: Event
    ts: datetime
    steps: tuple[bool, ...]
    exclusions: tuple[bool, ...]

    @property
    def relevant(self) -> bool:
        """§2.8: a funnel-relevant event matches a step or an exclusion."""
        return any(self.steps) or any(self.exclusions)


def _rows(q: Query, filter: dict, world: World) -> list[Row]:
    """§1.2: the date range (inclusive both ends) and global filters apply to every event."""
    rows = []
    for event in world.events:
        if not dates.in_range(event.timestamp, q.date_from, q.date_to):
            continue
        if not filters.passes_global_filters(event, filter, world):
            continue
        step_matches = tuple(filters.entity_matches(event, s.entity, world) for s in q.steps)
        exclusion_matches = tuple(
            filters.entity_matches(event, x.entity, world) for x in q.exclusions
        )
        rows.append(Row(event, event.timestamp, step_matches, exclusion_matches))
    rows.sort(key=lambda r: r.ts)
    return rows


def _actor(q: Query, event: Event) -> str | None:
    """§2.6: the person, or the event's key for the aggregation group type. Events without a
    key form no actor (open question 2)."""
    if q.group_index is None:
        return event.person_id
    return event.groups.get(q.group_index) or None


def _by_actor(q: Query, rows: Iterable[Row]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for row in rows:
        actor = _actor(q, row.event)
        if actor is not None:
            out.setdefault(actor, []).append(row)
    return out


# ---------------------------------------------------------------------------------------------
# Attempts (§2.2-§2.5)


def window_end(start: datetime, window: tuple[int, str]) -> datetime:
    """§1.3: the last instant (inclusive) of a window opened at `start`. ClickHouse adds the
    INTERVAL to the stored UTC timestamp, so months are calendar months in UTC."""
    amount, unit = window
    start = start.astimezone(UTC)
    if unit == "month":
        months = start.month - 1 + amount
        year, month = start.year + months // 12, months % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return start.replace(year=year, month=month, day=day)
    return start + timedelta(**{unit + "s": amount})


@dataclass(frozen=True)
class Attempt:
    start: Row  # the step-0 event (the anchor in unordered funnels)
    times: tuple[datetime, ...]  # one per step reached inside the window, non-decreasing
    discarded: bool  # §2.3: an exclusion event fell inside it

    @property
    def steps(self) -> int:
        return len(self.times)


def _better(candidate: tuple[datetime, ...], best: tuple[datetime, ...]) -> bool:
    """Prefer more steps, then the earliest completion (what exclusions compare against), then
    the earliest times: a deterministic pick for conversion times."""
    if len(candidate) != len(best):
        return len(candidate) > len(best)
    return (candidate[-1], candidate) < (best[-1], best)


def _ordered_times(q: Query, rows: list[Row], start: Row) -> tuple[datetime, ...]:
    """§2.2: greedy earliest match per step, `>=` the previous step's time (`>` when the step
    repeats or covers the previous one), all within the window from step 0."""
    end = window_end(start.ts, q.window)
    times = [start.ts]
    for i in range(1, len(q.steps)):
        prev = times[-1]
        later = [
            r.ts for r in rows if r.steps[i] and (r.ts > prev if q.repeat[i] else r.ts >= prev)
        ]
        if not later or min(later) > end:
            break
        times.append(min(later))
    return tuple(times)


def _strict_times(q: Query, rows: list[Row], start_index: int) -> tuple[datetime, ...]:
    """§2.4 with README ties: distinct events for the steps, and no other event of the actor
    strictly between the first step and the step reached (tied events can be laid out around
    the sequence). Depth-first over the events that may take each step."""
    t0 = rows[start_index].ts
    end = window_end(t0, q.window)
    best = (t0,)

    def extend(used: frozenset[int], times: tuple[datetime, ...]) -> None:
        nonlocal best
        if _better(times, best):
            best = times
        i = len(times)
        if i == len(q.steps):
            return
        prev = times[-1]
        # every event strictly between t0 and the next step must be a step of this attempt;
        # later steps are never earlier than `prev`, so the earliest unused event after t0 bounds
        # the next step's time
        bound = min((r.ts for j, r in enumerate(rows) if j not in used and r.ts > t0), default=end)
        tried = set()
        for k, row in enumerate(rows):
            if k in used or not row.steps[i] or not prev <= row.ts <= min(bound, end):
                continue
            if q.repeat[i] and row.ts == prev:
                continue
            if (row.ts, row.steps) in tried:
                continue  # a tied event matching the same steps is interchangeable
            tried.add((row.ts, row.steps))
            extend(used | {k}, times + (row.ts,))

    extend(frozenset({start_index}), (t0,))
    return best


def _unordered_times(
    q: Query, rows: list[Row], anchor_index: int, anchor_step: int
) -> tuple[datetime, ...]:
    """§2.5 with README ties: from the anchor, take the remaining steps in any order, each by a
    distinct event, with the ordered rules between consecutive steps, inside the window."""
    anchor = rows[anchor_index]
    end = window_end(anchor.ts, q.window)
    best = (anchor.ts,)

    def extend(prev_step: int, remaining: frozenset[int], used: frozenset[int], times) -> None:
        nonlocal best
        if _better(times, best):
            best = times
        prev = times[-1]
        for j in sorted(remaining):
            strictly_later = q.covers[j][prev_step]
            candidates = [
                k
                for k, row in enumerate(rows)
                if k not in used
                and row.steps[j]
                and row.ts <= end
                and (row.ts > prev if strictly_later else row.ts >= prev)
            ]
            if not candidates:
                continue
            # a later event for this step never helps; among tied ones any may be needed later,
            # except that tied events matching the same steps are interchangeable
            earliest = min(rows[k].ts for k in candidates)
            tied = {rows[k].steps: k for k in candidates if rows[k].ts == earliest}
            for k in tied.values():
                extend(j, remaining - {j}, used | {k}, times + (earliest,))

    others = frozenset(range(len(q.steps))) - {anchor_step}
    extend(anchor_step, others, frozenset({anchor_index}), (anchor.ts,))
    return best


def _discarded(q: Query, rows: list[Row], times: tuple[datetime, ...]) -> bool:
    """§2.3 (all order types, README): an exclusion event strictly after the attempt's `from`
    time and strictly before its `to` time, or `from` time + window when `to` was not reached."""
    for n, exclusion in enumerate(q.exclusions):
        if len(times) <= exclusion.from_step:
            continue
        tf = times[exclusion.from_step]
        if len(times) > exclusion.to_step:
            until = times[exclusion.to_step]
        else:
            until = window_end(tf, q.window)
        if any(row.exclusions[n] and tf < row.ts < until for row in rows):
            return True
    return False


def attempts(q: Query, rows: list[Row]) -> list[Attempt]:
    """Every attempt of one actor (within one breakdown partition), per the order type."""
    out = []
    for k, row in enumerate(rows):
        if q.order_type == "unordered":
            anchors = [r for r, matches in enumerate(row.steps) if matches]
            for r in anchors:
                times = _unordered_times(q, rows, k, r)
                out.append(Attempt(row, times, _discarded(q, rows, times)))
        elif row.steps[0]:
            if q.order_type == "strict":
                times = _strict_times(q, rows, k)
            else:
                times = _ordered_times(q, rows, row)
            out.append(Attempt(row, times, _discarded(q, rows, times)))
    return out


# ---------------------------------------------------------------------------------------------
# Per-actor results and conversion times (§2.2, §4.1)


def _seconds(ts: datetime) -> int:
    """§4.1: whole seconds (timestamps truncated, then subtracted)."""
    return (ts - EPOCH) // timedelta(seconds=1)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _median(values: list[float]) -> float | None:
    """ClickHouse `median`: quantile 0.5 with linear interpolation."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) / 2
    lo, hi = math.floor(pos), math.ceil(pos)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))


@dataclass(frozen=True)
class ActorResult:
    actor: str
    steps: int  # the furthest step over the actor's clean attempts
    best: tuple[Attempt, ...]  # the clean attempts reaching `steps`

    @property
    def credited(self) -> Attempt:
        """The earliest attempt reaching the actor's furthest step (correlation's window)."""
        return min(self.best, key=lambda a: (a.start.ts, a.times))

    def step_times(self, i: int) -> list[int]:
        """Seconds from step i-1 to step i in each best attempt (README: only attempts that
        reached step i inside the window, which all best attempts did when i < steps)."""
        return [_seconds(a.times[i]) - _seconds(a.times[i - 1]) for a in self.best]

    def average_time(self, i: int) -> float | None:
        return _mean(self.step_times(i)) if i < self.steps else None

    def median_time(self, i: int) -> float | None:
        return _median(self.step_times(i)) if i < self.steps else None


def actor_result(actor: str, tries: list[Attempt]) -> ActorResult | None:
    """§2.2-2.3: exclusions discard attempts first; the actor is credited with the max of the
    rest, and vanishes from every step when none is left."""
    clean = [a for a in tries if not a.discarded]
    if not clean:
        return None
    furthest = max(a.steps for a in clean)
    return ActorResult(actor, furthest, tuple(a for a in clean if a.steps == furthest))


def actor_results(q: Query, rows_by_actor: dict[str, list[Row]]) -> dict[str, ActorResult]:
    out = {}
    for actor, rows in rows_by_actor.items():
        result = actor_result(actor, attempts(q, rows))
        if result is not None:
            out[actor] = result
    return out


def funnel_actors(filter: dict, world: World) -> dict[str, ActorResult]:
    """Every actor who entered the funnel (no breakdown), with its credited result."""
    q = _parse(filter, world)
    if q is None:
        return {}
    return actor_results(q, _by_actor(q, _rows(q, filter, world)))


# ---------------------------------------------------------------------------------------------
# Breakdowns (§1.7, §2.7-2.9)


def stringify(value) -> str:
    """§1.7: property values as strings, the way ClickHouse extracts raw JSON without the
    surrounding quotes ("0" for 0, "true" for true). JSON null counts as missing."""
    return "" if value is None else filters.property_string(value)


def _normalize_url(value: str) -> str:
    """§1.7 breakdown_normalize_url: strip trailing `/`, `?`, `#` (a bare "/" stays)."""
    stripped = value.rstrip("/?#")
    return stripped if stripped or not value else "/"


def _raw_value(bd: Breakdown, event: Event, world: World):
    values = []
    for name, ptype, group_index in bd.props:
        if ptype == "person":
            source = event.person_properties
        elif ptype == "group":
            key = event.groups.get(group_index)
            source = world.group_properties.get((group_index, key), {}) if key else {}
        else:
            source = event.properties
        value = stringify(source.get(name))
        if bd.normalize_url and name in ("$current_url", "$pathname"):
            value = _normalize_url(value)
        values.append(value)
    return tuple(values) if bd.boxed else values[0]


def _other(bd: Breakdown):
    return ("Other",) if bd.boxed else "Other"


def _non_empty(value) -> bool:
    if isinstance(value, tuple):
        return any(v != "" for v in value)
    return value not in (None, "")


def _selection_matches(q: Query, event: Event, world: World) -> bool:
    """§2.7.1: the events whose values compete for the kept list — step 0 (all_events), step s
    (step attribution), any step (first/last touch, unordered). With several entities only the
    entities themselves count, not their own property filters."""
    bd = q.breakdown
    if bd.attribution in ("first_touch", "last_touch") or q.order_type == "unordered":
        targets = [s.entity for s in q.steps]
    elif bd.attribution == "step":
        targets = [q.steps[bd.attribution_step].entity]
    else:
        targets = [q.steps[0].entity]
    if len(targets) > 1:
        targets = [{**t, "properties": []} for t in targets]
    return any(filters.entity_matches(event, t, world) for t in targets)


def _kept_values(q: Query, rows: list[Row], world: World) -> list:
    """§2.7.1: values by event count desc, then value desc, first `breakdown_limit`."""
    counts = Counter(
        _raw_value(q.breakdown, row.event, world)
        for row in rows
        if _selection_matches(q, row.event, world)
    )
    ranked = sorted(counts.items(), key=lambda kv: kv[0], reverse=True)
    ranked.sort(key=lambda kv: -kv[1])
    return [value for value, _ in ranked[: q.breakdown.limit]]


def _in_cohort(event: Event, cohort_id: int, world: World) -> bool:
    if cohort_id == 0:
        return True  # "all users"
    return filters.person_in_cohort(event, cohort_id, world)


def _attribute(q: Query, rows: list[Row], folded: dict[int, object]) -> dict[object, list[Row]]:
    """§2.8: the breakdown value(s) one actor's events are evaluated under."""
    bd = q.breakdown
    if bd.attribution == "all_events":
        parts: dict[object, list[Row]] = {}
        for k, row in enumerate(rows):
            parts.setdefault(folded[k], []).append(row)
        return parts
    if bd.attribution == "step":
        values = {folded[k] for k, row in enumerate(rows) if row.steps[bd.attribution_step]}
        return {value: rows for value in values}
    candidates = [k for k, row in enumerate(rows) if row.relevant and _non_empty(folded[k])]
    if not candidates:
        value = tuple("" for _ in bd.props) if bd.boxed else None
    else:
        pick = min if bd.attribution == "first_touch" else max
        when = pick(rows[k].ts for k in candidates)
        # ties on the timestamp: the smallest value, so the choice is deterministic
        value = min(folded[k] for k in candidates if rows[k].ts == when)
    return {value: rows}


def _partitions(q: Query, rows: list[Row], world: World):
    """Breakdown value → actor → that actor's events evaluated under the value, plus the values
    every trends series must show (the kept values / requested cohorts)."""
    by_actor = _by_actor(q, rows)
    bd = q.breakdown
    if bd is None:
        return {NO_BREAKDOWN: by_actor}, [NO_BREAKDOWN]
    parts: dict[object, dict[str, list[Row]]] = {}
    if bd.kind == "cohort":
        # §2.9: every event joins every requested cohort its person is in; no "Other"
        for actor, actor_rows in by_actor.items():
            for cohort_id in bd.cohort_ids:
                inside = [r for r in actor_rows if _in_cohort(r.event, cohort_id, world)]
                if inside:
                    parts.setdefault(cohort_id, {})[actor] = inside
        return parts, list(bd.cohort_ids)
    kept = _kept_values(q, rows, world)
    for actor, actor_rows in by_actor.items():
        folded = {}
        for k, row in enumerate(actor_rows):
            value = _raw_value(bd, row.event, world)
            folded[k] = value if value in kept else _other(bd)  # §2.7.2
        for value, value_rows in _attribute(q, actor_rows, folded).items():
            parts.setdefault(value, {})[actor] = value_rows
    return parts, kept


def _value_key(value):
    """Breakdown values of one request share a type; None (no group value) sorts last."""
    return (value is None, value if value is not None else "")


def _display(q: Query, value, world: World) -> tuple[object, object]:
    """§3.2: (`breakdown`, `breakdown_value`) of a series."""
    bd = q.breakdown
    if bd.kind == "cohort":
        return _cohort_name(value, world), value
    if bd.boxed:
        return list(value), list(value)
    return value, value


def _cohort_name(cohort_id: int, world: World) -> str:
    if cohort_id == 0:
        return "all users"
    # the oracle's Cohort has no name; a `name` attribute is used when a test world adds one
    return getattr(world.cohorts[cohort_id], "name", None) or str(cohort_id)


# ---------------------------------------------------------------------------------------------
# Steps visualisation (§3.1, §3.2)


def _step_objects(q: Query, actors: dict[str, ActorResult], world: World) -> list[dict]:
    out = []
    for step in q.steps:
        i = step.index
        converted = {a for a, r in actors.items() if r.steps >= i + 1}
        dropped = {a for a, r in actors.items() if r.steps == i} if i > 0 else set()
        averages = [t for r in actors.values() if (t := r.average_time(i)) is not None]
        medians = [t for r in actors.values() if (t := r.median_time(i)) is not None]
        if q.order_type == "unordered":
            # §2.5 / §3.1: generic names, no entity
            noun = "step" if i == 0 else "steps"
            action_id, name, custom_name = None, f"Completed {i + 1} {noun}", None
        elif step.type == "actions":
            action_id, custom_name = step.id, step.entity.get("custom_name")
            name = world.actions[step.id].name
        else:
            action_id, name, custom_name = step.id, step.id, step.entity.get("custom_name")
        out.append(
            {
                "action_id": action_id,
                "name": name,
                "custom_name": custom_name,
                "order": i,
                "people": [],
                "count": len(converted),
                "type": step.type,
                "average_conversion_time": _mean(averages) if i > 0 else None,
                "median_conversion_time": _median(medians) if i > 0 else None,
                "_converted_people": converted,
                "_dropped_people": dropped,
            }
        )
    return out


def _series_key(q: Query, value, actors: dict[str, ActorResult]):
    """§2.7.4: step_N desc, …, step_1 desc on actors whose furthest step is exactly k; then
    the breakdown value ascending (the spec leaves ties open)."""
    n = len(q.steps)
    exact = Counter(r.steps for r in actors.values())
    return tuple(-exact[k] for k in range(n, 0, -1)), _value_key(value)


def _unbox(filter: dict, q: Query, series: list[list[dict]]) -> None:
    """§3.6: old clients sending insight=FUNNELS with a string event/person breakdown get
    strings back; a `breakdowns` request gets the key renamed."""
    if str(filter.get("insight") or "").upper() != "FUNNELS":
        return
    if q.breakdown.kind not in ("person", "event"):
        return
    raw = filter.get("breakdown")
    string_breakdown = isinstance(raw, str) and not raw.lstrip().startswith("[")
    for steps in series:
        for step in steps:
            if string_breakdown:
                for key in ("breakdown", "breakdown_value"):
                    if isinstance(step[key], list) and len(step[key]) == 1:
                        step[key] = step[key][0]
            elif filter.get("breakdowns") and not filter.get("breakdown"):
                step["breakdowns"] = step.pop("breakdown")


def _steps_result(filter: dict, q: Query, parts: dict, world: World) -> list:
    if q.breakdown is None:
        return _step_objects(q, actor_results(q, parts[NO_BREAKDOWN]), world)
    series = []
    for value, rows_by_actor in parts.items():
        actors = actor_results(q, rows_by_actor)
        if actors:
            series.append((_series_key(q, value, actors), value, actors))
    series.sort(key=lambda s: s[0])
    out = []
    for _, value, actors in series[: q.series_limit]:
        breakdown, breakdown_value = _display(q, value, world)
        steps = _step_objects(q, actors, world)
        for step in steps:
            step["breakdown"] = breakdown
            step["breakdown_value"] = breakdown_value
        out.append(steps)
    _unbox(filter, q, out)
    return out


# ---------------------------------------------------------------------------------------------
# Trends visualisation (§3.3 + README)


def _label(bucket: datetime, interval: str, timezone: str) -> tuple[str, str]:
    """(`days`, `labels`) entries: `YYYY-MM-DD` / `1-May-2021`, as the trends oracle has them."""
    return (
        dates.bucket_day(bucket, interval=interval, timezone=timezone),
        dates.bucket_label(bucket, interval=interval, timezone=timezone),
    )


def _trend_row(q: Query, rows_by_actor: dict[str, list[Row]], buckets: list[datetime]) -> dict:
    """Per (actor, entrance period): the furthest step over attempts starting in the period."""
    furthest: dict[tuple[str, datetime], int] = {}
    for actor, rows in rows_by_actor.items():
        for attempt in attempts(q, rows):
            if attempt.discarded:
                continue
            period = dates.bucket_of(
                attempt.start.ts,
                interval=q.interval,
                timezone=q.timezone,
                week_start_day=q.week_start_day,
            )
            key = (actor, period)
            furthest[key] = max(furthest.get(key, 0), attempt.steps)
    from_people = [set() for _ in buckets]
    to_people = [set() for _ in buckets]
    position = {bucket: i for i, bucket in enumerate(buckets)}
    for (actor, period), steps in furthest.items():
        if period not in position:
            continue
        if steps >= q.from_step + 1:
            from_people[position[period]].add(actor)
        if steps >= q.to_step + 1:
            to_people[position[period]].add(actor)
    rates = [
        round(len(t) / len(f) * 100, 2) if f else 0
        for f, t in zip(from_people, to_people, strict=True)
    ]
    labelled = [_label(b, q.interval, q.timezone) for b in buckets]
    return {
        "count": len(buckets),
        "data": rates,
        "days": [day for day, _ in labelled],
        "labels": [label for _, label in labelled],
        "reached_from_step_count": [len(f) for f in from_people],
        "reached_to_step_count": [len(t) for t in to_people],
        "_reached_from_people": from_people,
        "_reached_to_people": to_people,
    }


def _trends_result(q: Query, parts: dict, declared: list, world: World) -> list:
    buckets = dates.buckets(
        q.date_from,
        q.date_to,
        interval=q.interval,
        timezone=q.timezone,
        week_start_day=q.week_start_day,
    )
    if q.breakdown is None:
        return [_trend_row(q, parts[NO_BREAKDOWN], buckets)]
    # §3.3: a series per kept value (zero-filled), and README: "Other" is kept too
    values = list(declared) + [v for v in parts if v not in declared]
    out = []
    for value in values:
        row = _trend_row(q, parts.get(value, {}), buckets)
        row["breakdown_value"] = _display(q, value, world)[0]
        out.append((value, row))
    if q.breakdown.kind == "cohort":
        out.sort(key=lambda vr: vr[1]["breakdown_value"])
    else:
        out.sort(key=lambda vr: _value_key(vr[0]))
    return [row for _, row in out]


# ---------------------------------------------------------------------------------------------
# Time to convert (§4.2)


def _cube_root_ceil(n: int) -> int:
    k = 0
    while k**3 < n:
        k += 1
    return k


def _time_to_convert(q: Query, actors: dict[str, ActorResult]) -> dict:
    # §4.2.1: per actor who reached `to`, the sum of its average step times from `from`+1 to `to`
    per_actor = {
        actor: sum(result.average_time(i) for i in range(q.from_step + 1, q.to_step + 1))
        for actor, result in actors.items()
        if result.steps >= q.to_step + 1
    }
    samples = list(per_actor.values())
    low = math.floor(min(samples)) if samples else 0
    high = math.ceil(max(samples)) if samples else 1
    if q.bin_count is not None:
        bin_count = min(90, max(1, q.bin_count))
    else:
        bin_count = min(60, max(1, _cube_root_ceil(len(samples))))
    width = math.ceil((high - low) / bin_count) or 60
    counts = Counter(low + math.floor((v - low) / width) * width for v in samples)
    bins = [[low + k * width, counts.get(low + k * width, 0)] for k in range(bin_count + 1)]
    average = round(math.fsum(samples) / len(samples), 2) if samples else None  # exact sum
    return {
        "bins": bins,
        "average_conversion_time": average,
        "_samples": per_actor,
    }


# ---------------------------------------------------------------------------------------------
# Entry point


def funnel(filter: dict, world: World) -> list | dict:
    """PostHog's `result` for the funnel endpoint (list for steps/trends, dict for
    time_to_convert). Raises FunnelValidationError (a ValueError) for 400 answers."""
    q = _parse(filter, world)
    if q is None:
        return []
    rows = _rows(q, filter, world)
    if q.viz_type == "time_to_convert":
        # the breakdown is not applied (PostHog crashes on it, §8 #23489)
        return _time_to_convert(q, actor_results(q, _by_actor(q, rows)))
    parts, declared = _partitions(q, rows, world)
    if q.viz_type == "trends":
        return _trends_result(q, parts, declared, world)
    return _steps_result(filter, q, parts, world)
