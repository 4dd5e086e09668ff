"""The demo data set is realistic in measurable ways, deterministic, and well-formed.

Everything here is computed in pure Python from the generated messages, without ClickHouse:
the bands are properties of the generator, so they are checked where they are made. Persons are
resolved the way ingestion resolves them — `$identify` links an anonymous id to a user id —
with a small union-find, so a person is a set of distinct ids.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import islice

import pytest

from gateway.demo import generate_messages

NOW = datetime(2024, 6, 1, tzinfo=UTC)
DAYS = 90
DEFAULT_EVENTS = 200_000
COMPANY_DOMAIN = "spyglass.dev"
# ISO 8601 in UTC with microseconds, as the ingestion endpoints parse it.
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|\+00:00)")
# One element of PostHog's elements_chain: tag, optional .classes, then key="value" attributes.
CHAIN_ELEMENT = re.compile(r'[a-z][a-z0-9]*(\.[\w-]+)*:([\w-]+="[^"]*")+')


# --- resolving persons ------------------------------------------------------------------------


class DistinctIds:
    """Union-find over distinct ids: `$identify` says two ids are the same person."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        root = parent.setdefault(x, x)
        while root != parent[root]:
            root = parent[root]
        while parent[x] != root:  # path compression keeps later finds short
            parent[x], x = root, parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


@dataclass
class Person:
    """What the bands need to know about one person (or, before merging, one distinct id).

    Positions are indexes in the stream, which is in time order, so "later" is "larger".
    """

    first_day: date | None = None
    days: set[date] = field(default_factory=set)
    first_pageview: int | None = None
    first_signup: int | None = None
    last_purchase: int | None = None
    email: str | None = None

    def absorb(self, other: Person) -> None:
        self.days |= other.days
        self.first_day = _earliest(self.first_day, other.first_day)
        self.first_pageview = _earliest(self.first_pageview, other.first_pageview)
        self.first_signup = _earliest(self.first_signup, other.first_signup)
        self.last_purchase = _latest(self.last_purchase, other.last_purchase)
        self.email = self.email or other.email


def _earliest(a, b):
    return b if a is None else a if b is None else min(a, b)


def _latest(a, b):
    return b if a is None else a if b is None else max(a, b)


@dataclass
class Stream:
    """One pass over a generated stream: well-formedness facts plus the per-id records."""

    count: int = 0
    digest: str = ""
    problems: list[str] = field(default_factory=list)
    uuids: set[str] = field(default_factory=set)
    events_per_day: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    by_id: dict[str, Person] = field(default_factory=dict)
    ids: DistinctIds = field(default_factory=DistinctIds)
    orgs_in_events: set[str] = field(default_factory=set)  # from properties.$groups
    group_identifies: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def problem(self, text: str) -> None:
        if len(self.problems) < 10:  # the first few say enough
            self.problems.append(text)

    def persons(self) -> list[Person]:
        merged: dict[str, Person] = {}
        for distinct_id, record in self.by_id.items():
            root = self.ids.find(distinct_id)
            if root in merged:
                merged[root].absorb(record)
            else:
                merged[root] = record
        return list(merged.values())


def read_stream(messages, now: datetime = NOW, days: int = DAYS) -> Stream:
    """Check every message's shape and order, and gather what the bands need, in one pass.

    Problems are collected (the first few) rather than asserted here, so a test can say which
    rule broke and where.
    """
    stream = Stream()
    sha = hashlib.sha256()  # the same recipe as `digest`, so the two can be compared
    start, previous = now - timedelta(days=days), None
    for i, message in enumerate(messages):
        stream.count += 1
        sha.update(repr(message).encode())
        missing = [k for k in ("event", "distinct_id", "timestamp", "uuid") if not message.get(k)]
        if missing:
            stream.problem(f"message {i} lacks {missing}: {message}")
            continue
        if not TIMESTAMP.fullmatch(message["timestamp"]):
            stream.problem(f"message {i}: timestamp {message['timestamp']!r}")
            continue
        ts = datetime.fromisoformat(message["timestamp"])
        if not start <= ts < now:
            stream.problem(f"message {i}: {ts} outside [{start}, {now})")
        if previous is not None and ts < previous:
            stream.problem(f"message {i}: {ts} before the previous {previous}")
        previous = ts
        parsed = uuid.UUID(message["uuid"])
        if parsed.version != 4 or str(parsed) != message["uuid"]:
            stream.problem(f"message {i}: uuid {message['uuid']!r} is not a canonical v4 uuid")
        stream.uuids.add(message["uuid"])
        chain = message.get("elements_chain")
        if chain is not None and not all(CHAIN_ELEMENT.fullmatch(e) for e in chain.split(";")):
            stream.problem(f"message {i}: elements_chain {chain!r}")
        _record(stream, i, message, ts.date())
    stream.digest = sha.hexdigest()
    return stream


def digest(messages) -> str:
    """A fingerprint of a whole stream, cheaper than `read_stream` for a repeat run."""
    sha = hashlib.sha256()
    for message in messages:
        sha.update(repr(message).encode())
    return sha.hexdigest()


def _record(stream: Stream, i: int, message: dict, day: date) -> None:
    event, distinct_id, properties = message["event"], message["distinct_id"], message["properties"]
    stream.events_per_day[day] += 1
    record = stream.by_id.get(distinct_id)
    if record is None:
        record = stream.by_id[distinct_id] = Person(first_day=day)
    record.days.add(day)
    if event == "$pageview" and record.first_pageview is None:
        record.first_pageview = i
    elif event == "signed_up" and record.first_signup is None:
        record.first_signup = i
    elif event == "purchase":
        record.last_purchase = i
    elif event == "$identify":
        stream.ids.union(properties["$anon_distinct_id"], distinct_id)
        email = properties.get("$set", {}).get("email")
        if email:
            record.email = email
    elif event == "$groupidentify":
        stream.group_identifies[properties["$group_key"]] += 1
    if "$groups" in properties:
        stream.orgs_in_events.add(properties["$groups"]["organization"])


# --- the bands --------------------------------------------------------------------------------


def visit_to_signup(persons: list[Person]) -> float:
    """Of people who viewed a page, the share who later signed up."""
    visitors = [p for p in persons if p.first_pageview is not None]
    converted = [
        p for p in visitors if p.first_signup is not None and p.first_signup > p.first_pageview
    ]
    return len(converted) / len(visitors)


def signup_to_purchase(persons: list[Person]) -> float:
    """Of people who signed up, the share who bought something afterwards."""
    signed = [p for p in persons if p.first_signup is not None]
    bought = [p for p in signed if p.last_purchase is not None and p.last_purchase > p.first_signup]
    return len(bought) / len(signed)


def retention(persons: list[Person], lag: int, first: date, days: int) -> float:
    """Day-`lag` retention of new people, averaged over the daily cohorts that have that day.

    A cohort is everyone whose first event is on day D; they are retained if they have any
    event on D + lag. Each cohort counts once, however large.
    """
    cohorts: dict[date, list[Person]] = defaultdict(list)
    for p in persons:
        cohorts[p.first_day].append(p)
    rates = []
    for offset in range(days - lag):
        day = first + timedelta(days=offset)
        cohort = cohorts.get(day)
        if cohort:
            later = day + timedelta(days=lag)
            rates.append(sum(later in p.days for p in cohort) / len(cohort))
    return sum(rates) / len(rates)


def weekday_and_weekend_averages(events_per_day: dict[date, int]) -> tuple[float, float]:
    weekday = [n for d, n in events_per_day.items() if d.weekday() < 5]
    weekend = [n for d, n in events_per_day.items() if d.weekday() >= 5]
    return sum(weekday) / len(weekday), sum(weekend) / len(weekend)


def internal_share(persons: list[Person]) -> float:
    """Share of people identified with an email at the company's own domain."""
    internal = [p for p in persons if p.email and p.email.endswith("@" + COMPANY_DOMAIN)]
    return len(internal) / len(persons)


# --- tests ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_stream() -> Stream:
    # Generated once for the module: 200k messages are a couple of seconds to make and read.
    return read_stream(generate_messages(seed=42, n_events=DEFAULT_EVENTS, now=NOW, days=DAYS))


@pytest.fixture(scope="module")
def persons(default_stream: Stream) -> list[Person]:
    return default_stream.persons()


def test_messages_are_well_formed_ordered_and_in_range(default_stream: Stream) -> None:
    assert default_stream.problems == []


def test_uuids_are_unique(default_stream: Stream) -> None:
    assert len(default_stream.uuids) == default_stream.count


def test_event_count_is_honoured(default_stream: Stream) -> None:
    assert abs(default_stream.count - DEFAULT_EVENTS) <= DEFAULT_EVENTS * 0.1


def test_visit_to_signup_conversion(persons: list[Person]) -> None:
    assert 0.10 <= visit_to_signup(persons) <= 0.40


def test_signup_to_purchase_conversion(persons: list[Person]) -> None:
    assert 0.05 <= signup_to_purchase(persons) <= 0.30


def test_new_visitors_retain_then_fall_away(persons: list[Person]) -> None:
    first = (NOW - timedelta(days=DAYS)).date()
    day_1 = retention(persons, 1, first, DAYS)
    day_30 = retention(persons, 30, first, DAYS)
    assert 0.20 <= day_1 <= 0.50
    assert 0.05 <= day_30 <= 0.25
    assert day_30 < day_1


def test_weekdays_are_busier_than_weekends(default_stream: Stream) -> None:
    weekday, weekend = weekday_and_weekend_averages(default_stream.events_per_day)
    # "Clearly" above: a business product, not noise around a flat line.
    assert weekday > 1.2 * weekend


def test_a_few_percent_are_internal_test_accounts(persons: list[Person]) -> None:
    assert 0.02 <= internal_share(persons) <= 0.10


def test_every_organisation_is_identified_once(default_stream: Stream) -> None:
    # Group analytics needs the group's properties: each org in $groups has one $groupidentify.
    assert default_stream.orgs_in_events
    assert default_stream.orgs_in_events <= set(default_stream.group_identifies)
    assert set(default_stream.group_identifies.values()) == {1}


def test_some_people_use_several_distinct_ids(persons: list[Person], default_stream: Stream):
    # Sign-ups merge an anonymous id into a user id; second devices add another anonymous id.
    roots: dict[str, int] = defaultdict(int)
    for distinct_id in default_stream.by_id:
        roots[default_stream.ids.find(distinct_id)] += 1
    sizes = list(roots.values())
    assert sum(size >= 2 for size in sizes) > 0.1 * len(persons)
    assert any(size >= 3 for size in sizes)


def test_same_seed_same_stream_other_seed_other_stream(default_stream: Stream) -> None:
    again = generate_messages(seed=42, n_events=DEFAULT_EVENTS, now=NOW, days=DAYS)
    assert digest(again) == default_stream.digest
    # The first few thousand messages are enough to tell two seeds apart.
    ours = list(islice(generate_messages(seed=42, n_events=20_000, now=NOW), 2000))
    theirs = list(islice(generate_messages(seed=7, n_events=20_000, now=NOW), 2000))
    assert ours != theirs


def test_small_data_sets_work_and_honour_the_count() -> None:
    for n_events in (5_000, 20_000):
        stream = read_stream(generate_messages(seed=1, n_events=n_events, now=NOW, days=DAYS))
        assert stream.problems == []
        assert len(stream.uuids) == stream.count
        assert abs(stream.count - n_events) <= n_events * 0.1


def test_people_scale_with_events(persons: list[Person]) -> None:
    # About 20 events a person, so the 10M benchmark set has ~500k people.
    assert 5_000 <= len(persons) <= 15_000


def test_a_now_that_is_not_midnight_keeps_everything_in_range() -> None:
    now = datetime(2024, 6, 1, 15, 30, 12, 345678, tzinfo=UTC)
    stream = read_stream(generate_messages(seed=3, n_events=10_000, now=now, days=30), now, 30)
    assert stream.problems == []
    assert abs(stream.count - 10_000) <= 1_000


def test_messages_look_like_posthog_js() -> None:
    """Spot checks on the shapes ingestion relies on: identify, groups, autocapture, revenue."""
    seen: dict[str, dict] = {}
    for message in generate_messages(seed=42, n_events=20_000, now=NOW):
        seen.setdefault(message["event"], message)
        if message["event"] == "$identify" and "$set" not in message["properties"]:
            seen.setdefault("second device $identify", message)
    pageview = seen["$pageview"]["properties"]
    assert pageview["$current_url"].endswith(pageview["$pathname"])
    assert pageview["$lib"] == "web" and pageview["$session_id"]
    identify = seen["$identify"]
    assert identify["distinct_id"].startswith("user_")
    assert identify["properties"]["$set"]["plan"] == "free"
    assert "initial_referrer" in identify["properties"]["$set_once"]
    assert "second device $identify" in seen
    group = seen["$groupidentify"]["properties"]
    assert group["$group_type"] == "organization" and group["$group_key"].startswith("org_")
    assert isinstance(group["$group_set"]["employees"], int)
    assert seen["$autocapture"]["elements_chain"].endswith(':nth-child="2"nth-of-type="1"')
    assert seen["$autocapture"]["properties"]["$event_type"] == "click"
    purchase = seen["purchase"]["properties"]
    assert purchase["revenue"] > 0 and purchase["currency"] and purchase["$set"]["plan"]
    assert seen["feature_used"]["properties"]["feature"]
    assert seen["feature_used"]["properties"]["$groups"]["organization"].startswith("org_")
