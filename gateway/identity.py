"""Who did it: distinct ids → persons, merges, and group type indexes.

A person's id is derived from (project, distinct id) — the first distinct id it was seen
with — so every gateway, the bulk importer (in SQL) and the demo loader assign the same id
without coordination. `$identify` and `$create_alias` merge two persons by writing an
override (old person → surviving person); events keep the id they were written with and
queries map it through `person_overrides`. Overrides are kept flat: when the survivor is
itself merged later, every override pointing at it is re-pointed (a newer version).

The state here is a per-project cache of what ClickHouse holds, loaded on first use. It is
correct for one gateway process; several gateways would need it in Redis (not built yet).
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from gateway.store import Store

MAX_GROUP_TYPES = 5


def person_id_for(project_id: int, distinct_id: str) -> uuid.UUID:
    """MD5 of "project:distinct_id" as a UUID; SQL computes the same with MD5() (importer)."""
    return uuid.UUID(bytes=hashlib.md5(f"{project_id}:{distinct_id}".encode()).digest())


@dataclass
class PersonWrites:
    """Rows produced by identity decisions, inserted with the events that caused them."""

    distinct_ids: list[tuple] = field(default_factory=list)
    persons: list[tuple] = field(default_factory=list)
    overrides: list[tuple] = field(default_factory=list)
    group_types: list[tuple] = field(default_factory=list)


@dataclass
class ProjectIdentity:
    project_id: int
    # distinct ids already recorded → their derived person id (saves an MD5 per event)
    seen: dict[str, uuid.UUID] = field(default_factory=dict)
    overrides: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # old → survivor
    merged_from: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)  # survivor → olds
    identified: set[uuid.UUID] = field(default_factory=set)
    group_types: dict[str, int] = field(default_factory=dict)
    override_version: int = 0

    def resolve(self, person_id: uuid.UUID) -> uuid.UUID:
        return self.overrides.get(person_id, person_id)

    def person_for(self, distinct_id: str, at: datetime, out: PersonWrites) -> uuid.UUID:
        derived = self.seen.get(distinct_id)
        if derived is None:
            derived = person_id_for(self.project_id, distinct_id)
            self.seen[distinct_id] = derived
            out.distinct_ids.append((self.project_id, distinct_id, derived, at))
            if derived not in self.overrides:
                out.persons.append((self.project_id, derived, at, 0, 0))
        return self.resolve(derived)

    def _merge(self, old: uuid.UUID, survivor: uuid.UUID, at: datetime, out: PersonWrites):
        if old == survivor:
            return
        self.override_version += 1
        moved = {old} | self.merged_from.pop(old, set())
        for person in moved:
            self.overrides[person] = survivor
            out.overrides.append((self.project_id, person, survivor, self.override_version, at))
        self.merged_from.setdefault(survivor, set()).update(moved)
        if old in self.identified:
            self.identified.add(survivor)

    def _mark_identified(self, person: uuid.UUID, at: datetime, out: PersonWrites):
        if person not in self.identified:
            self.identified.add(person)
            out.persons.append((self.project_id, person, at, 1, 1))

    def identify(self, distinct_id: str, anon_id: str, at: datetime, out: PersonWrites):
        """$identify: the anonymous id's person joins the identified one, as PostHog does.

        If the identified id is new, it simply joins the anonymous person. If both exist, the
        anonymous person is merged in — unless it was already identified as someone else.
        """
        known = distinct_id in self.seen
        target = self.person_for(distinct_id, at, out)
        if anon_id and anon_id != distinct_id:
            anon_known = anon_id in self.seen
            anon = self.person_for(anon_id, at, out)
            if not known:
                self._merge(target, anon, at, out)
                target = anon
            elif anon_known and anon in self.identified:
                pass  # an identified person is never merged away by $identify
            else:
                self._merge(anon, target, at, out)
        self._mark_identified(self.resolve(target), at, out)
        return self.resolve(target)

    def alias(self, distinct_id: str, alias: str, at: datetime, out: PersonWrites):
        """$create_alias: the alias's person is merged into the distinct id's person."""
        target = self.person_for(distinct_id, at, out)
        if alias and alias != distinct_id:
            other = self.person_for(alias, at, out)
            self._merge(other, target, at, out)
        return self.resolve(target)

    def group_type_index(self, group_type: str, at: datetime, out: PersonWrites) -> int | None:
        index = self.group_types.get(group_type)
        if index is None:
            if len(self.group_types) >= MAX_GROUP_TYPES:
                return None
            index = len(self.group_types)
            self.group_types[group_type] = index
            out.group_types.append((self.project_id, group_type, index, at))
        return index


class IdentityCache:
    """ProjectIdentity per project, loaded from ClickHouse the first time a project is seen."""

    def __init__(self, store: Store):
        self.store = store
        self._projects: dict[int, ProjectIdentity] = {}
        self._loading = asyncio.Lock()

    async def project(self, project_id: int) -> ProjectIdentity:
        state = self._projects.get(project_id)
        if state is None:
            async with self._loading:  # two first requests must not load two states
                state = self._projects.get(project_id)
                if state is None:
                    state = await self._load(project_id)
                    self._projects[project_id] = state
        return state

    def forget(self, project_ids) -> None:
        """Drop cached state (after a failed write) so it is reloaded from ClickHouse."""
        for project_id in project_ids:
            self._projects.pop(project_id, None)

    async def _load(self, project_id: int) -> ProjectIdentity:
        state = ProjectIdentity(project_id)
        p = {"project_id": project_id}
        ids = await self.store.query(
            "SELECT DISTINCT distinct_id FROM person_distinct_ids "
            "WHERE project_id = {project_id:UInt64}",
            p,
        )
        state.seen = {row[0]: person_id_for(project_id, row[0]) for row in ids.rows}
        overrides = await self.store.query(
            "SELECT old_person_id, argMax(override_person_id, version), max(version) "
            "FROM person_overrides WHERE project_id = {project_id:UInt64} GROUP BY old_person_id",
            p,
        )
        for old, new, version in overrides.rows:
            old, new = uuid.UUID(str(old)), uuid.UUID(str(new))
            state.overrides[old] = new
            state.merged_from.setdefault(new, set()).add(old)
            state.override_version = max(state.override_version, int(version))
        identified = await self.store.query(
            "SELECT DISTINCT id FROM persons "
            "WHERE project_id = {project_id:UInt64} AND is_identified",
            p,
        )
        state.identified = {uuid.UUID(str(row[0])) for row in identified.rows}
        groups = await self.store.query(
            "SELECT group_type, min(group_type_index) FROM group_type_mapping "
            "WHERE project_id = {project_id:UInt64} GROUP BY group_type",
            p,
        )
        state.group_types = {row[0]: int(row[1]) for row in groups.rows}
        return state
