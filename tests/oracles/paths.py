"""Paths oracle: PostHog's filter-based paths, written from the spec alone.

Spec: /work/shared/spec/retention_paths.md part B (README.md in that folder wins).

Public functions:
- `paths(filter, world, funnel_step_times=None)`: the `result` edges of `/insights/path/`
  (B1, B6): `{source, target, value, average_conversion_time}`.
- `paths_people(filter, world, funnel_step_times=None)`: the person ids of `/api/person/path/`
  for `path_start_key` / `path_end_key` / `path_dropoff_key` (B8), ordered and paginated.
- `session_paths(filter, world, funnel_step_times=None)`: person -> the cut session paths
  (B3-B5), each a list of `Node(item, timestamp)`; the building block of both.

Funnel paths (B7) take each person's funnel step times from the funnel oracle
(`funnel_step_times_of`: tests/oracles/funnels.py's credited attempt of every actor), or from the
caller: `funnel_step_times` maps person id -> the timestamps of the funnel steps that person
reached, in step order (`times[0]` is step 1; a shorter list, or a trailing `None`, means the
later steps were not reached). A person missing from the mapping reached no step. The funnel's
own rules (window, order, exclusions) are the funnel oracle's business; only `funnel_step`,
`funnel_paths` and the funnel window (for the session split) are read here.

Choices where the spec leaves room:
- A gap of EXACTLY 30 minutes starts a new session ("at least 30 minutes", B3); likewise a gap
  of exactly the funnel window in funnel paths.
- Events of one person with the same timestamp are ordered by their final path item, so ties
  are deterministic (equal items then collapse anyway).
- Several groupings matching one item: the FIRST matching pattern in list order wins (B4 says
  ClickHouse may return any; open question 4).
- A trailing `/` is stripped from `start_point` and `end_point` in every case, also when both
  are given (open question 2). A lone `/` stays `/`.
- With both points, the end point is searched strictly AFTER the start node, so
  `start_point == end_point` needs a later return to that item.
- `edge_limit` sent explicitly applies even when both points are set; only the default (50) is
  dropped in that mode.
- `step_limit` and `edge_limit` must be integers >= 1.
- Conversion times keep microsecond precision: a float number of milliseconds.
- Cleaning regexes use Python's `re` (RE2 and Python agree on ordinary patterns); `\\0`..`\\9`
  in an alias are group references as in ClickHouse. An invalid regex is a ValueError naming
  its field.
- `hogql` in `include_event_types`, and a `paths_hogql_expression` other than `event`, are
  refused (README: path types of the expression language are `unsupported_hogql`).
- Funnel paths also apply the path filter's own date range; `funnel_step` is read from the
  path filter, else from `funnel_filter`. 0 and -1 are errors (nobody drops off before step
  1), and so is a step beyond the funnel's when the funnel oracle runs.
- `funnel_path_between_steps` runs from the reference step's predecessor to the reference step
  (step N, or for -N the last completed step N-1, as PostHog's funnel persons do), so it needs
  N >= 2 or -N <= -3.
- The funnel of funnel paths is one funnel over all of a person's events: a breakdown in
  `funnel_filter` is ignored, and so is its visualisation (the steps view's actors). A funnel
  aggregated by groups is an error (paths follow persons).
- `sampling_factor` is not modelled.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from tests.oracles import filters
from tests.oracles import funnels as funnel_oracle
from tests.oracles.model import Event, World
from tests.oracles.retention import add_months, at_local, local, parse_date_param, property_string

SESSION_GAP = timedelta(minutes=30)  # B3
DEFAULT_STEP_LIMIT = 5  # B2
DEFAULT_EDGE_LIMIT = 50  # B2
ELLIPSIS = "..."  # B5
EVENT_TYPES = ("$pageview", "$screen", "custom_event", "hogql")
FUNNEL_PATH_TYPES = (
    "funnel_path_before_step",
    "funnel_path_after_step",
    "funnel_path_between_steps",
)


@dataclass(frozen=True)
class Node:
    item: str
    timestamp: datetime


# --------------------------------------------------------------------------------------------
# Request parsing (B2)
# --------------------------------------------------------------------------------------------


def _json_value(value, field: str):
    """Lists and objects may arrive as JSON-encoded strings (B2)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ValueError(f"{field}: not valid JSON") from None
    return value


def _list_param(filter: dict, field: str) -> list:
    raw = filter.get(field)
    if raw is None or raw == "":
        return []
    value = _json_value(raw, field)
    if not isinstance(value, list):
        raise ValueError(f"{field}: must be a list")
    return value


def _int_param(filter: dict, field: str, default: int | None) -> int | None:
    raw = filter.get(field)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        raise ValueError(f"{field}: must be an integer")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"-?\d+", raw.strip()):
        return int(raw)
    raise ValueError(f"{field}: must be an integer")


def _bool_param(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def _strip_trailing_slash(text: str) -> str:
    # B2 rule 3: regex `(.)/$` -> `\1`, so one trailing slash goes and `/` alone stays.
    return text[:-1] if len(text) > 1 and text.endswith("/") else text


@dataclass(frozen=True)
class CleaningRule:
    field: str
    regex: re.Pattern
    alias: str


@dataclass(frozen=True)
class PathRequest:
    event_types: tuple[str, ...]
    custom_events: tuple[str, ...]
    exclude_events: frozenset[str]
    start_point: str | None
    end_point: str | None
    step_limit: int
    cleaning: tuple[CleaningRule, ...]
    groupings: tuple[tuple[str, re.Pattern], ...]  # (pattern text, compiled)
    edge_limit: int | None
    min_edge_weight: int | None
    max_edge_weight: int | None
    date_from: datetime | None
    date_to: datetime
    funnel_paths: str | None


def parse_request(filter: dict, world: World) -> PathRequest:
    # B1: a legacy `path_type` replaces include_event_types.
    if filter.get("path_type") not in (None, ""):
        event_types = [filter["path_type"]]
    else:
        event_types = _list_param(filter, "include_event_types")
    for kind in event_types:
        if kind not in EVENT_TYPES:
            raise ValueError(f"include_event_types: unknown type {kind!r}")
    if "hogql" in event_types:
        raise ValueError("include_event_types: unsupported_hogql (hogql path type)")
    expression = filter.get("paths_hogql_expression")
    if expression not in (None, "", "event"):
        raise ValueError("paths_hogql_expression: unsupported_hogql")
    custom_events = [str(name) for name in _list_param(filter, "include_custom_events")]
    if custom_events and "custom_event" in event_types:
        raise ValueError(
            "include_custom_events: Cannot include all custom events and specific custom events "
            "in the same query"
        )
    start_point = _point(filter, "start_point")
    end_point = _point(filter, "end_point")
    step_limit = _int_param(filter, "step_limit", DEFAULT_STEP_LIMIT)
    if step_limit < 1:
        raise ValueError("step_limit: must be at least 1")
    both_points = start_point is not None and end_point is not None
    edge_limit = _int_param(filter, "edge_limit", None if both_points else DEFAULT_EDGE_LIMIT)
    if edge_limit is not None and edge_limit < 1:
        raise ValueError("edge_limit: must be at least 1")
    min_weight = _int_param(filter, "min_edge_weight", None)
    max_weight = _int_param(filter, "max_edge_weight", None)
    if min_weight is not None and max_weight is not None and max_weight < min_weight:
        raise ValueError("max_edge_weight: must not be smaller than min_edge_weight")
    date_from, date_to = _date_range(filter, world)
    funnel_paths = filter.get("funnel_paths") or None
    if funnel_paths is not None and funnel_paths not in FUNNEL_PATH_TYPES:
        raise ValueError(f"funnel_paths: unknown value {funnel_paths!r}")
    return PathRequest(
        event_types=tuple(event_types),
        custom_events=tuple(custom_events),
        exclude_events=frozenset(str(item) for item in _list_param(filter, "exclude_events")),
        start_point=start_point,
        end_point=end_point,
        step_limit=step_limit,
        cleaning=_cleaning_rules(filter, world),
        groupings=tuple(
            (str(pattern), _grouping_regex(str(pattern)))
            for pattern in _list_param(filter, "path_groupings")
        ),
        edge_limit=edge_limit,
        min_edge_weight=min_weight,
        max_edge_weight=max_weight,
        date_from=date_from,
        date_to=date_to,
        funnel_paths=funnel_paths,
    )


def _point(filter: dict, field: str) -> str | None:
    value = filter.get(field)
    if value is None or value == "":
        return None
    # B5: a single trailing `/` on the point is ignored (our choice: also with both points).
    return _strip_trailing_slash(str(value))


def _cleaning_rules(filter: dict, world: World) -> tuple[CleaningRule, ...]:
    # B4: team rules first (only with path_replacements), then the local ones, in list order.
    rules: list[tuple[str, dict]] = []
    if _bool_param(filter.get("path_replacements", False)):
        rules += [("path_cleaning_filters", rule) for rule in world.project.path_cleaning_filters]
    rules += [
        ("local_path_cleaning_filters", rule)
        for rule in _list_param(filter, "local_path_cleaning_filters")
    ]
    compiled = []
    for field, rule in rules:
        if not isinstance(rule, dict) or not isinstance(rule.get("regex"), str):
            raise ValueError(f"{field}: each rule needs a regex")
        # RE2 semantics as far as Python can follow them (shared with the property filters).
        regex = filters.compile_regex(rule["regex"])
        if regex is None:
            raise ValueError(f"{field}: invalid regex {rule['regex']!r}")
        compiled.append(CleaningRule(field, regex, str(rule.get("alias") or "")))
    return tuple(compiled)


def _grouping_regex(pattern: str) -> re.Pattern:
    # B4: escape everything, then each `*` means `.*`; the match is unanchored.
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def _date_range(filter: dict, world: World) -> tuple[datetime | None, datetime]:
    """B2 `date_from` / `date_to`; bounds are inclusive (`date_from <= ts <= date_to`).

    - date_from: default today 00:00 minus 7 days; `all` removes the bound; relative values are
      truncated to 00:00 of their day (to the hour for hour units; minute and second units are
      exact); absolute values are taken as given (a bare date is its 00:00).
    - date_to: default now; a bare date means 23:59:59.999999 of that day; an absolute time is
      exact; relative day-or-longer values (without Start/End) mean the end of that day; hour,
      minute and second values are exact.
    """
    tz = world.project.timezone
    now = world.now or datetime.now(UTC)
    raw_from = filter.get("date_from")
    if raw_from == "all":
        date_from = None
    elif raw_from in (None, ""):
        today = local(now, tz).date()
        date_from = at_local(today - timedelta(days=7), time(0), tz)
    else:
        date_from = parse_date_param(raw_from, tz, now, "date_from")
        kind = _relative_kind(raw_from)
        if kind in ("d", "w", "m", "q", "y"):
            date_from = at_local(local(date_from, tz).date(), time(0), tz)
        elif kind == "h":
            date_from = date_from.replace(minute=0, second=0, microsecond=0)
    if date_from is not None:
        date_from = date_from.astimezone(UTC)  # compare instants, never ZoneInfo wall times
    raw_to = filter.get("date_to")
    if raw_to in (None, ""):
        return date_from, now.astimezone(UTC)
    date_to = parse_date_param(raw_to, tz, now, "date_to")
    kind = _relative_kind(raw_to)
    day_only = isinstance(raw_to, str) and re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", raw_to.strip())
    if day_only or kind in ("d", "w", "m", "q", "y"):
        date_to = at_local(local(date_to, tz).date(), time(23, 59, 59, 999999), tz)
    return date_from, date_to.astimezone(UTC)


def _relative_kind(value) -> str | None:
    """The unit letter of a relative date without Start/End (those are already exact)."""
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"-?\d*([hdwmqyMs])", value.strip())
    return match.group(1) if match else None


# --------------------------------------------------------------------------------------------
# Path items (B2 rules 1-5, B4)
# --------------------------------------------------------------------------------------------


def _selected(event: Event, request: PathRequest) -> bool:
    """B2 include_event_types / include_custom_events: the kinds are OR-ed; none means all."""
    types = request.event_types
    if not types and not request.custom_events:
        return True
    return (
        ("$pageview" in types and event.event == "$pageview")
        or ("$screen" in types and event.event == "$screen")
        or ("custom_event" in types and not event.event.startswith("$"))
        or event.event in request.custom_events
    )


def ungrouped_item(event: Event, request: PathRequest) -> str:
    """B2 `path_item_ungrouped`; a later rule overrides an earlier one."""
    no_types = not request.event_types
    item = event.event  # rules 1-2 (the only expression we accept is `event`)
    pageviews = "$pageview" in request.event_types or (
        no_types and "$pageview" not in request.exclude_events
    )
    screens = "$screen" in request.event_types or (
        no_types and "$screen" not in request.exclude_events
    )
    if pageviews and event.event == "$pageview":
        item = _strip_trailing_slash(property_string(event.properties.get("$current_url")))
    if screens and event.event == "$screen":
        item = property_string(event.properties.get("$screen_name"))
    return item or ""  # rule 5


def _alias_replacement(alias: str):
    r"""ClickHouse `replaceRegexpAll` substitution: `\0`..`\9` are groups, `\\` a backslash."""

    def replace(match: re.Match) -> str:
        out = []
        i = 0
        while i < len(alias):
            char = alias[i]
            if char == "\\" and i + 1 < len(alias):
                nxt = alias[i + 1]
                out.append((match.group(int(nxt)) or "") if nxt.isdigit() else nxt)
                i += 2
            else:
                out.append(char)
                i += 1
        return "".join(out)

    return replace


def path_item(event: Event, request: PathRequest) -> str:
    """The final item: ungrouped item, then cleaning rules, then groupings (B4)."""
    item = ungrouped_item(event, request)
    for rule in request.cleaning:
        try:
            item = rule.regex.sub(_alias_replacement(rule.alias), item)
        except (IndexError, re.error):
            raise ValueError(f"{rule.field}: alias refers to a missing group") from None
    for pattern, regex in request.groupings:
        if regex.search(item):
            return pattern  # B4: replaced by the pattern text; first match wins (our choice)
    return item


# --------------------------------------------------------------------------------------------
# Funnel paths (B7)
# --------------------------------------------------------------------------------------------


def _funnel_filter(filter: dict) -> dict:
    raw = filter.get("funnel_filter")
    if raw is None or raw == "":
        raise ValueError("funnel_filter: required with funnel_paths")
    value = _json_value(raw, "funnel_filter")
    if not isinstance(value, dict):
        raise ValueError("funnel_filter: must be an object")
    return value


_UNITS = {"second", "minute", "hour", "day", "week", "month"}


def funnel_window_end(funnel_filter: dict, start: datetime) -> datetime:
    """`start` plus the funnel conversion window (funnels.md 1.3; README: days win).

    Arithmetic in UTC, months as calendar months with the day clamped, like the funnel oracle.
    """
    start = start.astimezone(UTC)
    days = _int_param(funnel_filter, "funnel_window_days", None)
    if days:
        return start + timedelta(days=days)
    amount = _int_param(funnel_filter, "funnel_window_interval", None)
    unit = str(
        funnel_filter.get("funnel_window_interval_unit")
        or funnel_filter.get("funnel_window_interval_type")
        or "day"
    ).lower()
    if unit not in _UNITS:
        raise ValueError(f"funnel_window_interval_unit: {unit!r} not supported")
    if not amount:
        return start + timedelta(days=14)
    if unit == "month":
        moved = add_months(start.date(), amount)
        return datetime.combine(moved, start.timetz())
    return start + timedelta(**{unit + "s": amount})


def _funnel_step(filter: dict, funnel_filter: dict) -> int:
    step = _int_param(filter, "funnel_step", None)
    if step is None:
        step = _int_param(funnel_filter, "funnel_step", None)
    if not step or step == -1:
        raise ValueError("funnel_step: required with funnel_paths (a step number, not 0 or -1)")
    return step


def funnel_step_times_of(filter: dict, world: World) -> dict[str, list[datetime]]:
    """person -> the step times of the attempt the funnel oracle credits them with (its
    earliest attempt reaching their furthest step), for the funnel in `funnel_filter`."""
    funnel_filter = _funnel_filter(filter)
    if funnel_filter.get("aggregation_group_type_index") not in (None, ""):
        raise ValueError("funnel_filter.aggregation_group_type_index: paths follow persons")
    one_funnel = {k: v for k, v in funnel_filter.items() if not k.startswith("breakdown")}
    one_funnel["funnel_viz_type"] = "steps"
    query = funnel_oracle.parse_query(one_funnel, world)
    if query is None:
        raise ValueError("funnel_filter: the funnel has no steps")
    step = _funnel_step(filter, funnel_filter)
    if abs(step) > len(query.steps):
        raise ValueError(f"funnel_step: the funnel has {len(query.steps)} steps")
    return {
        actor: list(result.credited.times)
        for actor, result in funnel_oracle.funnel_actors(one_funnel, world).items()
    }


def _funnel_bounds(
    filter: dict,
    request: PathRequest,
    step_times: Mapping[str, Sequence[datetime | None]],
) -> dict[str, tuple[datetime | None, datetime | None]]:
    """person -> (min ts, max ts) of the events B7 keeps for them (None = unbounded)."""
    funnel_filter = _funnel_filter(filter)
    step = _funnel_step(filter, funnel_filter)
    reference_step = step if step > 0 else -step - 1  # step N, or the last one completed
    if request.funnel_paths == "funnel_path_between_steps" and reference_step < 2:
        raise ValueError("funnel_step: funnel_path_between_steps needs N >= 2 or -N <= -3")
    bounds: dict[str, tuple[datetime | None, datetime | None]] = {}
    for person, raw_times in step_times.items():
        times = list(raw_times)

        def reached(n: int, times=times) -> datetime | None:  # 1-based step time
            return times[n - 1] if 1 <= n <= len(times) else None

        # Positive N: people who reached step N; reference = time of step N.
        # Negative -N: completed step N-1, did not reach step N; reference = step N-1.
        reference = reached(reference_step)
        if reference is None or (step < 0 and reached(-step) is not None):
            continue
        if request.funnel_paths == "funnel_path_after_step":
            bounds[person] = (reference, None)
        elif request.funnel_paths == "funnel_path_before_step":
            upper = reference if step > 0 else funnel_window_end(funnel_filter, reference)
            bounds[person] = (None, upper)
        else:  # between steps: the reference step's predecessor .. the reference step
            bounds[person] = (reached(reference_step - 1), reference)
    return bounds


# --------------------------------------------------------------------------------------------
# Sessions and cut paths (B3, B5)
# --------------------------------------------------------------------------------------------


def _person_events(
    filter: dict,
    request: PathRequest,
    world: World,
    funnel_step_times: Mapping[str, Sequence[datetime | None]] | None,
) -> dict[str, list[Node]]:
    """B3.1-2: the kept events per person, as (final item, timestamp), in time order."""
    funnel_bounds = None
    if request.funnel_paths is not None:
        if funnel_step_times is None:
            funnel_step_times = funnel_step_times_of(filter, world)
        funnel_bounds = _funnel_bounds(filter, request, funnel_step_times)
    per_person: dict[str, list[Node]] = {}
    for event in world.events:
        if request.date_from is not None and event.timestamp < request.date_from:
            continue
        if event.timestamp > request.date_to:
            continue
        if funnel_bounds is not None:
            if event.person_id not in funnel_bounds:
                continue
            low, high = funnel_bounds[event.person_id]
            if (low is not None and event.timestamp < low) or (
                high is not None and event.timestamp > high
            ):
                continue
        if not _selected(event, request) or not filters.passes_global_filters(event, filter, world):
            continue
        item = path_item(event, request)
        # B2 exclude_events: on the final item, before sessions and dedup.
        if item in request.exclude_events:
            continue
        per_person.setdefault(event.person_id, []).append(Node(item, event.timestamp))
    for nodes in per_person.values():
        nodes.sort(key=lambda node: (node.timestamp, node.item))  # ties: by item (our choice)
    return per_person


def _split_sessions(nodes: list[Node], is_new_session) -> list[list[Node]]:
    sessions: list[list[Node]] = []
    for node in nodes:
        if sessions and not is_new_session(sessions[-1][-1].timestamp, node.timestamp):
            sessions[-1].append(node)
        else:
            sessions.append([node])
    return sessions


def _collapse(session: list[Node]) -> list[Node]:
    """B3.4: a run of identical items is one node with the LAST event's timestamp."""
    out: list[Node] = []
    for node in session:
        if out and out[-1].item == node.item:
            out[-1] = node
        else:
            out.append(node)
    return out


def _first_index(nodes: list[Node], item: str, start: int = 0) -> int | None:
    for index in range(start, len(nodes)):
        if nodes[index].item == item:
            return index
    return None


def cut_path(nodes: list[Node], request: PathRequest) -> list[Node] | None:
    """B3.5 / B5: apply the points and the step limit; None when the session is dropped."""
    limit = request.step_limit
    start, end = request.start_point, request.end_point
    if start is not None and end is not None:
        first = _first_index(nodes, start)
        if first is None:
            return None
        last = _first_index(nodes, end, first + 1)  # strictly after the start node
        if last is None:
            return None
        path = nodes[first : last + 1]
        if len(path) <= limit:
            return path
        half = limit // 2
        dropped_first = path[half]
        tail = path[len(path) - half :] if half else []
        return [*path[:half], Node(ELLIPSIS, dropped_first.timestamp), *tail]
    if start is not None:
        first = _first_index(nodes, start)
        return None if first is None else nodes[first:][:limit]
    if end is not None:
        last = _first_index(nodes, end)
        return None if last is None else nodes[: last + 1][-limit:]
    return nodes[:limit]


def session_paths(
    filter: dict,
    world: World,
    funnel_step_times: Mapping[str, Sequence[datetime | None]] | None = None,
) -> dict[str, list[list[Node]]]:
    """person -> their cut session paths (B3, B5), sessions in time order."""
    request = parse_request(filter, world)
    if request.funnel_paths is not None:
        funnel_filter = _funnel_filter(filter)

        def is_new_session(prev: datetime, ts: datetime) -> bool:
            return ts >= funnel_window_end(funnel_filter, prev)  # B3.3 funnel threshold
    else:

        def is_new_session(prev: datetime, ts: datetime) -> bool:
            return ts - prev >= SESSION_GAP  # B3.3: at least 30 minutes splits

    result: dict[str, list[list[Node]]] = {}
    for person, nodes in _person_events(filter, request, world, funnel_step_times).items():
        for session in _split_sessions(nodes, is_new_session):
            path = cut_path(_collapse(session), request)
            if path is not None:
                result.setdefault(person, []).append(path)
    return result


def node_key(index: int, item: str) -> str:
    return f"{index}_{item}"  # B3.6: 1-based


def transitions(path: list[Node]) -> list[tuple[str, str, float]]:
    """B3.7: (source, target, conversion time in ms) for each consecutive pair."""
    return [
        (
            node_key(i, path[i - 1].item),
            node_key(i + 1, path[i].item),
            (path[i].timestamp - path[i - 1].timestamp) / timedelta(milliseconds=1),
        )
        for i in range(1, len(path))
    ]


def dropoff_key(path: list[Node]) -> str:
    return node_key(len(path), path[-1].item)  # B3.8


# --------------------------------------------------------------------------------------------
# B6: edges
# --------------------------------------------------------------------------------------------


def paths(
    filter: dict,
    world: World,
    funnel_step_times: Mapping[str, Sequence[datetime | None]] | None = None,
) -> list[dict]:
    request = parse_request(filter, world)
    times: dict[tuple[str, str], list[float]] = {}
    for person_paths in session_paths(filter, world, funnel_step_times).values():
        for path in person_paths:
            for source, target, ms in transitions(path):
                times.setdefault((source, target), []).append(ms)
    edges = [
        {
            "source": source,
            "target": target,
            "value": len(values),  # transitions, not distinct persons
            "average_conversion_time": sum(values) / len(values),
        }
        for (source, target), values in times.items()
    ]
    # HAVING happens before ORDER BY / LIMIT.
    if request.min_edge_weight is not None:
        edges = [edge for edge in edges if edge["value"] >= request.min_edge_weight]
    if request.max_edge_weight is not None:
        edges = [edge for edge in edges if edge["value"] <= request.max_edge_weight]
    edges.sort(key=lambda edge: (-edge["value"], edge["source"], edge["target"]))
    if request.edge_limit is not None:
        edges = edges[: request.edge_limit]
    if request.min_edge_weight is None and request.max_edge_weight is None:
        edges = prune_unreachable(edges)
    return edges


def prune_unreachable(edges: list[dict]) -> list[dict]:
    """B6: keep edges whose source is reachable from some `1_*` node over the given edges."""
    reachable = {edge["source"] for edge in edges if edge["source"].startswith("1_")}
    changed = True
    while changed:
        changed = False
        for edge in edges:
            if edge["source"] in reachable and edge["target"] not in reachable:
                reachable.add(edge["target"])
                changed = True
    return [edge for edge in edges if edge["source"] in reachable]


# --------------------------------------------------------------------------------------------
# B8: people
# --------------------------------------------------------------------------------------------


def paths_people(
    filter: dict,
    world: World,
    funnel_step_times: Mapping[str, Sequence[datetime | None]] | None = None,
) -> list[str]:
    """Distinct person ids for path_start_key / path_end_key / path_dropoff_key (B8).

    Edge limits and pruning do not apply: the selection runs on the per-session transitions.
    A path's first node has a transition row without a source, so `path_end_key="1_x"` matches
    every path starting at x. Ordered by person id, then `offset` and `limit` (default 100).
    """
    dropoff = filter.get("path_dropoff_key") or None
    start_key = filter.get("path_start_key") or None
    end_key = filter.get("path_end_key") or None
    people: set[str] = set()
    for person, person_paths in session_paths(filter, world, funnel_step_times).items():
        for path in person_paths:
            if _path_selected(path, dropoff, start_key, end_key):
                people.add(person)
                break
    offset = _int_param(filter, "offset", 0)
    limit = _int_param(filter, "limit", 100)
    return sorted(people)[offset : offset + limit]


def _path_selected(
    path: list[Node], dropoff: str | None, start_key: str | None, end_key: str | None
) -> bool:
    if dropoff is not None:
        return dropoff_key(path) == dropoff  # start and end keys are ignored
    rows: list[tuple[str | None, str]] = [(None, node_key(1, path[0].item))]
    rows += [(source, target) for source, target, _ in transitions(path)]
    return any(
        (start_key is None or source == start_key) and (end_key is None or target == end_key)
        for source, target in rows
    )
