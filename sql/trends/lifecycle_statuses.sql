-- Lifecycle statuses per person: each person's active buckets (positions in the timeline, one
-- bucket either side of the shown range) and the bucket of their first event ever; the first
-- active bucket is `new` when it holds the person's first event, else `resurrecting`; a later
-- one is `returning` after an active bucket, else `resurrecting`; the bucket after an active one
-- without activity is `dormant`. A bucket's position is a hash look-up (transform) of its start
-- in the timeline; 0 when outside it. One row per (person, status, position).
SELECT person, status, position
FROM
(
    SELECT
        active.person AS person,
        arrayJoin(arrayConcat(
            arrayMap((p, i) -> tuple(
                multiIf(i = 1 AND p = created, 'new', i = 1, 'resurrecting',
                        has(periods, p - 1), 'returning', 'resurrecting'), p),
                periods, arrayEnumerate(periods)),
            arrayMap(p -> tuple('dormant', p + 1),
                     arrayFilter(p -> NOT has(periods, p + 1), periods))
        )) AS marked,
        marked.1 AS status,
        marked.2 AS position
    FROM
    (
        SELECT person, arraySort(groupUniqArray(__POSITION__)) AS periods
        FROM (__EVENTS__)
        WHERE project_id = {project_id:UInt64}
        GROUP BY person
    ) AS active
    LEFT JOIN
    (
        SELECT person, __POSITION__ AS created
        FROM (__FIRST_EVENTS__)
    ) AS first_seen ON first_seen.person = active.person
)
