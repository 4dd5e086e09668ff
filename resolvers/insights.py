"""Saved insights: create, read, list, update, soft delete, view — on the metadata log.

Every call takes the project id: an insight is only ever looked up within its project, so no
path can reach another tenant's rows (PostHog's fail-closed parent lookup). Updates run under
the insight's lock (read, diff, write one new version), so concurrent PATCHes never lose a
field, and every material change is one activity entry in the same INSERT.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from gateway.errors import NotFound, ValidationError
from gateway.metadata import Entity, Metadata
from resolvers.dashboards import Dashboards
from resolvers.filters import filters_hash
from resolvers.insight_list import Views

ENTITY = "insight"
WRITABLE = ("name", "derived_name", "filters", "order", "deleted", "dashboards", "description",
            "tags", "favorited", "saved")  # fmt: skip
MATERIAL = ("name", "description", "filters")  # these move last_modified_at (PostHog)
# Fields PostHog leaves out of activity diffs.
NOT_LOGGED = {"id", "filters_hash", "created_at", "updated_at", "last_modified_at", "order",
              "last_refresh", "saved", "is_sample", "last_modified_by", "short_id", "created_by",
              "last_viewed_at", "viewed_by"}  # fmt: skip
MAX_NAME = 400
MAX_TAGS = 100
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_BITS = 47  # ids stay below 2^47 here (and so below 2^53 for JavaScript)
_MIX = 0x5DEECE66D  # odd: multiplication mod 2^47 is a bijection


def short_id_for(insight_id: int) -> str:
    """8 base62 characters, unique by construction: a bijective scramble of the id."""
    if not 0 < insight_id < 2**_ID_BITS:
        raise OverflowError("insight id out of range")
    n = ((insight_id * _MIX) % 2**_ID_BITS) ^ 0x2A5A5A5A5A5
    out = []
    for _ in range(8):
        n, digit = divmod(n, 62)
        out.append(_BASE62[digit])
    return "".join(reversed(out))


def _check(fields: dict) -> dict:
    """Validate writable fields; unknown keys are ignored as PostHog's serializer does."""
    out = {}
    for key in WRITABLE:
        if key not in fields:
            continue
        value = fields[key]
        if key in ("name", "derived_name", "description"):
            if value is not None and not isinstance(value, str):
                raise ValidationError(f"{key} must be a string", attr=key)
            if key != "description" and value and len(value) > MAX_NAME:
                raise ValidationError(f"Ensure this field has no more than {MAX_NAME} characters.",
                                      attr=key, code="max_length")  # fmt: skip
        elif key == "filters":
            if value is None:
                value = {}
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    raise ValidationError("filters must be a JSON object", attr=key) from None
            if not isinstance(value, dict):
                raise ValidationError("filters must be an object", attr=key)
        elif key == "order":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValidationError("order must be an integer", attr=key)
        elif key in ("deleted", "favorited", "saved"):
            if not isinstance(value, bool):
                raise ValidationError(f"{key} must be a boolean", attr=key)
        elif key == "tags":
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                raise ValidationError("tags must be a list of strings", attr=key)
            if len(value) > MAX_TAGS:
                raise ValidationError(f"at most {MAX_TAGS} tags", attr=key)
            value = sorted(set(value))
        elif key == "dashboards" and not _is_id_list(value):
            raise ValidationError("dashboards must be a list of dashboard ids", attr=key)
        out[key] = value
    return out


def _is_id_list(value) -> bool:
    return isinstance(value, list) and all(
        isinstance(d, int) and not isinstance(d, bool) for d in value
    )


def with_defaults(filters: dict) -> dict:
    """A saved insight without `insight` is a trends insight (PostHog fills it in)."""
    return filters if not filters or "insight" in filters else {**filters, "insight": "TRENDS"}


@dataclass
class Insights:
    metadata: Metadata

    @property
    def boards(self) -> Dashboards:
        return Dashboards(self.metadata)

    async def _with_dashboards(self, project_id: int, documents: list[dict]) -> list[dict]:
        """Attach each insight's dashboards, read from live tiles (their only record)."""
        on = await self.boards.dashboards_by_insight(project_id)
        return [{**d, "dashboards": on.get(d["id"], [])} for d in documents]

    async def create(self, project_id: int, user_id: int, fields: dict) -> dict:
        values = _check(fields)
        if values.get("deleted"):
            raise ValidationError("cannot create a deleted insight", attr="deleted")
        wanted = values.pop("dashboards", None)
        insight_id = await self.metadata.next_id(ENTITY)
        now = self.metadata.clock.now().isoformat()
        document = {
            "id": insight_id, "short_id": short_id_for(insight_id), "name": None,
            "derived_name": None, "filters": {}, "order": None, "deleted": False,
            "dashboards": [], "description": "", "tags": [], "favorited": False,
            "saved": False, "created_at": now, "created_by": user_id, "updated_at": now,
            "last_modified_at": now, "last_modified_by": user_id, "is_sample": False,
            **values,
        }  # fmt: skip
        document["filters"] = with_defaults(document["filters"])
        document["filters_hash"] = filters_hash(document["filters"], project_id)
        # PostHog writes no activity for an insight with neither name nor derived name.
        activity = "created" if (document["name"] or document["derived_name"]) else "created_quiet"
        tiles = await self.boards.tile_versions(project_id, insight_id, wanted) if wanted else []
        stored = {k: v for k, v in document.items() if k != "dashboards"}
        await self.metadata.write_many(
            [(ENTITY, project_id, insight_id, 1, stored, activity, None, user_id), *tiles]
        )
        return (await self._with_dashboards(project_id, [stored]))[0]

    async def _entity(self, project_id: int, insight_id: int, *, deleted_ok=False) -> Entity:
        return await self.metadata.live(ENTITY, project_id, insight_id, deleted_ok=deleted_ok)

    async def get(self, project_id: int, insight_id: int) -> dict:
        document = (await self._entity(project_id, insight_id)).document
        return (await self._with_dashboards(project_id, [document]))[0]

    async def get_by_short_id(self, project_id: int, short_id: str) -> dict:
        for document in await self.all(project_id):
            if document["short_id"] == short_id:
                return document
        raise NotFound("Not found.")

    async def all(self, project_id: int) -> list[dict]:
        """Every live insight of the project (deleted ones are gone everywhere but restore)."""
        entities = await self.metadata.latest(ENTITY, project_id=project_id)
        live = [e.document for e in entities if not e.document.get("deleted")]
        return await self._with_dashboards(project_id, live)

    async def update(self, project_id: int, insight_id: int, user_id: int, fields: dict) -> dict:
        values = _check(fields)
        async with self.metadata.lock(ENTITY, insight_id):
            # A deleted insight is reachable only to restore it.
            entity = await self._entity(project_id, insight_id,
                                        deleted_ok=values.get("deleted") is False)  # fmt: skip
            before = (await self._with_dashboards(project_id, [entity.document]))[0]
            wanted = values.pop("dashboards", None)
            deleting = values.get("deleted") is True
            tiles = []
            if wanted is not None or deleting:
                tiles = await self.boards.tile_versions(project_id, insight_id, wanted,
                                                        deleting=deleting)  # fmt: skip
            after = {**before, **values}
            if wanted is not None:
                after["dashboards"] = sorted(set(wanted))
            if "filters" in values:
                after["filters"] = with_defaults(after["filters"])
                after["filters_hash"] = filters_hash(after["filters"], project_id)
            now = self.metadata.clock.now().isoformat()
            after["updated_at"] = now
            after["is_sample"] = False
            if any(before.get(k) != after.get(k) for k in MATERIAL):
                after["last_modified_at"], after["last_modified_by"] = now, user_id
            changes = diff(before, after)
            if wanted is not None and before["dashboards"] != after["dashboards"]:
                names = {d["id"]: d["name"] for d in await self.boards.all(project_id)}
                for change in changes:
                    if change["field"] == "dashboards":  # PostHog logs {id, name} pairs
                        change["before"] = [
                            {"id": i, "name": names.get(i)} for i in before["dashboards"]
                        ]
                        change["after"] = [
                            {"id": i, "name": names.get(i)} for i in after["dashboards"]
                        ]
            stored = {k: v for k, v in after.items() if k != "dashboards"}
            activity = "updated" if changes else "updated_quiet"
            await self.metadata.write_many([
                (ENTITY, project_id, insight_id, entity.version + 1, stored, activity, changes,
                 user_id), *tiles,
            ])  # fmt: skip
            if deleting:
                after["dashboards"] = []
            return after

    async def viewed(self, project_id: int, insight_id: int, user_id: int) -> None:
        await self._entity(project_id, insight_id)
        await self.metadata.store.insert(
            "metadata_log",
            ["entity", "project_id", "id", "version", "document", "changes", "activity",
             "user_id", "created_at"],
            [("insight_viewed", project_id, insight_id, 0, "{}", "[]", "viewed", user_id,
              self.metadata.clock.now())],
        )  # fmt: skip

    async def views(self, project_id: int, user_id: int) -> Views:
        """Each insight's latest view, by anyone in the project and by this user."""
        rows = await self.metadata.store.query(
            "SELECT id, user_id, max(created_at) FROM metadata_log "
            "WHERE entity = 'insight_viewed' AND project_id = {project_id:UInt64} "
            "GROUP BY id, user_id",
            {"project_id": project_id},
        )
        anyone: dict[int, datetime] = {}
        mine: dict[int, datetime] = {}
        for insight, viewer, at in rows.rows:
            insight = int(insight)
            anyone[insight] = max(at, anyone.get(insight, at))
            if int(viewer) == user_id:
                mine[insight] = at
        return Views(anyone, mine)

    async def activity(self, project_id: int, insight_id: int | None = None) -> list[dict]:
        """Activity entries, newest first; a deleted insight's history is gone with it."""
        where = "entity = 'insight' AND project_id = {project_id:UInt64}"
        params: dict = {"project_id": project_id}
        if insight_id is not None:
            await self._entity(project_id, insight_id)
            where += " AND id = {insight_id:UInt64}"
            params["insight_id"] = insight_id
        rows = await self.metadata.store.query(
            "SELECT id, version, document, changes, activity, user_id, created_at "
            f"FROM metadata_log WHERE {where} AND activity IN ('created', 'updated') "
            "ORDER BY created_at DESC, version DESC",
            params,
        )
        live = {d["id"] for d in await self.all(project_id)}
        entries = []
        for insight, version, document, changes, activity, user_id, created_at in rows.rows:
            if int(insight) not in live:
                continue
            doc = json.loads(document)
            entries.append({
                "id": f"{insight}-{version}", "user_id": int(user_id), "activity": activity,
                "scope": "Insight", "item_id": str(insight), "created_at": created_at,
                "detail": {"id": int(insight), "changes": json.loads(changes) or None,
                           "merge": None, "trigger": None, "type": None,
                           "name": doc.get("name") or doc.get("derived_name"),
                           "short_id": doc.get("short_id")},
            })  # fmt: skip
        return entries


def diff(before: dict, after: dict) -> list[dict]:
    """PostHog's field-level changes between two versions of an insight."""
    changes = []
    for field in sorted(set(before) | set(after)):
        if field in NOT_LOGGED or before.get(field) == after.get(field):
            continue
        old, new = before.get(field), after.get(field)
        action = "created" if old in (None, "", [], {}) else (
            "deleted" if new in (None, "", [], {}) else "changed")  # fmt: skip
        changes.append({"type": "Insight", "action": action, "field": field, "before": old,
                        "after": new})  # fmt: skip
    return changes
