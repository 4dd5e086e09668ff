"""The per-kind insight queries (`trends`, `stickiness`, ...): a typed `filter` or PostHog's JSON
`filters`, computed along the one path every insight takes (schema.py's `computed`).

This module has no `from __future__ import annotations` on purpose: the resolver below is built
per kind, and Strawberry reads its argument and return types from real annotations, which must
name the kind's own input and result types (closure variables, not names a string could find).
"""

from collections.abc import Awaitable, Callable

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from gateway.insight_inputs import (
    FunnelsFilterInput,
    PathsFilterInput,
    RetentionFilterInput,
    TrendsFilterInput,
    chosen_filters,
)
from gateway.insight_results import LifecycleResult, StickinessResult, TrendsResult, retyped

# kind → (its typed filter input, its typed result, or None for the plain JSON envelope)
TYPED_KINDS = {
    "TRENDS": (TrendsFilterInput, TrendsResult),
    "STICKINESS": (TrendsFilterInput, StickinessResult),
    "LIFECYCLE": (TrendsFilterInput, LifecycleResult),
    "FUNNELS": (FunnelsFilterInput, None),
    "RETENTION": (RetentionFilterInput, None),
    "PATHS": (PathsFilterInput, None),
}


def typed_kind_field(kind: str, computed: Callable[..., Awaitable], plain_result: type):
    """One GraphQL field for `kind`. `computed(info, project_id, filters, kind, refresh)` is the
    schema's shared path (access check, cache, engine); passing it in keeps this module free of
    an import cycle with schema.py."""
    filter_input, typed_result = TYPED_KINDS[kind]
    result = typed_result or plain_result

    async def resolve(
        info: Info,
        project_id: str,
        filter: filter_input | None = None,
        filters: JSON | None = None,
        refresh: JSON | None = None,
    ) -> result:
        envelope = await computed(info, project_id, chosen_filters(filter, filters), kind, refresh)
        return retyped(typed_result, envelope) if typed_result else envelope

    return strawberry.field(
        resolver=resolve,
        description=f"A {kind.lower()} insight from a typed `filter` or PostHog's JSON "
        "`filters` (exactly one).",
    )
