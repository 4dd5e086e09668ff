"""The people behind a number: one page of actors, serialised as PostHog serialises them.

Each insight kind knows which actors stand behind one of its data points and says so as a SQL
subquery yielding `actor` (a person uuid as text — merges already applied — or a group key)
plus any per-actor extras (appearances, matched counts). This module pages that set and fetches
the page's persons or groups in one query, whatever the page size; it never runs a query per
actor. Actors are persons unless the insight aggregates by a group type.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import sql
from gateway.errors import ValidationError
from resolvers.trends_filter import optional_int

MAX_PAGE = 10_000
DEFAULT_PAGE = 100
# Extras are columns the engines name, never user text; only these orders are offered.
_ORDERS = {"actor": "actor", "appearances": "arraySum(appearances) DESC, actor"}


# Persons endpoints page with `limit`/`offset`, so the insight's own (a breakdown offset, a
# series limit) and per-request switches never travel in a people URL.
_NOT_IN_URLS = frozenset({"limit", "offset", "refresh", "format", "personal_api_key"})


def people_url(project_id: int, kind: str, filters: dict, point: dict) -> str:
    """`api/projects/<id>/persons/<kind>/?…`: the insight's filter with the data point's keys
    over it, encoded as PostHog encodes it (lists and objects as JSON). Relative, like
    PostHog's trends URLs; the REST layer makes the ones PostHog sends absolute so."""
    return people_urls(project_id, kind, filters)(point)


def people_urls(project_id: int, kind: str, filters: dict):
    """people_url for the many points of one insight: the filter is encoded once, not once
    per point (a trends chart has a URL per bucket, series and breakdown value). A point's
    None drops the key."""
    encoded = {k: _url_value(v) for k, v in filters.items()
               if k not in _NOT_IN_URLS and v is not None}  # fmt: skip
    prefix = f"api/projects/{project_id}/persons/{kind}/?"

    def url(point: dict) -> str:
        params = dict(encoded)
        for key, value in point.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = _url_value(value)
        return prefix + urlencode(params)

    return url


def _url_value(value) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Page:
    """Which slice of the set: PostHog's `limit` (default 100) and `offset`."""

    limit: int = DEFAULT_PAGE
    offset: int = 0


def page_of(filters: dict) -> Page:
    """`limit` and `offset` from a request, checked."""
    limit = optional_int(filters.get("limit"), "limit")
    offset = optional_int(filters.get("offset"), "offset")
    limit, offset = DEFAULT_PAGE if limit is None else limit, offset or 0
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}", attr="limit")
    if offset < 0:
        raise ValidationError("offset must not be negative", attr="offset")
    return Page(limit, offset)


@dataclass(frozen=True)
class ActorPage:
    total: int  # the size of the whole set
    rows: list[dict]  # {"actor": serialised actor, **extras}, in page order


async def actors_page(
    store,
    project_id: int,
    members: str,
    params: dict,
    page: Page,
    *,
    group_index: int | None = None,
    extras: tuple[str, ...] = (),
    order: str = "actor",
) -> ActorPage:
    """Page the actors `members` yields (each counted once, ordered by `order`) and serialise
    them. `params` are the members query's bound parameters."""
    statement = (
        sql.load("actors/page.sql")
        .replace("__MEMBERS__", members)
        .replace("__EXTRAS__", "".join(f"any({name}) AS {name}, " for name in extras))
        .replace("__ORDER__", _ORDERS[order])
    )
    bound = {**params, "project_id": project_id, "page_size": page.limit,
             "page_start": page.offset}  # fmt: skip
    rows = (await store.query(statement, bound)).rows
    found = [{"actor": row[0], **dict(zip(extras, row[1:-1], strict=True))} for row in rows]
    return await serialised(store, project_id, int(rows[0][-1]) if rows else 0, found,
                            group_index)  # fmt: skip


async def serialised(store, project_id: int, total: int, rows: list[dict],
                     group_index: int | None = None) -> ActorPage:  # fmt: skip
    """A page already cut (rows {"actor": id, **extras}) with each actor serialised."""
    actors = await serialise(store, project_id, [row["actor"] for row in rows], group_index)
    return ActorPage(total, [{**row, "actor": actors[row["actor"]]} for row in rows
                             if row["actor"] in actors])  # fmt: skip


async def serialise(store, project_id: int, actors: list[str],
                    group_index: int | None = None) -> dict[str, dict]:  # fmt: skip
    """Actor id → PostHog's serialised person (or group), in one query. Ids naming nothing
    (a person without any distinct id left) are missing from the answer."""
    if not actors:
        return {}
    if group_index is not None:
        return await _groups(store, project_id, actors, int(group_index))
    return await _persons(store, project_id, actors)


async def _persons(store, project_id: int, actors: list[str]) -> dict[str, dict]:
    ids = [str(uuid.UUID(a)) for a in actors]
    statement = sql.load("actors/persons.sql")
    rows = (await store.query(statement, {"project_id": project_id, "person_ids": ids})).rows
    out = {}
    for person_id, distinct_ids, created_at, identified, keys, values in rows:
        properties = {k: json.loads(v) for k, v in zip(keys or [], values or [], strict=True)}
        person = str(person_id)
        out[person] = {
            "type": "person",
            "id": person,
            "uuid": person,
            "distinct_ids": list(distinct_ids),
            "properties": properties,
            "created_at": _iso(created_at),
            "is_identified": bool(identified),
            "name": _name(properties, list(distinct_ids)),
        }
    return out


async def _groups(store, project_id: int, keys: list[str], index: int) -> dict[str, dict]:
    rows = (
        await store.query(
            sql.load("actors/groups.sql"),
            {"project_id": project_id, "group_type_index": index, "group_keys": keys},
        )
    ).rows
    written = {row[0]: row for row in rows}
    out = {}
    for key in keys:  # a group seen only on events has no properties yet, but is an actor
        _, created_at, names, values = written.get(key, (key, None, [], []))
        out[key] = {
            "type": "group",
            "id": key,
            "group_key": key,
            "group_type_index": index,
            "group_properties": {k: json.loads(v) for k, v in zip(names, values, strict=True)},
            "created_at": _iso(created_at),
        }
    return out


def _name(properties: dict, distinct_ids: list[str]) -> str:
    """PostHog's display name: email, else name, else username, else a distinct id."""
    for key in ("email", "name", "username"):
        value = properties.get(key)
        if isinstance(value, str) and value:
            return value
    return distinct_ids[0] if distinct_ids else ""


def _iso(moment: datetime | None) -> str | None:
    if moment is None or moment.year <= 1970:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
