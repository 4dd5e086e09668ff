"""The per-kind insight queries (`trends`, `funnel`, `funnelCorrelation`, ...): a typed `filter`
or PostHog's JSON `filters`, computed along the one path every insight takes (schema.py's
`computed`), answered as the kind's typed result.

This module has no `from __future__ import annotations` on purpose: the resolver below is built
per kind, and Strawberry reads its argument and return types from real annotations, which must
name the kind's own input and result types (closure variables, not names a string could find).
"""

from collections.abc import Awaitable, Callable

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from gateway.insight_inputs import (
    FunnelCorrelationFilterInput,
    FunnelsFilterInput,
    PathsFilterInput,
    RetentionFilterInput,
    TrendsFilterInput,
    chosen_filters,
)
from gateway.insight_results import (
    FunnelCorrelationResult,
    FunnelResult,
    LifecycleResult,
    PathsResult,
    RetentionResult,
    StickinessResult,
    TrendsResult,
    retyped,
)

# engine (an insight kind, or a variant read from a kind's filter) → its typed filter input and
# typed result
TYPED_KINDS = {
    "TRENDS": (TrendsFilterInput, TrendsResult),
    "STICKINESS": (TrendsFilterInput, StickinessResult),
    "LIFECYCLE": (TrendsFilterInput, LifecycleResult),
    "FUNNELS": (FunnelsFilterInput, FunnelResult),
    "RETENTION": (RetentionFilterInput, RetentionResult),
    "PATHS": (PathsFilterInput, PathsResult),
    "FUNNEL_CORRELATION": (FunnelCorrelationFilterInput, FunnelCorrelationResult),
}


def typed_kind_field(kind: str, computed: Callable[..., Awaitable], *,
                     variant: str | None = None, description: str | None = None):  # fmt: skip
    """One GraphQL field for `kind` (computed by `variant`'s engine when given).
    `computed(info, project_id, filters, kind, refresh, variant)` is the schema's shared path
    (access check, cache, engine); passing it in keeps this module free of an import cycle with
    schema.py."""
    filter_input, result = TYPED_KINDS[variant or kind]

    async def resolve(
        info: Info,
        project_id: str,
        filter: filter_input | None = None,
        filters: JSON | None = None,
        refresh: JSON | None = None,
    ) -> result:
        chosen = chosen_filters(filter, filters)
        return retyped(result, await computed(info, project_id, chosen, kind, refresh, variant))

    return strawberry.field(
        resolver=resolve,
        description=description
        or f"A {kind.lower()} insight from a typed `filter` or "
        "PostHog's JSON `filters` (exactly one).",
    )
