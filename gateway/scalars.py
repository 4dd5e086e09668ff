"""GraphQL scalars of our own.

Ids come from a counter that may pass 2^31 (DESIGN.md keeps them below 2^53 so JavaScript reads
them exactly), but GraphQL's Int is 32-bit and refuses larger values. `BigInt` carries any
integer JavaScript holds exactly, and travels as a JSON number, so the REST bodies built from
GraphQL results keep PostHog's numeric ids.
"""

from __future__ import annotations

from typing import NewType

import strawberry

MAX_SAFE = 2**53 - 1  # Number.MAX_SAFE_INTEGER


def _safe_int(value) -> int:
    # bool is an int to Python, never an id to a client; a float id (3.0) is a client's bug.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"BigInt cannot represent a non-integer value: {value!r}")
    if not -MAX_SAFE <= value <= MAX_SAFE:
        raise ValueError(f"BigInt cannot represent {value}: beyond ±(2^53 - 1)")
    return value


BigInt = NewType("BigInt", int)

# Given to both schemas' StrawberryConfig (gateway/schema.py).
SCALAR_MAP = {
    BigInt: strawberry.scalar(
        name="BigInt",
        serialize=_safe_int,
        parse_value=_safe_int,
        description="An integer within ±(2^53 - 1), JavaScript's exact range, as a JSON number "
        "(ids may pass GraphQL's 32-bit Int).",
    )
}
