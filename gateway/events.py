"""Turning capture messages into rows: persons resolved, properties split, groups indexed.

`normalise` validates one message as PostHog's capture endpoint does; `prepare` runs the
identity decisions for a list of messages (in order) and returns every row they produce, for
the writer to insert together. Both are plain functions over plain data: HTTP capture, the
demo loader and the importer all come through here.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from gateway.errors import ValidationError
from gateway.identity import PersonWrites, ProjectIdentity

MAX_DISTINCT_ID = 200  # PostHog truncates distinct ids to 200 characters
MAX_EVENT_NAME = 400

EVENT_COLUMNS = [
    "project_id", "uuid", "event", "distinct_id", "person_id", "timestamp", "properties",
    "elements_chain", "created_at", "group_0", "group_1", "group_2", "group_3", "group_4",
]  # fmt: skip
PROPERTY_WRITE_COLUMNS = [
    "project_id", "person_id", "key", "value", "op", "timestamp", "inserted_at",
]  # fmt: skip
GROUP_WRITE_COLUMNS = [
    "project_id", "group_type_index", "group_key", "key", "value", "op", "timestamp",
    "inserted_at",
]  # fmt: skip


@dataclass
class Message:
    event: str
    distinct_id: str
    properties: dict
    timestamp: datetime
    uuid: uuid.UUID
    elements_chain: str = ""


@dataclass
class Batch:
    """Every row one request (or one chunk of an import) produces."""

    events: list[tuple] = field(default_factory=list)
    property_writes: list[tuple] = field(default_factory=list)
    group_writes: list[tuple] = field(default_factory=list)
    persons: PersonWrites = field(default_factory=PersonWrites)

    def extend(self, other: Batch) -> None:
        self.events += other.events
        self.property_writes += other.property_writes
        self.group_writes += other.group_writes
        self.persons.distinct_ids += other.persons.distinct_ids
        self.persons.persons += other.persons.persons
        self.persons.overrides += other.persons.overrides
        self.persons.group_types += other.persons.group_types


def parse_time(value, field_name: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):  # epoch milliseconds, as posthog-js sends `_`
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(
                f"{field_name} is not an ISO-8601 time: {value[:40]!r}", attr=field_name
            ) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValidationError(f"{field_name} must be a time string", attr=field_name)


def _distinct_id(raw: dict, properties: dict) -> str:
    for value in (raw.get("$distinct_id"), properties.get("distinct_id"), raw.get("distinct_id")):
        if value is not None and value != "":
            text = value if isinstance(value, str) else json.dumps(value)
            return text[:MAX_DISTINCT_ID]
    raise ValidationError(
        "event is missing distinct_id", attr="distinct_id", code="invalid_payload"
    )


def normalise(raw, *, now: datetime, sent_at: datetime | None) -> Message:
    """One capture message → a Message, or a ValidationError naming the bad field."""
    if not isinstance(raw, dict):
        raise ValidationError(
            "each event must be a JSON object", attr="batch", code="invalid_payload"
        )
    event = raw.get("event")
    if not isinstance(event, str) or not event:
        raise ValidationError("event is missing its name", attr="event", code="invalid_payload")
    if len(event) > MAX_EVENT_NAME:
        raise ValidationError(f"event name longer than {MAX_EVENT_NAME}", attr="event")
    properties = raw.get("properties") or {}
    if not isinstance(properties, dict):
        raise ValidationError("properties must be an object", attr="properties")
    properties = dict(properties)
    for key in ("$set", "$set_once"):  # SDKs may send these beside properties
        if isinstance(raw.get(key), dict):
            properties.setdefault(key, raw[key])
    distinct_id = _distinct_id(raw, properties)
    timestamp = parse_time(raw.get("timestamp"), "timestamp")
    offset = raw.get("offset")
    if timestamp is not None and sent_at is not None:
        timestamp = now + (timestamp - sent_at)  # the client's clock skew, removed
    elif isinstance(offset, int | float) and not isinstance(offset, bool):
        timestamp = now - timedelta(milliseconds=offset)
    elif timestamp is None:
        timestamp = now
    try:
        event_uuid = uuid.UUID(str(raw["uuid"])) if raw.get("uuid") else uuid.uuid4()
    except ValueError:
        raise ValidationError("uuid is not a UUID", attr="uuid") from None
    elements = raw.get("elements_chain") or properties.pop("$elements_chain", "") or ""
    return Message(event, distinct_id, properties, timestamp, event_uuid, str(elements))


def _property_ops(properties: dict):
    for op, key in (("set", "$set"), ("set_once", "$set_once")):
        values = properties.get(key)
        if isinstance(values, dict):
            for name, value in values.items():
                yield op, str(name), json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    unset = properties.get("$unset")
    if isinstance(unset, list | dict):
        for name in unset:
            yield "unset", str(name), "null"


def prepare(state: ProjectIdentity, messages: list[Message], now: datetime) -> Batch:
    batch = Batch()
    out = batch.persons
    project_id = state.project_id
    for m in messages:
        props = m.properties
        if m.event == "$identify":
            person = state.identify(
                m.distinct_id, str(props.get("$anon_distinct_id") or ""), m.timestamp, out
            )
        elif m.event in ("$create_alias", "$merge_dangerously"):
            person = state.alias(m.distinct_id, str(props.get("alias") or ""), m.timestamp, out)
        else:
            person = state.person_for(m.distinct_id, m.timestamp, out)

        for op, key, value in _property_ops(props):
            batch.property_writes.append((project_id, person, key, value, op, m.timestamp, now))

        groups = ["", "", "", "", ""]
        event_groups = props.get("$groups")
        if isinstance(event_groups, dict):
            for group_type, key in event_groups.items():
                index = state.group_type_index(str(group_type), m.timestamp, out)
                if index is not None and key is not None:
                    groups[index] = str(key)
        if m.event == "$groupidentify":
            group_type, group_key = props.get("$group_type"), props.get("$group_key")
            group_set = props.get("$group_set") or {}
            if group_type and group_key is not None and isinstance(group_set, dict):
                index = state.group_type_index(str(group_type), m.timestamp, out)
                if index is not None:
                    for key, value in group_set.items():
                        batch.group_writes.append(
                            (
                                project_id,
                                index,
                                str(group_key),
                                str(key),
                                json.dumps(value),
                                "set",
                                m.timestamp,
                                now,
                            )
                        )

        batch.events.append((
            project_id, m.uuid, m.event, m.distinct_id, person, m.timestamp,
            props, m.elements_chain, now, *groups,
        ))  # fmt: skip
    return batch
