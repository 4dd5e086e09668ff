"""Mutants of the funnel engine (resolvers/funnels*.py, sql/funnels/): see tests/mutants.py."""

from tests.mutants import Mutant

ORDERED = ("tests/test_funnels_oracle.py::test_ordered_funnels_match_the_oracle",)
STRICT = ("tests/test_funnels_oracle.py::test_strict_funnels_match_the_oracle",)
ALL = ("tests/test_funnels_oracle.py",)
CORRELATION = ("tests/test_funnel_correlation.py",)

MUTANTS = [
    Mutant("funnel window bound < for <=", "resolvers/funnels.py",
           "f\"t <= {window_end('s', window)} AND \"", "f\"t < {window_end('s', window)} AND \"",
           ORDERED),
    Mutant("funnel repeated identical step satisfied by the same event", "resolvers/funnels.py",
           "(t = p AND {{repeats:Array(UInt8)}}[{k + 1}] = 0)", "(t = p)", ORDERED),
    Mutant("funnel strict order allows an unrelated event in between", "resolvers/funnels.py",
           "toUInt8(p != length(gm[gi]))", "toUInt8(p = 0)", STRICT),
    Mutant("funnel exclusion bounds made inclusive", "resolvers/funnels.py",
           "t > tm[{f + 1}] AND t < {until}", "t >= tm[{f + 1}] AND t <= {until}", ORDERED),
    Mutant("funnel conversion time averaged over attempts, not per person",
           "sql/funnels/steps.sql", "avgForEach(averages) AS average_times",
           "sumForEach(arrayMap(v -> v * best_attempts, averages)) / "
           "sumForEach(arrayMap(v -> if(isNull(v), NULL, best_attempts), averages))"
           " AS average_times", ORDERED),
    Mutant("unordered funnel anchor also counted for another step it matches",
           "resolvers/funnels.py", "[if(bitTest(a.2, {j}), 2, 1)]", "[1]",
           ("tests/test_funnel_paths_agree.py",)),
    Mutant("correlation odds-ratio smoothing constant dropped", "resolvers/funnel_correlation.py",
           "PRIOR = 1  #", "PRIOR = 0  #", CORRELATION),
]  # fmt: skip
