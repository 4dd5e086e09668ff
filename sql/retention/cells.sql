-- Retention cells (spec A4): distinct actors per (cohort, interval). Interval 0 is the cohort
-- itself; a return counts only in a strictly later period than the cohort's.
SELECT any(period) AS cohort_period, any(breakdown) AS cohort_breakdown, interval,
       uniqExact(actor) AS actors
FROM
(
    SELECT
        actor,
        cohort.1 AS period,
        cohort.2 AS breakdown,
        arrayJoin(arrayConcat([0], arrayMap(r -> r - cohort.1,
                                            arrayFilter(r -> r > cohort.1, returns)))) AS interval
    FROM (__ACTORS__)
    ARRAY JOIN cohorts AS cohort
)
WHERE interval < {intervals:UInt32}
GROUP BY __KEY__, interval
