"""`spyglass import FILE`: bulk-load events with ClickHouse's own input formats.

The file is read by ClickHouse (JSON lines, CSV with a header, or Parquet) into a staging
table of text columns; rows that cannot be events are counted by reason; the rest go to
`events` in one INSERT … SELECT that derives person ids exactly as ingestion does. Person
property writes ($set/$set_once inside properties) follow in SQL; the few identity events
($identify, $create_alias) are replayed through the identity rules in Python.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

from gateway.errors import ValidationError
from gateway.events import Message, prepare
from gateway.persons import template
from gateway.services import Services
from gateway.writer import write_batch

FORMATS = {".jsonl": "JSONEachRow", ".ndjson": "JSONEachRow", ".json": "JSONEachRow",
           ".csv": "CSVWithNames", ".parquet": "Parquet"}  # fmt: skip
STAGING_COLUMNS = (
    "line UInt64, event String, distinct_id String, timestamp String, "
    "properties String, uuid String, elements_chain String"
)


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt:
        if fmt not in FORMATS.values():
            raise ValidationError(
                f"format must be one of {sorted(set(FORMATS.values()))}", attr="format"
            )
        return fmt
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise ValidationError(
            f"cannot tell the format of {path.name}; pass --format", attr="format"
        ) from None


async def import_file(
    services: Services, project_id: int, file: str, fmt: str | None = None
) -> dict:
    store = services.store
    if store.kind != "chdb":
        raise ValidationError("import reads the file in-process; it needs the embedded store "
                              "(run it on the ClickHouse host with clickhouse-client instead)",
                              attr="file")  # fmt: skip
    path = Path(file).resolve()
    if not path.is_file():
        raise ValidationError(f"no such file: {path}", attr="file")
    if await services.tenancy.project(project_id) is None:
        raise ValidationError(f"project {project_id} does not exist", attr="project")
    fmt = detect_format(path, fmt)
    now = services.clock.now()
    staging = f"import_staging_{uuid.uuid4().hex}"
    started = time.perf_counter()
    p = {"project_id": project_id, "now": now}
    await store.command(f"CREATE TABLE {staging} ({STAGING_COLUMNS}) ENGINE = Memory")
    try:
        _say(f"[1/4] reading {path.name} ({fmt})")
        await store.command(
            template("importer/stage.sql")
            .replace("{staging}", staging)
            .replace("{format}", f"'{fmt}'"),
            {"path": str(path)},
        )
        rows_read = (await store.query(f"SELECT count() FROM {staging}")).scalar()
        reasons = await store.query(
            template("importer/rejections.sql").replace("{staging}", staging)
        )
        rejected = {r[0]: {"rows": r[1], "first_line": r[2]} for r in reasons.rows if r[0]}
        _say(f"[2/4] storing {rows_read:,} rows")
        await store.command(template("importer/insert_events.sql").replace("{staging}", staging), p)
        _say("[3/4] persons and their properties")
        await store.command(template("importer/person_writes.sql").replace("{staging}", staging), p)
    finally:
        await store.command(f"DROP TABLE IF EXISTS {staging}")
    stored = (
        await store.query(
            "SELECT count() FROM events WHERE project_id = {project_id:UInt64} "
            "AND created_at = {now:DateTime64(6, 'UTC')}",
            p,
        )
    ).scalar()
    await _record_persons(services, project_id, now)
    await services.cache.bump_data_version(project_id)  # past data changed: cached results too
    _say("[4/4] identity events")
    merges = await _replay_identity_events(services, project_id, now)
    seconds = time.perf_counter() - started
    duplicates = rows_read - stored - sum(r["rows"] for r in rejected.values())
    return {
        "file": str(path),
        "format": fmt,
        "rows_read": rows_read,
        "stored": stored,
        "rejected": rejected,
        "skipped_duplicates": duplicates,
        "identity_events": merges,
        "seconds": round(seconds, 2),
        "events_per_second": round(stored / max(seconds, 1e-9)),
    }


_NEW_DISTINCT_IDS = """
SELECT project_id, distinct_id, any(person_id), min(timestamp) FROM events
WHERE project_id = {project_id:UInt64} AND created_at = {now:DateTime64(6, 'UTC')}
  AND distinct_id NOT IN (
      SELECT distinct_id FROM person_distinct_ids WHERE project_id = {project_id:UInt64})
GROUP BY project_id, distinct_id
"""


async def _record_persons(services: Services, project_id: int, now) -> None:
    """First sightings of imported distinct ids: a person each (before the id is recorded)."""
    p = {"project_id": project_id, "now": now}
    await services.store.command(
        "INSERT INTO persons (project_id, id, created_at, is_identified, version) "
        f"SELECT project_id, person_id, first_seen, 0, 0 FROM ({_NEW_DISTINCT_IDS}) "
        "AS n (project_id, distinct_id, person_id, first_seen)",
        p,
    )
    await services.store.command(
        "INSERT INTO person_distinct_ids (project_id, distinct_id, person_id, created_at) "
        + _NEW_DISTINCT_IDS,
        p,
    )
    services.identity.forget([project_id])  # its cache of seen ids is now stale


def _as_dict(properties) -> dict:
    return properties if isinstance(properties, dict) else json.loads(properties or "{}")


async def _replay_identity_events(services: Services, project_id: int, now) -> int:
    rows = (
        await services.store.query(
            "SELECT event, distinct_id, properties, timestamp, uuid FROM events "
            "WHERE project_id = {project_id:UInt64} AND created_at = {now:DateTime64(6, 'UTC')} "
            "AND event IN ('$identify', '$create_alias', '$merge_dangerously') ORDER BY timestamp",
            {"project_id": project_id, "now": now},
        )
    ).rows
    if not rows:
        return 0
    state = await services.identity.project(project_id)
    messages = [Message(r[0], r[1], _as_dict(r[2]), r[3], uuid.UUID(str(r[4]))) for r in rows]
    batch = prepare(state, messages, now)
    batch.events, batch.property_writes = [], []  # already stored by the bulk insert
    await write_batch(services.store, batch)
    return len(rows)
