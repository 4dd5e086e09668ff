"""Typed results for every insight kind, beside the JSON `result` they are read from.

`result` stays a JSON scalar (the REST shim returns it as is, and a large breakdown completes
faster as one value); the typed fields (`series`, `steps`, `rows`, `edges`, ...) offer the same
items as typed objects for GraphQL clients and are built only when asked for. Field names are
PostHog's keys, so one function reads any flat item.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

import strawberry
from strawberry.scalars import JSON


@strawberry.interface(description="A computed insight in PostHog's envelope.")
class ComputedInsight:
    result: JSON | None
    last_refresh: datetime | None
    is_cached: bool
    timezone: str
    filters_hash: str
    filters: JSON


@strawberry.type(description="One trends series. Formula series have no `action` and no "
                 "`personsUrls`; aggregated displays fill `aggregatedValue` and leave `data` "
                 "empty.")  # fmt: skip
class TrendsSeries:
    label: str
    count: float
    data: list[float]
    days: list[str]
    labels: list[str]
    aggregated_value: float | None
    breakdown_value: JSON | None
    compare: bool | None
    compare_label: str | None
    action: JSON | None
    filter: JSON | None
    persons_urls: JSON | None
    persons: JSON | None = strawberry.field(
        description="Aggregated displays: where the actors behind `aggregatedValue` are."
    )


@strawberry.type(description="Stickiness: how many actors were active on exactly `days[i]` "
                 "intervals.")  # fmt: skip
class StickinessSeries:
    label: str
    count: float
    data: list[float]
    days: list[int]
    labels: list[str]
    compare: bool | None
    compare_label: str | None
    action: JSON | None
    filter: JSON | None
    persons_urls: JSON | None


@strawberry.type(description="Lifecycle: one status per series; `dormant` counts are negative.")
class LifecycleSeries:
    label: str
    status: str
    count: float
    data: list[float]
    days: list[str]
    labels: list[str]
    action: JSON | None
    persons_urls: JSON | None


def typed_args(cls: type, item: dict) -> dict:
    """`cls`'s fields read from a result item: a key the item lacks is null (formula items
    carry no action)."""
    return {f.name: item.get(f.name) for f in dataclasses.fields(cls)}


def typed_series(cls: type, item: dict):
    """A flat result item as `cls`."""
    return cls(**typed_args(cls, item))


@strawberry.type
class TrendsResult(ComputedInsight):
    @strawberry.field
    def series(self) -> list[TrendsSeries]:
        return [typed_series(TrendsSeries, item) for item in self.result or []]


@strawberry.type
class StickinessResult(ComputedInsight):
    @strawberry.field
    def series(self) -> list[StickinessSeries]:
        return [typed_series(StickinessSeries, item) for item in self.result or []]


@strawberry.type
class LifecycleResult(ComputedInsight):
    @strawberry.field
    def series(self) -> list[LifecycleSeries]:
        return [typed_series(LifecycleSeries, item) for item in self.result or []]


def retyped(cls: type, computed):
    """The envelope another result type computed (schema.py's `InsightResult`), as `cls`."""
    return cls(**{f.name: getattr(computed, f.name) for f in dataclasses.fields(ComputedInsight)})


# -- funnels ----------------------------------------------------------------------------------


@strawberry.type(description="One funnel step: how many actors reached it, and how fast.")
class FunnelStepResult:
    action_id: JSON | None = strawberry.field(
        description="The event's name, or the action's id (null: any event, unordered funnels)."
    )
    name: str | None
    custom_name: str | None
    order: int
    count: int
    type: str
    average_conversion_time: float | None
    median_conversion_time: float | None
    converted_people_url: str | None
    dropped_people_url: str | None
    breakdown_value: JSON | None


@strawberry.type(description="The steps of one breakdown value.")
class FunnelBreakdown:
    breakdown_value: JSON
    steps: list[FunnelStepResult]


@strawberry.type(description="Conversion over time (`funnelVizType: TRENDS`): `data` holds "
                 "percentages, one per bucket, beside the counts they are made of.")  # fmt: skip
class FunnelTrendsRow:
    count: int
    data: list[float]
    days: list[str]
    labels: list[str]
    reached_from_step_count: list[int]
    reached_to_step_count: list[int]
    breakdown_value: JSON | None


@strawberry.type(description="One histogram bin: actors who converted in `seconds` or more "
                 "(up to the next bin).")  # fmt: skip
class FunnelTimeBin:
    seconds: float
    count: int


@strawberry.type(description="Time to convert (`funnelVizType: TIME_TO_CONVERT`).")
class FunnelTimeToConvert:
    bins: list[FunnelTimeBin]
    average_conversion_time: float | None


def _is_steps(result) -> bool:
    """A steps result (a list of steps, or of step lists per breakdown value), not another
    viz's; a funnel without steps counts as steps."""
    if not isinstance(result, list):
        return False
    return not result or isinstance(result[0], list) or "order" in result[0]


def _broken_down(result) -> bool:
    return isinstance(result, list) and bool(result) and isinstance(result[0], list)


@strawberry.type(description="A funnel: exactly one of `steps`, `breakdowns`, `trends` and "
                 "`timeToConvert` is set, after the filter's viz type and breakdown.")  # fmt: skip
class FunnelResult(ComputedInsight):
    @strawberry.field(description="The steps, without a breakdown.")
    def steps(self) -> list[FunnelStepResult] | None:
        if not _is_steps(self.result) or _broken_down(self.result):
            return None
        return [typed_series(FunnelStepResult, step) for step in self.result]

    @strawberry.field(description="The steps of each breakdown value.")
    def breakdowns(self) -> list[FunnelBreakdown] | None:
        if not _broken_down(self.result):
            return None
        return [FunnelBreakdown(breakdown_value=steps[0]["breakdown_value"],
                                steps=[typed_series(FunnelStepResult, s) for s in steps])
                for steps in self.result]  # fmt: skip

    @strawberry.field
    def trends(self) -> list[FunnelTrendsRow] | None:
        if not isinstance(self.result, list) or _is_steps(self.result):
            return None
        return [typed_series(FunnelTrendsRow, row) for row in self.result]

    @strawberry.field
    def time_to_convert(self) -> FunnelTimeToConvert | None:
        if not isinstance(self.result, dict):
            return None
        return FunnelTimeToConvert(
            bins=[FunnelTimeBin(seconds=low, count=n) for low, n in self.result["bins"]],
            average_conversion_time=self.result["average_conversion_time"],
        )


# -- funnel correlation -----------------------------------------------------------------------


@strawberry.type(description="What a correlation row is about: an event, a person "
                 "property (`event` is `key::value`), or an event property "
                 "(`event::key::value`).")  # fmt: skip
class CorrelatedEvent:
    event: str
    properties: JSON
    elements: JSON = strawberry.field(description="An autocapture row's elements, clicked first.")


@strawberry.type(description="One correlation row: actors who converted (`success`) or dropped "
                 "off (`failure`) having done it, and the odds ratio between them.")  # fmt: skip
class FunnelCorrelationRow:
    event: CorrelatedEvent
    success_count: int
    failure_count: int
    odds_ratio: float
    correlation_type: str
    success_people_url: str | None
    failure_people_url: str | None


@strawberry.type
class FunnelCorrelationResult(ComputedInsight):
    @strawberry.field(description="The rows, most telling first.")
    def events(self) -> list[FunnelCorrelationRow]:
        return [FunnelCorrelationRow(**{**typed_args(FunnelCorrelationRow, row),
                                        "event": typed_series(CorrelatedEvent, row["event"])})
                for row in (self.result or {}).get("events", [])]  # fmt: skip

    @strawberry.field(description="True when too few actors converted or dropped off for the "
                      "odds to mean much.")  # fmt: skip
    def skewed(self) -> bool:
        return bool((self.result or {}).get("skewed"))


# -- retention --------------------------------------------------------------------------------


@strawberry.type(description="One cell: actors of the row's cohort active `i` periods later.")
class RetentionValue:
    count: int
    people_url: str | None


@strawberry.type(description="One cohort (or breakdown value) and its cells, period by period.")
class RetentionRow:
    label: str
    date: str | None
    breakdown_values: JSON | None
    people_url: str | None
    values: list[RetentionValue]


@strawberry.type
class RetentionResult(ComputedInsight):
    @strawberry.field
    def rows(self) -> list[RetentionRow]:
        return [RetentionRow(**{**typed_args(RetentionRow, row),
                                "values": [typed_series(RetentionValue, c) for c in row["values"]]})
                for row in self.result or []]  # fmt: skip


# -- paths ------------------------------------------------------------------------------------


@strawberry.type(description="One path edge: `value` actors went from `source` to `target` "
                 "(each prefixed with its step number, `1_/home`).")  # fmt: skip
class PathEdge:
    source: str
    target: str
    value: int
    average_conversion_time: float = strawberry.field(description="Milliseconds (PostHog's).")


@strawberry.type
class PathsResult(ComputedInsight):
    @strawberry.field
    def edges(self) -> list[PathEdge]:
        return [typed_series(PathEdge, edge) for edge in self.result or []]
