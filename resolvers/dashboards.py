"""Dashboards and their tiles, on the metadata log.

A tile (dashboard, insight, layouts, color) is its own entity, and the only record of which
insight sits on which dashboard: an insight's `dashboards` list is read from live tiles. So
adding an insight to dashboards, or deleting it (which soft-deletes its tiles), is one INSERT of
the insight's and the tiles' next versions — atomic, never half-written.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.errors import NotFound, ValidationError
from gateway.metadata import Entity, Metadata

DASHBOARD = "dashboard"
TILE = "dashboard_tile"
WRITABLE = ("name", "description", "pinned", "tags", "filters", "deleted")
TILE_WRITABLE = ("layouts", "color")
MAX_TILES = 100


def check_fields(fields: dict) -> dict:
    out = {}
    for key in WRITABLE:
        if key not in fields:
            continue
        value = fields[key]
        if key in ("name", "description") and value is not None and not isinstance(value, str):
            raise ValidationError(f"{key} must be a string", attr=key)
        if key in ("pinned", "deleted") and not isinstance(value, bool):
            raise ValidationError(f"{key} must be a boolean", attr=key)
        if key == "tags" and (
            not isinstance(value, list) or not all(isinstance(t, str) for t in value)
        ):
            raise ValidationError("tags must be a list of strings", attr=key)
        if key == "filters" and not isinstance(value, dict):
            raise ValidationError("filters must be an object", attr=key)
        out[key] = sorted(set(value)) if key == "tags" else value
    return out


def check_tile(fields: dict) -> dict:
    out = {}
    if "layouts" in fields:
        if not isinstance(fields["layouts"], dict):
            raise ValidationError("layouts must be an object", attr="layouts")
        out["layouts"] = fields["layouts"]
    if "color" in fields:
        if fields["color"] is not None and not isinstance(fields["color"], str):
            raise ValidationError("color must be a string", attr="color")
        out["color"] = fields["color"]
    return out


@dataclass
class Dashboards:
    metadata: Metadata

    async def create(self, project_id: int, user_id: int, fields: dict) -> dict:
        values = check_fields(fields)
        now = self.metadata.clock.now().isoformat()
        entity = await self.metadata.create(DASHBOARD, project_id, {
            "name": "", "description": "", "pinned": False, "tags": [], "filters": {},
            "deleted": False, "created_at": now, "created_by": user_id, "creation_mode": "default",
            "last_accessed_at": None, **values,
        }, user_id=user_id)  # fmt: skip
        return entity.document

    async def _entity(self, project_id: int, dashboard_id: int, *, deleted_ok=False) -> Entity:
        return await self.metadata.live(DASHBOARD, project_id, dashboard_id, deleted_ok=deleted_ok)

    async def get(self, project_id: int, dashboard_id: int) -> dict:
        return (await self._entity(project_id, dashboard_id)).document

    async def all(self, project_id: int) -> list[dict]:
        return [e.document for e in await self.metadata.latest(DASHBOARD, project_id=project_id)
                if not e.document.get("deleted")]  # fmt: skip

    async def update(self, project_id: int, dashboard_id: int, user_id: int,
                     fields: dict) -> dict:  # fmt: skip
        values = check_fields(fields)
        async with self.metadata.lock(DASHBOARD, dashboard_id):
            entity = await self._entity(project_id, dashboard_id,
                                        deleted_ok=values.get("deleted") is False)  # fmt: skip
            document = {**entity.document, **values}
            await self.metadata.write(DASHBOARD, project_id, dashboard_id, entity.version + 1,
                                      document, activity="updated", user_id=user_id)  # fmt: skip
            return document

    # -- tiles --------------------------------------------------------------------------------

    async def tiles(self, project_id: int) -> list[Entity]:
        """Live tiles of the project (tile not deleted, its dashboard not deleted)."""
        live = {d["id"] for d in await self.all(project_id)}
        return [t for t in await self.metadata.latest(TILE, project_id=project_id)
                if not t.document["deleted"] and t.document["dashboard_id"] in live]  # fmt: skip

    async def tiles_of(self, project_id: int, dashboard_id: int) -> list[dict]:
        """The live tiles of one dashboard of the project (none once it is deleted)."""
        tiles = [t.document for t in await self.tiles(project_id)
                 if t.document["dashboard_id"] == dashboard_id]  # fmt: skip
        return sorted(tiles, key=lambda t: (t.get("order", 0), t["id"]))

    async def dashboards_by_insight(self, project_id: int) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for tile in await self.tiles(project_id):
            out.setdefault(tile.document["insight_id"], []).append(tile.document["dashboard_id"])
        return {k: sorted(set(v)) for k, v in out.items()}

    async def tile_versions(self, project_id: int, insight_id: int, wanted: list[int] | None,
                            *, deleting: bool = False) -> list[tuple]:  # fmt: skip
        """The tile writes that put an insight on exactly `wanted` (or off every dashboard)."""
        live_dashboards = {d["id"] for d in await self.all(project_id)}
        if wanted is not None:
            missing = [d for d in wanted if d not in live_dashboards]
            if missing:
                raise ValidationError("Dashboard not found", attr="dashboards")
        tiles = [t for t in await self.metadata.latest(TILE, project_id=project_id)
                 if t.document["insight_id"] == insight_id]  # fmt: skip
        target = set() if deleting else set(wanted or [])
        versions = []
        present = set()
        for tile in tiles:
            dashboard = tile.document["dashboard_id"]
            keep = dashboard in target
            present.add(dashboard)
            if tile.document["deleted"] == (not keep):
                continue
            document = {**tile.document, "deleted": not keep}
            versions.append((TILE, project_id, tile.id, tile.version + 1, document, "updated",
                             None, 0))  # fmt: skip
        for dashboard in sorted(target - present):
            tile_id = await self.metadata.next_id(TILE)
            versions.append((TILE, project_id, tile_id, 1, {
                "id": tile_id, "dashboard_id": dashboard, "insight_id": insight_id,
                "layouts": {}, "color": None, "deleted": False, "order": 0,
            }, "created", None, 0))  # fmt: skip
        return versions

    async def update_tile(self, project_id: int, dashboard_id: int, tile_id: int,
                          fields: dict) -> dict:  # fmt: skip
        values = check_tile(fields)
        insight_id = (await self._live_tile(project_id, dashboard_id, tile_id)).document[
            "insight_id"]  # fmt: skip
        # A tile is also written when its insight moves on or off dashboards, under the
        # insight's lock (resolvers/insights.py): taking the same lock keeps a colour change
        # from bringing back a tile removed meanwhile, or a removal from losing the colour.
        async with self.metadata.lock("insight", insight_id):
            found = await self._live_tile(project_id, dashboard_id, tile_id)
            document = {**found.document, **values}
            await self.metadata.write(TILE, project_id, tile_id, found.version + 1, document,
                                      activity="updated")  # fmt: skip
            return document

    async def _live_tile(self, project_id: int, dashboard_id: int, tile_id: int) -> Entity:
        found = await self.metadata.latest(TILE, project_id=project_id, entity_id=tile_id)
        if not found or found[0].document["dashboard_id"] != dashboard_id or \
                found[0].document["deleted"]:  # fmt: skip
            raise NotFound("Tile not found.")
        return found[0]
