"""Mutable entities as an append-only log in ClickHouse (`metadata_log`).

A mutation is one INSERT of the entity's next version (atomic); the current state is the
latest version; the same rows are the activity log. Ids come from a counter seeded from the
log and stay below 2^53 so JavaScript clients read them exactly. Read-modify-write runs under
a per-entity lock. Counters and locks are in-process for one gateway and in Redis for several
(gateway/coordination.py).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import datetime

from gateway.clock import Clock
from gateway.coordination import LocalCoordination, RedisCoordination
from gateway.store import Store

Coordination = LocalCoordination | RedisCoordination
MAX_ID = 2**53 - 1
COLUMNS = ["entity", "project_id", "id", "version", "document", "changes", "activity",
           "user_id", "created_at"]  # fmt: skip

_LATEST = """
SELECT id, argMax(document, version) AS doc, max(version) AS latest_version
FROM metadata_log
WHERE entity = {entity:String} {where}
GROUP BY id
ORDER BY id
"""


@dataclass(frozen=True)
class Entity:
    id: int
    version: int
    document: dict


class Metadata:
    def __init__(self, store: Store, clock: Clock, coordination: Coordination | None = None):
        self.store = store
        self.clock = clock
        self.coordination = coordination or LocalCoordination()

    async def _highest_id(self, entity: str) -> int:
        """The counter's seed: the highest id the log holds."""
        result = await self.store.query(
            "SELECT max(id) FROM metadata_log WHERE entity = {entity:String}",
            {"entity": entity},
        )
        return int(result.scalar() or 0)

    async def next_id(self, entity: str) -> int:
        value = await self.coordination.next_id(entity, lambda: self._highest_id(entity))
        if value > MAX_ID:
            raise OverflowError(f"{entity} ids exhausted")
        return value

    async def continue_ids_after(self, entity: str, last_id: int) -> None:
        """Ids of `entity` continue above `last_id` (ids assigned elsewhere, e.g. in a system
        migrated from, are never reused); never moves the counter back."""
        if not 0 <= last_id < MAX_ID:
            raise OverflowError(f"{entity} ids must stay below 2^53")
        await self.coordination.continue_after(entity, last_id, lambda: self._highest_id(entity))

    def lock(self, entity: str, entity_id: int) -> contextlib.AbstractAsyncContextManager:
        """Held around a read-modify-write of one entity (across gateways with Redis)."""
        return self.coordination.lock(entity, entity_id)

    async def close(self) -> None:
        await self.coordination.close()

    async def write(
        self,
        entity: str,
        project_id: int,
        entity_id: int,
        version: int,
        document: dict,
        *,
        activity: str,
        changes: list | None = None,
        user_id: int = 0,
        at: datetime | None = None,
    ) -> Entity:
        await self.store.insert("metadata_log", COLUMNS, [(
            entity, project_id, entity_id, version, json.dumps(document),
            json.dumps(changes or []), activity, user_id, at or self.clock.now(),
        )])  # fmt: skip
        return Entity(entity_id, version, document)

    async def write_many(self, versions: list[tuple]) -> None:
        """Several entities' next versions in ONE insert (all land or none do).

        Each item: (entity, project_id, id, version, document, activity, changes, user_id).
        """
        at = self.clock.now()
        rows = [
            (entity, project_id, entity_id, version, json.dumps(document),
             json.dumps(changes or []), activity, user_id, at)
            for entity, project_id, entity_id, version, document, activity, changes, user_id
            in versions
        ]  # fmt: skip
        await self.store.insert("metadata_log", COLUMNS, rows)

    async def create(
        self, entity: str, project_id: int, document: dict, *, user_id: int = 0
    ) -> Entity:
        entity_id = await self.next_id(entity)
        document = {**document, "id": entity_id}
        return await self.write(
            entity, project_id, entity_id, 1, document, activity="created", user_id=user_id
        )

    async def latest(
        self, entity: str, *, project_id: int | None = None, entity_id: int | None = None
    ) -> list[Entity]:
        where, params = "", {"entity": entity}
        if any(v is not None and not 0 <= v < 2**64 for v in (project_id, entity_id)):
            return []  # ids are UInt64: a negative or huge one names nothing
        if project_id is not None:
            where += " AND project_id = {project_id:UInt64}"
            params["project_id"] = project_id
        if entity_id is not None:
            where += " AND id = {entity_id:UInt64}"
            params["entity_id"] = entity_id
        result = await self.store.query(_LATEST.replace("{where}", where), params)
        return [Entity(int(i), int(v), json.loads(doc)) for i, doc, v in result.rows]

    async def live(self, entity: str, project_id: int, entity_id: int, *,
                   deleted_ok: bool = False) -> Entity:  # fmt: skip
        """The entity in this project, not soft-deleted (unless `deleted_ok`), or NotFound."""
        from gateway.errors import NotFound

        found = await self.latest(entity, project_id=project_id, entity_id=entity_id)
        if not found or (found[0].document.get("deleted") and not deleted_ok):
            raise NotFound("Not found.")
        return found[0]

    async def get(self, entity: str, entity_id: int) -> Entity | None:
        found = await self.latest(entity, entity_id=entity_id)
        return found[0] if found else None
