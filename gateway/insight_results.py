"""Typed results for the trends family, beside the JSON `result` they are read from.

`result` stays a JSON scalar (the REST shim returns it as is, and a large breakdown completes
faster as one value); `series` offers the same items as typed objects for GraphQL clients and is
built only when asked for. Field names are PostHog's keys, so one function reads any item.
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


def typed_series(cls: type, item: dict):
    """A result item as `cls`: a key the item lacks is null (formula items carry no action)."""
    return cls(**{f.name: item.get(f.name) for f in dataclasses.fields(cls)})


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
