-- Funnel, one row per (breakdown value, actor) that entered the funnel (spec funnels.md §2):
-- the actor's events in the date range, sorted by time, with a bitmask of the steps and of the
-- exclusions each matches; every attempt (start time, step times reached inside the window,
-- discarded by an exclusion) computed with array functions; the furthest step over the clean
-- attempts and, per step, the average and median conversion time over the attempts reaching it.
SELECT
    pvalue,
    actor,
    furthest,
    arrayMap(i -> if(i < furthest, arrayAvg(arrayMap(a -> intDiv(a.2[i + 1], 1000000) - intDiv(a.2[i], 1000000), best)), NULL),
             range(1, __N__)) AS averages,
    arrayMap(i -> if(i < furthest, arrayReduce('quantileExactInclusive(0.5)', arrayMap(a -> intDiv(a.2[i + 1], 1000000) - intDiv(a.2[i], 1000000), best)), NULL),
             range(1, __N__)) AS medians,
    clean,
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
        FROM
        (
            SELECT
                pvalue,
                actor,
                arrayMap(x -> x.1, evs) AS ts,
                arrayMap(x -> x.2, evs) AS m,
                arrayMap(x -> x.3, evs) AS xm,
                arrayMap(t -> __END__(t), ts) AS ends
                __GROUPS__
            FROM
            (
                SELECT actor, pvalue, __PARTITION_EVENTS__ AS evs
                FROM
                (
                    SELECT actor, arraySort(groupArray((ts, steps, excl, bvalue))) AS all_evs
                    FROM
                    (
                        SELECT
                            __ACTOR__ AS actor,
                            toUnixTimestamp64Micro(e.timestamp) AS ts,
                            __STEPS__ AS steps,
                            __EXCLUSIONS__ AS excl,
                            __BREAKDOWN__ AS bvalue
                        FROM events AS e
                        LEFT JOIN (__EVENT_OVERRIDES__) AS o ON o.old_person_id = e.person_id
                        __JOINS__
                        WHERE e.project_id = {project_id:UInt64}
                          AND e.timestamp >= {date_from:DateTime64(6, 'UTC')}
                          AND e.timestamp <= {date_to:DateTime64(6, 'UTC')}
                          AND __HAS_ACTOR__
                          AND __FILTERS__
                    )
                    WHERE __RELEVANT__
                    GROUP BY actor
                )
                ARRAY JOIN __PARTITIONS__ AS pvalue
            )
        )
    )
)
WHERE __KEEP__
