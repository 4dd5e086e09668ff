"""Mutants of the trends engine (resolvers/trends*.py, sql/trends/): see tests/mutants.py."""

from tests.mutants import Mutant

ORACLE = "tests/test_trends_oracle.py"
TRENDS = (f"{ORACLE}::test_trends_match_the_oracle",)
LIFECYCLE = (f"{ORACLE}::test_lifecycle_matches_the_oracle",)

MUTANTS = [
    Mutant("trends: weekly_active window one day short", "resolvers/trends.py",
           "params_starts = [_wall_shift(b, req.tz, -(days - 1))",
           "params_starts = [_wall_shift(b, req.tz, -(days - 2))", TRENDS),
    Mutant("trends: aggregated dau summed from buckets", "resolvers/trends.py",
           'bucket = "0" if tf.aggregated else req.bucket_sql',
           "bucket = req.bucket_sql", TRENDS),
    Mutant("trends: breakdown other dropped", "resolvers/trends.py",
           "with_other = len(window) > bd.limit and not bd.hide_other and not bd.numeric",
           "with_other = False", TRENDS),
    Mutant("trends: breakdown other dropped (event counts, one-pass ranking)",
           "resolvers/trends.py",
           "with_other = bool(rows) and rows[0][4] > bd.offset + bd.limit and not bd.hide_other",
           "with_other = False", TRENDS),
    Mutant("trends: event-count breakdown ranked ascending", "sql/trends/buckets_ranked.sql",
           "dense_rank() OVER (ORDER BY total DESC, breakdown_value DESC)",
           "dense_rank() OVER (ORDER BY total ASC, breakdown_value DESC)", TRENDS),
    Mutant("trends: compare shifted by one bucket", "resolvers/trends.py",
           'periods.append(("previous", req.period(*previous, round_lower=True)))',
           'periods.append(("previous", req.period(*(p - timedelta(days=1) for p in previous),'
           " round_lower=True)))", TRENDS),
    Mutant("trends: lifecycle resurrecting counted as returning",
           "sql/trends/lifecycle_statuses.sql",
           "has(periods, p - 1), 'returning', 'resurrecting'), p),",
           "1, 'returning', 'resurrecting'), p),", LIFECYCLE),
    Mutant("trends: formula letters swapped", "resolvers/trends.py",
           "        rows.append(row)\n", "        rows.insert(0, row)\n", TRENDS),
    Mutant("trends: cumulative dau sums daily uniques", "resolvers/trends.py",
           'if tf.cumulative and series.math in ("dau", "unique_group") and not tf.aggregated:',
           "if False:", TRENDS),
    Mutant("trends: breakdown ranked ascending", "resolvers/trends.py",
           "ranked = [value for _, value in sorted(scored, reverse=True)]",
           "ranked = [value for _, value in sorted(scored)]", TRENDS),
]  # fmt: skip
