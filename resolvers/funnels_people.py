"""The actors behind a funnel step (spec funnels.md §1.9, §3.1–3.2): what `converted_people_url`
and `dropped_people_url` point at.

`funnel_step=k` (1-based) selects the actors who reached step k or further, `-k` those who
reached step k-1 but not step k; `funnel_custom_steps` lists exact furthest steps instead;
`funnel_step_breakdown` narrows to one breakdown value. With `entrance_period_start` (the
trends viz) the actors are those of one bucket: converted, or with `drop_off` dropped off.
The actors come from the funnel engine's own per-actor result (resolvers/funnels.py
`entered_actors`), never from a second funnel.
"""

from __future__ import annotations

import json
from datetime import datetime

from gateway.errors import ValidationError
from resolvers.actors import ActorPage, actors_page, page_of
from resolvers.dates import zone
from resolvers.filters import json_value
from resolvers.funnels import entered_actors
from resolvers.trends_filter import optional_int, truthy
from resolvers.where import Params


async def funnel_people(store, project: dict, filters: dict, *, now: datetime,
                       actions: dict | None = None,
                       cohorts: dict | None = None) -> ActorPage:  # fmt: skip
    page = page_of(filters)
    if filters.get("entrance_period_start") not in (None, ""):
        return await _trends_people(store, project, filters, page, now, actions, cohorts)
    step = optional_int(filters.get("funnel_step"), "funnel_step")
    custom = _json(filters.get("funnel_custom_steps"), "funnel_custom_steps")
    if step is None and not custom:
        raise ValidationError("funnel_step is required", attr="funnel_step")
    if step in (0, -1):  # nobody drops off before the first step
        raise ValidationError("funnel_step must be a step number, -1 excepted", attr="funnel_step")
    entered = await entered_actors(store, project, filters, now=now, actions=actions,
                                   cohorts=cohorts)  # fmt: skip
    if entered is None:
        return ActorPage(0, [])
    req, actors, params = entered
    n = len(req.steps)
    bound = Params(dict(params))
    if custom:
        if not isinstance(custom, list) or not all(isinstance(s, int) for s in custom):
            raise ValidationError("funnel_custom_steps must be a list of step numbers",
                                  attr="funnel_custom_steps")  # fmt: skip
        condition = f"has({bound.bind(custom, 'Array(Int64)')}, toInt64(furthest))"
    elif abs(step) > n:
        raise ValidationError(f"funnel_step must be between -{n} and {n}", attr="funnel_step")
    elif step > 0:
        condition = f"furthest >= {bound.bind(step, 'UInt32')}"
    else:
        condition = f"furthest = {bound.bind(-step - 1, 'UInt32')}"
    return await _page(store, project, req, actors, condition, bound, filters, page)


async def _trends_people(store, project, filters, page, now, actions, cohorts) -> ActorPage:
    """§3.3: the actors whose best attempt starting in the bucket at `entrance_period_start`
    reached the `to` step — or, with `drop_off`, reached the `from` step but not the `to`."""
    entered = await entered_actors(store, project, {**filters, "funnel_viz_type": "trends"},
                                   now=now, actions=actions, cohorts=cohorts)  # fmt: skip
    if entered is None:
        return ActorPage(0, [])
    req = entered.req
    start = _moment(filters["entrance_period_start"], project)
    position = entered.period_of(start)
    bound = Params(dict(entered.params))
    reached_to = f"reached >= {bound.bind(req.to_step + 1, 'UInt32')}"
    if truthy(filters.get("drop_off")):
        reached_from = f"reached >= {bound.bind(req.from_step + 1, 'UInt32')}"
        condition = f"{reached_from} AND NOT {reached_to}"
    else:
        condition = reached_to
    condition += f" AND period = {bound.bind(position, 'UInt32')}"
    return await _page(store, project, req, entered.periods_sql(), condition, bound, filters,
                       page)  # fmt: skip


async def _page(store, project, req, rows_sql: str, condition: str, bound: Params, filters,
                page) -> ActorPage:  # fmt: skip
    """The actors of the rows meeting `condition` (and the URL's breakdown value), one page."""
    value = filters.get("funnel_step_breakdown")
    if req.breakdown is not None and value not in (None, ""):
        condition += " AND " + _breakdown_condition(req.breakdown.boxed, value, bound)
    members = f"SELECT actor FROM ({rows_sql}) WHERE {condition}"
    return await actors_page(store, int(project["id"]), members, bound.values, page,
                             group_index=req.group_index)  # fmt: skip


def _moment(raw, project: dict) -> datetime:
    """`entrance_period_start`: ISO, or a bucket's "YYYY-MM-DD[ HH:MM:SS]" in the project's
    timezone."""
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError("entrance_period_start must be a date",
                              attr="entrance_period_start") from None  # fmt: skip
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(project.get("timezone") or "UTC"))
    return moment


def _breakdown_condition(boxed: bool, raw, params: Params) -> str:
    """`pvalue` equal to the breakdown value the URL carries: a JSON list, or one value (the
    text as sent: "true" stays the string it was)."""
    value = raw
    if isinstance(raw, str) and raw.lstrip().startswith("["):
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
    if boxed:
        values = value if isinstance(value, list) else [value]
        return f"pvalue = {params.bind([str(v) for v in values], 'Array(String)')}"
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return f"pvalue = {params.bind(str(value), 'String')}"


def _json(value, attr: str):
    return json_value(value, attr) if isinstance(value, str) and value else (value or None)
