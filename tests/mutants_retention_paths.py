"""Mutants of the retention and paths engines: see tests/mutants.py."""

from tests.mutants import Mutant

RETENTION_TESTS = ("tests/test_retention_oracle.py",)
PATHS_TESTS = ("tests/test_paths_oracle.py",)
FUNNEL_PATHS_TESTS = ("tests/test_funnel_paths_oracle.py",)

MUTANTS = [
    Mutant("first-time retention takes the first event inside the window, not ever",
           "resolvers/retention.py",
           'scope = f"{has_actor} AND (is_target OR (is_returning AND in_window))"',
           'scope = f"{has_actor} AND in_window AND (is_target OR is_returning)"',
           RETENTION_TESTS),
    Mutant("a return in the cohort's own period counted (as the cohort's interval 0)",
           "sql/retention/cells.sql",
           "arrayConcat([0], arrayMap(r -> r - cohort.1,\n"
           "                                            arrayFilter(r -> r > cohort.1, returns)))",
           "arrayConcat([], arrayMap(r -> r - cohort.1,\n"
           "                                            arrayFilter(r -> r >= cohort.1, returns)))",
           RETENTION_TESTS),
    Mutant("the 30-minute session gap made exclusive (a gap of exactly 30 minutes continues)",
           "sql/paths/sessions.sql", "d >= {gap:Int64}", "d > {gap:Int64}", PATHS_TESTS),
    Mutant("consecutive duplicates not collapsed", "sql/paths/sessions.sql",
           "a != b OR x != y", "1", PATHS_TESTS),
    Mutant("edges not pruned when unreachable from a first-step node", "resolvers/paths.py",
           "        edges = prune_unreachable(edges)\n", "        pass\n", PATHS_TESTS),
    Mutant("funnel paths before a dropoff stop at the last step, not at its window's end",
           "resolvers/funnel_paths.py", "in_range = f\"ts <= {window_end('funnel_reference', "
           "window)}\"", "in_range = \"ts <= funnel_reference\"", FUNNEL_PATHS_TESTS),
    Mutant("funnel paths between steps start at the step itself, not at the one before",
           "resolvers/funnel_paths.py", '"ts >= funnel_previous AND ts <= funnel_reference"',
           '"ts >= funnel_reference AND ts <= funnel_reference"', FUNNEL_PATHS_TESTS),
    Mutant("funnel paths split sessions at 30 minutes, not at the funnel window",
           "resolvers/funnel_paths.py", "past_window = f\"t - {window_end('p', window)}\"",
           "past_window = \"t - p - 1800000000\"",
           FUNNEL_PATHS_TESTS),
    Mutant("a funnel dropoff counts the people who went on too", "resolvers/funnel_paths.py",
           '"furthest = {reference_step:UInt32}"', '"furthest >= {reference_step:UInt32}"',
           FUNNEL_PATHS_TESTS),
]  # fmt: skip
