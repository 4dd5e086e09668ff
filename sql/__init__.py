"""SQL as data: schema migrations and query templates, read with importlib.resources.

`load(path)` reads a template and expands the shared fragments every person-aware query uses:
`__OVERRIDES__` is the merged-person map (old person id → the person it belongs to now);
`__EVENT_OVERRIDES__` is the part of it events still need, the merges not yet squashed into
events.person_id (gateway/squash.py).
"""

from functools import cache
from importlib import resources


@cache
def _raw(path: str) -> str:
    return (resources.files(__name__) / path).read_text()


def _fragment(path: str) -> str:
    """A template without its comment lines, to splice into another."""
    return "\n".join(line for line in _raw(path).splitlines() if not line.startswith("--"))


def expand(template: str) -> str:
    """A template with the shared fragments spliced in."""
    return template.replace(
        "__EVENT_OVERRIDES__", _fragment("filters/event_overrides.sql")
    ).replace("__OVERRIDES__", _fragment("filters/overrides.sql"))


@cache
def load(path: str) -> str:
    return expand(_raw(path))
