-- Per actor, for ordered funnels without a breakdown: the sorted times of each step's events
-- (`starts` for step 0, `step_times` for the later ones) and of each exclusion's, collected
-- straight from the rows. All an ordered attempt looks at; no per-event arrays are built (at
-- 10M events this halves the funnel's work).
SELECT toUInt8(0) AS pvalue, actor, __STEP_ARRAYS__
FROM (__EVENT_ROWS__)
WHERE __RELEVANT__
GROUP BY actor
