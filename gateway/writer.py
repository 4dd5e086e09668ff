"""Group commit: concurrent requests share one insert, each answered when it has landed.

A request hands its Batch to `submit` and waits. One flusher task collects what arrives
within a short window (or up to a size cap), drops events whose uuid is already stored or
repeated in the window (retries), inserts every table, and only then wakes the waiters.
Person rows go in before events: if the process dies between the two, the client's retry
rewrites persons harmlessly (they fold idempotently) and the events exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from gateway.events import EVENT_COLUMNS, GROUP_WRITE_COLUMNS, PROPERTY_WRITE_COLUMNS, Batch
from gateway.store import Store

log = logging.getLogger("spyglass.writer")

_EXISTING_UUIDS = """
SELECT uuid FROM events
WHERE project_id IN {projects:Array(UInt64)}
  AND toDate(timestamp) IN {days:Array(Date)}
  AND uuid IN {uuids:Array(UUID)}
"""


async def drop_stored_duplicates(store: Store, events: list[tuple]) -> list[tuple]:
    """Events minus those repeated in the list or already in ClickHouse (same uuid)."""
    unique: dict = {}
    for row in events:
        unique.setdefault(row[1], row)
    if not unique:
        return []
    rows = list(unique.values())
    existing = await store.query(
        _EXISTING_UUIDS,
        {
            "projects": sorted({r[0] for r in rows}),
            "days": sorted({r[5].date() for r in rows}),
            "uuids": [str(u) for u in unique],
        },
    )
    stored = {str(r[0]) for r in existing.rows}
    return [r for r in rows if str(r[1]) not in stored] if stored else rows


async def write_batch(store: Store, batch: Batch) -> int:
    """Insert every table of one batch; return how many events were new."""
    p = batch.persons
    await store.insert(
        "group_type_mapping",
        ["project_id", "group_type", "group_type_index", "created_at"],
        p.group_types,
    )
    await store.insert(
        "person_distinct_ids",
        ["project_id", "distinct_id", "person_id", "created_at"],
        p.distinct_ids,
    )
    await store.insert(
        "persons", ["project_id", "id", "created_at", "is_identified", "version"], p.persons
    )
    await store.insert("person_overrides",
                       ["project_id", "old_person_id", "override_person_id", "version",
                        "created_at"], p.overrides)  # fmt: skip
    await store.insert("person_property_writes", PROPERTY_WRITE_COLUMNS, batch.property_writes)
    await store.insert("group_property_writes", GROUP_WRITE_COLUMNS, batch.group_writes)
    events = await drop_stored_duplicates(store, batch.events)
    await store.insert("events", EVENT_COLUMNS, events)
    return len(events)


class GroupCommitWriter:
    def __init__(
        self,
        store: Store,
        *,
        flush_ms: int = 20,
        max_events: int = 20_000,
        on_failure: Callable[[Batch], None] | None = None,
    ):
        self.store = store
        self.flush_s = flush_ms / 1000
        self.max_events = max_events
        self.on_failure = on_failure
        self._pending: list[tuple[Batch, asyncio.Future]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.flushes = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="spyglass-group-commit")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._pending:  # answer what is left rather than leave requests hanging
            await self._flush(self._take_all())

    async def submit(self, batch: Batch) -> None:
        """Return once every row of `batch` is stored; raise if the insert failed."""
        future = asyncio.get_running_loop().create_future()
        self._pending.append((batch, future))
        self._wake.set()
        await future

    def _take_all(self):
        taken, self._pending = self._pending, []
        return taken

    def _take_window(self):
        taken, count = [], 0
        while self._pending and (
            not taken or count + len(self._pending[0][0].events) <= self.max_events
        ):
            item = self._pending.pop(0)
            taken.append(item)
            count += len(item[0].events)
        return taken

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.flush_s)  # let concurrent requests join this insert
            self._wake.clear()
            while self._pending:
                await self._flush(self._take_window())

    async def _flush(self, items) -> None:
        combined = Batch()
        for batch, _ in items:
            combined.extend(batch)
        try:
            await write_batch(self.store, combined)
        except Exception as exc:
            log.exception("group commit failed for %d events", len(combined.events))
            if self.on_failure:
                self.on_failure(combined)
            for _, future in items:
                if not future.done():
                    future.set_exception(exc)
            return
        self.flushes += 1
        for _, future in items:
            if not future.done():
                future.set_result(None)
