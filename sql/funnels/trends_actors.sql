-- Funnel trends per actor (spec funnels.md §3.3): for each breakdown value, actor and entrance
-- period (the 1-based position of the bucket holding an attempt's first step; bucket starts
-- arrive as microseconds), the most steps an attempt starting in that period reached.
SELECT pvalue, actor, attempt.1 AS period, max(attempt.2) AS reached
FROM (__ACTORS__)
-- LEFT: a value whose actors have no clean attempt still gets its (zero) series
LEFT ARRAY JOIN arrayMap(a -> (toUInt32(arrayCount(b -> b <= a.1, {buckets:Array(Int64)})), a.2),
                    clean_starts) AS attempt
GROUP BY pvalue, actor, period
