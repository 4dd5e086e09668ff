"""GraphQL fields for the people behind a data point: one per insight kind.

Each field takes the insight's filter (JSON, as the insight fields do) and a typed input naming
the data point — the keys PostHog's persons URLs carry — and answers a page of actors. The
REST shim's persons paths (gateway/rest_people.py) are these fields. Reading people needs the
key scope `person:read` on the project.
"""

# No `from __future__ import annotations`: `people_field` builds resolvers whose argument types
# must be real classes when Strawberry reads them.

from enum import Enum
from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from gateway.auth import project_for
from gateway.errors import AuthenticationError, ValidationError
from resolvers.people import PEOPLE


@strawberry.type(description="A person, as PostHog's persons endpoints serialise one.")
class PersonActor:
    type: str
    id: str
    uuid: str
    distinct_ids: list[str]
    properties: JSON
    created_at: str | None
    is_identified: bool
    name: str


@strawberry.type(description="A group, when the insight aggregates by a group type.")
class GroupActor:
    type: str
    id: str
    group_key: str
    group_type_index: int
    group_properties: JSON
    created_at: str | None


Actor = Annotated[PersonActor | GroupActor, strawberry.union("Actor")]


@strawberry.type
class ActorRow:
    actor: Actor
    appearances: list[int] | None = strawberry.field(
        default=None, description="retention: 1 where the actor is counted at that interval"
    )


@strawberry.type
class ActorPage:
    count: int = strawberry.field(description="how many actors the data point has in all")
    results: list[ActorRow]


@strawberry.input(description="A trends point: the keys of its `persons_urls` filter.")
class TrendsPoint:
    entity_id: str | None = None
    entity_type: str | None = None
    entity_math: str | None = None
    entity_order: int | None = None
    entity_index: int | None = None
    date_from: str | None = None
    date_to: str | None = None
    breakdown_value: JSON | None = None
    insight_date_from: str | None = None
    insight_date_to: str | None = None


@strawberry.input(description="A stickiness point: the actors active on exactly k intervals.")
class StickinessPoint:
    stickiness_days: int
    entity_id: str | None = None
    entity_type: str | None = None
    entity_math: str | None = None
    entity_index: int | None = None
    date_from: str | None = None
    date_to: str | None = None


@strawberry.enum
class LifecycleType(Enum):
    new = "new"
    returning = "returning"
    resurrecting = "resurrecting"
    dormant = "dormant"


@strawberry.input(description="A lifecycle bar: one status in the bucket at target_date.")
class LifecyclePoint:
    target_date: str
    lifecycle_type: LifecycleType
    date_from: str | None = None
    date_to: str | None = None


@strawberry.input(
    description="A funnel step: k reached step k or further, -k dropped before k; or, in the "
    "trends viz, one bucket's entrants (entrance_period_start, drop_off)."
)
class FunnelStep:
    funnel_step: int | None = None
    funnel_custom_steps: list[int] | None = None
    funnel_step_breakdown: JSON | None = None
    entrance_period_start: str | None = strawberry.field(
        default=None, description="trends viz: the bucket whose entrants are meant"
    )
    drop_off: bool | None = strawberry.field(
        default=None, description="trends viz: those who dropped off instead of converting"
    )


@strawberry.input(description="A retention cohort (and the interval its appearances start at).")
class RetentionCell:
    selected_interval: int | None = None
    breakdown_values: JSON | None = None


@strawberry.input(description="A path node or edge; none of the keys: everybody on a path.")
class PathNode:
    path_start_key: str | None = None
    path_end_key: str | None = None
    path_dropoff_key: str | None = None


def _actor(serialised: dict):
    if serialised["type"] == "group":
        return GroupActor(**serialised)
    return PersonActor(**serialised)


async def _people(info: Info, kind: str, project_id: str, filters, point, limit: int,
                  offset: int) -> ActorPage:  # fmt: skip
    context = info.context
    if context.caller is None:
        raise AuthenticationError("Authentication credentials were not provided.")
    project = await project_for(context.caller, context.services, project_id, "person:read")
    if not isinstance(filters, dict):
        raise ValidationError("filters must be an object", attr="filters")
    keys = {k: (v.value if isinstance(v, Enum) else v) for k, v in vars(point).items()
            if v is not None}  # fmt: skip
    actions, cohorts = await context.definitions(project["id"])
    page = await PEOPLE[kind](
        context.services.store, project, {**filters, **keys, "limit": limit, "offset": offset},
        now=context.services.clock.now(), actions=actions, cohorts=cohorts)  # fmt: skip
    return ActorPage(count=page.total, results=[
        ActorRow(actor=_actor(row["actor"]), appearances=row.get("appearances"))
        for row in page.rows])  # fmt: skip


def people_field(kind: str, point_type: type, description: str):
    async def resolve(info: Info, project_id: str, filters: JSON, point: point_type,
                      limit: int = 100, offset: int = 0) -> ActorPage:  # fmt: skip
        return await _people(info, kind, project_id, filters, point, limit, offset)

    return strawberry.field(resolver=resolve, description=description)


@strawberry.type
class PeopleQueries:
    trends_people: ActorPage = people_field(
        "trends", TrendsPoint, "The actors behind one point of a trends series."
    )
    stickiness_people: ActorPage = people_field(
        "stickiness", StickinessPoint, "The actors active on exactly k intervals."
    )
    lifecycle_people: ActorPage = people_field(
        "lifecycle", LifecyclePoint, "The persons with one lifecycle status in one bucket."
    )
    funnel_people: ActorPage = people_field(
        "funnel", FunnelStep, "The actors who reached, or dropped off before, a funnel step."
    )
    retention_people: ActorPage = people_field(
        "retention", RetentionCell, "The actors of a retention cohort, with appearances."
    )
    path_people: ActorPage = people_field(
        "path", PathNode, "The persons behind a path node or edge.")  # fmt: skip
