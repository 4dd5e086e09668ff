"""Mutants of the filter core (resolvers/where.py, resolvers/dates.py): see tests/mutants.py."""

from tests.mutants import Mutant

FILTER_TESTS = ("tests/test_filters_oracle.py",)
DATE_TESTS = ("tests/test_dates.py",)

MUTANTS = [
    Mutant("gt compiled as gte", "resolvers/where.py",
           '{"gt": ">", "gte"', '{"gt": ">=", "gte"', FILTER_TESTS),
    Mutant("icontains made case-sensitive", "resolvers/where.py",
           'found = f"positionCaseInsensitiveUTF8(', 'found = f"positionUTF8(', FILTER_TESTS),
    Mutant("is_not never matches a missing property", "resolvers/where.py",
           'return f"(NOT has({bound}, {text}))"',
           'return f"({is_set} AND NOT has({bound}, {text}))"', FILTER_TESTS),
    Mutant("exact on a list matches only the first value", "resolvers/where.py",
           "for v in (value if isinstance(value, list) else [value])]",
           "for v in (value if isinstance(value, list) else [value])][:1]", FILTER_TESTS),
    Mutant("selector child combinator read as descendant", "resolvers/elements.py",
           'if parts[k + 1][0] == ">":', 'if parts[k + 1][0] == "never":', FILTER_TESTS),
    Mutant("cohort not_in read as in", "resolvers/where.py",
           'return f"({inside})" if p.operator == "in" else f"(NOT {inside})"',
           'return f"({inside})"', FILTER_TESTS),
    Mutant("timezone ignored when bucketing", "resolvers/dates.py",
           "    tz = zone(timezone)\n", '    tz = zone("UTC")\n', DATE_TESTS),
    Mutant("week start fixed to Monday", "resolvers/dates.py",
           "offset = (start.weekday() + 1) % 7 if week_start_day == 0 else start.weekday()",
           "offset = start.weekday()", DATE_TESTS),
]  # fmt: skip
