-- Funnel trends (spec funnels.md §3.3): per breakdown value and entrance period (the bucket of
-- an attempt's first step), actors whose best attempt starting in that period reached the
-- `from` step and the `to` step. Bucket starts are computed by the caller in the project's
-- timezone and arrive as microseconds.
SELECT
    pvalue,
    period,
    countIf(reached >= {from_step:UInt32} + 1) AS reached_from,
    countIf(reached >= {to_step:UInt32} + 1) AS reached_to
FROM
(
    SELECT pvalue, actor, attempt.1 AS period, max(attempt.2) AS reached
    FROM (__ACTORS__)
    -- LEFT: a value whose actors have no clean attempt still gets its (zero) series
    LEFT ARRAY JOIN arrayMap(a -> (toUInt32(arrayCount(b -> b <= a.4, {buckets:Array(Int64)})), a.1),
                        clean) AS attempt
    GROUP BY pvalue, actor, period
)
GROUP BY pvalue, period
