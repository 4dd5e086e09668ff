"""Typed GraphQL inputs for the insight queries, and the one function that turns them into
PostHog's filters.

The engines speak PostHog's snake_case filter dict (the REST shim sends it as JSON). A typed input
is only a checked spelling of that dict: every Python field name here *is* PostHog's key, and
every enum's value is PostHog's spelling, so `posthog_filters` can convert any of these inputs
without a table of names — and a typed filter hashes, caches and computes exactly as the same
filter sent as JSON.
"""

from __future__ import annotations

import dataclasses
import enum

import strawberry
from strawberry.scalars import JSON

from gateway.errors import ValidationError
from resolvers.trends_filter import KNOWN_MATHS


@strawberry.enum(description="The bucket size of a time series.")
class Interval(enum.Enum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@strawberry.enum(description="PostHog's chart types, spelled as PostHog spells them. Aggregated "
                 "ones (table, pie, bar value, world map, bold number) compute one value "
                 "over the whole range.")  # fmt: skip
class Display(enum.Enum):
    ActionsLineGraph = "ActionsLineGraph"
    ActionsLineGraphCumulative = "ActionsLineGraphCumulative"
    ActionsAreaGraph = "ActionsAreaGraph"
    ActionsBar = "ActionsBar"
    ActionsStackedBar = "ActionsStackedBar"
    ActionsTable = "ActionsTable"
    ActionsPie = "ActionsPie"
    ActionsDonut = "ActionsDonut"
    ActionsBarValue = "ActionsBarValue"
    WorldMap = "WorldMap"
    BoldNumber = "BoldNumber"
    CalendarHeatmap = "CalendarHeatmap"


@strawberry.enum(description="What a breakdown's property belongs to.")
class BreakdownType(enum.Enum):
    EVENT = "event"
    PERSON = "person"
    GROUP = "group"
    SESSION = "session"
    COHORT = "cohort"


@strawberry.enum(description="Which computation a trends-family filter asks for.")
class ShownAs(enum.Enum):
    VOLUME = "Volume"
    STICKINESS = "Stickiness"
    LIFECYCLE = "Lifecycle"


@strawberry.enum(description="Whether a series counts an event or an action.")
class EntityType(enum.Enum):
    EVENTS = "events"
    ACTIONS = "actions"


# Built from the engine's own list so the schema can never offer a math the engine refuses (the
# SDL drift test shows any change to it).
Math = strawberry.enum(
    enum.Enum("Math", {name.upper(): name for name in sorted(KNOWN_MATHS)}),
    description="How a series aggregates its events (`TOTAL` when absent).",
)


@strawberry.input(description="One series: an event (by name) or an action (by id).")
class EntityInput:
    id: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="The event name, or the action's id; null counts every event.",
    )
    type: EntityType | None = strawberry.UNSET
    order: int | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    custom_name: str | None = strawberry.UNSET
    math: Math | None = strawberry.UNSET
    math_property: str | None = strawberry.UNSET
    math_group_type_index: int | None = strawberry.UNSET
    properties: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="The series' own property filters (a list or a "
        "group tree, as PostHog's `properties`)."
    )  # fmt: skip


@strawberry.input(description="One part of a multiple breakdown (`breakdowns`).")
class BreakdownInput:
    property: str
    type: BreakdownType | None = strawberry.UNSET
    group_type_index: int | None = strawberry.UNSET
    normalize_url: bool | None = strawberry.UNSET
    histogram_bin_count: int | None = strawberry.UNSET


@strawberry.input(description="A trends, stickiness or lifecycle filter: PostHog's filter "
                  "keys in camelCase (`dateFrom` is `date_from`).")  # fmt: skip
class TrendsFilterInput:
    events: list[EntityInput] | None = strawberry.UNSET
    actions: list[EntityInput] | None = strawberry.UNSET
    date_from: str | None = strawberry.UNSET
    date_to: str | None = strawberry.UNSET
    explicit_date: bool | None = strawberry.UNSET
    interval: Interval | None = strawberry.UNSET
    display: Display | None = strawberry.UNSET
    compare: bool | None = strawberry.UNSET
    formula: str | None = strawberry.UNSET
    breakdown: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="A property name, or cohort ids (a list)."
    )
    breakdown_type: BreakdownType | None = strawberry.UNSET
    breakdown_limit: int | None = strawberry.UNSET
    breakdown_group_type_index: int | None = strawberry.UNSET
    breakdown_normalize_url: bool | None = strawberry.UNSET
    breakdown_histogram_bin_count: int | None = strawberry.UNSET
    breakdown_hide_other_aggregation: bool | None = strawberry.UNSET
    breakdowns: list[BreakdownInput] | None = strawberry.UNSET
    properties: JSON | None = strawberry.UNSET
    filter_test_accounts: bool | None = strawberry.UNSET
    smoothing_intervals: int | None = strawberry.UNSET
    aggregation_group_type_index: int | None = strawberry.UNSET
    shown_as: ShownAs | None = strawberry.UNSET


@strawberry.enum(description="How a funnel's steps must follow each other.")
class FunnelOrderType(enum.Enum):
    ORDERED = "ordered"
    STRICT = "strict"
    UNORDERED = "unordered"


@strawberry.enum(description="Conversion by step, over time, or as time-to-convert bins.")
class FunnelVizType(enum.Enum):
    STEPS = "steps"
    TRENDS = "trends"
    TIME_TO_CONVERT = "time_to_convert"


@strawberry.enum(description="The unit of a funnel's conversion window.")
class WindowUnit(enum.Enum):
    SECOND = "second"
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@strawberry.enum(description="Which event of a person's funnel gives its breakdown value.")
class BreakdownAttributionType(enum.Enum):
    FIRST_TOUCH = "first_touch"
    LAST_TOUCH = "last_touch"
    ALL_EVENTS = "all_events"
    STEP = "step"


@strawberry.input(description="An event no one may do between two funnel steps.")
class ExclusionInput(EntityInput):
    funnel_from_step: int
    funnel_to_step: int


@strawberry.input(description="A funnel filter: PostHog's filter keys in camelCase.")
class FunnelsFilterInput:
    events: list[EntityInput] | None = strawberry.UNSET
    actions: list[EntityInput] | None = strawberry.UNSET
    date_from: str | None = strawberry.UNSET
    date_to: str | None = strawberry.UNSET
    interval: Interval | None = strawberry.UNSET
    funnel_window_interval: int | None = strawberry.UNSET
    funnel_window_interval_unit: WindowUnit | None = strawberry.UNSET
    funnel_window_days: int | None = strawberry.UNSET
    funnel_order_type: FunnelOrderType | None = strawberry.UNSET
    funnel_viz_type: FunnelVizType | None = strawberry.UNSET
    funnel_from_step: int | None = strawberry.UNSET
    funnel_to_step: int | None = strawberry.UNSET
    bin_count: int | None = strawberry.UNSET
    exclusions: list[ExclusionInput] | None = strawberry.UNSET
    breakdown: JSON | None = strawberry.UNSET
    breakdown_type: BreakdownType | None = strawberry.UNSET
    breakdown_limit: int | None = strawberry.UNSET
    breakdown_group_type_index: int | None = strawberry.UNSET
    breakdown_normalize_url: bool | None = strawberry.UNSET
    breakdown_attribution_type: BreakdownAttributionType | None = strawberry.UNSET
    breakdown_attribution_value: int | None = strawberry.UNSET
    breakdowns: list[BreakdownInput] | None = strawberry.UNSET
    properties: JSON | None = strawberry.UNSET
    filter_test_accounts: bool | None = strawberry.UNSET
    aggregation_group_type_index: int | None = strawberry.UNSET


@strawberry.enum(description="What funnel correlation relates to converting.")
class FunnelCorrelationType(enum.Enum):
    EVENTS = "events"
    PROPERTIES = "properties"
    EVENT_WITH_PROPERTIES = "event_with_properties"


@strawberry.input(description="A funnel filter and what to correlate with converting through "
                  "it: PostHog's filter keys in camelCase.")  # fmt: skip
class FunnelCorrelationFilterInput(FunnelsFilterInput):
    funnel_correlation_type: FunnelCorrelationType | None = strawberry.UNSET
    funnel_correlation_names: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="`PROPERTIES`: the person properties (`$all`)."
    )
    funnel_correlation_exclude_names: list[str] | None = strawberry.UNSET
    funnel_correlation_exclude_event_names: list[str] | None = strawberry.UNSET
    funnel_correlation_event_names: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="`EVENT_WITH_PROPERTIES`: the events."
    )
    funnel_correlation_event_exclude_property_names: list[str] | None = strawberry.UNSET


@strawberry.enum(description="Retention's period, spelled as PostHog spells it (capitalised).")
class RetentionPeriod(enum.Enum):
    HOUR = "Hour"
    DAY = "Day"
    WEEK = "Week"
    MONTH = "Month"


@strawberry.enum(description="Recurring: every period a person is active in; first time: only "
                 "from the first time a person did the target event.")  # fmt: skip
class RetentionType(enum.Enum):
    RETENTION_RECURRING = "retention_recurring"
    RETENTION_FIRST_TIME = "retention_first_time"


@strawberry.input(description="A retention filter: PostHog's filter keys in camelCase.")
class RetentionFilterInput:
    target_entity: EntityInput | None = strawberry.UNSET
    returning_entity: EntityInput | None = strawberry.UNSET
    retention_type: RetentionType | None = strawberry.UNSET
    period: RetentionPeriod | None = strawberry.UNSET
    total_intervals: int | None = strawberry.UNSET
    date_from: str | None = strawberry.UNSET
    date_to: str | None = strawberry.UNSET
    breakdowns: list[BreakdownInput] | None = strawberry.UNSET
    breakdown_type: BreakdownType | None = strawberry.UNSET
    properties: JSON | None = strawberry.UNSET
    filter_test_accounts: bool | None = strawberry.UNSET
    aggregation_group_type_index: int | None = strawberry.UNSET


@strawberry.enum(description="The kinds of event a path walks through.")
class PathEventType(enum.Enum):
    PAGEVIEW = "$pageview"
    SCREEN = "$screen"
    CUSTOM_EVENT = "custom_event"


@strawberry.enum(description="Which paths of a funnel's people: after, before or between steps.")
class FunnelPathType(enum.Enum):
    FUNNEL_PATH_AFTER_STEP = "funnel_path_after_step"
    FUNNEL_PATH_BEFORE_STEP = "funnel_path_before_step"
    FUNNEL_PATH_BETWEEN_STEPS = "funnel_path_between_steps"


@strawberry.input(description="A paths filter: PostHog's filter keys in camelCase.")
class PathsFilterInput:
    include_event_types: list[PathEventType] | None = strawberry.UNSET
    include_custom_events: list[str] | None = strawberry.UNSET
    start_point: str | None = strawberry.UNSET
    end_point: str | None = strawberry.UNSET
    step_limit: int | None = strawberry.UNSET
    edge_limit: int | None = strawberry.UNSET
    min_edge_weight: int | None = strawberry.UNSET
    max_edge_weight: int | None = strawberry.UNSET
    path_groupings: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Wildcard patterns (`/product/*`) merging paths."
    )
    exclude_events: list[str] | None = strawberry.UNSET
    path_replacements: bool | None = strawberry.UNSET
    local_path_cleaning_filters: JSON | None = strawberry.UNSET
    date_from: str | None = strawberry.UNSET
    date_to: str | None = strawberry.UNSET
    properties: JSON | None = strawberry.UNSET
    filter_test_accounts: bool | None = strawberry.UNSET
    funnel_paths: FunnelPathType | None = strawberry.field(
        default=strawberry.UNSET, description="Paths of a funnel's people; needs funnelFilter."
    )
    funnel_filter: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="The funnel (PostHog's funnel filter JSON)."
    )
    funnel_step: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="N: people who reached step N; -N: who stopped before step N.",
    )


def posthog_filters(value):
    """A typed input → PostHog's filters: field names as keys, enums as their values, and only
    the fields the client gave (an explicit null stays: an entity's `id: null` means every
    event, and the engine treats other nulls as absent, as it does in JSON)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [posthog_filters(item) for item in value]
    if dataclasses.is_dataclass(value):
        return {f.name: posthog_filters(getattr(value, f.name)) for f in dataclasses.fields(value)
                if getattr(value, f.name) is not strawberry.UNSET}  # fmt: skip
    return value  # JSON and scalars: already PostHog's


def chosen_filters(typed, filters) -> dict:
    """Exactly one of the typed `filter` and PostHog's JSON `filters`: both would leave it unclear
    which one was computed."""
    if (typed is None) == (filters is None):
        raise ValidationError("give exactly one of `filter` (typed) or `filters` (PostHog's "
                              "JSON filters)", attr="filter")  # fmt: skip
    return filters if typed is None else posthog_filters(typed)
