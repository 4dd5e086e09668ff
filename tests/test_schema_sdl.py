"""schema.graphql is generated from the code and checked in; this fails when they drift.

Regenerate with `make schema`.
"""

from pathlib import Path

from gateway.schema import schema


def test_checked_in_sdl_matches_the_code():
    checked_in = (Path(__file__).resolve().parent.parent / "schema.graphql").read_text()
    assert checked_in == str(schema) + "\n", "schema.graphql is stale: run `make schema`"
