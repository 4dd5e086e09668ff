"""Squashing person merges into events, as PostHog's squash job does.

A merge writes an override (old person id → survivor) and leaves events alone; every query
over events then joins its project's overrides, a hash lookup per event (at 10M events with
218k overrides, about 170 ms of a 400 ms daily-active-users query). Squashing rewrites the
person_id of the events of merged ids to their survivor and records the overrides' version as
the project's mark; queries over events then join only the overrides above the mark
(sql/filters/event_overrides.sql). Other tables keep mapping through every override.

Why results never change, during or after a squash:
- The mark is written only once the mutation has finished on every part. Until then queries
  join every override above the old mark, which maps an event correctly whether its part has
  been rewritten yet or not: a rewritten event holds its id's survivor as of the snapshot,
  and a merge of that survivor is an override of its own.
- After the mark, an event of an id whose overrides are all at or below it holds that id's
  survivor; a newer merge of the survivor or of the id is above the mark and still joined.
- Events are resolved to a person when ingested, so after a merge is recorded new events of
  the old id get the survivor; only events resolved before it, still in a flush, can carry
  the old id. The snapshot is taken `grace_s` before the rewrite, so those have landed.

Needs ClickHouse's database-qualified joinGet in a mutation (chDB, ClickHouse 20+).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from gateway.errors import StoreError
from gateway.store import Store

DEFAULT_GRACE_S = 60.0

_PENDING = """
SELECT o.project_id, max(o.version) AS version
FROM person_overrides AS o
LEFT JOIN (SELECT project_id, max(version) AS mark FROM person_overrides_squashed
           GROUP BY project_id) AS s ON s.project_id = o.project_id
WHERE o.version > s.mark
GROUP BY o.project_id
ORDER BY o.project_id
"""

_MARKS = """
SELECT project_id, max(version) FROM person_overrides_squashed
WHERE project_id IN {project_ids:Array(UInt64)} GROUP BY project_id
"""
_LATEST = """
SELECT project_id, max(version) FROM person_overrides
WHERE project_id IN {project_ids:Array(UInt64)} GROUP BY project_id
"""

# Every merged id → its survivor as of the last squash, all projects, in memory (a Join table,
# kept on disk by ClickHouse). Never dropped: ClickHouse applies a mutation lazily to a part it
# did not change and replays it when a later mutation rewrites that part, so every mutation's
# lookup must outlive it. A replay finds a later survivor than the one at its own snapshot,
# which is as right (a survivor at a later snapshot has no merge at or below it).
MAP = "person_squash_map"
_CREATE_MAP = f"""
CREATE TABLE IF NOT EXISTS {MAP} (project_id UInt64, old UUID, survivor UUID)
ENGINE = Join(ANY, LEFT, project_id, old) SETTINGS join_any_take_last_row = 1
"""

# Per due project, every id with an override newer than its mark, to the survivor it had at
# the project's snapshot (the arrays are aligned: project i's snapshot and mark).
_DUE = """
SELECT project_id, old_person_id, argMax(override_person_id, version)
FROM person_overrides
WHERE project_id IN {project_ids:Array(UInt64)}
    AND version <= {snapshots:Array(UInt64)}[indexOf({project_ids:Array(UInt64)}, project_id)]
GROUP BY project_id, old_person_id
HAVING max(version) > {marks:Array(UInt64)}[indexOf({project_ids:Array(UInt64)}, project_id)]
"""
_FILL_MAP = f"INSERT INTO {MAP} {_DUE}"
_DUE_COUNTS = f"SELECT project_id, count() FROM ({_DUE}) GROUP BY project_id"

_MERGED_IDS = f"""(
    SELECT project_id, old FROM {MAP} WHERE project_id IN {{project_ids:Array(UInt64)}}
)"""

_TO_REWRITE = f"""
SELECT project_id, count() FROM events
WHERE project_id IN {{project_ids:Array(UInt64)}} AND (project_id, person_id) IN {_MERGED_IDS}
GROUP BY project_id
"""

# One mutation for every project at once: a mutation visits every part of the table, so its
# cost grows with the parts, not with the projects it rewrites.
_REWRITE = f"""
ALTER TABLE events
UPDATE person_id = joinGet('__DATABASE__.{MAP}', 'survivor', project_id, person_id)
WHERE project_id IN {{project_ids:Array(UInt64)}} AND (project_id, person_id) IN {_MERGED_IDS}
SETTINGS mutations_sync = 2, allow_nondeterministic_mutations = 1
"""

log = logging.getLogger("spyglass.squash")
_lock = asyncio.Lock()  # one squash at a time per process: two would race on the mark


async def _pending(store: Store) -> dict[int, int]:
    """Projects with overrides newer than their mark → their latest override version."""
    return {int(pid): int(version) for pid, version in (await store.query(_PENDING)).rows}


async def pending_projects(store: Store) -> list[int]:
    """Projects with overrides newer than their mark."""
    return list(await _pending(store))


async def squash(store: Store, project_id: int, *, grace_s: float = DEFAULT_GRACE_S) -> dict:
    """Rewrite one project's events for every merge recorded `grace_s` ago; return a report."""
    latest = dict((await store.query(_LATEST, {"project_ids": [project_id]})).rows)
    return (await _squash(store, {project_id: latest.get(project_id, 0)}, grace_s))[0]


async def squash_all(store: Store, *, grace_s: float = DEFAULT_GRACE_S) -> list[dict]:
    """Squash every project with new merges, in one rewrite."""
    return await _squash(store, await _pending(store), grace_s)


async def _squash(store: Store, snapshots: dict[int, int], grace_s: float) -> list[dict]:
    """Rewrite the projects' events for every merge up to their snapshot version (taken
    `grace_s` ago), in one mutation; return a report per project."""
    project_ids = list(snapshots)
    if not project_ids:
        return []
    ids = {"project_ids": project_ids}
    if grace_s:
        await asyncio.sleep(grace_s)
    async with _lock:
        marks = dict((await store.query(_MARKS, ids)).rows)
        reports = {
            pid: {"project_id": pid, "mark": int(marks.get(pid, 0)), "overrides": 0, "events": 0}
            for pid in project_ids
        }
        due = [pid for pid in project_ids if snapshots.get(pid, 0) > marks.get(pid, 0)]
        if not due:
            return list(reports.values())
        started = time.perf_counter()
        database = (await store.query("SELECT currentDatabase()")).rows[0][0]
        await store.command(_CREATE_MAP)
        due_ids = {"project_ids": due}
        due_params = {
            **due_ids,
            "snapshots": [snapshots[pid] for pid in due],
            "marks": [marks.get(pid, 0) for pid in due],
        }
        overrides = dict((await store.query(_DUE_COUNTS, due_params)).rows)
        await store.command(_FILL_MAP, due_params)
        events = dict((await store.query(_TO_REWRITE, due_ids)).rows)
        try:
            await store.command(_REWRITE.replace("__DATABASE__", database), due_ids)
        except StoreError:
            # ClickHouse retries a failed mutation forever; stop it. The marks do not move,
            # so every override is still joined and answers stay right.
            await store.command(
                "KILL MUTATION WHERE table = 'events' AND command LIKE {pattern:String}",
                {"pattern": f"%{MAP}%"},
            )
            raise
        now = datetime.now(UTC)
        await store.insert(
            "person_overrides_squashed",
            ["project_id", "version", "squashed_at"],
            [(pid, snapshots[pid], now) for pid in due],
        )
        seconds = round(time.perf_counter() - started, 2)
        for pid in due:
            reports[pid].update(
                mark=int(snapshots[pid]),
                overrides=int(overrides.get(pid, 0)),
                events=int(events.get(pid, 0)),
                seconds=seconds,
            )
        return list(reports.values())


async def every(store: Store, interval_s: float, *, grace_s: float = DEFAULT_GRACE_S) -> None:
    """The server's background job: squash every project with new merges, every interval."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            for report in await squash_all(store, grace_s=grace_s):
                log.info("squashed merges into events", extra={"fields": report})
        except StoreError:
            log.exception("squash failed; the merges stay joined at query time")
