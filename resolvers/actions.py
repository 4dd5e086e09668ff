"""Actions: named definitions of "what counts" — steps ORed, each an event name with optional
url, element and property conditions. Stored on the metadata log; insights reference them by
id, and `compile_entity` turns them into SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.errors import ValidationError
from gateway.metadata import Metadata
from resolvers.properties import parse_properties

ENTITY = "action"
MAX_STEPS = 50
URL_MATCHING = ("contains", "exact", "regex")
ELEMENT_MATCHING = ("contains", "exact", "regex")


def check_steps(steps) -> list[dict]:
    if not isinstance(steps, list):
        raise ValidationError("steps must be a list", attr="steps")
    if len(steps) > MAX_STEPS:
        raise ValidationError(f"at most {MAX_STEPS} steps", attr="steps")
    out = []
    for index, step in enumerate(steps):
        attr = f"steps[{index}]"
        if not isinstance(step, dict):
            raise ValidationError(f"{attr} must be an object", attr=attr)
        clean = {"event": step.get("event")}
        if clean["event"] is not None and not isinstance(clean["event"], str):
            raise ValidationError(f"{attr}.event must be a string", attr=f"{attr}.event")
        for key in ("url", "text", "href", "selector", "tag_name"):
            if step.get(key) is not None:
                if not isinstance(step[key], str):
                    raise ValidationError(f"{attr}.{key} must be a string", attr=f"{attr}.{key}")
                clean[key] = step[key]
        for key, allowed in (("url_matching", URL_MATCHING), ("text_matching", ELEMENT_MATCHING),
                             ("href_matching", ELEMENT_MATCHING)):  # fmt: skip
            if step.get(key) is not None:
                if step[key] not in allowed:
                    raise ValidationError(f"{attr}.{key} must be one of {', '.join(allowed)}",
                                          attr=f"{attr}.{key}")  # fmt: skip
                clean[key] = step[key]
        if clean.get("url_matching") == "regex" and clean.get("url"):
            try:
                re.compile(clean["url"])
            except re.error as exc:
                raise ValidationError(f"{attr}.url: invalid regex: {exc}",
                                      attr=f"{attr}.url") from None  # fmt: skip
        if step.get("properties"):
            parse_properties(step["properties"], f"{attr}.properties")
            clean["properties"] = step["properties"]
        out.append(clean)
    return out


@dataclass
class Actions:
    metadata: Metadata

    async def create(self, project_id: int, user_id: int, fields: dict) -> dict:
        name = fields.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("name is required", attr="name")
        now = self.metadata.clock.now().isoformat()
        entity = await self.metadata.create(ENTITY, project_id, {
            "name": name, "description": str(fields.get("description") or ""),
            "steps": check_steps(fields.get("steps") or []), "deleted": False,
            "created_at": now, "created_by": user_id, "tags": [],
        }, user_id=user_id)  # fmt: skip
        return entity.document

    async def all(self, project_id: int) -> list[dict]:
        return [e.document for e in await self.metadata.latest(ENTITY, project_id=project_id)
                if not e.document.get("deleted")]  # fmt: skip

    async def by_id(self, project_id: int) -> dict[int, dict]:
        return {a["id"]: a for a in await self.all(project_id)}

    async def get(self, project_id: int, action_id: int) -> dict:
        return (await self.metadata.live(ENTITY, project_id, action_id)).document

    async def update(self, project_id: int, action_id: int, user_id: int, fields: dict) -> dict:
        async with self.metadata.lock(ENTITY, action_id):
            found = await self.metadata.live(ENTITY, project_id, action_id,
                                             deleted_ok=fields.get("deleted") is False)  # fmt: skip
            document = dict(found.document)
            if "name" in fields:
                if not isinstance(fields["name"], str) or not fields["name"].strip():
                    raise ValidationError("name must be a non-empty string", attr="name")
                document["name"] = fields["name"]
            if "description" in fields:
                document["description"] = str(fields["description"] or "")
            if "steps" in fields:
                document["steps"] = check_steps(fields["steps"])
            if "deleted" in fields:
                if not isinstance(fields["deleted"], bool):
                    raise ValidationError("deleted must be a boolean", attr="deleted")
                document["deleted"] = fields["deleted"]
            await self.metadata.write(ENTITY, project_id, action_id, found.version + 1,
                                      document, activity="updated", user_id=user_id)  # fmt: skip
            return document
