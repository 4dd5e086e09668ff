"""Funnel paths (spec retention_paths.md B7): the paths of a funnel's people around one step.

`funnel_paths` picks the direction — after the step, before it, or between it and the step
before — and `funnel_filter` the funnel. `funnel_step` (path filter first, else the funnel
filter's) follows the funnel-persons meaning: N reached step N, -N reached step N-1 but not N.

The people and their step times come from the funnel engine's own per-actor result
(resolvers/funnels.py `entered_actors`: the credited attempt's step times), never from a second
funnel. This module turns them into the placeholders of sql/paths/sessions.sql: a join to
those people, the time range of each person's events, and a session split at the funnel
window (B3) instead of 30 minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sql
from gateway.errors import ValidationError
from resolvers.filters import json_value
from resolvers.funnels import entered_actors, window_end
from resolvers.trends_filter import optional_int

KINDS = ("funnel_path_before_step", "funnel_path_after_step", "funnel_path_between_steps")

_TIMES = "evs_times"  # the person's event times, sorted (sessions.sql)

# A path without a funnel: every person, every event, sessions split on a fixed gap.
NO_FUNNEL = {
    "__FUNNEL_JOIN__": "",
    "__FUNNEL_RANGE__": "1",
    "__GAPS__": f"arrayDifference({_TIMES})",
}


@dataclass(frozen=True)
class FunnelPaths:
    kind: str  # one of KINDS
    step: int  # funnel_step as sent: ±N, never 0 or -1
    funnel_filter: dict


@dataclass(frozen=True)
class FunnelPeople:
    params: dict  # the funnel query's bound parameters; the path query's continue from them
    fragments: dict[str, str]  # sessions.sql placeholder → SQL


def parse(filters: dict) -> FunnelPaths | None:
    """The funnel part of a paths request, validated as far as it can be without the funnel's
    step count; None for ordinary paths."""
    kind = filters.get("funnel_paths")
    if kind in (None, ""):
        return None
    if kind not in KINDS:
        raise ValidationError(f"funnel_paths must be one of {', '.join(KINDS)}",
                              attr="funnel_paths")  # fmt: skip
    raw = filters.get("funnel_filter")
    if raw in (None, "", {}):
        raise ValidationError("funnel_filter is required with funnel_paths", attr="funnel_filter")
    funnel_filter = json_value(raw, "funnel_filter")
    if not isinstance(funnel_filter, dict):
        raise ValidationError("funnel_filter must be a JSON object", attr="funnel_filter")
    if funnel_filter.get("aggregation_group_type_index") not in (None, ""):
        # paths follow persons; a group has no path of its own
        raise ValidationError("funnel paths need a funnel of persons, not of groups",
                              attr="funnel_filter.aggregation_group_type_index")  # fmt: skip
    step = optional_int(filters.get("funnel_step"), "funnel_step")
    if step is None:
        step = optional_int(funnel_filter.get("funnel_step"), "funnel_step")
    if step is None or step in (0, -1):  # nobody drops off before the first step
        raise ValidationError("funnel_step is required with funnel_paths: a step number N, or "
                              "-N for the people who stopped before step N (N ≥ 2)",
                              attr="funnel_step")  # fmt: skip
    return FunnelPaths(kind, step, funnel_filter)


def _reference_step(paths: FunnelPaths, steps: int) -> int:
    """B7: the step whose time anchors each person's events — step N for N, the last step
    completed (N-1) for -N."""
    if not -steps <= paths.step <= steps:
        raise ValidationError(f"funnel_step must be between -{steps} and {steps} (this funnel "
                              f"has {steps} steps)", attr="funnel_step")  # fmt: skip
    reference = paths.step if paths.step > 0 else -paths.step - 1
    if paths.kind == "funnel_path_between_steps" and reference < 2:
        raise ValidationError("funnel_path_between_steps needs a step with a step before it: "
                              "2 or more, or -3 or less", attr="funnel_step")  # fmt: skip
    return reference


def _one_funnel(funnel_filter: dict) -> dict:
    """The funnel whose people walk the paths: one funnel over all of them (a breakdown would
    split a person's events between values) and its steps view (other views only re-shape)."""
    kept = {k: v for k, v in funnel_filter.items() if not k.startswith("breakdown")}
    return {**kept, "funnel_viz_type": "steps"}


async def funnel_people(store, project: dict, paths: FunnelPaths, *, now: datetime,
                        actions: dict | None, cohorts: dict | None) -> FunnelPeople:  # fmt: skip
    try:
        entered = await entered_actors(store, project, _one_funnel(paths.funnel_filter), now=now,
                                       actions=actions, cohorts=cohorts)  # fmt: skip
    except ValidationError as exc:  # name the field inside funnel_filter
        attr = f"funnel_filter.{exc.attr}" if exc.attr else "funnel_filter"
        raise ValidationError(f"funnel_filter: {exc.detail}", attr=attr,
                              code=exc.code) from None  # fmt: skip
    if entered is None:
        raise ValidationError("funnel_filter has no steps", attr="funnel_filter")
    reference = _reference_step(paths, len(entered.req.steps))
    # reached step N (or further) / stopped right after step N-1
    members = "furthest >= {reference_step:UInt32}" if paths.step > 0 else (
        "furthest = {reference_step:UInt32}")  # fmt: skip
    people = (sql.load("paths/funnel_people.sql").replace("__ACTORS__", entered.actors_sql)
              .replace("__MEMBERS__", members))  # fmt: skip
    window = entered.req.window
    if paths.kind == "funnel_path_after_step":
        in_range = "ts >= funnel_reference"
    elif paths.kind == "funnel_path_before_step" and paths.step > 0:
        in_range = "ts <= funnel_reference"
    elif paths.kind == "funnel_path_before_step":
        # a dropoff is only known once the window is over: what they did until then counts
        in_range = f"ts <= {window_end('funnel_reference', window)}"
    else:
        in_range = "ts >= funnel_previous AND ts <= funnel_reference"
    # B3: a session lasts until the funnel window opened at its previous event has passed
    past_window = f"t - {window_end('p', window)}"
    fragments = {
        "__FUNNEL_JOIN__": f"INNER JOIN ({people}) AS funnel "
                           "ON funnel.funnel_person = path_events.person",
        "__FUNNEL_RANGE__": in_range,
        "__GAPS__": f"arrayMap((t, p, i) -> if(i = 1, 0, {past_window}), {_TIMES}, "
                    f"arrayPushFront(arrayPopBack({_TIMES}), 0), arrayEnumerate(evs))",
    }  # fmt: skip
    return FunnelPeople({**entered.params, "reference_step": reference}, fragments)
