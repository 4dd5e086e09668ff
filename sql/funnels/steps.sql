-- Funnel steps per breakdown value (spec funnels.md §3.1, §4.1): actors whose furthest step is
-- exactly k, and per step the mean of per-actor averages and the median of per-actor medians.
SELECT
    pvalue,
    sumForEach(arrayMap(k -> toUInt64(furthest = k), range(1, __N__ + 1))) AS exact,
    avgForEach(averages) AS average_times,
    quantileExactInclusiveForEach(0.5)(medians) AS median_times
FROM (__ACTORS__)
GROUP BY pvalue
