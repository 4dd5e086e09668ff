"""Cohorts: static lists of people, and dynamic definitions computed in ClickHouse.

A dynamic cohort is a tree (AND/OR) of criteria — person properties, behaviour ("performed
event X at least N times in the last D days", "did not", "first performed…", stopped,
restarted, regularly) and other cohorts — evaluated on demand against the current data: each
criterion is a set of persons, written as `person_id IN (…)`, over every person of the project.
The criteria follow PostHog's cohort filter format (and its older `groups` format).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sql
from gateway.errors import ValidationError
from gateway.identity import person_id_for
from gateway.metadata import Metadata
from resolvers.properties import Property, parse_property

ENTITY = "cohort"
TIME_INTERVALS = ("minute", "hour", "day", "week", "month", "year")
COUNT_OPERATORS = {"gte": ">=", "lte": "<=", "gt": ">", "lt": "<", "eq": "=", "exact": "=",
                   None: "="}  # fmt: skip
MAX_PERIODS = 52
MAX_DEPTH = 5


def _template(name: str) -> str:
    return sql.load(f"filters/{name}")


def ago(now: datetime, count, interval, attr: str) -> datetime:
    """`now − count interval` in UTC; months and years by the calendar (day clamped)."""
    try:
        n = int(count)
    except (TypeError, ValueError):
        raise ValidationError(f"{attr} must be an integer", attr=attr) from None
    if n <= 0:
        raise ValidationError(f"{attr} must be greater than 0", attr=attr)
    if interval not in TIME_INTERVALS:
        raise ValidationError(f"time_interval must be one of {', '.join(TIME_INTERVALS)}",
                              attr="time_interval")  # fmt: skip
    if interval in ("month", "year"):
        months = n if interval == "month" else 12 * n
        index = now.year * 12 + now.month - 1 - months
        year, month = divmod(index, 12)
        month += 1
        last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
        return now.replace(year=year, month=month, day=min(now.day, last))
    seconds = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800}[interval]
    return now - timedelta(seconds=n * seconds)


def _holds(symbol: str, count: int, target: int) -> bool:
    return {">=": count >= target, "<=": count <= target, ">": count > target,
            "<": count < target, "=": count == target}[symbol]  # fmt: skip


def _count_rule(operator, value, attr: str) -> tuple[str, int]:
    if operator not in COUNT_OPERATORS:
        raise ValidationError("operator must be gte, lte, gt, lt or eq", attr=f"{attr}.operator")
    try:
        return COUNT_OPERATORS[operator], int(value)
    except (TypeError, ValueError):
        raise ValidationError("operator_value must be an integer",
                              attr=f"{attr}.operator_value") from None  # fmt: skip


@dataclass
class Compiler:
    """Turns cohort definitions into person-set SQL for one query (shared Params)."""

    params: object  # resolvers.where.Params
    cohorts: dict[int, dict]
    actions: dict[int, dict]
    now: datetime

    def members(self, cohort_id, attr: str, seen: frozenset = frozenset()) -> str:
        """SQL selecting `person_id` of the cohort's members now."""
        try:
            cid = int(cohort_id)
        except (TypeError, ValueError):
            raise ValidationError(f"{attr}: a cohort id is required", attr=attr) from None
        cohort = self.cohorts.get(cid)
        if cohort is None:
            raise ValidationError(f"{attr}: unknown cohort id {cid}", attr=attr)
        if cid in seen or len(seen) >= MAX_DEPTH:
            raise ValidationError(f"{attr}: cohort {cid} refers to itself or nests too deep",
                                  attr=attr)  # fmt: skip
        if cohort.get("is_static"):
            return (
                _template("static_cohort.sql")
                .replace("__COHORT__", self.params.name(cid))
                .replace("__VERSION__", self.params.name(cohort.get("static_version", 0)))
            )
        filters = cohort.get("filters") or {}
        seen = seen | {cid}
        if "properties" in filters:
            condition = self._node(filters["properties"], f"{attr}.filters.properties", seen)
        elif cohort.get("groups") or "groups" in filters:
            condition = self._legacy(filters.get("groups") or cohort.get("groups"), attr, seen)
        else:
            condition = None
        universe = _template("persons.sql")
        return f"SELECT person_id FROM ({universe}) WHERE {condition or '0'}"

    # -- the tree ----------------------------------------------------------------------------

    def _node(self, node, attr: str, seen: frozenset) -> str | None:
        if isinstance(node, list):
            node = {"type": "AND", "values": node}
        if isinstance(node, dict) and "values" in node:
            kind = str(node.get("type") or "AND").upper()
            if kind not in ("AND", "OR"):
                raise ValidationError(f"{attr}.type must be AND or OR", attr=f"{attr}.type")
            parts = [self._node(child, f"{attr}.values[{i}]", seen)
                     for i, child in enumerate(node.get("values") or [])]  # fmt: skip
            present = [p for p in parts if p is not None]
            if not present:
                return None
            return "(" + f" {kind} ".join(present) + ")"
        return self._criterion(node, attr, seen)

    def _criterion(self, prop, attr: str, seen: frozenset) -> str:
        if not isinstance(prop, dict):
            raise ValidationError(f"{attr} must be an object", attr=attr)
        kind = prop.get("type")
        if kind == "person":
            from resolvers.where import Context, _person_property

            parsed: Property = parse_property(prop, attr)
            return _person_property(parsed, self.params, Context(person="person_id"), attr)
        if kind in ("cohort", "static-cohort", "precalculated-cohort", "dynamic-cohort"):
            operator = prop.get("operator") or "in"
            if operator not in ("in", "exact", "not_in", "is_not"):
                raise ValidationError(f"{attr}: cohort criteria take in or not_in",
                                      attr=f"{attr}.operator")  # fmt: skip
            inside = f"person_id IN ({self.members(prop.get('value'), attr, seen)})"
            member = inside if operator in ("in", "exact") else f"NOT {inside}"
            return f"(NOT {member})" if prop.get("negation") else member
        if kind == "behavioral":
            found = self._behaviour(prop, attr)
            return f"(NOT {found})" if prop.get("negation") else found
        raise ValidationError(f"{attr}: {kind!r} criteria are not allowed in a cohort",
                              attr=f"{attr}.type")  # fmt: skip

    # -- behaviour ---------------------------------------------------------------------------

    def _time(self, moment: datetime) -> str:
        return self.params.bind(moment.astimezone(UTC), "DateTime64(6, 'UTC')")

    def _people(self, entity: dict, attr: str, counts: list[str], having: str,
                zero_holds: bool) -> str:  # fmt: skip
        """Persons whose matching events satisfy `having`; with `zero_holds`, also those with
        no matching event at all (their counts are all zero)."""
        from resolvers.where import Context, compile_entity

        person = ("if(o.old_person_id = toUUID('00000000-0000-0000-0000-000000000000'), "
                  "e.person_id, o.override_person_id)")  # fmt: skip
        condition = compile_entity(entity, self.params, Context(person=person),
                                   actions=self.actions, attr=attr)  # fmt: skip
        base = (_template("behaviour.sql").replace("__ENTITY__", condition)
                .replace("__COUNTS__", ", ".join(counts) or "1 AS any_event"))  # fmt: skip
        found = f"person_id IN (SELECT person_id FROM ({base.replace('__HAVING__', having)}))"
        if not zero_holds:
            return f"({found})"
        anyone = f"person_id IN (SELECT person_id FROM ({base.replace('__HAVING__', '1')}))"
        return f"({found} OR NOT {anyone})"

    def _behaviour(self, prop: dict, attr: str) -> str:
        event_type = prop.get("event_type") or "events"
        if event_type not in ("events", "actions"):
            raise ValidationError("event_type must be events or actions",
                                  attr=f"{attr}.event_type")  # fmt: skip
        entity = {"type": event_type, "id": prop.get("key"),
                  "properties": prop.get("event_filters")}  # fmt: skip
        now, kind = self.now.astimezone(UTC), prop.get("value")
        n = self._time(now)
        if kind == "performed_event_regularly":
            return self._regularly(prop, entity, attr, now)
        start = ago(now, prop.get("time_value"), prop.get("time_interval"), f"{attr}.time_value")
        s = self._time(start)
        window = f"countIf(timestamp > {s} AND timestamp < {n})"
        if kind == "performed_event":
            return self._people(entity, attr, [f"{window} AS hits"], "hits > 0", False)
        if kind == "performed_event_multiple":
            symbol, target = _count_rule(prop.get("operator"), prop.get("operator_value"), attr)
            return self._people(
                entity,
                attr,
                [f"{window} AS hits"],
                f"hits {symbol} {int(target)}",
                _holds(symbol, 0, target),
            )
        if kind == "performed_event_first_time":
            return self._people(entity, attr, ["min(timestamp) AS first"],
                                f"first >= {s} AND first < {n}", False)  # fmt: skip
        if kind in ("stopped_performing_event", "restarted_performing_event"):
            seq = ago(now, prop.get("seq_time_value"), prop.get("seq_time_interval"),
                      f"{attr}.seq_time_value")  # fmt: skip
            if seq < start:
                raise ValidationError("seq_time must be more recent than time",
                                      attr=f"{attr}.seq_time_value")  # fmt: skip
            q = self._time(seq)
            counts = [f"countIf(timestamp <= {s}) AS before",
                      f"countIf(timestamp > {s} AND timestamp <= {q}) AS middle",
                      f"countIf(timestamp > {q} AND timestamp <= {n}) AS recent"]  # fmt: skip
            having = ("middle > 0 AND recent = 0" if kind == "stopped_performing_event"
                      else "before > 0 AND middle = 0 AND recent > 0")  # fmt: skip
            return self._people(entity, attr, counts, having, False)
        raise ValidationError(f"{attr}: unsupported behavioural criterion {kind!r}",
                              attr=f"{attr}.value")  # fmt: skip

    def _regularly(self, prop: dict, entity: dict, attr: str, now: datetime) -> str:
        try:
            total, minimum = int(prop.get("total_periods")), int(prop.get("min_periods"))
        except (TypeError, ValueError):
            raise ValidationError("total_periods and min_periods are required",
                                  attr=f"{attr}.total_periods") from None  # fmt: skip
        if not 0 < minimum <= total <= MAX_PERIODS:
            raise ValidationError(f"need 0 < min_periods <= total_periods <= {MAX_PERIODS}",
                                  attr=f"{attr}.total_periods")  # fmt: skip
        length, unit = prop.get("time_value"), prop.get("time_interval")
        ago(now, length, unit, f"{attr}.time_value")
        symbol, target = _count_rule(prop.get("operator"), prop.get("operator_value"), attr)
        counts, hits = [], []
        for period in range(total):  # period k covers (now − (k+1)·T, now − k·T]
            newer = now if period == 0 else ago(now, int(length) * period, unit, "time_value")
            older = ago(now, int(length) * (period + 1), unit, "time_value")
            counts.append(f"countIf(timestamp > {self._time(older)} AND timestamp <= "
                          f"{self._time(newer)}) AS p{period}")  # fmt: skip
            hits.append(f"(p{period} {symbol} {int(target)})")
        having = f"({' + '.join(hits)}) >= {minimum}"
        zero = total * _holds(symbol, 0, target) >= minimum
        return self._people(entity, attr, counts, having, zero)

    def _legacy(self, groups, attr: str, seen: frozenset) -> str | None:
        """PostHog's older format: groups ORed; person-property groups or event/action counts."""
        parts = []
        for index, group in enumerate(groups or []):
            group_attr = f"{attr}.groups[{index}]"
            if "event_id" in group or "action_id" in group:
                parts.append(self._legacy_behaviour(group, group_attr))
            else:
                part = self._node(group.get("properties") or [], group_attr, seen)
                if part is not None:
                    parts.append(part)
        return "(" + " OR ".join(parts) + ")" if parts else None

    def _legacy_behaviour(self, group: dict, attr: str) -> str:
        entity = ({"type": "actions", "id": group["action_id"]} if "action_id" in group
                  else {"type": "events", "id": group["event_id"]})  # fmt: skip
        now = self.now.astimezone(UTC)
        window = f"timestamp <= {self._time(now)}"
        if group.get("days"):
            window = f"timestamp >= {self._time(ago(now, group['days'], 'day', attr))} AND {window}"
        symbol, target = _count_rule(group.get("count_operator") or "gte",
                                     group.get("count") or 1, attr)  # fmt: skip
        return self._people(
            entity,
            attr,
            [f"countIf({window}) AS hits"],
            f"hits {symbol} {target}",
            _holds(symbol, 0, target),
        )


# -- storage --------------------------------------------------------------------------------


@dataclass
class Cohorts:
    metadata: Metadata

    async def create(self, project_id: int, user_id: int, fields: dict) -> dict:
        name = fields.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("name is required", attr="name")
        is_static = bool(fields.get("is_static"))
        filters = fields.get("filters") or {}
        if not isinstance(filters, dict):
            raise ValidationError("filters must be an object", attr="filters")
        now = self.metadata.clock.now().isoformat()
        cohort_id = await self.metadata.next_id(ENTITY)
        document = {
            "id": cohort_id, "name": name, "description": str(fields.get("description") or ""),
            "is_static": is_static, "filters": filters, "groups": fields.get("groups") or [],
            "static_version": 0, "deleted": False, "created_at": now, "created_by": user_id,
        }  # fmt: skip
        await self._validate(project_id, document)  # before it is written: nothing half-made
        await self.metadata.write(ENTITY, project_id, cohort_id, 1, document,
                                  activity="created", user_id=user_id)  # fmt: skip
        return document

    async def _validate(self, project_id: int, document: dict) -> None:
        """Compile once so a bad definition is a 400 now, not on first use."""
        from resolvers.where import Params

        cohorts = await self.by_id(project_id)
        cohorts[document["id"]] = document
        Compiler(Params(), cohorts, {}, self.metadata.clock.now()).members(
            document["id"], "filters"
        )

    async def all(self, project_id: int) -> list[dict]:
        return [e.document for e in await self.metadata.latest(ENTITY, project_id=project_id)
                if not e.document.get("deleted")]  # fmt: skip

    async def by_id(self, project_id: int) -> dict[int, dict]:
        return {c["id"]: c for c in await self.all(project_id)}

    async def get(self, project_id: int, cohort_id: int) -> dict:
        return (await self.metadata.live(ENTITY, project_id, cohort_id)).document

    async def update(self, project_id: int, cohort_id: int, user_id: int, fields: dict) -> dict:
        async with self.metadata.lock(ENTITY, cohort_id):
            found = await self.metadata.live(ENTITY, project_id, cohort_id,
                                             deleted_ok=fields.get("deleted") is False)  # fmt: skip
            document = dict(found.document)
            if "name" in fields:
                if not isinstance(fields["name"], str) or not fields["name"].strip():
                    raise ValidationError("name must be a non-empty string", attr="name")
                document["name"] = fields["name"]
            if "description" in fields:
                document["description"] = str(fields["description"] or "")
            if "filters" in fields:
                if not isinstance(fields["filters"], dict):
                    raise ValidationError("filters must be an object", attr="filters")
                document["filters"] = fields["filters"]
            if "deleted" in fields:
                if not isinstance(fields["deleted"], bool):
                    raise ValidationError("deleted must be a boolean", attr="deleted")
                document["deleted"] = fields["deleted"]
            if not document["deleted"]:
                await self._validate(project_id, document)
            await self.metadata.write(ENTITY, project_id, cohort_id, found.version + 1,
                                      document, activity="updated", user_id=user_id)  # fmt: skip
            return document

    async def upload_csv(self, project_id: int, cohort_id: int, text: str) -> dict:
        """A static cohort's people from a CSV of distinct ids (one per row, optional header)."""
        async with self.metadata.lock(ENTITY, cohort_id):
            found = await self.metadata.live(ENTITY, project_id, cohort_id)
            document = found.document
            if not document["is_static"]:
                raise ValidationError("only static cohorts take a list of people", attr="csv")
            try:  # newline="": the csv module reads \r, \n and \r\n row ends itself
                rows = [r[0].strip() for r in csv.reader(io.StringIO(text, newline=""))
                        if r and r[0].strip()]  # fmt: skip
            except csv.Error as exc:
                raise ValidationError(f"csv: {exc}", attr="csv") from None
            if rows and rows[0].lower() in ("distinct_id", "distinct_ids", "person"):
                rows = rows[1:]
            version = int(document.get("static_version", 0)) + 1
            now = self.metadata.clock.now()
            await self.metadata.store.insert(
                "static_cohort_people",
                ["project_id", "cohort_id", "version", "person_id", "inserted_at"],
                [(project_id, cohort_id, version, person_id_for(project_id, d), now)
                 for d in sorted(set(rows))],
            )  # fmt: skip
            document = {**document, "static_version": version, "count": len(set(rows))}
            await self.metadata.write(ENTITY, project_id, cohort_id, found.version + 1,
                                      document, activity="updated")  # fmt: skip
            return document


async def cohort_people(
    store,
    project_id: int,
    cohort: dict,
    cohorts: dict,
    actions: dict,
    now: datetime,
    *,
    limit: int,
    offset: int,
) -> tuple[int, list[dict]]:
    """(how many, one page of {id, distinct_ids}) of the cohort's members now."""
    from resolvers.where import Params

    params = Params()
    members = Compiler(params, cohorts, actions, now).members(cohort["id"], "id")
    sql = _template("people_page.sql").replace("__MEMBERS__", members)
    rows = await store.query(sql, {**params.values, "project_id": project_id,
                                   "page_size": limit, "page_start": offset})  # fmt: skip
    total = int(rows.rows[0][2]) if rows.rows else 0
    return total, [{"id": str(r[0]), "distinct_ids": sorted(r[1])} for r in rows.rows]
