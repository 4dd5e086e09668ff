"""The GraphQL schema: types are the API, resolvers are thin.

Each resolver checks the caller's access to the project (membership, key scope), then calls a
plain engine in `resolvers/`. Engines know nothing of GraphQL. Errors raised as SpyglassError
keep their PostHog `code` in `extensions`; anything else is masked.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field
from datetime import datetime

import strawberry
from graphql import GraphQLError
from strawberry.dataloader import DataLoader
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

from gateway.auth import Caller, project_for
from gateway.errors import SpyglassError, ValidationError
from gateway.input_errors import InputErrorFields
from gateway.insight_fields import typed_kind_field
from gateway.insight_results import ComputedInsight
from gateway.scalars import SCALAR_MAP, BigInt
from gateway.schema_people import PeopleQueries
from gateway.services import Services
from resolvers.actions import Actions
from resolvers.cohorts import Cohorts, cohort_people
from resolvers.compute import compute, refresh_mode
from resolvers.dashboards import Dashboards
from resolvers.filters import normalise
from resolvers.funnel_correlation_people import correlation_people
from resolvers.insight_list import Views, parse_list_query, select
from resolvers.insights import Insights

# Limits against abuse (documented in README): depth, aliases, tokens, page size.
MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 5_000
MAX_PAGE = 1_000


@dataclass
class Context:
    services: Services
    caller: Caller | None
    loaders: dict = field(default_factory=dict)

    def users(self) -> DataLoader:
        """Users by id, batched per request: a page of insights costs one lookup."""
        if "users" not in self.loaders:

            async def load(ids: list[int]) -> list[dict | None]:
                found = {e.id: e.document for e in await self.services.metadata.latest("user")}
                return [found.get(i) for i in ids]

            self.loaders["users"] = DataLoader(load_fn=load)
        return self.loaders["users"]

    def insights(self, project_id: int) -> DataLoader:
        """A project's insights by id, batched per request: a dashboard's tiles cost one read."""
        key = ("insights", project_id)
        if key not in self.loaders:

            async def load(ids: list[int]) -> list[dict | None]:
                documents = await Insights(self.services.metadata).all(project_id)
                found = {d["id"]: d for d in documents}
                return [found.get(i) for i in ids]

            self.loaders[key] = DataLoader(load_fn=load)
        return self.loaders[key]

    async def definitions(self, project_id: int) -> tuple[dict, dict]:
        """The project's actions and cohorts, read once per request however many insights
        (a dashboard's tiles, a page of insights) need them."""
        key = ("definitions", project_id)
        if key not in self.loaders:
            metadata = self.services.metadata

            async def load() -> tuple[dict, dict]:
                return (await Actions(metadata).by_id(project_id),
                        await Cohorts(metadata).by_id(project_id))  # fmt: skip

            self.loaders[key] = asyncio.ensure_future(load())
        return await asyncio.shield(self.loaders[key])


async def project_access(info: Info, project_id: str, scope: str) -> dict:
    context: Context = info.context
    if context.caller is None:
        from gateway.errors import AuthenticationError

        raise AuthenticationError("Authentication credentials were not provided.")
    return await project_for(context.caller, context.services, project_id, scope)


# The envelope of an insight with nothing computed (no steps, or not in the cache).
NOTHING_COMPUTED = {"result": None, "last_refresh": None, "is_cached": False}


async def once(owner, slot: str, make) -> object:
    """`await make()`, run once per object however many of its fields ask: the first asker
    starts it; one asker cancelled (its client gone) does not cancel it for the others."""
    if getattr(owner, slot) is None:
        setattr(owner, slot, asyncio.ensure_future(make()))
    return await asyncio.shield(getattr(owner, slot))


def refreshed_at(envelope: dict) -> datetime | None:
    """An envelope's `last_refresh` (ISO text in the cache; null when never computed)."""
    refreshed = envelope["last_refresh"]
    return datetime.fromisoformat(refreshed) if refreshed else None


@strawberry.type
class User:
    id: BigInt
    uuid: str
    distinct_id: str | None
    first_name: str
    email: str


def _user(document: dict | None) -> User | None:
    if document is None:
        return None
    return User(id=document["id"], uuid=document.get("uuid", ""), distinct_id=document.get("uuid"),
                first_name=document.get("first_name", ""), email=document["email"])  # fmt: skip


@strawberry.type(description="A project (PostHog's team) and its settings.")
class Project:
    id: BigInt
    organization: BigInt
    name: str
    api_token: str = strawberry.field(description="The public `phc_` token SDKs send with.")
    timezone: str
    week_start_day: int = strawberry.field(description="0: Sunday, 1: Monday.")
    test_account_filters: JSON
    path_cleaning_filters: JSON
    created_at: datetime

    @strawberry.field(description="PostHog's onboarding record; Spyglass keeps none.")
    def has_completed_onboarding_for(self) -> JSON:
        return {}


def project_type(document: dict) -> Project:
    return Project(
        id=document["id"], organization=document["organization"], name=document["name"],
        api_token=document["api_token"], timezone=document["timezone"],
        week_start_day=document["week_start_day"],
        test_account_filters=document["test_account_filters"],
        path_cleaning_filters=document["path_cleaning_filters"],
        created_at=datetime.fromisoformat(document["created_at"]),
    )  # fmt: skip


class PatchInput:
    """An input whose fields are all optional: a field left out is not changed."""

    def given(self) -> dict:
        """Only the fields the client sent (PATCH semantics)."""
        return {k: v for k, v in vars(self).items() if v is not strawberry.UNSET}


@strawberry.input(description="Project settings to change (PostHog's names, in camelCase).")
class ProjectInput(PatchInput):
    name: str | None = strawberry.UNSET
    timezone: str | None = strawberry.UNSET
    week_start_day: int | None = strawberry.UNSET
    test_account_filters: JSON | None = strawberry.UNSET
    path_cleaning_filters: JSON | None = strawberry.UNSET


@strawberry.type
class Insight:
    id: BigInt
    short_id: str
    name: str | None
    derived_name: str | None
    filters: JSON
    filters_hash: str
    order: int | None
    deleted: bool
    dashboards: list[BigInt]
    refreshing: bool
    created_at: datetime
    description: str | None
    updated_at: datetime
    tags: list[str]
    favorited: bool
    saved: bool
    last_modified_at: datetime
    is_sample: bool
    effective_restriction_level: int
    effective_privilege_level: int
    timezone: str
    color: str | None = None  # with from_dashboard: the tile's
    layouts: JSON | None = None  # with from_dashboard: the tile's
    created_by_id: strawberry.Private[int] = 0
    last_modified_by_id: strawberry.Private[int] = 0
    project: strawberry.Private[dict | None] = None
    refresh: strawberry.Private[object] = "force_cache"
    envelope: strawberry.Private[object] = None
    basic: strawberry.Private[bool] = False  # PostHog's basic serializer: no result

    @strawberry.field
    async def created_by(self, info: Info) -> User | None:
        return _user(await info.context.users().load(self.created_by_id))

    @strawberry.field
    async def last_modified_by(self, info: Info) -> User | None:
        return _user(await info.context.users().load(self.last_modified_by_id))

    async def _computed(self, info: Info) -> dict:
        """The insight's result: from the cache, or computed when `refresh` asks (once)."""
        return await once(self, "envelope", lambda: self._compute(info))

    async def _compute(self, info: Info) -> dict:
        services = info.context.services
        empty = dict(NOTHING_COMPUTED)
        if self.basic:
            return empty
        if not (self.filters.get("events") or self.filters.get("actions")) and \
                self.filters.get("insight", "TRENDS") not in ("RETENTION", "PATHS"):  # fmt: skip
            return empty
        try:
            actions, cohorts = await info.context.definitions(self.project["id"])
            return await compute(services, services.cache, self.project, self.filters,
                                 refresh=self.refresh, actions=actions,
                                 cohorts=cohorts)  # fmt: skip
        except SpyglassError:
            if self.refresh == "force_cache":
                return empty  # a saved insight that cannot be read from cache just has none
            raise

    @strawberry.field
    async def result(self, info: Info) -> JSON | None:
        return (await self._computed(info))["result"]

    @strawberry.field
    async def last_refresh(self, info: Info) -> datetime | None:
        return refreshed_at(await self._computed(info))

    @strawberry.field
    async def is_cached(self, info: Info) -> bool:
        return (await self._computed(info))["is_cached"]


def insight_type(
    document: dict,
    project: dict,
    *,
    refresh="force_cache",
    tile: dict | None = None,
    dashboard_filters: dict | None = None,
    basic: bool = False,
) -> Insight:
    filters = document["filters"]
    if dashboard_filters:  # PostHog: the dashboard's filters win over the insight's
        filters = {**filters, **{k: v for k, v in dashboard_filters.items() if v is not None}}
    return Insight(
        id=document["id"], short_id=document["short_id"], name=document["name"],
        derived_name=document["derived_name"], filters=filters,
        filters_hash=document["filters_hash"], order=document["order"],
        deleted=document["deleted"], dashboards=document["dashboards"],
        refreshing=False, created_at=datetime.fromisoformat(document["created_at"]),
        description=document["description"],
        updated_at=datetime.fromisoformat(document["updated_at"]), tags=document["tags"],
        favorited=document["favorited"], saved=document["saved"],
        last_modified_at=datetime.fromisoformat(document["last_modified_at"]),
        is_sample=document["is_sample"], effective_restriction_level=21,
        effective_privilege_level=37, timezone=project.get("timezone", "UTC"),
        color=(tile or {}).get("color"), layouts=(tile or {}).get("layouts") if tile else None,
        created_by_id=document["created_by"], last_modified_by_id=document["last_modified_by"],
        project=project, refresh=refresh, basic=basic,
    )  # fmt: skip


@strawberry.type
class Action:
    id: BigInt
    name: str
    description: str
    steps: JSON
    deleted: bool
    created_at: datetime
    tags: list[str]
    created_by_id: strawberry.Private[int]

    @strawberry.field
    async def created_by(self, info: Info) -> User | None:
        return _user(await info.context.users().load(self.created_by_id))


def action_type(document: dict) -> Action:
    return Action(id=document["id"], name=document["name"], description=document["description"],
                  steps=document["steps"], deleted=document["deleted"], tags=document["tags"],
                  created_at=datetime.fromisoformat(document["created_at"]),
                  created_by_id=document["created_by"])  # fmt: skip


@strawberry.type
class ActionPage:
    count: int
    results: list[Action]


@strawberry.type
class Cohort:
    id: BigInt
    name: str
    description: str
    is_static: bool
    filters: JSON
    groups: JSON
    deleted: bool
    count: int | None
    created_at: datetime


def cohort_type(document: dict) -> Cohort:
    return Cohort(id=document["id"], name=document["name"], description=document["description"],
                  is_static=document["is_static"], filters=document["filters"],
                  groups=document["groups"], deleted=document["deleted"],
                  count=document.get("count"),
                  created_at=datetime.fromisoformat(document["created_at"]))  # fmt: skip


@strawberry.type
class CohortPage:
    count: int
    results: list[Cohort]


@strawberry.type
class PersonRow:
    id: str
    distinct_ids: list[str]


@strawberry.type
class PersonPage:
    count: int
    results: list[PersonRow]


@strawberry.type
class InsightResult(ComputedInsight):
    """A computed insight in PostHog's envelope, its `result` as JSON."""


def result_type(envelope: dict) -> InsightResult:
    return InsightResult(
        result=envelope["result"], is_cached=envelope["is_cached"],
        last_refresh=refreshed_at(envelope),
        timezone=envelope["timezone"], filters_hash=envelope["filters_hash"],
        filters=envelope["filters"],
    )  # fmt: skip


async def computed(info: Info, project_id: str, filters: dict, kind: str | None,
                   refresh, variant: str | None = None) -> InsightResult:  # fmt: skip
    project = await project_access(info, project_id, "insight:read")
    services = info.context.services
    actions, cohorts = await info.context.definitions(project["id"])
    envelope = await compute(services, services.cache, project, filters, kind=kind,
                             refresh=refresh, actions=actions, cohorts=cohorts,
                             variant=variant)  # fmt: skip
    return result_type(envelope)


@strawberry.type
class InsightPage:
    count: int
    results: list[Insight]


@strawberry.type
class ActivityUser:
    first_name: str | None
    email: str | None
    is_system: bool = False


@strawberry.type
class ActivityEntry:
    id: str
    activity: str
    scope: str
    item_id: str
    detail: JSON
    created_at: datetime
    user_id: strawberry.Private[int]

    @strawberry.field
    async def user(self, info: Info) -> ActivityUser:
        found = await info.context.users().load(self.user_id)
        if found is None:
            return ActivityUser(first_name="System", email=None, is_system=True)
        return ActivityUser(first_name=found.get("first_name", ""), email=found["email"])


@strawberry.enum(description="What an activity entry is about, as PostHog names it.")
class ActivityScope(enum.Enum):
    INSIGHT = "Insight"


@strawberry.type
class ActivityPage:
    total_count: int
    results: list[ActivityEntry]


@strawberry.type(description="A dashboard tile. Its insight is read in the dashboard's "
                 "context (PostHog's): the dashboard's filters over the insight's, the tile's "
                 "colour and layouts; `lastRefresh` and `isCached` are its result's.")  # fmt: skip
class DashboardTile:
    id: BigInt
    color: str | None
    layouts: JSON
    order: int
    text: JSON | None
    tile: strawberry.Private[dict]
    dashboard: strawberry.Private[Dashboard]
    loaded: strawberry.Private[object] = None

    async def _insight(self, info: Info) -> Insight | None:
        """The tile's insight, built once however many of the tile's fields ask for it."""
        return await once(self, "loaded", lambda: self._load(info))

    async def _load(self, info: Info) -> Insight | None:
        project = self.dashboard.project
        document = await info.context.insights(project["id"]).load(self.tile["insight_id"])
        if document is None:
            return None
        return insight_type(document, project, refresh=self.dashboard.refresh, tile=self.tile,
                            dashboard_filters=self.dashboard.filters)  # fmt: skip

    async def _envelope(self, info: Info) -> dict:
        insight = await self._insight(info)
        return await insight._computed(info) if insight else NOTHING_COMPUTED

    @strawberry.field
    async def insight(self, info: Info) -> Insight | None:
        return await self._insight(info)

    @strawberry.field
    async def last_refresh(self, info: Info) -> datetime | None:
        return refreshed_at(await self._envelope(info))

    @strawberry.field
    async def is_cached(self, info: Info) -> bool:
        return (await self._envelope(info))["is_cached"]


@strawberry.type
class Dashboard:
    id: BigInt
    name: str
    description: str
    pinned: bool
    created_at: datetime
    last_accessed_at: datetime | None
    is_shared: bool
    deleted: bool
    creation_mode: str
    filters: JSON
    tags: list[str]
    restriction_level: int
    effective_restriction_level: int
    effective_privilege_level: int
    team_id: BigInt
    created_by_id: strawberry.Private[int]
    project: strawberry.Private[dict]
    refresh: strawberry.Private[object] = "force_cache"  # what its tiles' insights compute

    @strawberry.field
    async def created_by(self, info: Info) -> User | None:
        return _user(await info.context.users().load(self.created_by_id))

    @strawberry.field
    async def tiles(self, info: Info) -> list[DashboardTile]:
        boards = Dashboards(info.context.services.metadata)
        return [DashboardTile(id=t["id"], color=t.get("color"), layouts=t.get("layouts") or {},
                              order=t.get("order", 0), text=None, tile=t, dashboard=self)
                for t in await boards.tiles_of(self.project["id"], self.id)]  # fmt: skip


def dashboard_type(document: dict, project: dict, refresh="force_cache") -> Dashboard:
    return Dashboard(
        id=document["id"], name=document["name"] or "", description=document["description"] or "",
        pinned=document["pinned"], created_at=datetime.fromisoformat(document["created_at"]),
        last_accessed_at=None, is_shared=False, deleted=document["deleted"],
        creation_mode=document["creation_mode"], filters=document["filters"],
        tags=document["tags"], restriction_level=21, effective_restriction_level=21,
        effective_privilege_level=37, team_id=project["id"],
        created_by_id=document["created_by"], project=project, refresh=refresh,
    )  # fmt: skip


@strawberry.type
class DashboardPage:
    count: int
    results: list[Dashboard]


@strawberry.input
class DashboardInput(PatchInput):
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    pinned: bool | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET
    filters: JSON | None = strawberry.UNSET
    deleted: bool | None = strawberry.UNSET


@strawberry.input
class InsightInput(PatchInput):
    name: str | None = strawberry.UNSET
    derived_name: str | None = strawberry.UNSET
    filters: JSON | None = strawberry.UNSET
    order: int | None = strawberry.UNSET
    deleted: bool | None = strawberry.UNSET
    dashboards: list[BigInt] | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET
    favorited: bool | None = strawberry.UNSET
    saved: bool | None = strawberry.UNSET


def _object(value) -> dict:
    if not isinstance(value, dict):
        raise ValidationError("input must be an object", attr="input")
    return value


def _insights(info: Info) -> Insights:
    return Insights(info.context.services.metadata)


def _saved_refresh(refresh):
    """A saved insight's `refresh`: the cache only unless asked (PostHog's `force_cache`), and
    checked now — an insight with nothing to compute would otherwise never look at it."""
    if refresh is None:
        return "force_cache"
    refresh_mode(refresh)  # a 400 naming `refresh` for a value PostHog does not read
    return refresh


def _page(limit: int, offset: int) -> tuple[int, int]:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}", attr="limit")
    if offset < 0:
        raise ValidationError("offset must not be negative", attr="offset")
    return limit, offset


@strawberry.type
class Query(PeopleQueries):
    @strawberry.field
    async def project(self, info: Info, project_id: str) -> Project:
        return project_type(await project_access(info, project_id, "project:read"))

    @strawberry.field
    async def insight(self, info: Info, project_id: str, id: BigInt | None = None,
                      short_id: str | None = None, from_dashboard: BigInt | None = None,
                      refresh: JSON | None = None) -> Insight:  # fmt: skip
        project = await project_access(info, project_id, "insight:read")
        if id is not None:
            document = await _insights(info).get(project["id"], id)
        elif short_id is not None:
            document = await _insights(info).get_by_short_id(project["id"], short_id)
        else:
            raise ValidationError("id or shortId is required", attr="id")
        tile, dashboard_filters = None, None
        if from_dashboard is not None:
            boards = Dashboards(info.context.services.metadata)
            dashboard = await boards.get(project["id"], from_dashboard)
            tiles = [t for t in await boards.tiles_of(project["id"], from_dashboard)
                     if t["insight_id"] == document["id"]]  # fmt: skip
            if not tiles:
                raise ValidationError("the insight is not on that dashboard",
                                      attr="from_dashboard")  # fmt: skip
            tile, dashboard_filters = tiles[0], dashboard.get("filters") or {}
        return insight_type(document, project, tile=tile, dashboard_filters=dashboard_filters,
                            refresh=_saved_refresh(refresh))  # fmt: skip

    @strawberry.field(
        description="PostHog's list filters: `dateFrom`/`dateTo` bound `last_modified_at` "
        "(`-7d` or a date), `myLastViewed` lists the caller's views, most recent first, "
        "`order` names a field (`-` for descending), `basic` computes no `result`."
    )
    async def insights(self, info: Info, project_id: str, limit: int = 100, offset: int = 0,
                       created_by: BigInt | None = None, short_id: str | None = None,
                       saved: bool | None = None, favorited: bool | None = None,
                       search: str | None = None, insight: str | None = None,
                       user: bool | None = None, dashboards: list[BigInt] | None = None,
                       date_from: str | None = None, date_to: str | None = None,
                       my_last_viewed: bool | None = None, order: str | None = None,
                       basic: bool = False) -> InsightPage:  # fmt: skip
        project = await project_access(info, project_id, "insight:read")
        limit, offset = _page(limit, offset)
        query = parse_list_query(
            created_by=created_by, short_id=short_id, saved=saved, favorited=favorited,
            search=search, insight=insight, user=user, dashboards=dashboards,
            date_from=date_from, date_to=date_to, my_last_viewed=my_last_viewed, order=order,
            now=info.context.services.clock.now(),
            timezone=project.get("timezone") or "UTC")  # fmt: skip
        user_id = info.context.caller.user["id"]
        views = (await _insights(info).views(project["id"], user_id) if query.needs_views
                 else Views({}, {}))  # fmt: skip
        documents = select(await _insights(info).all(project["id"]), query, user_id, views)
        page = documents[offset : offset + limit]
        results = [insight_type(d, project, basic=basic) for d in page]
        return InsightPage(count=len(documents), results=results)

    @strawberry.field(
        description="Any insight from PostHog's filter JSON (`insight` picks the kind)."
    )
    async def insight_result(self, info: Info, project_id: str, filters: JSON,
                             refresh: JSON | None = None) -> InsightResult:  # fmt: skip
        return await computed(info, project_id, filters, None, refresh)

    trends = typed_kind_field("TRENDS", computed)
    stickiness = typed_kind_field("STICKINESS", computed)
    lifecycle = typed_kind_field("LIFECYCLE", computed)
    funnel = typed_kind_field("FUNNELS", computed)
    retention = typed_kind_field("RETENTION", computed)
    paths = typed_kind_field("PATHS", computed)
    funnel_correlation = typed_kind_field(
        "FUNNELS", computed, variant="FUNNEL_CORRELATION",
        description="Funnel correlation (events, properties or event properties that go with "
        "converting) of a typed funnel `filter` or PostHog's JSON `filters` (exactly one).",
    )  # fmt: skip

    @strawberry.field(description="The actors behind one funnel correlation row.")
    async def funnel_correlation_persons(self, info: Info, project_id: str,
                                         filters: JSON) -> PersonPage:  # fmt: skip
        project = await project_access(info, project_id, "person:read")
        services = info.context.services
        actions, cohorts = await info.context.definitions(project["id"])
        total, rows = await correlation_people(
            services.store, project, normalise(filters, "FUNNELS"), now=services.clock.now(),
            actions=actions, cohorts=cohorts)  # fmt: skip
        return PersonPage(count=total, results=[PersonRow(**r) for r in rows])

    @strawberry.field
    async def actions(self, info: Info, project_id: str, limit: int = 100,
                      offset: int = 0) -> ActionPage:  # fmt: skip
        project = await project_access(info, project_id, "action:read")
        limit, offset = _page(limit, offset)
        documents = await Actions(info.context.services.metadata).all(project["id"])
        return ActionPage(
            count=len(documents),
            results=[action_type(d) for d in documents[offset : offset + limit]],
        )

    @strawberry.field
    async def action(self, info: Info, project_id: str, id: BigInt) -> Action:
        project = await project_access(info, project_id, "action:read")
        return action_type(await Actions(info.context.services.metadata).get(project["id"], id))

    @strawberry.field
    async def cohorts(self, info: Info, project_id: str, limit: int = 100,
                      offset: int = 0) -> CohortPage:  # fmt: skip
        project = await project_access(info, project_id, "cohort:read")
        limit, offset = _page(limit, offset)
        documents = await Cohorts(info.context.services.metadata).all(project["id"])
        return CohortPage(
            count=len(documents),
            results=[cohort_type(d) for d in documents[offset : offset + limit]],
        )

    @strawberry.field
    async def cohort(self, info: Info, project_id: str, id: BigInt) -> Cohort:
        project = await project_access(info, project_id, "cohort:read")
        return cohort_type(await Cohorts(info.context.services.metadata).get(project["id"], id))

    @strawberry.field
    async def cohort_persons(self, info: Info, project_id: str, id: BigInt, limit: int = 100,
                             offset: int = 0) -> PersonPage:  # fmt: skip
        project = await project_access(info, project_id, "cohort:read")
        limit, offset = _page(limit, offset)
        services = info.context.services
        cohorts = Cohorts(services.metadata)
        cohort = await cohorts.get(project["id"], id)
        total, rows = await cohort_people(
            services.store, project["id"], cohort, await cohorts.by_id(project["id"]),
            await Actions(services.metadata).by_id(project["id"]), services.clock.now(),
            limit=limit, offset=offset)  # fmt: skip
        return PersonPage(count=total, results=[PersonRow(**r) for r in rows])

    @strawberry.field(description="A dashboard; `refresh` (as on `insight`) says whether "
                      "its tiles' results come from the cache only (the default) or are "
                      "computed.")  # fmt: skip
    async def dashboard(self, info: Info, project_id: str, id: BigInt,
                        refresh: JSON | None = None) -> Dashboard:  # fmt: skip
        project = await project_access(info, project_id, "dashboard:read")
        document = await Dashboards(info.context.services.metadata).get(project["id"], id)
        return dashboard_type(document, project, _saved_refresh(refresh))

    @strawberry.field
    async def dashboards(self, info: Info, project_id: str, limit: int = 100,
                         offset: int = 0) -> DashboardPage:  # fmt: skip
        project = await project_access(info, project_id, "dashboard:read")
        limit, offset = _page(limit, offset)
        documents = await Dashboards(info.context.services.metadata).all(project["id"])
        documents.sort(key=lambda d: (not d["pinned"], (d["name"] or "").lower(), d["id"]))
        return DashboardPage(count=len(documents), results=[
            dashboard_type(d, project) for d in documents[offset : offset + limit]])  # fmt: skip

    @strawberry.field(description="The activity log of the project's insights (`id`: of one).")
    async def insight_activity(self, info: Info, project_id: str, id: BigInt | None = None,
                               limit: int = 10, page: int = 1) -> ActivityPage:  # fmt: skip
        return await _activity_page(info, project_id, id, limit, page)

    @strawberry.field(description="The activity log, newest first, in PostHog's pages: "
                      "`scope` says what about (Spyglass logs insights), `itemId` which "
                      "one.")  # fmt: skip
    async def activity(self, info: Info, project_id: str,
                       scope: ActivityScope = ActivityScope.INSIGHT, item_id: BigInt | None = None,
                       limit: int = 10, page: int = 1) -> ActivityPage:  # fmt: skip
        return await _activity_page(info, project_id, item_id, limit, page)


async def _activity_page(info: Info, project_id: str, item_id: int | None, limit: int,
                         page: int) -> ActivityPage:  # fmt: skip
    """Insights' activity entries (one insight's, with `item_id`), `page` of `limit` each."""
    project = await project_access(info, project_id, "activity_log:read")
    if page < 1:
        raise ValidationError("page must be 1 or more", attr="page")
    limit, _ = _page(limit, 0)
    entries = await _insights(info).activity(project["id"], item_id)
    chosen = entries[(page - 1) * limit : page * limit]
    return ActivityPage(total_count=len(entries), results=[ActivityEntry(**e) for e in chosen])


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def update_project(self, info: Info, project_id: str, input: ProjectInput) -> Project:
        project = await project_access(info, project_id, "project:write")
        updated = await info.context.services.tenancy.update_project(
            project["id"], input.given(), info.context.caller.user["id"]
        )
        return project_type(updated)

    @strawberry.mutation
    async def create_insight(self, info: Info, project_id: str, input: InsightInput) -> Insight:
        project = await project_access(info, project_id, "insight:write")
        user_id = info.context.caller.user["id"]
        document = await _insights(info).create(project["id"], user_id, input.given())
        return insight_type(document, project)

    @strawberry.mutation
    async def update_insight(self, info: Info, project_id: str, id: BigInt,
                             input: InsightInput) -> Insight:  # fmt: skip
        project = await project_access(info, project_id, "insight:write")
        user_id = info.context.caller.user["id"]
        document = await _insights(info).update(project["id"], id, user_id, input.given())
        return insight_type(document, project)

    @strawberry.mutation
    async def create_action(self, info: Info, project_id: str, input: JSON) -> Action:
        project = await project_access(info, project_id, "action:write")
        document = await Actions(info.context.services.metadata).create(
            project["id"], info.context.caller.user["id"], _object(input)
        )
        return action_type(document)

    @strawberry.mutation
    async def update_action(self, info: Info, project_id: str, id: BigInt,
                            input: JSON) -> Action:  # fmt: skip
        project = await project_access(info, project_id, "action:write")
        document = await Actions(info.context.services.metadata).update(
            project["id"], id, info.context.caller.user["id"], _object(input)
        )
        return action_type(document)

    @strawberry.mutation
    async def create_cohort(self, info: Info, project_id: str, input: JSON,
                            csv: str | None = None) -> Cohort:  # fmt: skip
        project = await project_access(info, project_id, "cohort:write")
        cohorts = Cohorts(info.context.services.metadata)
        if csv is not None and not _object(input).get("is_static"):
            raise ValidationError("only static cohorts take a list of people", attr="csv")
        document = await cohorts.create(project["id"], info.context.caller.user["id"],
                                        _object(input))  # fmt: skip
        if csv is not None:
            document = await cohorts.upload_csv(project["id"], document["id"], csv)
        return cohort_type(document)

    @strawberry.mutation
    async def update_cohort(self, info: Info, project_id: str, id: BigInt, input: JSON,
                            csv: str | None = None) -> Cohort:  # fmt: skip
        project = await project_access(info, project_id, "cohort:write")
        cohorts = Cohorts(info.context.services.metadata)
        document = await cohorts.update(project["id"], id, info.context.caller.user["id"],
                                        _object(input))  # fmt: skip
        if csv is not None:
            document = await cohorts.upload_csv(project["id"], id, csv)
        return cohort_type(document)

    @strawberry.mutation
    async def create_dashboard(self, info: Info, project_id: str,
                               input: DashboardInput) -> Dashboard:  # fmt: skip
        project = await project_access(info, project_id, "dashboard:write")
        boards = Dashboards(info.context.services.metadata)
        document = await boards.create(project["id"], info.context.caller.user["id"],
                                       input.given())  # fmt: skip
        return dashboard_type(document, project)

    @strawberry.mutation
    async def update_dashboard(self, info: Info, project_id: str, id: BigInt,
                               input: DashboardInput) -> Dashboard:  # fmt: skip
        project = await project_access(info, project_id, "dashboard:write")
        boards = Dashboards(info.context.services.metadata)
        document = await boards.update(project["id"], id, info.context.caller.user["id"],
                                       input.given())  # fmt: skip
        return dashboard_type(document, project)

    @strawberry.mutation
    async def update_dashboard_tile(self, info: Info, project_id: str, dashboard_id: BigInt,
                                    tile_id: BigInt, layouts: JSON | None = None,
                                    color: str | None = None) -> bool:  # fmt: skip
        project = await project_access(info, project_id, "dashboard:write")
        fields = {k: v for k, v in (("layouts", layouts), ("color", color)) if v is not None}
        await Dashboards(info.context.services.metadata).update_tile(
            project["id"], dashboard_id, tile_id, fields
        )
        return True

    @strawberry.mutation
    async def mark_insight_viewed(self, info: Info, project_id: str, id: BigInt) -> bool:
        project = await project_access(info, project_id, "insight:read")
        await _insights(info).viewed(project["id"], id, info.context.caller.user["id"])
        return True


class ErrorCodes(SchemaExtension):
    """Every error carries a machine-readable `code` in `extensions` (ours: PostHog's codes)."""

    def on_operation(self):
        yield
        result = self.execution_context.result
        for error in (result.errors if result else None) or []:
            original = error.original_error
            if isinstance(original, SpyglassError):
                code = original.code
            elif original is None or isinstance(original, GraphQLError):
                code = "graphql_validation"
            else:
                code = "internal_error"
            error.extensions = {**(error.extensions or {}), "code": code}
            if isinstance(original, SpyglassError) and original.attr:
                error.extensions["attr"] = original.attr


class MaskInternalErrors(MaskErrors):
    """Masks an unexpected error's message but keeps its code, so the REST shim answers 500."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "internal_error"}
        return masked


def _keep_message(error: GraphQLError) -> bool:
    """Mask everything but our own coded errors and GraphQL's validation messages."""
    original = error.original_error
    return not (original is None or isinstance(original, SpyglassError | GraphQLError))


_COMMON = [
    lambda: ParserCache(maxsize=256),
    lambda: ValidationCache(maxsize=256),
    lambda: MaskInternalErrors(should_mask_error=_keep_message),
    ErrorCodes,
    InputErrorFields,
]
# The public schema (/graphql) limits what a client may ask for.
schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    extensions=[
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        *_COMMON,
    ],
    config=StrawberryConfig(scalar_map=SCALAR_MAP),
)
# The REST shim runs only its own fixed documents, whose aliases spell PostHog's keys.
shim_schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    extensions=_COMMON,
    config=StrawberryConfig(scalar_map=SCALAR_MAP),
)
