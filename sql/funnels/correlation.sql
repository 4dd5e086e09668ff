-- Funnel correlation (spec funnels.md §5.2–5.6): from one row per actor who entered the funnel
-- (`actor`, `success`, `names` = its distinct candidates), the success and failure counts per
-- candidate, the odds ratio, the support filter and the top successes and failures.
-- Every actor also carries a sentinel candidate (is_total = 1): its counts are the success and
-- failure totals, so the funnel behind the candidates runs once rather than once per total.
-- The sentinel row is always returned, so the caller sees the totals even with no candidate.
SELECT is_total, name, s, f, success_total, failure_total, odds_ratio
FROM
(
    SELECT
        is_total, name, s, f, success_total, failure_total,
        ((s + {prior:UInt64}) * (failure_total - f + {prior:UInt64}))
            / ((success_total - s + {prior:UInt64}) * (f + {prior:UInt64})) AS odds_ratio,
        row_number() OVER (PARTITION BY is_total, odds_ratio > 1
                           ORDER BY if(odds_ratio > 1, -odds_ratio, odds_ratio), name) AS position
    FROM
    (
        SELECT
            is_total, name, s, f,
            max(if(is_total = 1, s, 0)) OVER () AS success_total,
            max(if(is_total = 1, f, 0)) OVER () AS failure_total
        FROM
        (
            SELECT candidate.1 AS is_total, candidate.2 AS name,
                   countIf(success) AS s, countIf(NOT success) AS f
            FROM (__CANDIDATES__)
            ARRAY JOIN arrayPushBack(arrayMap(n -> (toUInt8(0), n), names),
                                     (toUInt8(1), '')) AS candidate
            GROUP BY is_total, name
        )
    )
    -- §5.5 support, plus event_with_properties' own floor (s + f > 2)
    WHERE is_total = 1
       OR (s + f >= least({min_person_count:Float64},
                          {min_person_percentage:Float64} * (success_total + failure_total))
           AND s + f > {min_support:UInt64})
)
WHERE is_total = 1 OR position <= {top:UInt64}
