"""The plain data the oracles compute on.

Identity is resolved before an oracle sees an event: `person_id` is the person the event's
distinct id belongs to *now* (after merges), and `person_properties` are that person's current
properties. Group properties are looked up by (group_type_index, group key).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Event:
    uuid: str
    event: str
    distinct_id: str
    person_id: str
    timestamp: datetime  # timezone-aware, UTC
    properties: dict = field(default_factory=dict)
    person_properties: dict = field(default_factory=dict)
    elements_chain: str = ""
    # group_type_index → group key, from the event's $groups
    groups: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Project:
    timezone: str = "UTC"
    week_start_day: int = 0  # 0 = Sunday (PostHog's default), 1 = Monday
    test_account_filters: list = field(default_factory=list)
    path_cleaning_filters: list = field(default_factory=list)


@dataclass(frozen=True)
class Action:
    id: int
    name: str
    # PostHog action steps: {"event", "url", "url_matching" (contains|exact|regex), "text",
    # "href", "selector", "tag_name", "properties": [...]}; steps are ORed.
    steps: list[dict]


@dataclass(frozen=True)
class Cohort:
    id: int
    # Static cohorts list person ids; dynamic ones hold PostHog's `filters` document.
    person_ids: frozenset[str] | None = None
    filters: dict | None = None


@dataclass
class World:
    """Everything an oracle may consult besides the request: the project and its definitions."""

    events: list[Event]
    project: Project = field(default_factory=Project)
    now: datetime | None = None
    actions: dict[int, Action] = field(default_factory=dict)
    cohorts: dict[int, Cohort] = field(default_factory=dict)
    # (group_type_index, group_key) → properties
    group_properties: dict[tuple[int, str], dict] = field(default_factory=dict)
