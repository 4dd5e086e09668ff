-- The persons of one page, by id as resolved through merges: the distinct ids that belong to
-- each now, the properties folded over the writes of every person id merged into it (as
-- persons/properties.sql folds one person: only writes after the key's last $unset count; of
-- those the latest $set wins, else the earliest $set_once), when it was first seen and whether
-- any merged part was identified. One query for the whole page; every table is read only for
-- the page's raw person ids (the page's ids and the ids merged into them).
WITH
    merged AS (__OVERRIDES__),
    raw AS
    (
        SELECT arrayJoin(arrayConcat({person_ids:Array(UUID)},
               (SELECT groupArray(old_person_id) FROM merged
                WHERE override_person_id IN {person_ids:Array(UUID)}))) AS id
    )
SELECT d.person_id AS person_id, d.distinct_ids AS distinct_ids, c.created_at AS created_at,
       c.is_identified AS is_identified, pr.keys AS keys, pr.values AS values
FROM
(
    SELECT person_id, arraySort(groupUniqArray(distinct_id)) AS distinct_ids
    FROM
    (
        SELECT d.distinct_id AS distinct_id,
               if(o.old_person_id = toUUID('00000000-0000-0000-0000-000000000000'),
                  d.person_id, o.override_person_id) AS person_id
        FROM person_distinct_ids AS d
        LEFT JOIN merged AS o ON o.old_person_id = d.person_id
        WHERE d.project_id = {project_id:UInt64} AND d.person_id IN (SELECT id FROM raw)
    )
    GROUP BY person_id
) AS d
LEFT JOIN
(
    SELECT person_id, min(first_seen) AS created_at, max(identified) AS is_identified
    FROM
    (
        SELECT if(o.old_person_id = toUUID('00000000-0000-0000-0000-000000000000'),
                  p.id, o.override_person_id) AS person_id,
               min(p.created_at) AS first_seen, argMax(p.is_identified, p.version) AS identified
        FROM persons AS p
        LEFT JOIN merged AS o ON o.old_person_id = p.id
        WHERE p.project_id = {project_id:UInt64} AND p.id IN (SELECT id FROM raw)
        GROUP BY p.id, person_id
    )
    GROUP BY person_id
) AS c ON c.person_id = d.person_id
LEFT JOIN
(
    SELECT person_id, groupArray(key) AS keys, groupArray(value) AS values
    FROM
    (
        SELECT person_id, key,
               if(countIf(op = 'set' AND timestamp > unset_at) > 0,
                  argMaxIf(value, timestamp, op = 'set' AND timestamp > unset_at),
                  argMinIf(value, timestamp, op = 'set_once' AND timestamp > unset_at)) AS value,
               countIf(op IN ('set', 'set_once') AND timestamp > unset_at) > 0 AS present
        FROM
        (
            SELECT if(o.old_person_id = toUUID('00000000-0000-0000-0000-000000000000'),
                      w.person_id, o.override_person_id) AS person_id,
                   w.key AS key, w.op AS op, w.value AS value, w.timestamp AS timestamp,
                   max(if(w.op = 'unset', w.timestamp, toDateTime64(0, 6, 'UTC')))
                       OVER (PARTITION BY person_id, w.key) AS unset_at
            FROM person_property_writes AS w
            LEFT JOIN merged AS o ON o.old_person_id = w.person_id
            WHERE w.project_id = {project_id:UInt64} AND w.person_id IN (SELECT id FROM raw)
        )
        GROUP BY person_id, key
    )
    WHERE present
    GROUP BY person_id
) AS pr ON pr.person_id = d.person_id
