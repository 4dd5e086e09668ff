-- The actors of one retention cohort (spec A7) with their appearances: entry i is 1 when the
-- actor is counted at interval i of that cohort (only intervals below {shown} exist).
SELECT
    toString(actor) AS actor,
    arrayMap(i -> toUInt8(i < {shown:UInt32} AND has(intervals, i)),
             range({width:UInt32})) AS appearances,
    count() OVER () AS total
FROM
(
    SELECT actor, groupUniqArrayArray(intervals) AS intervals
    FROM
    (
        SELECT
            actor,
            cohort.1 AS period,
            cohort.2 AS breakdown,
            arrayConcat([0], arrayMap(r -> r - cohort.1,
                                      arrayFilter(r -> r > cohort.1, returns))) AS intervals
        FROM (__ACTORS__)
        ARRAY JOIN cohorts AS cohort
    )
    WHERE __SELECTED__
    GROUP BY actor
)
ORDER BY arraySum(appearances) DESC, actor
LIMIT {page_size:UInt64} OFFSET {page_start:UInt64}
