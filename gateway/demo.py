"""Demo data: a deterministic, realistic product's event stream in PostHog capture format.

`generate_messages` yields the messages a posthog-js SDK would send to `/batch/` for an
imaginary analytics product: anonymous visitors browsing, some signing up (`signed_up`, then
`$identify` merging the anonymous id into a user id), using features, buying plans, churning
and coming back, logging in from a second device, belonging to organisations (groups), plus a
few internal test accounts. It does no I/O and imports nothing from the rest of the gateway, so
loaders, benchmarks and tests can all share it.

How it stays deterministic, bounded and fast:

- Everything random comes from one `random.Random(seed)`, drawn in a fixed order.
- Each person's whole *lifetime* (which days they are active, how many sessions and events each
  day, when they sign up, buy, cancel or switch device) is planned when they arrive, as small
  tuples of integers put into per-day buckets. Planning knows the exact number of events a
  person will produce, so arrivals stop when the requested `n_events` is committed: the total
  is honoured to within one late arrival's events, at any scale.
- When arrivals happen is shaped by a pilot run (its own seeded `Random`) that measures how many
  events a person arriving on each day produces; without it, late days would need a flood of
  arrivals to reach the total.
- Day by day, the day's bucket is written as columns of light references, sorted by time, and
  only then expanded into message dicts. Memory holds one day of events, the people still to be
  active and their plans (about 300 MB at 10M events) — never the whole stream.
- Weighted choices are lookup tables indexed by one `random()`, gaps and session lengths come
  from tables indexed by random bytes, and page properties are shared dicts merged into each
  message: about 150k messages/s on one core.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import accumulate, repeat

__all__ = ["generate_messages"]

_SECOND_US = 1_000_000
_MINUTE_US = 60 * _SECOND_US
_HOUR_US = 60 * _MINUTE_US
_DAY_US = 24 * _HOUR_US
# PostHog starts a new session after 30 minutes of inactivity; keep sessions further apart.
_SESSION_GAP_US = 31 * _MINUTE_US
# A day shorter than this (the partial first/last day when `now` is not midnight) gets no
# activity: three sessions of the longest length must fit in it.
_MIN_WINDOW_US = 8 * _HOUR_US
_MAX_REGULAR_EVENTS = 25  # per session; with the gap cap, a session lasts at most ~100 minutes
_MAX_GAP_US = 4 * _MINUTE_US
_MEAN_GAP_US = 35 * _SECOND_US
_PILOT_PEOPLE = 4000
_LOW_62 = (1 << 62) - 1

# uuid.UUID(int=r, version=4) clears these bits and sets the version and variant; doing it with
# two masks and formatting by hand is several times faster than building UUID objects.
_V4_AND = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_V4_OR = (4 << 76) | (0x8000 << 48)

# --- the people -------------------------------------------------------------------------------

_BOUNCER, _CASUAL, _ENGAGED, _INTERNAL = range(4)
_INTERNAL_SHARE = 0.05  # of arrivals; the band is 2-10% of people
# Of external arrivals: most bounce, some dabble, a minority becomes the product's core users.
_KIND_WEIGHTS = ((_BOUNCER, 0.61), (_CASUAL, 0.26), (_ENGAGED, 0.13))


@dataclass(frozen=True, slots=True)
class _Kind:
    """How one kind of person behaves. Chances are per active day unless said otherwise."""

    lam0: float  # chance of being active on a weekday just after arriving (or coming back)
    tau: float  # days for that chance to fall by a factor of e
    churn: float  # chance of going dormant after an active day
    comeback: float  # chance that a dormant person returns, 2-6 weeks later
    p_signup: float  # while still anonymous
    p_purchase: float  # once signed up, until the first purchase
    s2: float  # chance of a second session that day
    s3: float  # and then of a third
    anon_mean: float  # mean events beyond the first in an anonymous session
    user_mean: float  # the same, signed in
    p_device: float  # chance of logging in from another device (twice at most)


# fmt: off
_KINDS = {
    #                lam0  tau churn comeback signup purchase s2    s3    anon user device
    _BOUNCER:  _Kind(0.25,   5, 0.45,  0.08,   0.03,  0.02,   0.05, 0.0,  1.3, 3.0, 0.0),
    _CASUAL:   _Kind(0.65,  18, 0.10,  0.25,   0.11,  0.012,  0.1,  0.03, 2.0, 2.5, 0.03),
    _ENGAGED:  _Kind(0.85, 150, 0.015, 0.4,    0.35,  0.02,   0.15, 0.05, 2.5, 2.8, 0.04),
    _INTERNAL: _Kind(0.30, 200, 0.01,  0.5,    1.0,   0.004,  0.10, 0.0,  2.0, 3.0, 0.03),
}
# fmt: on

# Traffic is lower at weekends (Mon=0 .. Sun=6): applies to activity and to new arrivals.
_WEEKDAY_FACTOR = (1.0, 1.0, 1.0, 1.0, 0.95, 0.45, 0.5)
# The product grows: arrivals on the last day are this many times those on the first.
_GROWTH = 1.6

# Session flags, planned per session; each adds events on top of the regular ones.
_SIGNUP = 1  # signed_up + $identify
_FOUND_ORG = 2  # + $groupidentify (the founder of an organisation signs up)
_SECOND_DEVICE = 4  # + $identify from a new anonymous id
_PURCHASE = 8  # + purchase
_CANCEL = 16  # + subscription_cancelled


def _extra_events(flags: int) -> int:
    return (
        2 * (flags & _SIGNUP)
        + ((flags & _FOUND_ORG) >> 1)
        + ((flags & _SECOND_DEVICE) >> 2)
        + ((flags & _PURCHASE) >> 3)
        + ((flags & _CANCEL) >> 4)
    )


_EXTRA = tuple(_extra_events(f) for f in range(32))

# --- what they look like ----------------------------------------------------------------------


def _table(pairs: tuple | list, size: int = 1000) -> tuple:
    """A lookup table for weighted choice: `table[int(random() * len(table))]` is one draw.

    Much cheaper per draw than `random.choices`, which matters at millions of draws.
    """
    total = sum(w for _, w in pairs)
    out: list = []
    for value, weight in pairs:
        out.extend([value] * max(1, round(size * weight / total)))
    return tuple(out)


_DEVICES = _table(
    [
        (("Chrome", "Mac OS X", "Desktop"), 0.25),
        (("Chrome", "Windows", "Desktop"), 0.22),
        (("Safari", "iOS", "Mobile"), 0.12),
        (("Chrome", "Android", "Mobile"), 0.10),
        (("Safari", "Mac OS X", "Desktop"), 0.08),
        (("Microsoft Edge", "Windows", "Desktop"), 0.06),
        (("Chrome", "Linux", "Desktop"), 0.04),
        (("Firefox", "Windows", "Desktop"), 0.04),
        (("Firefox", "Linux", "Desktop"), 0.03),
        (("Safari", "iOS", "Tablet"), 0.02),
        (("Samsung Internet", "Android", "Mobile"), 0.02),
        (("Opera", "Windows", "Desktop"), 0.02),
    ]
)
# Engineers testing their own product: desktops.
_INTERNAL_DEVICES = _table(
    [
        (("Chrome", "Mac OS X", "Desktop"), 0.6),
        (("Firefox", "Linux", "Desktop"), 0.2),
        (("Safari", "Mac OS X", "Desktop"), 0.2),
    ]
)
_COUNTRIES = _table(
    [
        ("US", 0.34), ("GB", 0.08), ("DE", 0.07), ("IN", 0.07), ("FR", 0.05), ("CA", 0.04),
        ("BR", 0.04), ("NL", 0.03), ("AU", 0.03), ("ES", 0.03), ("PL", 0.03), ("SE", 0.02),
        ("JP", 0.02), ("IT", 0.02), ("MX", 0.02), ("SG", 0.02), ("IE", 0.01), ("NG", 0.01),
        ("ZA", 0.01), ("KR", 0.01), ("UA", 0.01), ("AR", 0.01), ("CH", 0.01), ("IL", 0.01),
    ]
)  # fmt: skip
# How a first visit arrives: (referring domain, (utm_source, utm_medium, utm_campaign) or None,
# the signup_source recorded if they sign up).
_CHANNELS = _table(
    [
        (("$direct", None, "direct"), 0.28),
        (("www.google.com", None, "organic_search"), 0.22),
        (("www.google.com", ("google", "cpc", "brand_search"), "paid_search"), 0.08),
        (("news.ycombinator.com", None, "hacker_news"), 0.06),
        (("twitter.com", ("twitter", "social", "launch_week"), "social"), 0.06),
        (("github.com", None, "github"), 0.06),
        (("www.linkedin.com", ("linkedin", "paid_social", "b2b_q2"), "paid_social"), 0.05),
        (("mail.google.com", ("newsletter", "email", "monthly_digest"), "email"), 0.05),
        (("www.reddit.com", None, "reddit"), 0.04),
        (("www.producthunt.com", ("producthunt", "referral", "ph_launch"), "product_hunt"), 0.03),
        (("duckduckgo.com", None, "organic_search"), 0.03),
        (("www.bing.com", None, "organic_search"), 0.02),
    ]
)
_RETURN_REFERRERS = _table([("$direct", 0.8), ("www.google.com", 0.15), ("github.com", 0.05)])
# UTC hour of a session's start: a global audience, busiest in the European afternoon and the
# American morning.
_HOURS = _table(
    [
        (h, w)
        for h, w in enumerate(
            (3, 2, 2, 2, 2, 3, 4, 6, 8, 10, 11, 12, 13, 15, 16, 16, 15, 14, 12, 10, 8, 6, 5, 4)
        )
    ]
)

_FIRST_NAMES = (
    "Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger",
    "Radia", "Guido", "Anita", "Brian", "Hedy", "Tim", "Katherine", "John", "Sophie", "Carlos",
    "Mei", "Ravi", "Amara", "Lars", "Yuki", "Olga", "Diego", "Fatima", "Noah", "Lena",
)  # fmt: skip
_LAST_NAMES = (
    "Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
    "Allen", "Dijkstra", "Perlman", "Rossum", "Borg", "Kernighan", "Lamarr", "Berners", "Johnson",
    "McCarthy", "Wilson", "Mendes", "Chen", "Patel", "Okafor", "Nilsson", "Tanaka", "Ivanova",
    "Garcia", "Haddad", "Smith", "Weber",
)  # fmt: skip
_EMAIL_DOMAINS = _table(
    [("gmail.com", 0.6), ("outlook.com", 0.2), ("proton.me", 0.1), ("hey.com", 0.1)]
)
_ORG_WORDS = (
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell",
    "Cyberdyne", "Soylent", "Wonka", "Aperture", "Oscorp", "Nakatomi", "Monarch", "Wernham",
    "Dunder", "Prestige", "Sterling", "Pied", "Blue", "Northwind", "Contoso", "Fabrikam",
    "Tailspin", "Litware", "Adatum", "Proseware", "Lucerne",
)  # fmt: skip
_ORG_SUFFIXES = (
    "Labs", "Analytics", "Systems", "Cloud", "AI", "Health", "Pay", "Logistics", "Studio", "Bank",
    "Games", "Media",
)  # fmt: skip
_INDUSTRIES = _table(
    [
        ("SaaS", 0.3), ("E-commerce", 0.15), ("Fintech", 0.12), ("Healthcare", 0.08),
        ("Education", 0.07), ("Media", 0.07), ("Gaming", 0.06), ("Travel", 0.05),
        ("Logistics", 0.05), ("Marketing", 0.05),
    ]
)  # fmt: skip
# (plan, monthly price) bought on a purchase, and the currency it is paid in.
_PLANS = _table([("pro", 0.7), ("team", 0.25), ("enterprise", 0.05)])
_PRICES = {"pro": 49.0, "team": 199.0, "enterprise": 990.0}
_CURRENCIES = _table([("USD", 0.75), ("EUR", 0.15), ("GBP", 0.10)])
_FEATURES = _table(
    [
        ("trends", 0.25), ("funnels", 0.18), ("retention", 0.1), ("paths", 0.07),
        ("session_recording", 0.15), ("feature_flags", 0.1), ("cohorts", 0.06),
        ("sql_editor", 0.05), ("experiments", 0.04),
    ]
)  # fmt: skip
_INSIGHT_TYPES = _table(
    [
        ("TRENDS", 0.5), ("FUNNELS", 0.25), ("RETENTION", 0.1), ("PATHS", 0.08),
        ("STICKINESS", 0.04), ("LIFECYCLE", 0.03),
    ]
)  # fmt: skip
_CANCEL_REASONS = _table(
    [("too_expensive", 0.4), ("missing_feature", 0.3), ("switched_tool", 0.2), ("other", 0.1)]
)

# --- where they go ----------------------------------------------------------------------------

_BLOG = (
    "/blog/product-analytics-101",
    "/blog/funnels-explained",
    "/blog/launch-week",
    "/blog/clickhouse-at-scale",
)
_DOCS = ("/docs/getting-started", "/docs/sdk/javascript", "/docs/insights/funnels", "/docs/api")
# Anonymous browsing: landing pages by weight, then a Markov chain between marketing pages.
_LANDING = _table(
    [("/", 0.5), ("/pricing", 0.15)]
    + [(p, 0.25 / 4) for p in _BLOG]
    + [(p, 0.1 / 4) for p in _DOCS]
)
_MARKETING_NEXT = {
    page: _table(next_pages)
    for page, next_pages in {
        "/": [
            ("/pricing", 0.3), ("/features", 0.25), (_BLOG[0], 0.1), (_DOCS[0], 0.15),
            ("/signup", 0.1), ("/login", 0.05), ("/customers", 0.05),
        ],
        "/pricing": [
            ("/signup", 0.35), ("/features", 0.2), ("/", 0.2), (_DOCS[0], 0.15),
            ("/customers", 0.1),
        ],
        "/features": [("/pricing", 0.4), ("/signup", 0.2), (_DOCS[0], 0.2), ("/", 0.2)],
        "/customers": [("/pricing", 0.5), ("/signup", 0.2), ("/", 0.3)],
        "/signup": [("/pricing", 0.4), ("/", 0.4), ("/login", 0.2)],
        "/login": [("/", 0.7), ("/signup", 0.3)],
        **dict.fromkeys(
            _BLOG,
            [("/", 0.35), ("/pricing", 0.2), (_BLOG[1], 0.15), (_BLOG[2], 0.1), (_DOCS[0], 0.2)],
        ),
        **dict.fromkeys(
            _DOCS,
            [
                (_DOCS[1], 0.3), (_DOCS[2], 0.2), (_DOCS[3], 0.15), ("/pricing", 0.2),
                ("/signup", 0.15),
            ],
        ),
    }.items()
}  # fmt: skip
# Inside the app: a few dashboards and insights get most of the attention.
_APP_PAGES = _table(
    [
        ("/home", 0.12), ("/insights", 0.14), ("/events", 0.1), ("/persons", 0.07),
        ("/feature_flags", 0.06), ("/replay", 0.07), ("/settings/project", 0.03),
        ("/billing", 0.02), ("/onboarding", 0.01),
    ]
    + [(f"/dashboard/{i}", 0.2 / i / 3.0) for i in range(1, 16)]
    + [(f"/insights/{i:06x}", 0.18 / i / 4.5) for i in range(1, 60)],
    size=2000,
)  # fmt: skip
_DASHBOARDS = _table([(i, 1.0 / i) for i in range(1, 16)])


def _element(
    tag: str,
    classes: tuple[str, ...] = (),
    text: str | None = None,
    href: str | None = None,
    nth_child: int = 1,
    nth_of_type: int = 1,
) -> str:
    """One element of an `elements_chain`, as PostHog's `elements_to_string` writes it.

    Tag, sorted classes, a colon, then the attributes sorted by key as `key="value"`.
    """
    attributes = {"nth-child": str(nth_child), "nth-of-type": str(nth_of_type)}
    if classes:
        attributes["attr__class"] = " ".join(classes)
    if href:
        attributes["attr__href"] = href
        attributes["href"] = href
    if text:
        attributes["text"] = text
    attrs = "".join(f'{k}="{v}"' for k, v in sorted(attributes.items()))
    return tag + "".join(f".{c}" for c in sorted(classes)) + ":" + attrs


def _chain(*elements: str) -> str:
    """Clicked element first, then its ancestors up to body, `;`-separated."""
    return ";".join((*elements, _element("body", nth_child=2)))


_CONTAINER = _element("div", ("container",), nth_child=2)
_MARKETING_CLICKS = _table(
    [
        (_chain(_element("a", ("btn", "btn-primary"), "Get started - free", "/signup"), _element("header", ("hero",)), _CONTAINER), 0.35),  # noqa: E501
        (_chain(_element("a", ("nav-link",), "Pricing", "/pricing", nth_child=2, nth_of_type=2), _element("nav", ("navbar",)), _CONTAINER), 0.25),  # noqa: E501
        (_chain(_element("button", ("btn", "btn-secondary"), "Book a demo", nth_child=2), _element("header", ("hero",)), _CONTAINER), 0.15),  # noqa: E501
        (_chain(_element("button", ("btn", "btn-primary"), "Sign up"), _element("form", ("signup-form",)), _CONTAINER), 0.25),  # noqa: E501
    ]
)  # fmt: skip
_APP_CLICKS = _table(
    [
        (_chain(_element("button", ("btn", "btn-primary"), "New insight"), _element("div", ("page-header",)), _CONTAINER), 0.25),  # noqa: E501
        (_chain(_element("button", ("btn",), "Add filter", nth_child=3, nth_of_type=2), _element("div", ("filters",)), _CONTAINER), 0.2),  # noqa: E501
        (_chain(_element("button", ("btn", "btn-primary"), "Save"), _element("div", ("insight-actions",)), _CONTAINER), 0.2),  # noqa: E501
        (_chain(_element("a", ("nav-link",), "Dashboards", "/dashboard", nth_child=4, nth_of_type=4), _element("nav", ("sidebar",)), _CONTAINER), 0.2),  # noqa: E501
        (_chain(_element("span", ("label",), "Breakdown"), _element("button", ("btn", "btn-tertiary")), _element("div", ("filters",))), 0.15),  # noqa: E501
    ]
)  # fmt: skip
_LIB_VERSION = "1.160.0"

# Events inside the app, by weight, for an identified session's regular events.
_APP_EVENTS = _table(
    [
        ("$pageview", 0.45),
        ("$autocapture", 0.2),
        ("feature_used", 0.17),
        ("dashboard_viewed", 0.1),
        ("insight_created", 0.08),
    ]
)


# Gaps between a session's events, indexed by a random byte: exponential quantiles around
# _MEAN_GAP_US, capped. A byte per gap (from `randbytes`) is much cheaper than `expovariate`.
_GAPS = tuple(
    min(_MAX_GAP_US, _SECOND_US + int(-math.log(1.0 - (b + 0.5) / 256) * _MEAN_GAP_US))
    for b in range(256)
)
# Unit exponential quantiles indexed by a random byte: lengths of sessions, in the planner.
_EXPO = tuple(-math.log(1.0 - (b + 0.5) / 256) for b in range(256))
_EMPTY: dict = {}


@lru_cache(maxsize=1)
def _clock_strings() -> tuple[str, ...]:
    """'HH:MM:SS' for every second of a day: formatting a timestamp becomes one lookup."""
    return tuple(
        f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)
    )


# --- the simulation ---------------------------------------------------------------------------


class _Person:
    """One human. Plan-time fields are set on arrival; the rest as their events are written."""

    __slots__ = (
        "kind",
        "org",
        "distinct_id",
        "user_id",
        "device",
        "country",
        "channel",
        "plan",
        "last_us",
        "sessions",
    )

    def __init__(self, kind: int) -> None:
        self.kind = kind
        self.org: str | None = None
        self.distinct_id: str | None = None
        self.user_id: str | None = None
        self.device: tuple[str, str, str] | None = None
        self.country = "US"
        self.channel: tuple | None = None
        self.plan = "free"
        self.last_us = 0
        self.sessions = 0


class _Orgs:
    """Organisations as planned: who founded which, and when.

    Joiners pick the organisation of a random existing member (preferential attachment, so a
    few organisations grow large), but only one founded by their sign-up day.
    """

    def __init__(self) -> None:
        self.members: list[str] = []
        self.founded: dict[str, int] = {}
        self.internal_founded = False

    def join(self, person: _Person, day: int, rng: random.Random) -> bool:
        """Assign `person` an organisation; True when they found it (a $groupidentify)."""
        if person.kind == _INTERNAL:
            person.org = "org_0"
            founder = not self.internal_founded
            self.internal_founded = True
            return founder
        if self.members and rng.random() < 0.55:
            key = self.members[int(rng.random() * len(self.members))]
            if self.founded[key] <= day:
                person.org = key
                self.members.append(key)
                return False
        key = f"org_{len(self.founded) + 1}"
        self.founded[key] = day
        self.members.append(key)
        person.org = key
        return True


class _Calendar:
    """UTC days covering [now - days, now), with the usable window of each."""

    def __init__(self, now: datetime, days: int) -> None:
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        self.end_us = (now - epoch) // timedelta(microseconds=1)
        self.start_us = self.end_us - days * _DAY_US
        first_midnight = self.start_us - self.start_us % _DAY_US
        self.n_days = max(0, -(-(self.end_us - first_midnight) // _DAY_US))
        self.midnight = [first_midnight + d * _DAY_US for d in range(self.n_days)]
        self.lo = [max(self.start_us, m) for m in self.midnight]
        self.hi = [min(self.end_us, m + _DAY_US) for m in self.midnight]
        # Thursday 1970-01-01 was weekday 3 (Monday = 0).
        weekday = [(m // _DAY_US + 3) % 7 for m in self.midnight]
        usable = [h - lo >= _MIN_WINDOW_US for lo, h in zip(self.lo, self.hi, strict=True)]
        self.factor = [
            _WEEKDAY_FACTOR[w] if ok else 0.0 for w, ok in zip(weekday, usable, strict=True)
        ]
        self.prefix = [
            (epoch + timedelta(microseconds=m)).strftime("%Y-%m-%dT") for m in self.midnight
        ]


class _Planner:
    """Plans lifetimes: active days, sessions per day and the notable events of each session."""

    def __init__(self, calendar: _Calendar, rng: random.Random) -> None:
        self.cal = calendar
        self.rng = rng
        self.orgs = _Orgs()
        horizon = calendar.n_days + 1
        # decay[kind][age]: activity left `age` days after (re)activation.
        self.decay = {
            kind: [math.exp(-age / k.tau) for age in range(horizon)] for kind, k in _KINDS.items()
        }

    def new_person(self) -> _Person:
        rng = self.rng
        if rng.random() < _INTERNAL_SHARE:
            return _Person(_INTERNAL)
        x = rng.random()
        for kind, weight in _KIND_WEIGHTS:
            x -= weight
            if x < 0:
                return _Person(kind)
        return _Person(_KIND_WEIGHTS[-1][0])

    def lifetime(self, person: _Person, arrival: int) -> tuple[list[tuple[int, tuple]], int]:
        """(day, sessions) entries from `arrival` on, and how many events they hold.

        A session is (regular events, flags). Active days follow a decaying daily chance,
        scaled down at weekends; after an active day a person may go dormant, and some dormant
        people come back weeks later with part of their old enthusiasm.
        """
        rng = self.rng
        random_, getrandbits = rng.random, rng.getrandbits
        k = _KINDS[person.kind]
        factor = self.cal.factor
        n_days = self.cal.n_days
        decay = self.decay[person.kind]
        entries: list[tuple[int, tuple]] = []
        total = 0
        day = arrival
        since = arrival  # start of the current spell of activity, for the decay
        lam = k.lam0
        signed_up = purchased = cancelled = False
        renewal_day = 0
        devices = 1
        while True:
            # -- today's sessions: how many, how long, and what happens in the first and last --
            n_sessions = 1 if random_() >= k.s2 else 2 + (random_() < k.s3)
            mean = k.user_mean if signed_up else k.anon_mean
            counts = [
                min(_MAX_REGULAR_EVENTS, 1 + int(_EXPO[b] * mean))
                for b in getrandbits(8 * n_sessions).to_bytes(n_sessions)
            ]
            first = last = 0  # flags
            if not signed_up:
                if random_() < k.p_signup:
                    signed_up = True
                    first = _SIGNUP | _FOUND_ORG if self.orgs.join(person, day, rng) else _SIGNUP
                    counts[0] += 1  # browse /pricing and /signup before signing up
            else:
                if devices < 3 and random_() < k.p_device:
                    devices += 1
                    first = _SECOND_DEVICE
                if not purchased:
                    if random_() < k.p_purchase:
                        purchased = True
                        renewal_day = day + 30
                        last = _PURCHASE
                elif not cancelled:
                    if random_() < 0.012:
                        cancelled = True
                        last = _CANCEL
                    elif day >= renewal_day:
                        renewal_day = day + 30
                        last = _PURCHASE
            if n_sessions == 1:
                sessions: tuple = ((counts[0], first | last),)
            else:
                middle = tuple((c, 0) for c in counts[1:-1])
                sessions = ((counts[0], first), *middle, (counts[-1], last))
            entries.append((day, sessions))
            total += sum(counts) + _EXTRA[first] + _EXTRA[last]

            # -- the next active day --
            nxt = n_days
            if random_() < k.churn:
                if random_() < k.comeback:
                    nxt = day + 14 + int(random_() * 32)
                    since = nxt
                    lam *= 0.6
            else:
                g = day + 1
                while g < n_days:
                    p = lam * decay[g - since] * factor[g]
                    if random_() < p:
                        break
                    if lam * decay[g - since] < 0.004:  # faded away
                        g = n_days
                        break
                    g += 1
                nxt = g
            while nxt < n_days and factor[nxt] == 0.0:  # skip a too-short last day
                nxt += 1
            if nxt >= n_days:
                return entries, total
            day = nxt


def _arrival_shape(calendar: _Calendar, seed: int) -> list[float]:
    """Cumulative share of all events committed by arrivals up to each day.

    Measured on a pilot population with its own generator, so that committing `n_events *
    shape[d]` by day d gives arrivals that grow steadily (and dip at weekends) instead of
    bunching where each arrival is worth few remaining events.
    """
    n_days = calendar.n_days
    weights = [
        calendar.factor[d] * (1.0 + (_GROWTH - 1.0) * d / max(1, n_days - 1)) for d in range(n_days)
    ]
    if sum(weights) == 0:
        return [1.0] * n_days
    cumulative = list(accumulate(weights))
    planner = _Planner(calendar, random.Random(f"spyglass-demo-pilot-{seed}"))
    events_by_day = [0.0] * n_days
    for _ in range(_PILOT_PEOPLE):
        arrival = bisect_right(cumulative, planner.rng.random() * cumulative[-1])
        arrival = min(arrival, n_days - 1)
        _, count = planner.lifetime(planner.new_person(), arrival)
        events_by_day[arrival] += count
    total = sum(events_by_day)
    shape = [c / total for c in accumulate(events_by_day)]
    shape[-1] = 1.0
    return shape


_ORIGINS = ("https://app.example.com", "http://localhost")  # indexed by "runs locally"
_CLICK = {"$event_type": "click"}


class _PageProperties(dict):
    """{"$current_url", "$pathname"} (plus `more`) per path on one origin, made on first use.

    Every event on a page shares the one dict: it is only ever merged into a message's fresh
    properties, never handed out itself.
    """

    def __init__(self, origin: str, more: dict = _EMPTY) -> None:
        super().__init__()
        self.origin = origin
        self.more = more

    def __missing__(self, path: str) -> dict:
        value = self[path] = {"$current_url": self.origin + path, "$pathname": path, **self.more}
        return value


class _Day:
    """One day's events as parallel columns, sorted by time only when the day is complete.

    Columns rather than a tuple per event: a tuple holding dicts can never be untracked by the
    garbage collector, and a day's events live long enough to reach its oldest generation,
    where every full collection walks them again; at the 10M scale that was a third of the run.
    `extra` holds what differs per event and is merged over the session's `base` when the
    message is made; `org` becomes `$groups` then (a dict inside `base` would make it tracked).
    """

    __slots__ = ("times", "events", "ids", "bases", "extras", "chains", "orgs")

    def __init__(self) -> None:
        self.times: list[int] = []
        self.events: list[str] = []
        self.ids: list[str] = []
        self.bases: list[dict] = []
        self.extras: list[dict] = []
        self.chains: list[str | None] = []
        self.orgs: list[str | None] = []


_ORIGINS = ("https://app.example.com", "http://localhost")  # indexed by "runs locally"
_CLICK = {"$event_type": "click"}


class _PageProperties(dict):
    """{"$current_url", "$pathname"} (plus `more`) per path on one origin, made on first use.

    Every event on a page shares the one dict: it is only ever merged into a message's fresh
    properties, never handed out itself.
    """

    def __init__(self, origin: str, more: dict = _EMPTY) -> None:
        super().__init__()
        self.origin = origin
        self.more = more

    def __missing__(self, path: str) -> dict:
        value = self[path] = {"$current_url": self.origin + path, "$pathname": path, **self.more}
        return value


class _Writer:
    """Turns a day's planned sessions into events, keeping each person's state."""

    def __init__(self, calendar: _Calendar, rng: random.Random, company_domain: str) -> None:
        self.cal = calendar
        self.rng = rng
        self.company_domain = company_domain
        self.org_info: dict[str, tuple[str, str]] = {}  # key -> (name, email domain)
        self.users = 0
        self.pages = {origin: _PageProperties(origin) for origin in _ORIGINS}
        self.clicks = {origin: _PageProperties(origin, _CLICK) for origin in _ORIGINS}

    def uuid7(self, at_us: int) -> str:
        """A UUIDv7 string for `at_us`, as posthog-js makes for sessions and anonymous ids."""
        r = self.rng.getrandbits(74)
        value = (at_us // 1000) << 80 | 7 << 76 | (r >> 62) << 64 | 2 << 62 | r & _LOW_62
        h = value.to_bytes(16).hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def org(self, key: str) -> tuple[str, str]:
        """(name, email domain) of an organisation, made up the first time it is needed."""
        info = self.org_info.get(key)
        if info is None:
            rng = self.rng
            if key == "org_0":
                info = (f"{self.company_domain} (internal)", self.company_domain)
            else:
                word = _ORG_WORDS[int(rng.random() * len(_ORG_WORDS))]
                suffix = _ORG_SUFFIXES[int(rng.random() * len(_ORG_SUFFIXES))]
                info = (f"{word} {suffix}", f"{word}{suffix}{key[4:]}.com".lower())
            self.org_info[key] = info
        return info

    def day(self, d: int, todays: Iterable[tuple[_Person, tuple]]) -> _Day:
        """Write day `d`: each person's planned sessions, laid out in the day's window."""
        rng = self.rng
        random_, getrandbits = rng.random, rng.getrandbits
        lo, hi = self.cal.lo[d], self.cal.hi[d]
        midnight = self.cal.midnight[d]
        out = _Day()
        times, events = out.times, out.events
        for person, sessions in todays:
            # Each session gets its gaps between events first; then the day's sessions are
            # placed in order, 31+ minutes apart, inside the day's window.
            laid = []
            need = -_SESSION_GAP_US
            for n, flags in sessions:
                k = n + _EXTRA[flags] - 1  # a random byte per gap
                gaps = [_GAPS[b] for b in getrandbits(8 * k).to_bytes(k)]
                duration = sum(gaps)
                laid.append((n, flags, gaps, duration))
                need += duration + _SESSION_GAP_US
            start = midnight + _HOURS[int(random_() * len(_HOURS))] * _HOUR_US
            start += int(random_() * _HOUR_US)
            if start < lo:
                start = lo + int(random_() * (hi - lo) / 2)
            if person.sessions and start < person.last_us + _SESSION_GAP_US:
                start = person.last_us + _SESSION_GAP_US
            latest = hi - 1 - need
            if start > latest:
                start = max(lo, latest)
            slack = max(0, latest - start)
            for n, flags, gaps, duration in laid:
                before = len(events)
                _Session(self, person, flags, start, out).write(n, flags)
                # The plan fixed the count; the stream's size depends on it being honoured.
                assert len(events) - before == len(gaps) + 1, (len(gaps), flags)
                times.extend(accumulate(gaps, initial=start))
                person.last_us = end = start + duration
                start = end + _SESSION_GAP_US + int(random_() * slack / len(laid))
        return out


class _Session:
    """One session being written: who, on which device and page, with which base properties."""

    __slots__ = (
        "w", "person", "rng", "out", "start", "base", "org", "origin", "path", "pages", "clicks",
    )  # fmt: skip

    def __init__(self, writer: _Writer, person: _Person, flags: int, start: int, out: _Day) -> None:
        self.w = writer
        self.person = person
        self.rng = rng = writer.rng
        random_ = rng.random
        self.out = out
        self.start = start
        self.path = "/"
        first_visit = person.sessions == 0
        person.sessions += 1
        if first_visit:
            devices = _INTERNAL_DEVICES if person.kind == _INTERNAL else _DEVICES
            person.device = devices[int(random_() * len(devices))]
            person.country = _COUNTRIES[int(random_() * len(_COUNTRIES))]
            person.channel = _CHANNELS[int(random_() * len(_CHANNELS))]
            person.distinct_id = writer.uuid7(start)
        elif flags & _SECOND_DEVICE:
            person.device = _DEVICES[int(random_() * len(_DEVICES))]
        # Internal testers often run the app locally.
        local = person.kind == _INTERNAL and random_() < 0.4
        self.origin = origin = _ORIGINS[local]
        self.pages = writer.pages[origin]
        self.clicks = writer.clicks[origin]
        assert person.device is not None and person.channel is not None
        browser, os_name, device_type = person.device
        referrer, utm, _ = person.channel
        if not first_visit:
            referrer = _RETURN_REFERRERS[int(random_() * len(_RETURN_REFERRERS))]
        self.base = {
            "$session_id": writer.uuid7(start),
            "$host": "localhost" if local else "app.example.com",
            "$browser": browser,
            "$os": os_name,
            "$device_type": device_type,
            "$geoip_country_code": person.country,
            "$referring_domain": referrer,
            "$lib": "web",
            "$lib_version": _LIB_VERSION,
        }
        if first_visit and utm is not None:
            self.base["utm_source"], self.base["utm_medium"], self.base["utm_campaign"] = utm
        # Identified people's events carry their organisation.
        self.org = person.org if person.user_id is not None else None

    def write(self, n: int, flags: int) -> None:
        """The session's events: `n` regular ones plus those its flags call for."""
        person = self.person
        if flags & _SECOND_DEVICE:
            # A new browser: a fresh anonymous id until they log in, then $identify merges it.
            anon = self.w.uuid7(self.start)
            self.add("$pageview", anon, self.page("/login"))
            self.identify(anon, None, None)
            n -= 1
        if person.user_id is None:
            before = max(1, n // 2) if flags & _SIGNUP else n
            self.browse_anonymously(before, end_on_signup=bool(flags & _SIGNUP))
            if flags & _SIGNUP:
                self.sign_up(bool(flags & _FOUND_ORG))
                self.use_app(n - before, first_page="/onboarding")
        else:
            self.use_app(n, first_page=None)
        if flags & _PURCHASE:
            self.purchase()
        if flags & _CANCEL:
            self.cancel()

    def page(self, path: str) -> dict:
        self.path = path
        return self.pages[path]

    def add(self, event: str, distinct_id: str, extra: dict, chain: str | None = None) -> None:
        out = self.out
        out.events.append(event)
        out.ids.append(distinct_id)
        out.bases.append(self.base)
        out.extras.append(extra)
        out.chains.append(chain)
        out.orgs.append(self.org)

    def browse_anonymously(self, n: int, end_on_signup: bool) -> None:
        random_ = self.rng.random
        did = self.person.distinct_id
        assert did is not None
        path = _LANDING[int(random_() * len(_LANDING))]
        for i in range(n):
            if end_on_signup and i == n - 1:
                self.add("$pageview", did, self.page("/signup"))
            elif i == 0 or random_() < 0.75:
                if i:
                    table = _MARKETING_NEXT[self.path]
                    path = table[int(random_() * len(table))]
                self.add("$pageview", did, self.page(path))
            else:
                chain = _MARKETING_CLICKS[int(random_() * len(_MARKETING_CLICKS))]
                self.add("$autocapture", did, self.clicks[self.path], chain)

    def use_app(self, n: int, first_page: str | None) -> None:
        """`n` events inside the app: the hot loop of the whole generator."""
        if n <= 0:
            return
        random_ = self.rng.random
        did = self.person.user_id
        assert did is not None
        out, origin, pages, clicks = self.out, self.origin, self.pages, self.clicks
        add_event, add_extra, add_chain = out.events.append, out.extras.append, out.chains.append
        path = first_page or _APP_PAGES[int(random_() * len(_APP_PAGES))]
        add_event("$pageview")
        add_extra(pages[path])
        add_chain(None)
        for _ in range(n - 1):
            event = _APP_EVENTS[int(random_() * len(_APP_EVENTS))]
            add_event(event)
            if event == "$pageview":
                path = _APP_PAGES[int(random_() * len(_APP_PAGES))]
                add_extra(pages[path])
                add_chain(None)
            elif event == "$autocapture":
                add_extra(clicks[path])
                add_chain(_APP_CLICKS[int(random_() * len(_APP_CLICKS))])
            elif event == "feature_used":
                feature = _FEATURES[int(random_() * len(_FEATURES))]
                add_extra({"$current_url": origin + path, "$pathname": path, "feature": feature})
                add_chain(None)
            elif event == "dashboard_viewed":
                dashboard = _DASHBOARDS[int(random_() * len(_DASHBOARDS))]
                path = f"/dashboard/{dashboard}"
                url = origin + path
                add_extra({"$current_url": url, "$pathname": path, "dashboard_id": dashboard})
                add_chain(None)
            else:
                kind = _INSIGHT_TYPES[int(random_() * len(_INSIGHT_TYPES))]
                path = "/insights/new"
                url = origin + path
                add_extra({"$current_url": url, "$pathname": path, "insight_type": kind})
                add_chain(None)
        # Distinct id, base properties and organisation are the same for the whole run.
        out.ids.extend(repeat(did, n))
        out.bases.extend(repeat(self.base, n))
        out.orgs.extend(repeat(self.org, n))
        self.path = path

    def identify(self, anon: str, set_: dict | None, set_once: dict | None) -> None:
        person = self.person
        assert person.user_id is not None
        extra = {**self.page(self.path), "$anon_distinct_id": anon}
        if set_ is not None:
            extra["$set"] = set_
        if set_once is not None:
            extra["$set_once"] = set_once
        self.org = person.org
        self.add("$identify", person.user_id, extra)

    def sign_up(self, founds_org: bool) -> None:
        w, person, rng = self.w, self.person, self.rng
        anon = person.distinct_id
        assert anon is not None and person.channel is not None
        referrer, _, source = person.channel
        internal = person.kind == _INTERNAL
        if internal:
            source = "internal"
        self.add("signed_up", anon, {**self.page(self.path), "signup_source": source})
        w.users += 1
        person.user_id = f"user_{w.users}"
        first = _FIRST_NAMES[int(rng.random() * len(_FIRST_NAMES))]
        last = _LAST_NAMES[int(rng.random() * len(_LAST_NAMES))]
        if internal:
            domain = w.company_domain
        elif person.org is not None and rng.random() < 0.6:
            domain = w.org(person.org)[1]
        else:
            domain = _EMAIL_DOMAINS[int(rng.random() * len(_EMAIL_DOMAINS))]
        person_set = {
            "email": f"{first}.{last}{w.users}@{domain}".lower(),
            "name": f"{first} {last}",
            "plan": "free",
            "signup_source": source,
        }
        self.identify(anon, person_set, {"initial_referrer": referrer})
        person.distinct_id = person.user_id
        if founds_org and person.org is not None:
            name, _ = w.org(person.org)
            employees = 1 + int(rng.lognormvariate(3.0, 1.4))
            industry = _INDUSTRIES[int(rng.random() * len(_INDUSTRIES))]
            if internal:
                industry = "Analytics"
            group = {
                "$group_type": "organization",
                "$group_key": person.org,
                "$group_set": {"name": name, "industry": industry, "employees": employees},
            }
            # $groupidentify carries only the group, as posthog-js's group() sends it.
            base, org = self.base, self.org
            self.base, self.org = _EMPTY, None
            self.add("$groupidentify", person.user_id, group)
            self.base, self.org = base, org

    def purchase(self) -> None:
        person, rng = self.person, self.rng
        assert person.user_id is not None
        if person.plan == "free":
            person.plan = _PLANS[int(rng.random() * len(_PLANS))]
        currency = _CURRENCIES[int(rng.random() * len(_CURRENCIES))]
        extra = {
            **self.page("/billing"),
            "revenue": _PRICES[person.plan],
            "currency": currency,
            "plan": person.plan,
            "$set": {"plan": person.plan},
        }
        self.add("purchase", person.user_id, extra)

    def cancel(self) -> None:
        person, rng = self.person, self.rng
        assert person.user_id is not None
        reason = _CANCEL_REASONS[int(rng.random() * len(_CANCEL_REASONS))]
        previous, person.plan = person.plan, "free"
        extra = {
            **self.page("/billing"),
            "previous_plan": previous,
            "reason": reason,
            "$set": {"plan": "free"},
        }
        self.add("subscription_cancelled", person.user_id, extra)


def generate_messages(
    *,
    seed: int = 42,
    n_events: int = 200_000,
    now: datetime,
    days: int = 90,
    company_domain: str = "spyglass.dev",
) -> Iterator[dict]:
    """Yield about `n_events` capture messages in time order, all within [now - days, now).

    Each is {"event", "distinct_id", "properties", "timestamp", "uuid"} (plus "elements_chain"
    for `$autocapture`), as PostHog SDKs send to /batch/. The same arguments always give the
    same stream. People scale with `n_events`: about 19 events per person over 90 days.
    """
    if days <= 0 or n_events <= 0:
        return
    calendar = _Calendar(now, days)
    if calendar.n_days == 0:
        return
    shape = _arrival_shape(calendar, seed)
    rng = random.Random(seed)
    planner = _Planner(calendar, rng)
    writer = _Writer(calendar, rng, company_domain)
    # Who is active on each day and with which sessions, as two parallel lists per day: a
    # (person, sessions) tuple per entry would be one more object for the garbage collector to
    # walk on every full collection, and there are millions of them at the benchmark scale.
    people: list[list[_Person]] = [[] for _ in range(calendar.n_days)]
    plans: list[list[tuple]] = [[] for _ in range(calendar.n_days)]
    clock = _clock_strings()
    getrandbits = rng.getrandbits
    committed = 0
    for d in range(calendar.n_days):
        # New arrivals until the events committed so far reach today's share of the total.
        if calendar.factor[d] > 0:
            target = n_events * shape[d]
            while committed < target:
                person = planner.new_person()
                entries, count = planner.lifetime(person, d)
                committed += count
                for day, sessions in entries:
                    people[day].append(person)
                    plans[day].append(sessions)
        today = writer.day(d, zip(people[d], plans[d], strict=True))
        people[d], plans[d] = [], []
        prefix, midnight = calendar.prefix[d], calendar.midnight[d]
        times, events, ids, bases = today.times, today.events, today.ids, today.bases
        extras, chains, orgs = today.extras, today.chains, today.orgs
        # A stable sort on time alone: events at the same microsecond keep their written order.
        for i in sorted(range(len(times)), key=times.__getitem__):
            seconds, micros = divmod(times[i] - midnight, _SECOND_US)
            h = (getrandbits(128) & _V4_AND | _V4_OR).to_bytes(16).hex()
            message = {
                "event": events[i],
                "distinct_id": ids[i],
                "properties": {**bases[i], **extras[i]},
                "timestamp": f"{prefix}{clock[seconds]}.{micros:06d}Z",
                "uuid": f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}",
            }
            org = orgs[i]
            if org is not None:
                message["properties"]["$groups"] = {"organization": org}
            chain = chains[i]
            if chain is not None:
                message["elements_chain"] = chain
            yield message
