-- Funnel, one row per (breakdown value, actor) that entered the funnel (spec funnels.md §2):
-- from the actor's arrays (per_actor_events.sql or per_actor_steps.sql), every attempt (start
-- time, step times reached inside the window, discarded by an exclusion) computed with array
-- functions; the furthest step over the clean attempts and, per step, the average and median
-- conversion time over the attempts reaching it.
SELECT
    pvalue,
    toString(actor) AS actor,  -- grouped as a UUID (cheaper), served as text
    furthest,
    arrayMap(i -> if(i < furthest, arrayAvg(arrayMap(a -> intDiv(a.2[i + 1], 1000000) - intDiv(a.2[i], 1000000), best)), NULL),
             range(1, __N__)) AS averages,
    arrayMap(i -> if(i < furthest, arrayReduce('quantileExactInclusive(0.5)', arrayMap(a -> intDiv(a.2[i + 1], 1000000) - intDiv(a.2[i], 1000000), best)), NULL),
             range(1, __N__)) AS medians,
    clean,
    arrayMap(a -> (a.4, a.1), clean) AS clean_starts,  -- (start, steps) of each clean attempt
    length(best) AS best_attempts,
    arraySort(a -> (a.4, a.2), best)[1].4 AS first_timestamp,
    arraySort(a -> (a.4, a.2), best)[1].2 AS credited_times
FROM
(
    SELECT
        pvalue,
        actor,
        arrayFilter(a -> a.3 = 0, attempts) AS clean,
        arrayMax(arrayMap(a -> a.1, clean)) AS furthest,
        arrayFilter(a -> a.1 = furthest, clean) AS best
    FROM
    (
        SELECT
            pvalue,
            actor,
            arrayMap(tm -> (toUInt32(length(tm)), tm, toUInt8(__DISCARDED__), tm[1]), __TIMES__) AS attempts
        FROM (__PER_ACTOR__)
    )
)
WHERE __KEEP__
