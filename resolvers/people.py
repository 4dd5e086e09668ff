"""Every people endpoint by kind: the engine that finds the actors behind one data point.

Each takes (store, project, filters, *, now, actions, cohorts) — the insight's filter with the
point's keys over it, `limit`/`offset` among them — and answers an ActorPage. Retention and
paths cut their own page of actor ids (their SQL orders by appearances, or by person id); here
those ids become serialised actors too.
"""

from __future__ import annotations

from datetime import datetime

from resolvers.actors import ActorPage, page_of, serialised
from resolvers.funnels_people import funnel_people
from resolvers.paths import paths_people
from resolvers.retention import retention_people
from resolvers.trends_people import lifecycle_actors, stickiness_actors, trends_actors


def _serialising(engine):
    """An engine answering {"results": ids or {"actor", ...} rows, "total"} as an ActorPage."""

    async def people(store, project: dict, filters: dict, *, now: datetime,
                     actions: dict | None = None,
                     cohorts: dict | None = None) -> ActorPage:  # fmt: skip
        page_of(filters)  # the one check of limit/offset every people endpoint makes
        found = await engine(store, project, filters, now=now, actions=actions, cohorts=cohorts)
        rows = [r if isinstance(r, dict) else {"actor": r} for r in found["results"]]
        return await serialised(store, int(project["id"]), found["total"], rows,
                                found.get("group_type_index"))  # fmt: skip

    return people


retention_actors = _serialising(retention_people)
path_actors = _serialising(paths_people)

PEOPLE = {
    "trends": trends_actors,
    "stickiness": stickiness_actors,
    "lifecycle": lifecycle_actors,
    "funnel": funnel_people,
    "retention": retention_actors,
    "path": path_actors,
}
