"""The trends filter: PostHog's legacy trend parameters → one typed, validated object.

Every check a user can fail happens here, before any SQL is built, and names the field
(spec/trends.md §2; 400s via ValidationError). Shared by trends, stickiness and lifecycle.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.errors import ValidationError
from resolvers.dates import parse_interval
from resolvers.filters import json_value

QUANTILES = {"median": 0.5, "p75": 0.75, "p90": 0.9, "p95": 0.95, "p99": 0.99}
PROPERTY_MATHS = frozenset({"sum", "avg", "min", "max", *QUANTILES})
PER_ACTOR_MATHS = frozenset(f"{how}_count_per_actor" for how in ("avg", "min", "max", *QUANTILES))
ACTIVE_MATHS = {"weekly_active": 7, "monthly_active": 30}  # look-back days (§4.3)
SIMPLE_MATHS = frozenset({"total", "dau", "unique_group", "unique_session"})
KNOWN_MATHS = SIMPLE_MATHS | PROPERTY_MATHS | PER_ACTOR_MATHS | frozenset(ACTIVE_MATHS)
# §4.4.1: breakdown values of these maths are ranked by plain event counts.
RANK_BY_EVENT_COUNT = frozenset({"total", "dau", *ACTIVE_MATHS, *PER_ACTOR_MATHS})

CUMULATIVE = "ActionsLineGraphCumulative"
AGGREGATED_DISPLAYS = frozenset({"ActionsTable", "ActionsPie", "ActionsDonut", "ActionsBarValue",
                                 "WorldMap", "BoldNumber", "CalendarHeatmap"})  # fmt: skip
BREAKDOWN_IGNORED_DISPLAYS = frozenset({"BoldNumber", "Metric", "CalendarHeatmap", "BoxPlot"})
MAX_HISTOGRAM_BINS = 100
BREAKDOWN_TYPES = ("event", "person", "group", "session")

MAX_SERIES = 50
MAX_HOURLY_DAYS = 31
MAX_BREAKDOWN_LIMIT = 1000


def truthy(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value == 1
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return False


def optional_int(value, attr: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValidationError(f"{attr} must be an integer", attr=attr)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{attr} must be an integer", attr=attr) from None


@dataclass(frozen=True)
class Series:
    """One entity of `events`/`actions` (§2.1), normalised."""

    entity: dict  # for resolvers.where.compile_entity
    echo: dict  # the `action` key of each result item
    name: str
    math: str
    math_property: str | None
    group_index: int | None  # math_group_type_index
    attr: str  # e.g. "events[0]": where errors point

    @property
    def actor_group(self) -> int | None:
        """The group index per-actor and active-user maths count by (None = persons)."""
        if self.math in ("dau", "unique_session"):
            return None
        return self.group_index


@dataclass(frozen=True)
class Breakdown:
    type: str  # event | person | group | session
    key: str
    group_index: int | None
    normalize_url: bool
    limit: int
    offset: int
    hide_other: bool
    cohorts: tuple = ()  # cohort breakdowns: cohort ids and/or "all", as listed
    bins: int | None = None  # breakdown_histogram_bin_count
    dims: tuple = ()  # multiple breakdowns (`breakdowns`): one single Breakdown per part

    @property
    def multiple(self) -> bool:
        return bool(self.dims)

    @property
    def numeric(self) -> bool:
        return self.type == "session"


@dataclass(frozen=True)
class TrendsFilter:
    kind: str  # TRENDS | STICKINESS | LIFECYCLE
    raw: dict  # the request, JSON params decoded (echoed as `filter`)
    interval: str
    display: str
    series: tuple[Series, ...]
    breakdown: Breakdown | None
    formula: str | None
    compare: bool
    smoothing: int
    filter_test_accounts: bool
    properties: object  # global property filters, as sent
    aggregation_group_index: int | None
    sampling: float | None = None  # sampling_factor below 1: the share of distinct ids read

    @property
    def aggregated(self) -> bool:
        return self.display in AGGREGATED_DISPLAYS

    @property
    def cumulative(self) -> bool:
        return self.display == CUMULATIVE


def _series(entity: dict, kind: str, index: int, actions: dict) -> Series:
    attr = f"{kind}[{index}]"
    if not isinstance(entity, dict):
        raise ValidationError(f"{attr} must be an object", attr=attr)
    entity = {**entity, "type": kind, "properties": json_value(entity.get("properties"),
                                                          f"{attr}.properties") or []}  # fmt: skip
    if kind == "actions":
        try:
            action_id = int(entity.get("id"))
        except (TypeError, ValueError):
            raise ValidationError(f"{attr}: bad action id {entity.get('id')!r}",
                                  attr="actions") from None  # fmt: skip
        if action_id not in actions:
            raise ValidationError(f"{attr}: unknown action id {action_id}", attr="actions")
        entity["id"] = action_id
        name = actions[action_id].get("name") or str(action_id)
    else:
        name = entity.get("name") or entity.get("id") or "All events"
    math = entity.get("math") or "total"
    if math == "hogql":
        raise ValidationError(f"{attr}.math: hogql math is not supported", attr="math",
                              code="unsupported_hogql")  # fmt: skip
    if math not in KNOWN_MATHS:
        raise ValidationError(f"{attr}.math: unknown math {math!r}", attr="math")
    math_property = entity.get("math_property") or None
    if math in PROPERTY_MATHS and not math_property:
        raise ValidationError(f"{attr}: math {math!r} needs a math_property", attr="math_property")
    group_index = optional_int(entity.get("math_group_type_index"), "math_group_type_index")
    if group_index is not None and not 0 <= group_index <= 4:
        raise ValidationError("math_group_type_index must be 0-4", attr="math_group_type_index")
    if math == "unique_group" and group_index is None:
        raise ValidationError("unique_group needs math_group_type_index",
                              attr="math_group_type_index")  # fmt: skip
    echo = {
        "id": entity.get("id"),
        "type": kind,
        "order": entity.get("order"),
        "name": name,
        "custom_name": entity.get("custom_name"),
        "math": entity.get("math"),
        "math_property": entity.get("math_property"),
        "math_hogql": entity.get("math_hogql"),
        "math_group_type_index": entity.get("math_group_type_index"),
        "properties": entity["properties"] or [],
    }
    return Series(entity, echo, str(name), math, math_property, group_index, attr)


def _series_list(raw: dict, actions: dict) -> list[Series]:
    """§2.1: actions then events, stable-sorted by `order` (missing = -1)."""
    entities = []
    for kind in ("actions", "events"):
        values = json_value(raw.get(kind), kind) or []
        if not isinstance(values, list):
            raise ValidationError(f"{kind} must be a list of entities", attr=kind)
        entities.extend((kind, i, e) for i, e in enumerate(values))
    if len(entities) > MAX_SERIES:
        raise ValidationError(f"at most {MAX_SERIES} series per insight", attr="events")

    def order(item) -> int:
        value = item[2].get("order") if isinstance(item[2], dict) else None
        return -1 if value is None else optional_int(value, f"{item[0]}[{item[1]}].order")

    entities.sort(key=order)
    return [_series(entity, kind, i, actions) for kind, i, entity in entities]


def _breakdown(raw: dict, display: str) -> Breakdown | None:
    if display in BREAKDOWN_IGNORED_DISPLAYS:
        return None
    if raw.get("breakdowns"):
        return _multiple_breakdown(raw, display)
    value = raw.get("breakdown")
    if isinstance(value, str) and value.startswith("["):
        value = json_value(value, "breakdown")
    if value is None or value == "" or value == []:
        return None
    kind = raw.get("breakdown_type") or "event"
    if kind == "hogql":
        raise ValidationError("hogql breakdowns are not supported", attr="breakdown",
                              code="unsupported_hogql")  # fmt: skip
    if kind == "cohort":
        return _cohort_breakdown(value)
    if kind not in BREAKDOWN_TYPES:
        raise ValidationError(f"unsupported breakdown_type {kind!r}", attr="breakdown_type")
    if isinstance(value, list):
        if len(value) != 1:
            raise ValidationError("a list breakdown needs breakdown_type=cohort", attr="breakdown")
        value = value[0]
    group_index = optional_int(raw.get("breakdown_group_type_index"), "breakdown_group_type_index")
    if kind == "group" and (group_index is None or not 0 <= group_index <= 4):
        raise ValidationError("group breakdowns need breakdown_group_type_index 0-4",
                              attr="breakdown_group_type_index")  # fmt: skip
    if kind == "session" and value != "$session_duration":
        raise ValidationError("session breakdowns support only $session_duration",
                              attr="breakdown")  # fmt: skip
    bins = optional_int(raw.get("breakdown_histogram_bin_count"), "breakdown_histogram_bin_count")
    if bins is not None and not 0 < bins <= MAX_HISTOGRAM_BINS:
        raise ValidationError(f"breakdown_histogram_bin_count must be 1-{MAX_HISTOGRAM_BINS}",
                              attr="breakdown_histogram_bin_count")  # fmt: skip
    limit, offset = breakdown_page(raw, display)
    return Breakdown(kind, str(value), group_index if kind == "group" else None,
                     truthy(raw.get("breakdown_normalize_url", False)), limit, offset,
                     truthy(raw.get("breakdown_hide_other_aggregation", False)),
                     bins=bins if kind != "session" else None)  # fmt: skip


MULTIPLE_BREAKDOWN_TYPES = ("event", "person", "group")
MAX_BREAKDOWNS = 3


def _multiple_breakdown(raw: dict, display: str) -> Breakdown:
    """`breakdowns`: a list of {property, type, group_type_index, normalize_url}; a value is the
    list of the parts' values (labels joined with "::")."""
    listed = raw["breakdowns"]
    if isinstance(listed, str):
        listed = json_value(listed, "breakdowns")
    if not isinstance(listed, list) or not 0 < len(listed) <= MAX_BREAKDOWNS:
        raise ValidationError(f"breakdowns must be a list of 1-{MAX_BREAKDOWNS} breakdowns",
                              attr="breakdowns")  # fmt: skip
    dims = []
    for index, item in enumerate(listed):
        attr = f"breakdowns[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("property"), str | int):
            raise ValidationError(f"{attr} needs a property", attr=attr)
        kind = item.get("type") or "event"
        if kind not in MULTIPLE_BREAKDOWN_TYPES:
            raise ValidationError(f"{attr}.type must be one of "
                                  f"{', '.join(MULTIPLE_BREAKDOWN_TYPES)}",
                                  attr=f"{attr}.type")  # fmt: skip
        if item.get("histogram_bin_count"):
            raise ValidationError(f"{attr}: histogram bins are not supported in breakdowns",
                                  attr=f"{attr}.histogram_bin_count",
                                  code="unsupported")  # fmt: skip
        group_index = optional_int(item.get("group_type_index"), f"{attr}.group_type_index")
        if kind == "group" and (group_index is None or not 0 <= group_index <= 4):
            raise ValidationError(f"{attr}: group breakdowns need group_type_index 0-4",
                                  attr=f"{attr}.group_type_index")  # fmt: skip
        dims.append(Breakdown(kind, str(item["property"]),
                              group_index if kind == "group" else None,
                              truthy(item.get("normalize_url", False)), 0, 0, False))  # fmt: skip
    limit, offset = breakdown_page(raw, display)
    return Breakdown("multiple", "", None, False, limit, offset,
                     truthy(raw.get("breakdown_hide_other_aggregation", False)),
                     dims=tuple(dims))  # fmt: skip


def _cohort_breakdown(value) -> Breakdown:
    """§4.4.7: a cohort id, "all", or a list of them (whether the ids exist is the engine's
    question: it holds the project's cohorts)."""
    cohorts = []
    for item in value if isinstance(value, list) else [value]:
        if item == "all":
            cohorts.append("all")
            continue
        cohort_id = optional_int(item, "breakdown")
        if cohort_id is None:
            raise ValidationError("breakdown: a cohort id or \"all\" is required",
                                  attr="breakdown")  # fmt: skip
        cohorts.append(cohort_id)
    return Breakdown("cohort", "", None, False, len(cohorts), 0, True, tuple(cohorts))


def breakdown_page(raw: dict, display: str) -> tuple[int, int]:
    """(how many breakdown values a page holds, where it starts): `breakdown_limit`, `offset`."""
    default_limit = 300 if display == "WorldMap" else 25
    limit = optional_int(raw.get("breakdown_limit"), "breakdown_limit") or default_limit
    if not 0 < limit <= MAX_BREAKDOWN_LIMIT:
        raise ValidationError(f"breakdown_limit must be 1-{MAX_BREAKDOWN_LIMIT}",
                              attr="breakdown_limit")  # fmt: skip
    offset = optional_int(raw.get("offset"), "offset") or 0
    if offset < 0:
        raise ValidationError("offset must not be negative", attr="offset")
    return limit, offset


def _smoothing(raw: dict) -> int:
    value = raw.get("smoothing_intervals", 1)
    if value is None or value == "":
        return 1
    message = f"smoothing_intervals must be a positive integer, got {value!r}"
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValidationError(message, attr="smoothing_intervals")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(message, attr="smoothing_intervals") from None
    if number < 1:
        raise ValidationError(message, attr="smoothing_intervals")
    return number


def _sampling(raw: dict, kind: str) -> float | None:
    """The share of distinct ids to read (None: all of them)."""
    value = raw.get("sampling_factor")
    if value in (None, "", 0, "0"):
        return None
    try:
        factor = float(value)
    except (TypeError, ValueError):
        raise ValidationError("sampling_factor must be a number", attr="sampling_factor") from None
    if not 0 < factor <= 1:
        raise ValidationError("sampling_factor must be in (0, 1]", attr="sampling_factor")
    if factor == 1:
        return None
    if kind != "TRENDS":  # counts of intervals per actor and lifecycle statuses do not scale
        raise ValidationError("sampling_factor applies to trends only", attr="sampling_factor",
                              code="unsupported")  # fmt: skip
    return factor


def parse_trends_filter(filters: dict, actions: dict | None = None) -> TrendsFilter:
    """Validate and normalise a trends / stickiness / lifecycle request."""
    raw = dict(filters)
    for key in ("events", "actions", "properties"):
        if key in raw:
            raw[key] = json_value(raw[key], key)
    insight = str(raw.get("insight") or "TRENDS").upper()
    shown_as = raw.get("shown_as")
    if insight == "LIFECYCLE" or shown_as == "Lifecycle":
        kind = "LIFECYCLE"
    elif insight == "STICKINESS" or shown_as == "Stickiness":
        kind = "STICKINESS"
    else:
        kind = "TRENDS"
    interval = parse_interval(raw.get("interval") or None)
    display = raw.get("display") or "ActionsLineGraph"
    if not isinstance(display, str):
        raise ValidationError("display must be a string", attr="display")
    sampling = _sampling(raw, kind)
    series = tuple(_series_list(raw, actions or {}))
    smoothing = _smoothing(raw)
    formula = raw.get("formula") or None
    breakdown = _breakdown(raw, display) if kind == "TRENDS" else None
    aggregation = optional_int(raw.get("aggregation_group_type_index"),
                               "aggregation_group_type_index")  # fmt: skip
    return TrendsFilter(
        kind=kind, raw=raw, interval=interval, display=display, series=series,
        breakdown=breakdown, formula=str(formula) if formula and kind == "TRENDS" else None,
        compare=truthy(raw.get("compare", False)), smoothing=smoothing,
        filter_test_accounts=truthy(raw.get("filter_test_accounts", False)),
        properties=raw.get("properties") or [], aggregation_group_index=aggregation,
        sampling=sampling,
    )  # fmt: skip
