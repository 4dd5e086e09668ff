"""Funnel correlation oracle: PostHog's `/insights/funnel/correlation/`, from the spec alone.

Spec: /work/shared/spec/funnels.md §5, overridden by /work/shared/spec/README.md (a
non-converter's `final_timestamp` is the window end of its attempt).

`correlation(filter, world)` returns the `result` object `{"events": [...], "skewed": bool}`.
Each row also carries `_success_people` / `_failure_people`, the actors behind its counts; no
people URLs are emitted.

Choices where the spec leaves room:
- The funnel cohort is the steps funnel of the same request without its breakdown (and without
  viz-specific validation such as time_to_convert's `funnel_to_step`); an actor's window
  comes from its credited attempt = the earliest attempt reaching its furthest step.
- Correlated events are the actor's events in `[date_from, date_to)` strictly inside the window;
  the funnel's global property filters choose the actors, not the correlated events.
- Property values are strings like breakdown values (`stringify`): numbers and booleans as
  their JSON text (open question 3), a missing explicit property as `""`.
- Rows with equal odds ratios are ordered by candidate name.
- `sampling_factor` is not modelled.
"""

from __future__ import annotations

from tests.oracles import filters, funnels
from tests.oracles.funnels import FunnelValidationError, stringify, window_end
from tests.oracles.model import Event, World

MIN_PERSON_COUNT = 25
MIN_PERSON_PERCENTAGE = 0.02
TOP = 10
CORRELATION_TYPES = ("events", "properties", "event_with_properties")
AUTOCAPTURE = "$autocapture"


def _list_param(filter: dict, name: str) -> list:
    value = funnels._json_param(filter.get(name))
    if value in (None, ""):
        return []
    return value if isinstance(value, list) else [value]


def _correlation_type(filter: dict) -> str:
    """§5.1: `events` when missing or invalid."""
    raw = str(filter.get("funnel_correlation_type") or "events").lower()
    return raw if raw in CORRELATION_TYPES else "events"


def _actor_events(q: funnels.Query, actor: str, world: World) -> list[Event]:
    """§2.6 / §5.3: a person's events, or the events carrying the group key."""
    if q.group_index is None:
        return [e for e in world.events if e.person_id == actor]
    return [e for e in world.events if e.groups.get(q.group_index) == actor]


def _window_events(q: funnels.Query, result: funnels.ActorResult, world: World) -> list[Event]:
    """§5.3 (a)-(c): in `[date_from, date_to)`, strictly after the credited attempt's step 0 and
    strictly before its last step (README: the window end when the actor did not convert)."""
    attempt = result.credited
    first = attempt.start.ts
    converted = result.steps == len(q.steps)
    final = attempt.times[-1] if converted else window_end(first, q.window)
    return [
        e
        for e in _actor_events(q, result.actor, world)
        if q.date_from <= e.timestamp < q.date_to and first < e.timestamp < final
    ]


def _step_event_names(q: funnels.Query, world: World) -> set[str]:
    """§5.3: names used by any step, including every event name an action step is built on."""
    names = set()
    for step in q.steps:
        if step.type == "actions":
            names |= {s["event"] for s in world.actions[step.id].steps if s.get("event")}
        elif step.id is not None:
            names.add(step.id)
    return names


def _actor_properties(q: funnels.Query, actor: str, world: World) -> dict:
    """The actor's current person properties (or group properties when aggregating by group)."""
    if q.group_index is not None:
        return world.group_properties.get((q.group_index, actor), {})
    for event in world.events:
        if event.person_id == actor:
            return event.person_properties
    return {}


def _element(element: filters.Element, order: int) -> dict:
    """§5.7: an element object of the parsed chain, `order` counting from the clicked one."""
    return {
        "tag_name": element.tag_name,
        "text": element.text,
        "href": element.href,
        "attr_id": element.attr_id,
        "attr_class": list(element.classes) or None,
        "nth_child": element.nth_child,
        "nth_of_type": element.nth_of_type,
        "attributes": dict(element.attributes),
        "order": order,
    }


def _event_candidates(q, result, world, excluded: set[str]) -> dict[str, dict]:
    return {
        e.event: {"event": e.event, "properties": {}, "elements": []}
        for e in _window_events(q, result, world)
        if e.event not in excluded
    }


def _event_property_candidates(q, result, world, names: list, excluded_keys: set) -> dict:
    """§5.3 event_with_properties: `event::key::value`; `$autocapture` by element chain."""
    out = {}
    for e in _window_events(q, result, world):
        if e.event not in names:
            continue
        if e.event == AUTOCAPTURE:
            event_type = stringify(e.properties.get("$event_type"))
            chain = e.elements_chain
            name = f"{AUTOCAPTURE}::elements_chain::{event_type}__~~__{chain}"
            out[name] = {
                "event": name,
                "properties": {"$event_type": event_type},
                "elements": [
                    _element(el, i) for i, el in enumerate(filters.parse_elements_chain(chain))
                ],
            }
            continue
        for key, value in e.properties.items():
            if key in excluded_keys:
                continue
            name = f"{e.event}::{key}::{stringify(value)}"
            out[name] = {"event": name, "properties": {}, "elements": []}
    return out


def _property_candidates(q, result, world, names: list, excluded: set) -> dict:
    """§5.3 properties: `key::value` of the actor's current properties; `$all` enumerates the
    properties it has, explicit names yield `""` when missing."""
    props = _actor_properties(q, result.actor, world)
    keys = list(props) if "$all" in names else [str(n) for n in names]
    out = {}
    for key in keys:
        if key in excluded:
            continue
        name = f"{key}::{stringify(props.get(key))}"
        out[name] = {"event": name, "properties": {}, "elements": []}
    return out


def _odds_ratio(s: int, f: int, total_s: int, total_f: int) -> float:
    """§5.4, prior 1."""
    return ((s + 1) * (total_f - f + 1)) / ((total_s - s + 1) * (f + 1))


def correlation(filter: dict, world: World) -> dict:
    kind = _correlation_type(filter)
    names = _list_param(filter, "funnel_correlation_names")
    event_names = _list_param(filter, "funnel_correlation_event_names")
    if kind == "properties" and not names:
        raise FunnelValidationError(
            "funnel_correlation_names",
            "Property Correlation expects atleast one Property to run correlation on",
        )
    if kind == "event_with_properties" and not event_names:
        raise FunnelValidationError(
            "funnel_correlation_event_names",
            "Event Property Correlation expects atleast one event name to run correlation on",
        )
    # §5.2: the cohort is the funnel's steps persons (funnel_step=1): no breakdown, steps viz
    unbroken = {k: v for k, v in filter.items() if k not in ("breakdown", "breakdowns")}
    unbroken["funnel_viz_type"] = "steps"
    q = funnels.parse_query(unbroken, world)
    if q is None:
        return {"events": [], "skewed": True}
    actors = funnels.funnel_actors(unbroken, world)
    success = {a for a, r in actors.items() if r.steps == len(q.steps)}
    failure = set(actors) - success
    total_s, total_f = len(success), len(failure)
    if total_s == 0 or total_f == 0:
        return {"events": [], "skewed": True}
    skewed = total_s / total_f > 10 or total_f / total_s > 10

    excluded_events = _step_event_names(q, world) | set(
        _list_param(filter, "funnel_correlation_exclude_event_names")
    )
    excluded_names = set(_list_param(filter, "funnel_correlation_exclude_names"))
    excluded_keys = set(_list_param(filter, "funnel_correlation_event_exclude_property_names"))
    described: dict[str, dict] = {}
    holders: dict[str, set[str]] = {}
    for actor, result in actors.items():
        if kind == "events":
            found = _event_candidates(q, result, world, excluded_events)
        elif kind == "event_with_properties":
            found = _event_property_candidates(q, result, world, event_names, excluded_keys)
        else:
            found = _property_candidates(q, result, world, names, excluded_names)
        for name, event in found.items():
            described.setdefault(name, event)
            holders.setdefault(name, set()).add(actor)

    rows = []
    threshold = min(MIN_PERSON_COUNT, MIN_PERSON_PERCENTAGE * (total_s + total_f))
    for name, people in holders.items():
        s, f = len(people & success), len(people & failure)
        if kind == "event_with_properties" and s + f <= 2:
            continue
        if s + f < threshold:  # §5.5
            continue
        odds = _odds_ratio(s, f, total_s, total_f)
        rows.append(
            {
                "event": described[name],
                "success_count": s,
                "failure_count": f,
                "odds_ratio": odds,
                "correlation_type": "success" if odds > 1 else "failure",
                "_success_people": people & success,
                "_failure_people": people & failure,
            }
        )
    # §5.6: top successes by odds desc, then top failures by odds asc
    successes = sorted(
        (r for r in rows if r["correlation_type"] == "success"),
        key=lambda r: (-r["odds_ratio"], r["event"]["event"]),
    )
    failures = sorted(
        (r for r in rows if r["correlation_type"] == "failure"),
        key=lambda r: (r["odds_ratio"], r["event"]["event"]),
    )
    return {"events": successes[:TOP] + failures[:TOP], "skewed": skewed}
