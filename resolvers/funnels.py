"""Funnels (spec funnels.md, with spec/README.md's decisions): steps, trends and time to convert.

Validate (resolvers/funnels_request.py) → one ClickHouse query builds, per actor and breakdown
value, the actor's events as a time-sorted array of (time, step bits, exclusion bits) and runs
the attempt logic with array functions (sql/funnels/actors.sql) → steps, trends or the
time-to-convert histogram aggregate those rows → shaped as PostHog's `result`.

Attempts, per order type (README: deterministic ties):
- ordered: every step-0 event starts one; step i takes the earliest event matching it at or
  after step i-1's time (strictly after when step i equals or covers step i-1), inside the
  window measured from step 0.
- strict: the steps are consecutive events in *some* order of tied timestamps: events tied
  with step 0 may go before it, events tied with the last step after it, and every event in
  between must be a step. Computed per group of tied events: a group between the first and
  the last step is wholly consumed by the next block of steps (a matching of the group's
  events onto the steps, found greedily from the most specific event), the last group partly.
- unordered: every (event, step it matches) is an anchor; each other step takes its earliest
  matching event at or after the anchor, inside the window (exact when no event matches two
  steps; see the module's tests for what is covered).
Exclusions discard an attempt when an excluded event lies strictly between the attempt's
`from` time and its `to` time (its `from` time + window when `to` was not reached). An actor
counts at its furthest clean attempt; conversion times average (and take the median of) the
attempts reaching that step, per actor, then across actors.

Only fixed SQL and integers this module computes are spliced into the text; every user value
is a bound parameter (resolvers/where.py compiles entities and property filters).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import NamedTuple

import sql
from gateway.errors import ValidationError
from resolvers.actors import people_url
from resolvers.dates import date_range, zone
from resolvers.funnels_request import (
    Breakdown,
    FunnelRequest,
    parse_request,
    truthy,
)
from resolvers.properties import parse_properties
from resolvers.where import Context, Params, compile_entity, compile_filter, event_property_text

# The person an event belongs to now: its own id, unless a merge pointed it at another.
PERSON = (
    "if(o.old_person_id = toUUID('00000000-0000-0000-0000-000000000000'), "
    "e.person_id, o.override_person_id)"
)
_MICROS = {
    "second": 1_000_000,
    "minute": 60_000_000,
    "hour": 3_600_000_000,
    "day": 86_400_000_000,
    "week": 604_800_000_000,
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def template(name: str) -> str:
    return sql.load(f"funnels/{name}")


# -- attempt expressions (over the arrays ts, m, xm, ends of one actor) ------------------------


def window_end(expr: str, window: tuple[int, str]) -> str:
    """The last instant (inclusive) of a window opened at `expr` (microseconds, UTC)."""
    amount, unit = int(window[0]), window[1]
    if unit == "month":  # calendar months on the UTC timestamp, day clamped to the month's end
        return (
            f"toUnixTimestamp64Micro(addMonths(fromUnixTimestamp64Micro({expr}, 'UTC'), {amount}))"
        )
    return f"({expr} + {amount * _MICROS[unit]})"


def _ordered_times(n: int, window: tuple[int, str]) -> str:
    """§2.2: per step-0 time in `starts`, the step times reached inside the window.

    Step k takes the earliest of the actor's step-k times (`step_times[k]`, sorted) at or after
    step k-1's, found for every attempt at once as one flat array per step (`reached_k`: 0 when
    not reached, and then 0 for each later step); an attempt's list stops before its first 0.
    Flat arrays rather than a list grown per attempt: a quarter less work at 1M events."""
    arrays, previous = ["starts"], "starts"
    for k in range(1, n):
        later = (
            f"t <= {window_end('s', window)} AND "
            f"(t > p OR (t = p AND {{repeats:Array(UInt8)}}[{k + 1}] = 0))"
        )
        arrays.append(
            f"arrayMap((s, p) -> if(p = 0, toInt64(0), arrayFirst(t -> {later}, "
            f"step_times[{k}])), starts, {previous}) AS reached_{k}"
        )
        previous = f"reached_{k}"
    names = [f"a{k}" for k in range(n)]
    length = " + ".join(["1"] + [f"({name} != 0)" for name in names[1:]])
    return (
        f"arrayMap(({', '.join(names)}) -> arraySlice([{', '.join(names)}], 1, {length}), "
        f"{', '.join(arrays)})"
    )


def _step_times(n: int) -> str:
    """Per later step k (1-based position k), the sorted times of the actor's step-k events."""
    return (
        ",\n    arrayMap(k -> arrayFilter((t, mm) -> bitTest(mm, k), ts, m), "
        f"range(1, {n})) AS step_times"
    )


def _exclusion_times(req: FunnelRequest) -> str:
    """Per exclusion j (1-based position j + 1), the sorted times of the actor's events it
    matches (from the unpacked event arrays)."""
    return (
        f"arrayMap(j -> arrayFilter((t, xx) -> bitTest(xx, j), ts, xm), "
        f"range({len(req.exclusions)}))"
    )


def _step_arrays(n: int, exclusions: int, unordered: bool = False) -> str:
    """per_actor_steps.sql's columns: each step's and each exclusion's sorted times; for
    unordered funnels each step's times as a column of its own (`step_k_times`) and its
    events as anchors (`step_k_anchors`: sorted (time, step bits))."""

    def times(bits: str, i: int) -> str:
        return f"arraySort(groupArrayIf(ts, bitTest({bits}, {i})))"

    excluded = ", ".join(times("excl", j) for j in range(exclusions))
    excluded = f"[{excluded}]" if exclusions else "CAST([], 'Array(Array(Int64))')"
    if unordered:
        columns = [f"{times('steps', k)} AS step_{k}_times" for k in range(n)] + [
            f"arraySort(groupArrayIf((ts, steps), bitTest(steps, {k}))) AS step_{k}_anchors"
            for k in range(n)
        ]
        return ", ".join(columns) + f", {excluded} AS excl_times"
    later = ", ".join(times("steps", k) for k in range(1, n))
    return f"{times('steps', 0)} AS starts, [{later}] AS step_times, {excluded} AS excl_times"


def _greedy(masks: str, start: str, n: int, check_first: bool) -> str:
    """How many steps from `start` on can be laid out, in order, on distinct events of one
    group of tied events (`masks`): each step takes the unused event that matches the fewest
    of the steps after it, then the one whose other steps come latest (a heuristic matching,
    exact while the steps an event can take are nested). No step that repeats its
    predecessor may share its timestamp."""
    first = "1" if check_first else f"i > {start}"
    return (
        "arrayFold((gs, i) -> if(gs.3 = 1, gs, "
        f"if(({first}) AND {{repeats:Array(UInt8)}}[i + 1] = 1, (gs.1, gs.2, toUInt8(1)), "
        "arrayMap(idx -> if(idx = 0, (gs.1, gs.2, toUInt8(1)), "
        "(arrayMap((u, q) -> if(q = idx, toUInt8(1), u), gs.1, arrayEnumerate(gs.1)), "
        "toUInt32(gs.2 + 1), toUInt8(0))), "
        "[arrayMap(c -> if(empty(c), 0, "
        f"arraySort(q -> (bitCount(bitShiftRight({masks}[q], i + 1)), "
        f"-toInt64(bitShiftRight({masks}[q], i + 1)), {masks}[q]), c)[1]), "
        f"[arrayFilter((q, mm, u) -> u = 0 AND bitTest(mm, i), arrayEnumerate({masks}), "
        f"{masks}, gs.1)])[1]])[1])), "
        f"range(toUInt32({start}), toUInt32(least({n}, {start} + length({masks})))), "
        f"(arrayWithConstant(length({masks}), toUInt8(0)), toUInt32(0), toUInt8(0))).2"
    )


def _strict_times(n: int) -> str:
    """§2.4 with README ties (see the module docstring): per step-0 event, for each number `a`
    of tied events used right after it, walk the later groups; keep the most steps, then the
    earliest last step, then the earliest times."""
    walk = (
        "arrayFold((st, gi) -> if(st.2 = 1 OR gts[gi] > ends[s] OR length(st.1) >= "
        f"{n}, (st.1, toUInt8(1)), "
        "arrayMap(p -> (arrayConcat(st.1, arrayWithConstant(p, gts[gi])), "
        "toUInt8(p != length(gm[gi]))), "
        f"[{_greedy('gm[gi]', 'length(st.1)', n, False)}])[1]), "
        "range(toUInt32(g0 + 1), toUInt32(length(gts) + 1)), "
        "(arrayConcat([ts[s]], arrayWithConstant(a, ts[s])), toUInt8(0))).1"
    )
    best = (
        "arraySort(tm -> (-toInt64(length(tm)), tm[-1], tm), "
        f"arrayMap(a -> {walk}, range(amax + 1)))[1]"
    )
    return (
        "arrayMap(s -> arrayMap(g0 -> arrayMap(rest -> arrayMap(amax -> "
        f"{best}, [{_greedy('rest', '1', n, True)}])[1], "
        "[arrayFilter((mm, q) -> q != indexOf(gm[g0], m[s]), gm[g0], "
        "arrayEnumerate(gm[g0]))])[1], [egi[s]])[1], "
        "arrayFilter(s -> bitTest(m[s], 0), arrayEnumerate(ts)))"
    )


_STRICT_GROUPS = """,
                arrayMap(d -> toUInt8(d != 0), arrayDifference(ts)) AS brk,
                arrayMap(g -> g[1], arraySplit((t, f) -> f, ts, brk)) AS gts,
                arrayMap(g -> arraySort(mm -> (bitCount(mm), mm), g),
                         arraySplit((mm, f) -> f, m, brk)) AS gm,
                arrayMap(c -> c + 1, arrayCumSum(brk)) AS egi"""


def _unordered_times(n: int) -> str:
    """§2.5 (README ties): per (event, step it matches), the anchor and the earliest event of
    every other step at or after it, inside the window, sorted."""
    others = (
        f"arrayMap(j -> if(j = sr.2, toInt64(0), arrayFirst((t, mm, q) -> q != sr.1 AND "
        f"bitTest(mm, j) AND t >= ts[sr.1] AND t <= ends[sr.1], ts, m, arrayEnumerate(ts))), "
        f"range({n}))"
    )
    return (
        f"arrayMap(sr -> arraySort(arrayConcat([ts[sr.1]], arrayFilter(t -> t != 0, {others}))), "
        f"arrayFlatten(arrayMap(s -> arrayMap(r -> (s, r), arrayFilter(r -> bitTest(m[s], r), "
        f"range({n}))), arrayEnumerate(ts))))"
    )


def _unordered_step_times(n: int, window: tuple[int, str]) -> str:
    """_unordered_times over per_actor_steps.sql's per-step columns, the same attempts: per
    anchor (an event of step r, with its bits) and other step j, the earliest step-j time at
    or after the anchor's, skipping the anchor's own entry when it matches j too (the sorted
    candidates then start with it). Each step-r anchor looks only at the other steps' times,
    never at all the actor's events: a frequent step no longer meets itself per anchor."""
    per_step = []
    for r in range(n):
        picks = [
            f"arrayFilter(t -> t >= a.1, step_{j}_times)[if(bitTest(a.2, {j}), 2, 1)]"
            for j in range(n)
            if j != r
        ]
        if picks:
            inside = f"t != 0 AND t <= {window_end('a.1', window)}"
            times = (
                f"arraySort(arrayConcat([a.1], arrayFilter(t -> {inside}, [{', '.join(picks)}])))"
            )
        else:
            times = "[a.1]"
        per_step.append(f"arrayMap(a -> {times}, step_{r}_anchors)")
    return f"arrayConcat({', '.join(per_step)})"


def _discarded(req: FunnelRequest) -> str:
    """§2.3 (all order types, README): an excluded event strictly inside the attempt's range."""
    parts = []
    for j, x in enumerate(req.exclusions):
        f, t = int(x.from_step), int(x.to_step)
        until = f"if(length(tm) > {t}, tm[{t + 1}], {window_end(f'tm[{f + 1}]', req.window)})"
        parts.append(
            f"(length(tm) > {f} AND arrayExists(t -> t > tm[{f + 1}] AND t < {until}, "
            f"excl_times[{j + 1}]))"
        )
    return " OR ".join(parts) if parts else "0"


def _bits(conditions: list[str]) -> str:
    """A bitmask of the conditions an event meets, in the narrowest unsigned type that holds
    them: every relevant event of an actor is kept in memory (10M events: the 3-step funnel's
    query peaks 100 MB lower with UInt8 masks than with UInt64)."""
    width = next(w for w in (8, 16, 32, 64) if len(conditions) <= w)
    if not conditions:
        return "toUInt8(0)"
    total = " + ".join(f"toUInt64({c}) * {1 << i}" for i, c in enumerate(conditions))
    return f"CAST({total} AS UInt{width})"


# -- breakdowns --------------------------------------------------------------------------------


def _text(value: str) -> str:
    """A folded (person/group) property's JSON text as PostHog's string: quotes removed."""
    unquoted = f"if(JSONType({value}) = 'String', JSONExtractString({value}), {value})"
    return f"if({value} = '', '', {unquoted})"


def _normalized(text: str) -> str:
    """§1.7 breakdown_normalize_url: trailing `/`, `?`, `#` stripped (a bare "/" stays)."""
    stripped = f"replaceRegexpOne({text}, '[/?#]+$', '')"
    return f"if({text} = '', '', if({stripped} = '', '/', {stripped}))"


def _breakdown_value(bd: Breakdown, params: Params) -> tuple[str, str]:
    """(SQL of an event's raw breakdown value, the joins it needs)."""
    parts, joins = [], []
    for index, (name, kind, group_index) in enumerate(bd.props):
        alias = f"bd{index}"
        if kind == "event":
            text = event_property_text("e", name)
        elif kind == "person":
            subquery = sql.load("filters/person_property.sql").replace("__KEY__", params.name(name))
            joins.append(f"LEFT JOIN ({subquery}) AS {alias} ON {alias}.person_id = {PERSON}")
            text = _text(f"{alias}.value")
        else:
            subquery = (
                sql.load("filters/group_property.sql")
                .replace("__KEY__", params.name(name))
                .replace("__INDEX__", params.name(int(group_index)))
            )
            column = f"e.group_{int(group_index)}"
            joins.append(f"LEFT JOIN ({subquery}) AS {alias} ON {alias}.group_key = {column}")
            text = _text(f"{alias}.value")
        if bd.normalize_url and name in ("$current_url", "$pathname"):
            text = _normalized(text)
        parts.append(text)
    value = "[" + ", ".join(parts) + "]" if bd.boxed else parts[0]
    return value, "\n".join(joins)


def _partitions(req: FunnelRequest) -> tuple[str, str]:
    """(the breakdown values one actor is evaluated under, that value's events) — §2.8."""
    bd = req.breakdown
    if bd is None:
        return "[toUInt8(0)]", "all_evs"
    if bd.attribution == "all_events":
        return (
            "arrayDistinct(arrayMap(x -> x.4, all_evs))",
            "arrayFilter(x -> x.4 = pvalue, all_evs)",
        )
    if bd.attribution == "step":
        step = int(bd.attribution_step)
        values = (
            f"arrayDistinct(arrayMap(x -> x.4, arrayFilter(x -> bitTest(x.2, {step}), all_evs)))"
        )
        return values, "all_evs"
    non_empty = "arrayExists(v -> v != '', x.4)" if bd.boxed else "x.4 != ''"
    empty = f"arrayWithConstant({len(bd.props)}, '')" if bd.boxed else "NULL"
    at = "1" if bd.attribution == "first_touch" else "-1"
    touch = (
        f"arrayMap(c -> if(length(c) = 0, {empty}, "
        f"arraySort(arrayMap(x -> x.4, arrayFilter(x -> x.1 = c[{at}].1, c)))[1]), "
        f"[arrayFilter(x -> (x.2 != 0 OR x.3 != 0) AND {non_empty}, all_evs)])[1]"
    )
    return f"[{touch}]", "all_evs"


def _targets(req: FunnelRequest, params: Params, ctx: Context, actions: dict) -> str:
    """§2.7.1: the events whose values compete for the kept list."""
    bd = req.breakdown
    if bd.attribution in ("first_touch", "last_touch") or req.order_type == "unordered":
        targets = list(req.steps)
    elif bd.attribution == "step":
        targets = [req.steps[bd.attribution_step]]
    else:
        targets = [req.steps[0]]
    if len(targets) > 1:
        targets = [{**t, "properties": []} for t in targets]
    parts = [
        compile_entity(t, params, ctx, actions=actions, attr=f"breakdown_target[{i}]")
        for i, t in enumerate(targets)
    ]
    return "(" + " OR ".join(parts) + ")"


# -- the query ---------------------------------------------------------------------------------


def _global_filters(filters: dict, project: dict, params: Params, ctx: Context) -> str:
    parts = [compile_filter(parse_properties(filters.get("properties")), params, ctx)]
    if truthy(filters.get("filter_test_accounts")):
        test_accounts = parse_properties(
            project.get("test_account_filters") or [], "test_account_filters"
        )
        parts.append(compile_filter(test_accounts, params, ctx, "test_account_filters"))
    return " AND ".join(parts)


def _entity_attr(entity: dict, index: int) -> str:
    return f"{entity['type']}[{index}]"


class _Query:
    """The per-actor funnel query of one request, and its parameters."""

    def __init__(self, req, project, filters, now, actions, first_event, cohorts=None):
        self.req = req
        self.params = Params()
        self.actions = actions
        tz = project.get("timezone") or "UTC"
        self.range = date_range(
            filters,
            now=now,
            timezone=tz,
            week_start_day=int(project.get("week_start_day") or 0),
            first_event=first_event,
            interval=req.interval,
        )
        self.ctx = Context(person=PERSON, actions=actions, cohorts=cohorts or {}, now=now)
        self.filters_sql = _global_filters(filters, project, self.params, self.ctx)
        date_from, date_to = self.range.utc_bounds()
        self.base = {
            "project_id": int(project["id"]),
            "date_from": date_from,
            "date_to": date_to,
            "repeats": [int(r) for r in req.repeats],
        }

    def _steps_sql(self) -> str:
        conditions = [
            compile_entity(s, self.params, self.ctx, actions=self.actions, attr=f"events[{i}]")
            for i, s in enumerate(self.req.steps)
        ]
        return _bits(conditions)

    def _exclusions_sql(self) -> str:
        conditions = [
            compile_entity(
                x.entity, self.params, self.ctx, actions=self.actions, attr=f"exclusions[{i}]"
            )  # fmt: skip
            for i, x in enumerate(self.req.exclusions)
        ]
        return _bits(conditions)

    def _actor(self) -> tuple[str, str]:
        if self.req.group_index is None:
            return PERSON, "1"
        column = f"e.group_{int(self.req.group_index)}"
        return column, f"{column} != ''"

    def _event_rows(self, actor, has_actor, steps, exclusions, bvalue, joins) -> str:
        """event_rows.sql with this request's filters and the given columns' SQL."""
        return (
            template("event_rows.sql")
            .replace("__ACTOR__", actor)
            .replace("__HAS_ACTOR__", has_actor)
            .replace("__STEPS__", steps)
            .replace("__EXCLUSIONS__", exclusions)
            .replace("__BREAKDOWN__", bvalue)
            .replace("__JOINS__", joins)
            .replace("__FILTERS__", self.filters_sql)
        )

    async def kept_values(self, store) -> list:
        bd = self.req.breakdown
        params = Params(dict(self.params.values))
        value, joins = _breakdown_value(bd, params)
        targets = _targets(self.req, params, self.ctx, self.actions)
        rows = self._event_rows(PERSON, "1", f"toUInt8({targets})", "toUInt8(0)", value, joins)
        query = template("breakdown_values.sql").replace("__EVENT_ROWS__", rows)
        rows = (
            await store.query(
                query, {**params.values, **self.base, "breakdown_limit": max(0, bd.limit)}
            )
        ).rows
        return [row[0] for row in rows]

    def actors_sql(self, kept: list | None, every_value: bool = False) -> str:
        """Rows of actors who entered the funnel; with `every_value` also rows (without clean
        attempts) of values whose events were all discarded or started nothing."""
        req, n = self.req, len(self.req.steps)
        actor, has_actor = self._actor()
        steps, exclusions = self._steps_sql(), self._exclusions_sql()
        bd = req.breakdown
        if bd is None:
            bvalue, joins = "toUInt8(0)", ""
        else:
            raw, joins = _breakdown_value(bd, self.params)
            if bd.boxed:
                kept_param = self.params.bind([list(v) for v in kept], "Array(Array(String))")
                bvalue = f"if(has({kept_param}, {raw}), {raw}, ['Other'])"
            else:
                kept_param = self.params.bind(list(kept), "Array(String)")
                bvalue = f"if(has({kept_param}, {raw}), {raw}, 'Other')"
        # a trends series exists for every value of an actor's events, even irrelevant ones
        every_event = req.order_type == "strict" or (every_value and bd is not None)
        rows = self._event_rows(actor, has_actor, steps, exclusions, bvalue, joins)
        relevant = "1" if every_event else "(steps != 0 OR excl != 0)"
        by_step = bd is None and req.order_type in ("ordered", "unordered")
        if by_step:
            arrays = _step_arrays(n, len(req.exclusions), req.order_type == "unordered")
            per_actor = template("per_actor_steps.sql").replace("__STEP_ARRAYS__", arrays)
        else:
            partitions, partition_events = _partitions(req)
            groups = {"strict": _STRICT_GROUPS, "unordered": ""}.get(req.order_type)
            per_actor = (
                template("per_actor_events.sql")
                .replace("__PARTITIONS__", partitions)
                .replace("__PARTITION_EVENTS__", partition_events)
                .replace("__END__(t)", window_end("t", req.window))
                .replace("__EXCLUSION_TIMES__", _exclusion_times(req))
                .replace("__GROUPS__", _step_times(n) if groups is None else groups)
            )
        if req.order_type == "strict":
            times = _strict_times(n)
        elif req.order_type == "unordered":
            times = _unordered_step_times(n, req.window) if by_step else _unordered_times(n)
        else:
            times = _ordered_times(n, req.window)
        return (
            template("actors.sql")
            .replace("__PER_ACTOR__", per_actor.replace("__EVENT_ROWS__", rows))
            .replace("__RELEVANT__", relevant)
            .replace("__TIMES__", times)
            .replace("__DISCARDED__", _discarded(req))
            .replace("__N__", str(n))
            .replace("__KEEP__", "1" if every_value else "length(clean) > 0")
        )

    def all_params(self, extra: dict | None = None) -> dict:
        return {**self.params.values, **self.base, **(extra or {})}


async def _first_event(store, project: dict) -> datetime | None:
    rows = (
        await store.query(
            "SELECT min(timestamp), count() FROM events WHERE project_id = {project_id:UInt64}",
            {"project_id": int(project["id"])},
        )
    ).rows
    if not rows or not rows[0][1]:
        return None
    first = rows[0][0]
    return first if first.tzinfo else first.replace(tzinfo=UTC)


async def _prepare(store, project, filters, now, actions, cohorts=None):
    actions = actions or {}
    req = parse_request(filters, actions)
    if req is None:
        return None, None
    first = await _first_event(store, project) if filters.get("date_from") == "all" else None
    query = _Query(req, project, filters, now, actions, first, cohorts)
    return req, query


# -- shaping -----------------------------------------------------------------------------------


def _number(value) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _step_objects(req: FunnelRequest, row, actions: dict) -> list[dict]:
    n = len(req.steps)
    exact = list(row[1]) if row else [0] * n
    averages = list(row[2]) if row else []
    medians = list(row[3]) if row else []
    out = []
    for i, step in enumerate(req.steps):
        count = sum(exact[i:])
        if req.order_type == "unordered":
            noun = "step" if i == 0 else "steps"
            action_id, name, custom_name = None, f"Completed {i + 1} {noun}", None
        elif step["type"] == "actions":
            action_id, custom_name = step["id"], step.get("custom_name")
            name = (actions.get(step["id"]) or {}).get("name")
        else:
            action_id, name, custom_name = step.get("id"), step.get("id"), step.get("custom_name")
        average = _number(averages[i - 1]) if i > 0 and i - 1 < len(averages) else None
        median = _number(medians[i - 1]) if i > 0 and i - 1 < len(medians) else None
        if i > 0 and count == 0:
            average = median = None
        out.append(
            {
                "action_id": action_id,
                "name": name,
                "custom_name": custom_name,
                "order": i,
                "people": [],
                "count": count,
                "type": step["type"],
                "average_conversion_time": average,
                "median_conversion_time": median,
            }
        )
    return out


def _value_key(value):
    return (value is None, value if value is not None else "")


def _display(bd: Breakdown, value):
    if bd.boxed:
        return list(value), list(value)
    return value, value


def _unbox(filters: dict, req: FunnelRequest, series: list[list[dict]]) -> None:
    """§3.6: old clients (insight=FUNNELS, a string event/person breakdown) get strings back; a
    `breakdowns` request gets the key renamed."""
    if str(filters.get("insight") or "").upper() != "FUNNELS":
        return
    if req.breakdown.kind not in ("person", "event"):
        return
    raw = filters.get("breakdown")
    string_breakdown = isinstance(raw, str) and not raw.lstrip().startswith("[")
    for steps in series:
        for step in steps:
            if string_breakdown:
                for key in ("breakdown", "breakdown_value"):
                    if isinstance(step[key], list) and len(step[key]) == 1:
                        step[key] = step[key][0]
            elif filters.get("breakdowns") and not filters.get("breakdown"):
                step["breakdowns"] = step.pop("breakdown")


async def _steps_result(store, req, query, filters, actions, kept):
    statement = template("steps.sql").replace("__ACTORS__", query.actors_sql(kept))
    statement = statement.replace("__N__", str(len(req.steps)))
    rows = (await store.query(statement, query.all_params())).rows
    project_id = query.base["project_id"]
    if req.breakdown is None:
        return _with_people_urls(_step_objects(req, rows[0] if rows else None, actions),
                                 project_id, filters)  # fmt: skip
    n = len(req.steps)
    series = []
    for row in rows:
        exact = list(row[1])
        key = (tuple(-exact[k - 1] for k in range(n, 0, -1)), _value_key(_pyvalue(row[0])))
        series.append((key, _pyvalue(row[0]), row))
    series.sort(key=lambda s: s[0])
    out = []
    for _, value, row in series[: req.series_limit]:
        breakdown, breakdown_value = _display(req.breakdown, value)
        steps = _step_objects(req, row, actions)
        for step in steps:
            step["breakdown"] = breakdown
            step["breakdown_value"] = breakdown_value
        out.append(_with_people_urls(steps, project_id, filters, breakdown_value))
    _unbox(filters, req, out)
    return out


def _with_people_urls(steps: list[dict], project_id: int, filters: dict,
                      value=None) -> list[dict]:  # fmt: skip
    """§3.1: who reached each step (`funnel_step=k+1`) and who reached the step before but
    not this one (`-(k+1)`; none for the first step), per breakdown value (§3.2)."""
    point = {} if value is None else {"funnel_step_breakdown": value}
    for k, step in enumerate(steps):
        step["converted_people_url"] = people_url(project_id, "funnel", filters,
                                                  {**point, "funnel_step": k + 1})  # fmt: skip
        step["dropped_people_url"] = None if k == 0 else people_url(
            project_id, "funnel", filters, {**point, "funnel_step": -(k + 1)})  # fmt: skip
    return steps


def _pyvalue(value):
    return tuple(value) if isinstance(value, list) else value


def _micros(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds


def _labels(bucket: datetime, interval: str, tz) -> tuple[str, str]:
    wall = bucket.astimezone(tz)
    day = wall.strftime("%Y-%m-%d %H:%M:%S" if interval == "hour" else "%Y-%m-%d")
    label = f"{wall.day}-{_MONTHS[wall.month - 1]}-{wall.year}"
    if interval == "hour":
        label += f" {wall.hour:02d}:{wall.minute:02d}"
    return day, label


async def _trends_result(store, req, query, project, kept):
    buckets = query.range.buckets()
    statement = (template("trends.sql").replace("__PERIODS__", template("trends_actors.sql"))
                 .replace("__ACTORS__", query.actors_sql(kept, True)))  # fmt: skip
    extra = {
        "buckets": [_micros(b) for b in buckets],
        "from_step": req.from_step,
        "to_step": req.to_step,
    }
    rows = (await store.query(statement, query.all_params(extra))).rows
    cells: dict = {}
    for value, period, reached_from, reached_to in rows:
        cells.setdefault(_pyvalue(value), {})[period] = (reached_from, reached_to)
    tz = zone(project.get("timezone") or "UTC")
    labelled = [_labels(b, req.interval, tz) for b in buckets]

    def row_of(value) -> dict:
        counts = [cells.get(value, {}).get(k, (0, 0)) for k in range(1, len(buckets) + 1)]
        return {
            "count": len(buckets),
            "data": [round(t / f * 100, 2) if f else 0 for f, t in counts],
            "days": [d for d, _ in labelled],
            "labels": [label for _, label in labelled],
            "reached_from_step_count": [f for f, _ in counts],
            "reached_to_step_count": [t for _, t in counts],
        }

    if req.breakdown is None:
        return [row_of(0)]
    declared = [_pyvalue(v) for v in kept]
    values = declared + [v for v in cells if v not in declared]
    out = []
    for value in sorted(values, key=_value_key):
        row = row_of(value)
        row["breakdown_value"] = _display(req.breakdown, value)[0]
        out.append(row)
    return out


async def _time_to_convert(store, req, query):
    statement = template("time_to_convert.sql").replace("__ACTORS__", query.actors_sql(None))
    # a custom bin count is clamped to [1, 90]; 0 tells the SQL to pick one (§4.2.3)
    bins = 0 if req.bin_count is None else max(1, req.bin_count)
    extra = {"from_step": req.from_step, "to_step": req.to_step, "bin_count": bins}
    rows = (await store.query(statement, query.all_params(extra))).rows
    low, width, bins, counts, samples, count = rows[0]
    # math.fsum is the exactly rounded sum, whatever order the actors come in; a plain sum can
    # land either side of a rounding boundary (x.425) depending on it
    average = round(math.fsum(samples) / count, 2) if count else None
    return {
        "bins": [[low + k * width, counts[k]] for k in range(bins + 1)],
        "average_conversion_time": average,
    }


async def compute_funnel(
    store,
    project: dict,
    filters: dict,
    *,
    now: datetime,
    actions: dict[int, dict] | None = None,
    cohorts: dict[int, dict] | None = None,
):
    """PostHog's funnel `result`: a list of steps, a list of step lists (breakdown), a list of
    trend rows, or the time-to-convert dict. Raises ValidationError for 400 answers."""
    actions = actions or {}
    req, query = await _prepare(store, project, filters, now, actions, cohorts)
    if req is None:
        return []
    if req.viz_type == "time_to_convert":
        # the breakdown is ignored (PostHog crashes on it, spec §8 #23489)
        query.req = req = _without_breakdown(req)
        return await _time_to_convert(store, req, query)
    kept = await query.kept_values(store) if req.breakdown is not None else None
    if req.viz_type == "trends":
        return await _trends_result(store, req, query, project, kept)
    return await _steps_result(store, req, query, filters, actions, kept)


def _without_breakdown(req: FunnelRequest) -> FunnelRequest:
    from dataclasses import replace

    return replace(req, breakdown=None)


async def entered_actors(store, project: dict, filters: dict, *, now: datetime,
                         actions: dict | None = None, cohorts: dict | None = None,
                         ) -> Entered | None:  # fmt: skip
    """The funnel's per-actor result as SQL — one row per (breakdown value `pvalue`, `actor`)
    that entered the funnel, with `furthest` (steps reached, 1-based), the credited attempt's
    times and its `clean` attempts — with its bound parameters; None for a funnel without
    steps. Correlation, people and paths read actors from here rather than computing a funnel
    of their own."""
    actions = actions or {}
    req, query = await _prepare(store, project, filters, now, actions, cohorts)
    if req is None:
        return None
    if req.viz_type == "time_to_convert":
        query.req = req = _without_breakdown(req)
    kept = await query.kept_values(store) if req.breakdown is not None else None
    buckets = [_micros(b) for b in query.range.buckets()]
    return Entered(req, query.actors_sql(kept), query.all_params({"buckets": buckets}))


class Entered(NamedTuple):
    req: FunnelRequest
    actors_sql: str
    params: dict  # `buckets`: the trends viz's bucket starts, for trends_actors.sql

    def period_of(self, moment: datetime) -> int:
        """The entrance period holding `moment`: its bucket's 1-based position (0: before the
        first), as trends_actors.sql numbers them."""
        return sum(1 for start in self.params["buckets"] if start <= _micros(moment))

    def periods_sql(self) -> str:
        """Per (pvalue, actor, entrance period) the most steps reached (trends viz)."""
        return template("trends_actors.sql").replace("__ACTORS__", self.actors_sql)


async def funnel_actors(
    store,
    project: dict,
    filters: dict,
    *,
    now: datetime,
    actions: dict[int, dict] | None = None,
    cohorts: dict[int, dict] | None = None,
) -> dict:
    """Every actor who entered the funnel, per breakdown value (None without a breakdown):
    {value: {actor: (furthest step, first step time of the credited attempt, its step
    times)}}. Times are aware UTC datetimes."""
    entered = await entered_actors(store, project, filters, now=now, actions=actions,
                                   cohorts=cohorts)  # fmt: skip
    if entered is None:
        return {}
    req, actors, params = entered
    statement = f"SELECT pvalue, actor, furthest, first_timestamp, credited_times FROM ({actors})"
    rows = (await store.query(statement, params)).rows
    out: dict = {}
    for value, actor, furthest, first, times in rows:
        key = None if req.breakdown is None else _pyvalue(value)
        out.setdefault(key, {})[str(actor)] = (
            int(furthest),
            _from_micros(first),
            [_from_micros(t) for t in times],
        )
    return out


def _from_micros(value: int) -> datetime:
    seconds, micros = divmod(int(value), 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=micros)


__all__ = ["ValidationError", "compute_funnel", "entered_actors", "funnel_actors", "window_end",
           "PERSON"]  # fmt: skip
