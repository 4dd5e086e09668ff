"""Funnel correlation (spec funnels.md §5; README: a non-converter's window is its attempt's).

Which events, event properties or actor properties go with converting. The cohort is the
steps funnel of the same filter without its breakdown, read from the funnel engine's own
per-actor result (resolvers/funnels.py `entered_actors`), never from a second funnel: success
= reached the last step, failure = entered but did not. One ClickHouse query lists each
actor's candidates (sql/funnels/correlation_events.sql or correlation_properties.sql) and
ranks them (sql/funnels/correlation.sql: counts, odds ratio, support filter, top 10 of each
side); Python parses the parameters and shapes the rows with their people URLs.

Every user value (names, exclusions, the candidate a people URL names) is a bound parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import sql
from gateway.errors import ValidationError
from resolvers.actors import people_url
from resolvers.funnels import PERSON, entered_actors, window_end
from resolvers.funnels import _text as json_text  # a folded property's JSON as PostHog's text
from resolvers.funnels_request import FunnelRequest, json_param
from resolvers.where import Params

TYPES = ("events", "properties", "event_with_properties")
PRIOR = 1  # §5.4: the smoothing added to every cell of the contingency table
MIN_PERSON_COUNT = 25  # §5.5
MIN_PERSON_PERCENTAGE = 0.02
TOP = 10  # §5.6: per side
AUTOCAPTURE = "$autocapture"
ALL = "$all"
SKEW = 10  # §5.2: one class more than ten times the other


@dataclass(frozen=True)
class CorrelationRequest:
    kind: str
    names: tuple[str, ...]  # properties: the keys, or ("$all",)
    exclude_names: tuple[str, ...]
    exclude_event_names: tuple[str, ...]
    event_names: tuple[str, ...]
    event_exclude_property_names: tuple[str, ...]


def _list(filters: dict, name: str) -> tuple[str, ...]:
    """§1: a list, a JSON-encoded list, or one bare value."""
    value = json_param(filters.get(name))
    if value in (None, ""):
        return ()
    if not isinstance(value, list):
        value = [value]
    if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
        raise ValidationError(f"{name} must be a list of names", attr=name)
    return tuple(str(v) for v in value)


def parse_correlation(filters: dict) -> CorrelationRequest:
    """§5.1, with PostHog's 400 messages for the missing names."""
    kind = str(filters.get("funnel_correlation_type") or "events").lower()
    req = CorrelationRequest(
        kind=kind if kind in TYPES else "events",  # missing or invalid → events
        names=_list(filters, "funnel_correlation_names"),
        exclude_names=_list(filters, "funnel_correlation_exclude_names"),
        exclude_event_names=_list(filters, "funnel_correlation_exclude_event_names"),
        event_names=_list(filters, "funnel_correlation_event_names"),
        event_exclude_property_names=_list(
            filters, "funnel_correlation_event_exclude_property_names"
        ),
    )
    if req.kind == "properties" and not req.names:
        raise ValidationError(
            "Property Correlation expects atleast one Property to run correlation on",
            attr="funnel_correlation_names",
        )
    if req.kind == "event_with_properties" and not req.event_names:
        raise ValidationError(
            "Event Property Correlation expects atleast one event name to run correlation on",
            attr="funnel_correlation_event_names",
        )
    return req


def cohort_filters(filters: dict) -> dict:
    """§5.2: the actors are the steps funnel's (persons with funnel_step=1), unbroken."""
    out = {k: v for k, v in filters.items() if k not in ("breakdown", "breakdowns")}
    out["funnel_viz_type"] = "steps"
    return out


# -- candidates --------------------------------------------------------------------------------


def _fill(name: str, req: FunnelRequest, actors: str, **parts: str) -> str:
    """A candidates template with its fragments; the funnel's actors go in last, so nothing
    inside them is taken for a placeholder."""
    text = sql.load(f"funnels/{name}").replace("__N__", str(len(req.steps)))
    for placeholder, fragment in parts.items():
        text = text.replace(f"__{placeholder}__", fragment)
    return text.replace("__ACTORS__", actors)


def _actor(req: FunnelRequest) -> tuple[str, str]:
    """(SQL of an event's actor, the condition that it has one), as the funnel counts them."""
    if req.group_index is None:
        return f"toString({PERSON})", "1"
    column = f"e.group_{int(req.group_index)}"
    return column, f"{column} != ''"


def _step_event_names(req: FunnelRequest, actions: dict) -> list[str]:
    """§5.3: names used by any step, with every event an action step is built on (#7164)."""
    names = []
    for step in req.steps:
        if step["type"] == "actions":
            names += [s["event"] for s in (actions.get(step["id"]) or {}).get("steps") or []
                      if s.get("event")]  # fmt: skip
        elif step.get("id") is not None:
            names.append(str(step["id"]))
    return names


def _event_names_sql(creq: CorrelationRequest, params: Params) -> str:
    """event_with_properties: `event::key::value` per top-level property of the event (values
    as PostHog's strings, keys excluded by request dropped); an autocapture event gives one
    `$autocapture::elements_chain::<$event_type>__~~__<chain>` instead."""
    excluded = params.bind(list(creq.event_exclude_property_names), "Array(String)")
    pairs = "JSONExtractKeysAndValuesRaw(toJSONString(e.properties))"
    event_type = json_text("arrayFirst(kv -> kv.1 = '$event_type', kvs).2")
    autocapture = (
        f"[concat('{AUTOCAPTURE}::elements_chain::', {event_type}, '__~~__', e.elements_chain)]"
    )
    properties = (
        f"arrayMap(kv -> concat(toString(e.event), '::', kv.1, '::', {json_text('kv.2')}), "
        f"arrayFilter(kv -> NOT has({excluded}, kv.1), kvs))"
    )
    return (
        f"arrayMap(kvs -> if(e.event = '{AUTOCAPTURE}', {autocapture}, {properties}), [{pairs}])[1]"
    )


def _events_candidates(creq, req, actors, params, actions) -> str:
    actor, has_actor = _actor(req)
    if creq.kind == "events":
        excluded = _step_event_names(req, actions) + list(creq.exclude_event_names)
        names = "[toString(e.event)]"
        events = f"NOT has({params.bind(excluded, 'Array(String)')}, toString(e.event))"
    else:
        names = _event_names_sql(creq, params)
        events = f"has({params.bind(list(creq.event_names), 'Array(String)')}, toString(e.event))"
    return _fill("correlation_events.sql", req, actors, ACTOR=actor, HAS_ACTOR=has_actor,
                 NAMES=names, EVENTS=events,
                 WINDOW_END=window_end("first_timestamp", req.window))  # fmt: skip


# The one-key condition of the shared property folds, which correlation widens to its keys.
_PERSON_KEY = "w.key = {__KEY__:String}"
_GROUP_KEY = "key = {__KEY__:String}"


def _folded_properties(req: FunnelRequest, keys_condition, params: Params) -> tuple[str, str]:
    """(the fold of the actors' current properties for the keys `keys_condition(column)`
    selects, the SQL of the actor owning a row)."""
    if req.group_index is None:
        source = sql.load("filters/person_property.sql")
        return source.replace(_PERSON_KEY, keys_condition("w.key")), "toString(person_id)"
    source = sql.load("filters/group_property.sql").replace(
        "{__INDEX__:UInt8}", params.bind(int(req.group_index), "UInt8")
    )
    return source.replace(_GROUP_KEY, keys_condition("key")), "group_key"


def _properties_candidates(creq, req, actors, params) -> str:
    """`key::value` of the actor's current properties: with `$all` every property it has,
    otherwise each requested key (`""` when missing); excluded keys dropped."""
    if ALL in creq.names:
        excluded = params.bind(list(creq.exclude_names), "Array(String)")
        source, owner = _folded_properties(req, lambda c: f"NOT has({excluded}, {c})", params)
        names = f"arrayMap(kv -> concat(kv.1, '::', {json_text('kv.2')}), p.props)"
    else:
        wanted = [n for n in creq.names if n not in creq.exclude_names]
        bound = params.bind(wanted, "Array(String)")
        source, owner = _folded_properties(req, lambda c: f"has({bound}, {c})", params)
        value = json_text("arrayFirst(kv -> kv.1 = k, p.props).2")
        names = f"arrayDistinct(arrayMap(k -> concat(k, '::', {value}), {bound}))"
    return _fill("correlation_properties.sql", req, actors, NAMES=names, OWNER=owner,
                 PROPERTIES=source)  # fmt: skip


async def correlation_candidates(store, project, filters, now, actions, cohorts):
    """(funnel request, correlation request, the candidates SQL — one row per entered actor:
    `actor`, `success`, `names` — and its bound parameters), or None for a funnel without
    steps."""
    creq = parse_correlation(filters)
    entered = await entered_actors(store, project, cohort_filters(filters), now=now,
                                   actions=actions, cohorts=cohorts)  # fmt: skip
    if entered is None:
        return None
    req, actors, bound = entered
    params = Params(dict(bound))
    if creq.kind == "properties":
        candidates = _properties_candidates(creq, req, actors, params)
    else:
        candidates = _events_candidates(creq, req, actors, params, actions or {})
    return req, creq, candidates, params


# -- the result --------------------------------------------------------------------------------


async def compute_correlation(store, project: dict, filters: dict, *, now: datetime,
                              actions: dict | None = None,
                              cohorts: dict | None = None) -> dict:  # fmt: skip
    """PostHog's correlation `result`: {"events": [rows], "skewed": bool}."""
    found = await correlation_candidates(store, project, filters, now, actions, cohorts)
    if found is None:
        return {"events": [], "skewed": True}
    req, creq, candidates, params = found
    statement = sql.load("funnels/correlation.sql").replace("__CANDIDATES__", candidates)
    values = {
        **params.values,
        "prior": PRIOR,
        "min_person_count": float(MIN_PERSON_COUNT),
        "min_person_percentage": MIN_PERSON_PERCENTAGE,
        "min_support": 2 if creq.kind == "event_with_properties" else 0,
        "top": TOP,
    }
    rows = (await store.query(statement, values)).rows
    totals = [r for r in rows if r[0] == 1]
    success_total, failure_total = (totals[0][2], totals[0][3]) if totals else (0, 0)
    if not success_total or not failure_total:  # §5.2
        return {"events": [], "skewed": True}
    skewed = success_total / failure_total > SKEW or failure_total / success_total > SKEW
    candidates = sorted((r for r in rows if r[0] == 0), key=lambda r: (r[6] <= 1, _rank(r)))
    point = RowShape(int(project["id"]), filters, creq, req.group_index)
    out = [point.row(name, int(s), int(f), float(odds)) for _, name, s, f, _, _, odds in candidates]
    return {"events": out, "skewed": skewed}


def _rank(row) -> tuple:
    odds, name = row[6], row[1]
    return (-odds if odds > 1 else odds, name)


@dataclass(frozen=True)
class RowShape:
    """Shapes one candidate as §5.7's row, with the URLs of the people behind its counts."""

    project_id: int
    filters: dict
    creq: CorrelationRequest
    group_index: int | None

    def row(self, name: str, s: int, f: int, odds: float) -> dict:
        return {
            "event": self.event(name),
            "success_count": s,
            "success_people_url": self.people_url(name, True),
            "failure_count": f,
            "failure_people_url": self.people_url(name, False),
            "odds_ratio": odds,
            "correlation_type": "success" if odds > 1 else "failure",
        }

    def event(self, name: str) -> dict:
        prefix = f"{AUTOCAPTURE}::elements_chain::"
        if self.creq.kind == "event_with_properties" and name.startswith(prefix):
            event_type, _, chain = name[len(prefix) :].partition("__~~__")
            return {"event": name, "properties": {"$event_type": event_type},
                    "elements": parse_elements_chain(chain)}  # fmt: skip
        return {"event": name, "properties": {}, "elements": []}

    def people_url(self, name: str, converted: bool) -> str:
        """§5.7: the correlation persons endpoint, with the candidate as PostHog spells it."""
        point = {"funnel_correlation_person_converted": "true" if converted else "false"}
        point.update(describe_candidate(self.creq.kind, name, self.group_index))
        return people_url(self.project_id, "funnel/correlation", self.filters, point)


def describe_candidate(kind: str, name: str, group_index: int | None) -> dict:
    """The persons-endpoint parameters naming one candidate (inverse: `candidate_of`)."""
    if kind == "properties":
        key, _, value = name.partition("::")
        prop = {"key": key, "value": value, "operator": "exact",
                "type": "person" if group_index is None else "group"}  # fmt: skip
        if group_index is not None:
            prop["group_type_index"] = group_index
        return {"funnel_correlation_property_values": [prop]}
    if kind == "events":
        return {"funnel_correlation_person_entity": {"id": name, "type": "events"}}
    event, _, rest = name.partition("::")
    key, _, value = rest.partition("::")
    if event == AUTOCAPTURE and key == "elements_chain":
        event_type, _, chain = value.partition("__~~__")
        prop = {"key": "$event_type", "value": event_type, "operator": "exact", "type": "event"}
        entity = {"id": event, "type": "events", "properties": [prop], "elements_chain": chain}
    else:
        prop = {"key": key, "value": value, "operator": "exact", "type": "event"}
        entity = {"id": event, "type": "events", "properties": [prop]}
    return {"funnel_correlation_person_entity": entity}


# -- autocapture elements (§5.7) ---------------------------------------------------------------

_CHAIN_ELEMENT = re.compile(r'(?:[^;"]|"(?:\\.|[^"\\])*")+')
_HEAD = re.compile(r"^(.*?)(?::([a-zA-Z_0-9-]*=.*))?$", re.DOTALL)
_ATTRIBUTE = re.compile(r'([^=";]*?)="((?:\\.|[^"\\])*)"')


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def parse_elements_chain(chain: str) -> list[dict]:
    """PostHog's element objects from an `elements_chain`, the clicked element first."""
    out = []
    for order, match in enumerate(_CHAIN_ELEMENT.finditer(chain or "")):
        head, attributes = _HEAD.match(match.group(0)).groups()
        tag, _, class_text = head.partition(".")
        values = {k: v.replace('\\"', '"') for k, v in _ATTRIBUTE.findall(attributes or "")}
        classes = [c for c in class_text.split(".") if c]
        out.append({
            "tag_name": tag or None, "text": values.pop("text", None),
            "href": values.pop("href", None), "attr_id": values.pop("attr_id", None),
            "attr_class": classes or None,
            "nth_child": _int_or_none(values.pop("nth-child", None)),
            "nth_of_type": _int_or_none(values.pop("nth-of-type", None)),
            "attributes": values, "order": order,
        })  # fmt: skip
    return out
