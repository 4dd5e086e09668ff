"""A funnel filter → a validated `FunnelRequest` (spec funnels.md §1, README's decisions).

Steps are actions then events, stably sorted by `order` (a missing order keeps PostHog's key
-1, so an explicit 0 sorts after it); exclusions are checked with PostHog's messages; the
window, order type, viz type, step range and breakdown are normalised here so the engine only
builds SQL.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from gateway.errors import ValidationError

ORDER_TYPES = ("ordered", "strict", "unordered")
VIZ_TYPES = ("steps", "trends", "time_to_convert")
WINDOW_UNITS = ("second", "minute", "hour", "day", "week", "month")
INTERVALS = ("hour", "day", "week", "month")
ATTRIBUTIONS = ("first_touch", "last_touch", "all_events", "step")
DEFAULT_WINDOW = (14, "day")
DEFAULT_BREAKDOWN_LIMIT = 25
DEFAULT_SERIES_LIMIT = 100
MAX_STEPS = 30  # step matches travel as bits of one UInt64; PostHog's UI stops at 20


def _fail(attr: str, detail: str):
    raise ValidationError(detail, attr=attr)


def json_param(value):
    """§1: every JSON-valued param may also arrive as a JSON string (query strings)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def int_param(filters: dict, name: str, default: int | None = None) -> int | None:
    value = filters.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        _fail(name, f"{name} must be an integer")
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        _fail(name, f"{name} must be an integer")
    if as_float != int(as_float):
        _fail(name, f"{name} must be an integer")
    return int(as_float)


def truthy(value) -> bool:
    """README: booleans arrive as JSON true, "true" or 1."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


@dataclass(frozen=True)
class Exclusion:
    entity: dict
    from_step: int
    to_step: int


@dataclass(frozen=True)
class Breakdown:
    kind: str  # event | person | group | cohort
    # (property name, property type, group type index) per element
    props: tuple[tuple[str, str, int | None], ...]
    boxed: bool  # values are arrays of strings (event / person breakdowns)
    limit: int
    attribution: str
    attribution_step: int | None
    normalize_url: bool


@dataclass(frozen=True)
class FunnelRequest:
    steps: tuple[dict, ...]  # entities in funnel order, `type` filled in
    exclusions: tuple[Exclusion, ...]
    order_type: str
    viz_type: str
    window: tuple[int, str]
    interval: str
    group_index: int | None
    breakdown: Breakdown | None
    from_step: int
    to_step: int
    bin_count: int | None
    series_limit: int
    # repeats[i]: step i equals or is a superset of step i-1 (§2.2), so it needs a strictly
    # later event than step i-1
    repeats: tuple[bool, ...]


def _entity(item, attr: str, default_type: str, actions: dict) -> dict:
    item = json_param(item)
    if not isinstance(item, dict):
        _fail(attr, f"{attr} must hold entity objects")
    entity = dict(item)
    entity["type"] = entity.get("type") or default_type
    if entity["type"] == "actions":
        try:
            entity["id"] = int(entity.get("id"))
        except (TypeError, ValueError):
            _fail(attr, f"invalid action id {entity.get('id')!r}")
        if entity["id"] not in actions:  # README: an unknown action is a 400 naming the field
            _fail(attr, f"Action {entity['id']} does not exist")
    elif entity["type"] != "events":
        _fail(attr, f"unsupported entity type {entity['type']!r}")
    if entity.get("order") is not None:
        entity["order"] = int_param(entity, "order")
    return entity


def _entities(filters: dict, key: str, actions: dict) -> list[dict]:
    raw = json_param(filters.get(key)) or []
    if not isinstance(raw, list):
        _fail(key, f"{key} must be a list of entities")
    return [_entity(item, key, key, actions) for item in raw]


def _flat_properties(props) -> list[str]:
    """Leaf property filters as canonical strings, groups flattened (PostHog's comparison)."""
    props = json_param(props)
    if not props:
        return []
    if isinstance(props, list):
        return [leaf for p in props for leaf in _flat_properties(p)]
    if not isinstance(props, dict):
        return [json.dumps(props, sort_keys=True)]
    if props.get("type") in ("AND", "OR") and "values" in props:
        return [leaf for p in props["values"] for leaf in _flat_properties(p)]
    if "key" in props:
        leaf = {"operator": "exact", "type": "event", **props}
        return [json.dumps(leaf, sort_keys=True, default=str)]
    leaves = []
    for key, value in props.items():  # legacy shorthand {"key": value, "key__operator": v}
        name, _, operator = key.partition("__")
        leaf = {"key": name, "value": value, "operator": operator or "exact", "type": "event"}
        leaves.append(json.dumps(leaf, sort_keys=True, default=str))
    return leaves


def is_same_or_superset(entity: dict, other: dict) -> bool:
    """§2.2: `entity` matches every event `other` matches — the same event or action (or "All
    events") with a sub-multiset of its property filters."""
    all_events = entity.get("type") == "events" and entity.get("id") is None
    same = entity.get("type") == other.get("type") and entity.get("id") == other.get("id")
    if not (all_events or same):
        return False
    mine = Counter(_flat_properties(entity.get("properties")))
    return not (mine - Counter(_flat_properties(other.get("properties"))))


def _window(filters: dict) -> tuple[int, str]:
    """§1.3: `funnel_window_days` (non-zero) wins; else interval × unit; else 14 days."""
    days = int_param(filters, "funnel_window_days")
    if days:
        if days < 0:
            _fail("funnel_window_days", "funnel_window_days must be > 0")
        return days, "day"
    amount = int_param(filters, "funnel_window_interval")
    unit_raw = filters.get("funnel_window_interval_unit") or filters.get(
        "funnel_window_interval_type"
    )
    unit = str(unit_raw).lower() if unit_raw else "day"
    if unit not in WINDOW_UNITS:
        used = "_unit" if filters.get("funnel_window_interval_unit") else "_type"
        _fail(f"funnel_window_interval{used}", f"{unit_raw} not supported")
    if not amount:
        return DEFAULT_WINDOW
    if amount < 0:
        _fail("funnel_window_interval", "funnel_window_interval must be a positive integer")
    return amount, unit


_RANGE = "Exclusion event range is invalid. "


def _exclusions(filters: dict, steps: tuple[dict, ...], order_type: str, actions: dict):
    """§1.6 validation, in PostHog's order, with its messages."""
    raw = json_param(filters.get("exclusions")) or []
    if not isinstance(raw, list):
        _fail("exclusions", "exclusions must be a list of entities")
    n, out = len(steps), []
    for item in raw:
        entity = _entity(item, "exclusions", "events", actions)
        if entity.get("funnel_from_step") is None or entity.get("funnel_to_step") is None:
            _fail("exclusions", "Exclusion event needs to define funnel steps")
        start = int_param(entity, "funnel_from_step")
        end = int_param(entity, "funnel_to_step")
        if start >= end:
            _fail("exclusions", _RANGE + "End of range should be greater than start.")
        if start >= n - 1:
            _fail("exclusions", _RANGE + "Start of range is greater than number of steps.")
        if end > n - 1:
            _fail("exclusions", _RANGE + "End of range is greater than number of steps.")
        if start < 0:
            _fail("exclusions", _RANGE + "Start of range is negative.")
        if any(is_same_or_superset(entity, step) for step in steps[start : end + 1]):
            _fail(
                "exclusions",
                "Exclusion steps cannot contain an event that's part of funnel steps.",
            )
        if order_type == "unordered" and (start != 0 or end != n - 1):
            _fail("exclusions", "Partial Exclusions not allowed in unordered funnels")
        out.append(Exclusion(entity, start, end))
    return tuple(out)


def _viz_type(filters: dict) -> str:
    """§1.5, including the `display=ActionsLineGraph` back-compat."""
    raw = filters.get("funnel_viz_type")
    if raw is None or raw == "":
        insight = str(filters.get("insight") or "").upper()
        if insight == "FUNNELS" and filters.get("display") == "ActionsLineGraph":
            return "trends"
        return "steps"
    viz = str(raw).lower()
    if viz not in VIZ_TYPES:
        _fail("funnel_viz_type", f"{raw} not supported")
    return viz


def _group_index(filters: dict) -> int | None:
    index = int_param(filters, "aggregation_group_type_index")
    if index is not None and not 0 <= index <= 4:
        _fail("aggregation_group_type_index", "aggregation_group_type_index must be 0-4")
    return index


def _breakdown(filters: dict, n_steps: int) -> Breakdown | None:
    """§1.7 (cohort breakdowns are not supported yet: a 400 naming the field)."""
    raw = filters.get("breakdown")
    if isinstance(raw, str) and raw.lstrip().startswith("["):
        raw = json_param(raw)
    breakdowns = json_param(filters.get("breakdowns"))
    kind = str(filters.get("breakdown_type") or "event").lower()
    types = indexes = None
    if raw in (None, "", []) and breakdowns:
        items = [json_param(b) for b in breakdowns]
        raw = [b["property"] for b in items]
        types = [str(b.get("type") or kind).lower() for b in items]
        indexes = [b.get("group_type_index") for b in items]
        kind = types[0]
    if raw in (None, "", []):
        return None
    if kind == "hogql" or (types and "hogql" in types):
        raise ValidationError(
            "breakdown: HogQL breakdowns are not supported",
            attr="breakdown",
            code="unsupported_hogql",
        )
    limit = int_param(filters, "breakdown_limit", DEFAULT_BREAKDOWN_LIMIT)
    attribution = str(filters.get("breakdown_attribution_type") or "first_touch").lower()
    if attribution not in ATTRIBUTIONS:
        _fail("breakdown_attribution_type", f"{attribution} not supported")
    attribution_step = None
    if attribution == "step":
        attribution_step = int_param(filters, "breakdown_attribution_value")
        if attribution_step is None or not 0 <= attribution_step < n_steps:
            _fail(
                "breakdown_attribution_value",
                "breakdown_attribution_value must be a step index for step attribution",
            )
    normalize = truthy(filters.get("breakdown_normalize_url", False))
    if kind == "cohort":
        _fail("breakdown_type", "cohort breakdowns are not supported in funnels yet")
    if kind not in ("event", "person", "group"):
        _fail("breakdown_type", f"{kind} not supported")
    names = raw if isinstance(raw, list) else [raw]
    if kind == "group":
        if len(names) != 1:
            _fail("breakdown", "group breakdowns take a single property")
        index = int_param(filters, "breakdown_group_type_index")
        if indexes and indexes[0] is not None:
            index = int(indexes[0])
        if index is None:
            _fail("breakdown_group_type_index", "group breakdowns need breakdown_group_type_index")
        if not 0 <= index <= 4:
            _fail("breakdown_group_type_index", "breakdown_group_type_index must be 0-4")
        props = ((str(names[0]), "group", index),)
        return Breakdown("group", props, False, limit, attribution, attribution_step, normalize)
    types = types or [kind] * len(names)
    for t in types:
        if t not in ("event", "person", "group"):
            _fail("breakdowns", f"breakdown type {t} not supported")
    indexes = indexes or [None] * len(names)
    props = tuple(
        (str(name), t, None if i is None else int(i))
        for name, t, i in zip(names, types, indexes, strict=True)
    )
    for _, t, i in props:
        if t == "group" and (i is None or not 0 <= i <= 4):
            _fail("breakdowns", "group breakdowns need a group_type_index 0-4")
    return Breakdown(kind, props, True, limit, attribution, attribution_step, normalize)


def parse_request(filters: dict, actions: dict | None = None) -> FunnelRequest | None:
    """The validated request, or None when it has no steps (§1.1: result `[]`)."""
    actions = actions or {}
    entities = _entities(filters, "actions", actions) + _entities(filters, "events", actions)
    steps = tuple(sorted(entities, key=lambda e: -1 if e.get("order") is None else int(e["order"])))
    if not steps:
        return None
    n = len(steps)
    if n > MAX_STEPS:
        _fail("events", f"A funnel has at most {MAX_STEPS} steps")
    raw_order = str(filters.get("funnel_order_type") or "ordered").lower()
    order_type = raw_order if raw_order in ORDER_TYPES else "ordered"
    viz_type = _viz_type(filters)
    window = _window(filters)
    if filters.get("funnel_aggregate_by_hogql") not in (None, "", "person_id"):
        raise ValidationError(
            "funnel_aggregate_by_hogql: HogQL aggregation is not supported",
            attr="funnel_aggregate_by_hogql",
            code="unsupported_hogql",
        )
    exclusions = _exclusions(filters, steps, order_type, actions)
    interval = str(filters.get("interval") or "day").lower()
    if interval not in INTERVALS:
        if viz_type == "trends":
            _fail("interval", f"{interval} not supported")
        interval = "day"
    from_step = int_param(filters, "funnel_from_step", 0)
    to_step = int_param(filters, "funnel_to_step") or n - 1  # §1.8: 0 means unset
    if viz_type == "time_to_convert" and not 0 < to_step < n:
        allowed = ", ".join(str(i) for i in range(1, n))
        _fail(
            "funnel_to_step",
            f"Filter parameter funnel_to_step can only be one of {allowed} for time to convert!",
        )
    if viz_type != "steps" and not 0 <= to_step < n:
        _fail("funnel_to_step", "funnel_to_step is not a step index")
    if (viz_type == "time_to_convert" and not 0 <= from_step < to_step) or (
        viz_type == "trends" and not 0 <= from_step < n
    ):
        _fail("funnel_from_step", "funnel_from_step is not a valid step")
    repeats = (False,) + tuple(is_same_or_superset(steps[i], steps[i - 1]) for i in range(1, n))
    return FunnelRequest(
        steps=steps,
        exclusions=exclusions,
        order_type=order_type,
        viz_type=viz_type,
        window=window,
        interval=interval,
        group_index=_group_index(filters),
        breakdown=_breakdown(filters, n),
        from_step=from_step,
        to_step=to_step,
        bin_count=int_param(filters, "bin_count"),
        series_limit=int_param(filters, "limit", DEFAULT_SERIES_LIMIT) or DEFAULT_SERIES_LIMIT,
        repeats=repeats,
    )
