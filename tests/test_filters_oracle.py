"""The filter compiler against the oracle: which events pass a random filter tree.

A fixed random event log (strings, numbers, booleans, unicode, empty and missing values; merged
persons with $set/$set_once; groups; sessions) is ingested through /batch/; hypothesis draws
filter trees; the events ClickHouse returns must be exactly those the oracle
(tests/oracles/filters.py, written from the spec alone) accepts.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from resolvers.properties import parse_properties
from resolvers.where import Context, Params, compile_filter
from tests.oracles import filters as oracle
from tests.oracles.model import Event, World

EVENT_KEYS = ["a", "b", "n", "flag", "$current_url", "when", "utm.source", "$session_id"]
PERSON_KEYS = ["email", "plan", "age"]
GROUP_KEYS = ["industry", "size"]
STRINGS = ["", "x", "X", "abc", "ABC", "aBc", "Hello World", "ünïcode", "Ünïcode", "5", "5.5",
           "-3", "true", "false", "null", "a'b", 'q"t', "back\\slash", "%_", "2026-01-05",
           "2026-01-05T10:00:00Z", "2025-12-31 23:59:59", "https://x.io/p/1", "/p/12",
           "https://app.io/"]  # fmt: skip
NUMBERS = [0, 1, 5, -3, 42, 5.5, -0.25, 1e3 + 0.5]
BASE = datetime(2026, 1, 5, 9, tzinfo=UTC)
CHAINS = [
    'button.btn.btn-primary:attr__href="/signup"href="/signup"nth-child="1"nth-of-type="1"'
    'text="Sign up";div.container:attr_id="main"nth-child="2"nth-of-type="1";'
    'body:nth-child="1"nth-of-type="1"',
    'a.nav-link:href="/pricing"nth-child="3"nth-of-type="2"text="Pricing";'
    'nav.navbar:nth-child="1"nth-of-type="1";body',
    'span:text="Say \\"hi\\"; now";button.btn:nth-child="1"nth-of-type="1";'
    'form:attr__id="signup"attr_id="signup";body',
    'input.field:attr__data-x="1;2"nth-child="2"nth-of-type="1";div;div.container;body',
]
SELECTORS = ["button", "button.btn", ".btn-primary", "div > button", "div button",
             "body button.btn", "#main button", '[href="/signup"]', "form span", "*",
             "nav > a:nth-child(3)", "div.container > input", "span:nth-of-type(1)",
             "div.container input", "body > div > button"]  # fmt: skip


def random_value(rng: random.Random):
    roll = rng.random()
    if roll < 0.55:
        return rng.choice(STRINGS)
    if roll < 0.8:
        return rng.choice(NUMBERS)
    if roll < 0.92:
        return rng.choice([True, False])
    return None


def make_log(seed: int) -> tuple[list[dict], dict]:
    """Capture messages, and the truth about persons and groups for the oracle."""
    rng = random.Random(seed)
    messages, merges = [], {}
    moment = BASE
    for i in range(70):
        moment += timedelta(seconds=rng.randint(1, 4000))  # distinct timestamps: no $set ties
        anon = f"anon-{rng.randint(0, 7)}"
        props = {k: random_value(rng) for k in rng.sample(EVENT_KEYS[:-1], rng.randint(0, 5))}
        if rng.random() < 0.7:
            props["$session_id"] = f"s{rng.randint(0, 5)}"
        if rng.random() < 0.5:
            props["$groups"] = {"company": f"c{rng.randint(0, 3)}"}
        if rng.random() < 0.35:
            props["$set"] = {k: random_value(rng) for k in rng.sample(PERSON_KEYS, 2)}
        if rng.random() < 0.15:
            props["$set_once"] = {rng.choice(PERSON_KEYS): random_value(rng)}
        event = rng.choice(["$pageview", "click", "signed_up", "$autocapture"])
        distinct_id = anon
        if rng.random() < 0.12 and anon not in merges:
            user = f"user-{rng.randint(0, 2)}"
            merges[anon] = user
            event, distinct_id = "$identify", user
            props["$anon_distinct_id"] = anon
        chain = rng.choice(CHAINS) if event == "$autocapture" and rng.random() < 0.9 else ""
        messages.append({"event": event, "distinct_id": distinct_id, "properties": props,
                         "timestamp": moment.isoformat(), "uuid": str(uuid.UUID(int=i + 1)),
                         "elements_chain": chain})  # fmt: skip
    for key in range(4):
        messages.append({
            "event": "$groupidentify", "distinct_id": "admin",
            "timestamp": (moment + timedelta(seconds=key + 1)).isoformat(),
            "uuid": str(uuid.UUID(int=1000 + key)),
            "properties": {"$group_type": "company", "$group_key": f"c{key}",
                           "$group_set": {k: random_value(rng) for k in GROUP_KEYS}},
        })  # fmt: skip
    return messages, merges


def world_of(messages: list[dict], merges: dict) -> World:
    """The oracle's view: persons merged as $identify says, properties folded by event time."""

    def person(distinct_id: str) -> str:
        return merges.get(distinct_id, distinct_id)

    props: dict[str, dict] = {}
    once: dict[str, dict] = {}
    for m in sorted(messages, key=lambda m: m["timestamp"]):
        who = person(m["distinct_id"])
        props.setdefault(who, {}).update(m["properties"].get("$set") or {})
        for key, value in (m["properties"].get("$set_once") or {}).items():
            once.setdefault(who, {}).setdefault(key, value)
    groups = {}
    for m in messages:
        if m["event"] == "$groupidentify":
            p = m["properties"]
            groups[(0, p["$group_key"])] = p["$group_set"]
    events = []
    for m in messages:
        who = person(m["distinct_id"])
        merged = {**once.get(who, {}), **props.get(who, {})}
        company = (m["properties"].get("$groups") or {}).get("company")
        events.append(Event(
            uuid=m["uuid"], event=m["event"], distinct_id=m["distinct_id"], person_id=who,
            timestamp=datetime.fromisoformat(m["timestamp"]), properties=m["properties"],
            person_properties={k: v for k, v in merged.items() if v is not None},
            groups={0: company} if company else {},
            elements_chain=m.get("elements_chain") or "",
        ))  # fmt: skip
    return World(events=events, now=BASE + timedelta(days=30), group_properties=groups)


def cohort_definitions() -> list[dict]:
    """One cohort of each kind; the log spans ~3 days ending ~27 days before `now`."""

    def behaviour(value, key, **extra):
        return {"type": "behavioral", "value": value, "key": key, "event_type": "events",
                **extra}  # fmt: skip

    days = {"time_interval": "day"}
    return [
        {"name": "clicked", "filters": {"properties": {"type": "AND", "values": [
            behaviour("performed_event", "click", time_value=40, **days)]}}},
        {"name": "3+ pageviews", "filters": {"properties": {"type": "AND", "values": [
            behaviour("performed_event_multiple", "$pageview", time_value=40, operator="gte",
                      operator_value=3, **days)]}}},
        {"name": "at most 1 sign-up", "filters": {"properties": {"type": "AND", "values": [
            behaviour("performed_event_multiple", "signed_up", time_value=40, operator="lte",
                      operator_value=1, **days)]}}},
        {"name": "new sign-ups", "filters": {"properties": {"type": "AND", "values": [
            behaviour("performed_event_first_time", "signed_up", time_value=40, **days)]}}},
        {"name": "stopped", "filters": {"properties": {"type": "AND", "values": [
            behaviour("stopped_performing_event", "$pageview", time_value=40,
                      seq_time_value=28, seq_time_interval="day", **days)]}}},
        {"name": "restarted", "filters": {"properties": {"type": "AND", "values": [
            behaviour("restarted_performing_event", "click", time_value=29,
                      seq_time_value=27, seq_time_interval="day", **days)]}}},
        {"name": "regulars", "filters": {"properties": {"type": "AND", "values": [
            behaviour("performed_event_regularly", "$pageview", time_value=1, total_periods=35,
                      min_periods=2, operator="gte", operator_value=1, **days)]}}},
        {"name": "planners who clicked", "filters": {"properties": {"type": "OR", "values": [
            {"type": "AND", "values": [{"type": "person", "key": "plan", "operator": "is_set"},
                                       behaviour("performed_event", "click", time_value=40,
                                                 event_filters=[{"key": "a", "operator":
                                                                 "is_set"}], **days)]},
            {"type": "AND", "values": [{"type": "person", "key": "age", "operator": "gt",
                                        "value": 1}]}]}}},
        {"name": "legacy", "groups": [
            {"event_id": "click", "days": 40, "count": 2, "count_operator": "gte"},
            {"properties": [{"key": "email", "operator": "icontains", "value": "a",
                             "type": "person"}]}]},
        {"name": "static", "is_static": True, "csv": "distinct_id\nanon-1\nuser-0\nnobody\n"},
    ]  # fmt: skip


def make_cohorts(spyglass, tenant, world: World, merges: dict) -> list[int]:
    """The same cohorts in the engine (metadata) and in the oracle's world."""
    from resolvers.cohorts import Cohorts
    from tests.oracles.model import Cohort

    cohorts = Cohorts(spyglass.services.metadata)
    ids = []
    for definition in cohort_definitions():
        csv_text = definition.pop("csv", None)
        made = spyglass.run(cohorts.create(tenant["id"], tenant["user"]["id"], definition))
        if csv_text is not None:
            spyglass.run(cohorts.upload_csv(tenant["id"], made["id"], csv_text))
            people = {merges.get(d, d) for d in csv_text.split()[1:]}
            world.cohorts[made["id"]] = Cohort(made["id"], person_ids=frozenset(people))
        else:
            filters = definition.get("filters") or {"groups": definition["groups"]}
            world.cohorts[made["id"]] = Cohort(made["id"], filters=filters)
        ids.append(made["id"])
    # A cohort made of another: everyone not in "clicked".
    nested = {"name": "not clicked", "filters": {"properties": {"type": "AND", "values": [
        {"type": "cohort", "key": "id", "value": ids[0], "negation": True}]}}}  # fmt: skip
    made = spyglass.run(cohorts.create(tenant["id"], tenant["user"]["id"], nested))
    world.cohorts[made["id"]] = Cohort(made["id"], filters=nested["filters"])
    return [*ids, made["id"]]


class Dataset(tuple):
    def __repr__(self) -> str:  # hypothesis prints arguments; the log itself is noise
        return "<dataset seed=7>"


@pytest.fixture(scope="module")
def dataset(spyglass):
    tenant = spyglass.new_project()
    messages, merges = make_log(seed=7)
    spyglass.capture(tenant, messages, squash_midway=True)
    world = world_of(messages, merges)
    make_cohorts(spyglass, tenant, world, merges)
    from resolvers.cohorts import Cohorts

    cohorts = spyglass.run(Cohorts(spyglass.services.metadata).by_id(tenant["id"]))
    return Dataset((tenant, world, cohorts))


# -- random filters -------------------------------------------------------------------------

scalar = st.sampled_from(STRINGS + NUMBERS + [True, False])
OPERATORS = ["exact", "is_not", "icontains", "not_icontains", "regex", "not_regex", "gt", "gte",
             "lt", "lte", "is_set", "is_not_set", "is_date_before", "is_date_after",
             "is_date_exact", "between", "not_between", "min", "max"]  # fmt: skip
PATTERNS = ["^a", "b", "(?i)hello", "^$", ".*", "[0-9]+", "^-?\\d+(\\.\\d+)?$", "ü", "\\."]
DATES = ["2026-01-05", "2026-01-04", "2026-01-05T10:00:00Z", "2025-12-31"]


@st.composite
def value_for(draw, operator: str):
    if operator in ("exact", "is_not"):
        return draw(st.one_of(scalar, st.lists(scalar, min_size=1, max_size=3)))
    if operator in ("icontains", "not_icontains"):
        return draw(st.sampled_from(["a", "A", "b", "ü", "Ü", "5", "", "o w", "'"]))
    if operator in ("regex", "not_regex"):
        return draw(st.sampled_from(PATTERNS))
    if operator in ("gt", "gte", "lt", "lte", "min", "max"):
        return draw(st.sampled_from([-3, 0, 1, 5, 5.5, 42]))
    if operator in ("between", "not_between"):
        low, high = sorted(draw(st.lists(st.sampled_from([-3, 0, 1, 5, 5.5, 42]), min_size=2,
                                         max_size=2)))  # fmt: skip
        return [low, high]
    if operator.startswith("is_date"):
        return draw(st.sampled_from(DATES))
    return None


def with_cohort_ids(tree, ids: list[int]):
    """Cohort leaves carry an index into the dataset's cohorts; swap in the real ids."""
    if isinstance(tree, list):
        return [with_cohort_ids(t, ids) for t in tree]
    if isinstance(tree, dict) and "values" in tree:
        return {**tree, "values": with_cohort_ids(tree["values"], ids)}
    if isinstance(tree, dict) and tree.get("type") == "cohort":
        return {**tree, "value": ids[tree["value"] % len(ids)]}
    return tree


@st.composite
def element_leaf(draw):
    key = draw(st.sampled_from(["tag_name", "text", "href", "selector"]))
    if key in ("tag_name", "selector"):
        pool = SELECTORS if key == "selector" else ["button", "a", "div", "span", "p"]
        value = draw(
            st.one_of(
                st.sampled_from(pool), st.lists(st.sampled_from(pool), min_size=1, max_size=2)
            )
        )
        operator = draw(st.sampled_from(["exact", "is_not"]))
    else:
        operator = draw(
            st.sampled_from(
                [
                    "exact",
                    "is_not",
                    "icontains",
                    "not_icontains",
                    "regex",
                    "not_regex",
                    "is_set",
                    "is_not_set",
                ]
            )
        )
        value = draw(
            st.sampled_from(
                [
                    "Sign up",
                    "sign",
                    "/signup",
                    "/pricing",
                    "Pricing",
                    'Say "hi"; now',
                    "^/",
                    "hi",
                    "[0-9]",
                ]
            )
        )
    return {"type": "element", "key": key, "operator": operator, "value": value}  # fmt: skip


@st.composite
def leaf(draw):
    kind = draw(st.sampled_from(["event", "event", "event", "person", "group", "session",
                                 "cohort", "element"]))  # fmt: skip
    if kind == "element":
        return draw(element_leaf())
    if kind == "cohort":
        return {
            "type": "cohort",
            "key": "id",
            "value": draw(st.integers(0, 20)),
            "operator": draw(st.sampled_from(["in", "not_in", "exact", "is_not"])),
        }
    if kind == "session":
        operator = draw(st.sampled_from(["gt", "lt", "gte", "exact", "is_not", "is_set",
                                         "is_not_set", "between"]))  # fmt: skip
        value = (
            draw(value_for("between"))
            if operator == "between"
            else draw(st.sampled_from([0, 60, 3600, 7200]))
        )
        return {"type": "session", "key": "$session_duration", "operator": operator,
                "value": value}  # fmt: skip
    keys = {"event": EVENT_KEYS, "person": PERSON_KEYS, "group": GROUP_KEYS}[kind]
    operator = draw(st.sampled_from(OPERATORS))
    prop = {"type": kind, "key": draw(st.sampled_from(keys)), "operator": operator,
            "value": draw(value_for(operator))}  # fmt: skip
    if kind == "group":
        prop["group_type_index"] = 0
    return prop


trees = st.recursive(
    leaf(),
    lambda children: st.fixed_dictionaries(
        {
            "type": st.sampled_from(["AND", "OR"]),
            "values": st.lists(children, min_size=1, max_size=3),
        }
    ),
    max_leaves=5,
)


PERSON = (
    "if(o.old_person_id = toUUID('00000000-0000-0000-0000-000000000000'), "
    "e.person_id, o.override_person_id)"
)
OVERRIDES_JOIN = (
    "LEFT JOIN (SELECT old_person_id, argMax(override_person_id, version) AS override_person_id "
    "FROM person_overrides WHERE project_id = {project_id:UInt64} GROUP BY old_person_id"
    ") AS o ON o.old_person_id = e.person_id"
)


def engine_matches(spyglass, tenant, properties, world: World | None = None,
                   cohorts: dict | None = None) -> set[str]:  # fmt: skip
    params = Params()
    context = Context(person=PERSON, cohorts=cohorts, now=world.now if world else None)
    where = compile_filter(parse_properties(properties), params, context)
    sql = (
        f"SELECT toString(e.uuid) FROM events AS e {OVERRIDES_JOIN} "
        f"WHERE e.project_id = {{project_id:UInt64}} AND {where}"
    )
    rows = spyglass.query(sql, {**params.values, "project_id": tenant["id"]}).rows
    return {r[0] for r in rows}


def oracle_matches(world: World, properties) -> set[str]:
    return {e.uuid for e in world.events if oracle.event_matches(e, properties, world)}


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    tree=st.one_of(trees.map(lambda t: t if "values" in t else [t]), st.lists(leaf(), max_size=3))
)
def test_engine_and_oracle_pass_the_same_events(spyglass, dataset, tree):
    tenant, world, cohorts = dataset
    tree = with_cohort_ids(tree, sorted(cohorts))
    engine = engine_matches(spyglass, tenant, tree, world, cohorts)
    expected = oracle_matches(world, tree)
    event(f"matched {min(len(expected), 10) // 5 * 5}+ of {len(world.events)} events")
    differ = [e for e in world.events if (e.uuid in engine) != (e.uuid in expected)]
    assert not differ, [
        (
            e.uuid[-3:],
            "engine" if e.uuid in engine else "oracle",
            e.properties,
            e.person_properties,
            e.groups,
        )
        for e in differ[:3]
    ]


@pytest.mark.parametrize(
    "properties",
    [
        [{"type": "event", "key": "a", "operator": "is_set"}],
        [{"type": "person", "key": "plan", "operator": "is_set"}],
        [{"type": "person", "key": "email", "operator": "is_not", "value": ""}],
        [
            {
                "type": "group",
                "key": "industry",
                "operator": "is_set",
                "group_type_index": 0,
            }
        ],
        [{"type": "session", "key": "$session_duration", "operator": "gt", "value": 3600}],
        [{"type": "element", "key": "selector", "operator": "exact", "value": "div > button"}],
        [{"type": "element", "key": "selector", "operator": "exact", "value": "#signup span"}],
        [{"type": "element", "key": "tag_name", "operator": "exact", "value": "a"}],
        [{"type": "element", "key": "text", "operator": "icontains", "value": "sign"}],
        [{"type": "element", "key": "text", "operator": "exact", "value": 'Say "hi"; now'}],
        {
            "type": "OR",
            "values": [
                {"type": "event", "key": "n", "operator": "gt", "value": 1},
                {"type": "event", "key": "utm.source", "operator": "is_set"},
            ],
        },
    ],
)
def test_the_log_exercises_each_kind_of_filter(spyglass, dataset, properties):
    # Guards the random test against passing vacuously: each kind matches some, not all.
    tenant, world, cohorts = dataset
    matched = engine_matches(spyglass, tenant, properties)
    assert 0 < len(matched) < len(world.events)
    assert matched == oracle_matches(world, properties)


@pytest.mark.parametrize("operator", ["exact", "is_not"])
def test_a_list_value_means_any_of_its_values(spyglass, dataset, operator):
    tenant, world, cohorts = dataset
    present = [e.properties["a"] for e in world.events if e.properties.get("a") not in (None, "")]
    common = max(set(map(str, present)), key=lambda v: list(map(str, present)).count(v))
    properties = [{"type": "event", "key": "a", "operator": operator,
                   "value": ["no such value", common]}]  # fmt: skip
    matched = engine_matches(spyglass, tenant, properties)
    assert matched == oracle_matches(world, properties)
    assert 0 < len(matched) < len(world.events)


# -- entities: events by name, and actions (steps ORed: event, url matching, properties) -----

ACTION_URLS = ["app", "/p/1", "https://x.io/p/1", "^https://", "p/[0-9]"]


@st.composite
def action_step(draw):
    step = {"event": draw(st.sampled_from([None, "$pageview", "click", "signed_up",
                                           "$autocapture"]))}  # fmt: skip
    if step["event"] == "$autocapture" and draw(st.booleans()):
        step["selector"] = draw(st.sampled_from(SELECTORS))
    if step["event"] == "$autocapture" and draw(st.booleans()):
        step["text"] = draw(st.sampled_from(["Sign up", "sign", "Pric", "^S"]))
        step["text_matching"] = draw(st.sampled_from([None, "exact", "contains", "regex"]))
    if draw(st.booleans()):
        step["url"] = draw(st.sampled_from(ACTION_URLS))
        step["url_matching"] = draw(st.sampled_from(["contains", "exact", "regex"]))
    if draw(st.booleans()):
        step["properties"] = draw(st.lists(leaf(), max_size=2))
    return step


@st.composite
def entity(draw):
    properties = draw(st.lists(leaf(), max_size=2))
    if draw(st.booleans()):
        return {"type": "events", "properties": properties,
                "id": draw(st.sampled_from([None, "$pageview", "click", "nope"]))}  # fmt: skip
    return {"type": "actions", "id": 1, "properties": properties,
            "steps": draw(st.lists(action_step(), max_size=3))}  # fmt: skip


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(chosen=entity())
def test_entities_match_the_same_events(spyglass, dataset, chosen):
    from resolvers.where import compile_entity
    from tests.oracles.model import Action

    tenant, world, cohorts = dataset
    ids = sorted(cohorts)
    chosen["properties"] = with_cohort_ids(chosen["properties"], ids)
    steps = chosen.pop("steps", None)
    if steps is not None:
        steps = [{**s, "properties": with_cohort_ids(s["properties"], ids)} if "properties" in s
                 else s for s in steps]  # fmt: skip
    actions = {1: {"steps": steps}} if steps is not None else {}
    world.actions = {1: Action(1, "a", steps)} if steps is not None else {}
    params = Params()
    context = Context(person=PERSON, cohorts=cohorts, now=world.now)
    where = compile_entity(chosen, params, context, actions=actions)
    rows = spyglass.query(
        f"SELECT toString(e.uuid) FROM events AS e {OVERRIDES_JOIN} "
        f"WHERE e.project_id = {{project_id:UInt64}} AND {where}",
        {**params.values, "project_id": tenant["id"]},
    ).rows
    expected = {e.uuid for e in world.events if oracle.entity_matches(e, chosen, world)}
    assert {r[0] for r in rows} == expected


def test_each_cohort_matches_the_oracle_and_most_are_proper_subsets(spyglass, dataset):
    tenant, world, cohorts = dataset
    proper = 0
    for cohort_id in sorted(cohorts):
        tree = [{"type": "cohort", "key": "id", "value": cohort_id}]
        matched = engine_matches(spyglass, tenant, tree, world, cohorts)
        assert matched == oracle_matches(world, tree), cohorts[cohort_id]["name"]
        proper += 0 < len(matched) < len(world.events)
    assert proper >= 7, proper


def test_child_and_descendant_combinators_differ(spyglass, dataset):
    tenant, world, cohorts = dataset
    results = {}
    for selector in ("div.container > input", "div.container input", "div > input"):
        tree = [{"type": "element", "key": "selector", "operator": "exact", "value": selector}]
        results[selector] = engine_matches(spyglass, tenant, tree)
        assert results[selector] == oracle_matches(world, tree), selector
    # input's parent is a plain div; div.container is its grandparent.
    assert results["div.container > input"] == set()
    assert results["div.container input"] == results["div > input"] != set()


OPERATOR_VALUES = {
    "exact": "abc", "is_not": "abc", "icontains": "b", "not_icontains": "b", "regex": "^[a-z]",
    "not_regex": "^[a-z]", "gt": 1, "gte": 5, "lt": 5, "lte": 1, "is_set": None,
    "is_not_set": None, "is_date_before": "2026-01-05", "is_date_after": "2025-12-31",
    "is_date_exact": "2026-01-05", "between": [0, 5.5], "not_between": [0, 5.5], "min": 1,
    "max": 5,
}  # fmt: skip


@pytest.mark.parametrize("kind", ["event", "person", "group"])
@pytest.mark.parametrize("operator", sorted(OPERATOR_VALUES))
def test_every_operator_on_every_property_type(spyglass, dataset, kind, operator):
    tenant, world, cohorts = dataset
    key = {"event": "a", "person": "plan", "group": "industry"}[kind]
    prop = {"type": kind, "key": key, "operator": operator, "value": OPERATOR_VALUES[operator]}
    if kind == "group":
        prop["group_type_index"] = 0
    assert engine_matches(spyglass, tenant, [prop]) == oracle_matches(world, [prop])
