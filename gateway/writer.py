"""Group commit: concurrent requests share one insert, each answered when it has landed.

A request hands its Batch to `submit` and waits. One flusher task collects what arrives
within a short window (or up to a size cap), drops events whose uuid is already stored or
repeated in the window (retries), inserts every table, and only then wakes the waiters.
If the process dies mid-flush, the client's retry rewrites person rows harmlessly (they fold
idempotently) and stores the events exactly once (deduplicated by uuid).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from gateway.events import EVENT_COLUMNS, GROUP_WRITE_COLUMNS, PROPERTY_WRITE_COLUMNS, Batch
from gateway.store import Store

log = logging.getLogger("spyglass.writer")

GROUP_TYPE_COLUMNS = ["project_id", "group_type", "group_type_index", "created_at"]
DISTINCT_ID_COLUMNS = ["project_id", "distinct_id", "person_id", "created_at"]
PERSON_COLUMNS = ["project_id", "id", "created_at", "is_identified", "version"]
OVERRIDE_COLUMNS = ["project_id", "old_person_id", "override_person_id", "version", "created_at"]

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

    async def new_events() -> int:
        events = await drop_stored_duplicates(store, batch.events)
        return await store.insert("events", EVENT_COLUMNS, events)

    # Each insert costs chDB a fixed ~10 ms, so the tables go in side by side on separate
    # handles. Order does not matter for correctness: person rows fold idempotently and events
    # are deduplicated by uuid, so a retry after a partial write converges.
    results = await asyncio.gather(
        new_events(),
        store.insert("group_type_mapping", GROUP_TYPE_COLUMNS, p.group_types),
        store.insert("person_distinct_ids", DISTINCT_ID_COLUMNS, p.distinct_ids),
        store.insert("persons", PERSON_COLUMNS, p.persons),
        store.insert("person_overrides", OVERRIDE_COLUMNS, p.overrides),
        store.insert("person_property_writes", PROPERTY_WRITE_COLUMNS, batch.property_writes),
        store.insert("group_property_writes", GROUP_WRITE_COLUMNS, batch.group_writes),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results[0]


class GroupCommitWriter:
    """Collects submitted batches into shared inserts; up to `parallel` flushes in flight.

    Two flushes in flight at once could both insert a retried uuid (each checks ClickHouse
    before the other lands), so a uuid belongs to the first flush that claims it; a later
    flush drops its copy and answers its own waiters only once that first flush has landed.
    """

    def __init__(
        self,
        store: Store,
        *,
        flush_ms: int = 20,
        max_events: int = 20_000,
        parallel: int = 2,
        on_failure: Callable[[Batch], None] | None = None,
    ):
        self.store = store
        self.flush_s = flush_ms / 1000
        self.max_events = max_events
        self.on_failure = on_failure
        self._pending: list[tuple[Batch, asyncio.Future]] = []
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(parallel)
        self._inflight: dict = {}  # event uuid → the outcome future of the flush writing it
        self._flushing: set[asyncio.Task] = set()
        self._task: asyncio.Task | None = None
        self.flushes = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="spyglass-group-commit")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._flushing:
            await asyncio.gather(*self._flushing, return_exceptions=True)
        if self._pending:  # answer what is left rather than leave requests hanging
            await self._flush(self._take_window(everything=True))

    async def submit(self, batch: Batch) -> None:
        """Return once every row of `batch` is stored; raise if the insert failed."""
        future = asyncio.get_running_loop().create_future()
        self._pending.append((batch, future))
        self._wake.set()
        await future

    def _take_window(self, everything: bool = False):
        taken, count = [], 0
        while self._pending and (
            everything or not taken or count + len(self._pending[0][0].events) <= self.max_events
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
                await self._slots.acquire()  # while we wait, more requests join the window
                task = asyncio.create_task(self._flush_in_slot(self._take_window()))
                self._flushing.add(task)
                task.add_done_callback(self._flushing.discard)

    async def _flush_in_slot(self, items) -> None:
        try:
            await self._flush(items)
        finally:
            self._slots.release()

    def _claim_uuids(self, combined: Batch, outcome: asyncio.Future) -> tuple[list, set]:
        """Keep the events no flush in flight is writing; note the flushes we depend on."""
        own, depends_on = [], set()
        for row in combined.events:
            holder = self._inflight.get(row[1])
            if holder is None:
                self._inflight[row[1]] = outcome
                own.append(row)
            elif holder is not outcome:
                depends_on.add(holder)
        return own, depends_on

    async def _flush(self, items) -> None:
        combined = Batch()
        for batch, _ in items:
            combined.extend(batch)
        outcome = asyncio.get_running_loop().create_future()
        claimed, depends_on = self._claim_uuids(combined, outcome)
        combined.events = claimed
        try:
            await write_batch(self.store, combined)
            outcome.set_result(None)
            for other in depends_on:
                await asyncio.shield(other)
        except Exception as exc:
            log.exception("group commit failed for %d events", len(combined.events))
            if not outcome.done():
                outcome.set_exception(exc)
                outcome.exception()  # retrieved: waiters of later flushes see it themselves
            if self.on_failure:
                self.on_failure(combined)
            self._answer(items, exc)
            return
        finally:
            for row in claimed:
                if self._inflight.get(row[1]) is outcome:
                    del self._inflight[row[1]]
        self.flushes += 1
        self._answer(items, None)

    @staticmethod
    def _answer(items, exc: Exception | None) -> None:
        for _, future in items:
            if future.done():
                continue
            if exc is None:
                future.set_result(None)
            else:
                future.set_exception(exc)
