-- Current person property values per (person, key) (merges applied) for one key — or, where
-- correlation puts a condition on a set of keys in place of the one key, for several — folded
-- from the log of writes: only writes after the person's last $unset of the key count; of
-- those the latest $set wins, else the earliest $set_once. `value` is the JSON text written
-- at ingestion.
SELECT person_id, key, if(has_set, last_set, first_set_once) AS value
FROM
(
    SELECT
        person_id,
        key,
        countIf(op = 'set' AND timestamp > unset_at) > 0 AS has_set,
        argMaxIf(value, timestamp, op = 'set' AND timestamp > unset_at) AS last_set,
        countIf(op = 'set_once' AND timestamp > unset_at) > 0 AS has_set_once,
        argMinIf(value, timestamp, op = 'set_once' AND timestamp > unset_at) AS first_set_once
    FROM
    (
        SELECT
            if(o.old_person_id = toUUID('00000000-0000-0000-0000-000000000000'),
               w.person_id, o.override_person_id) AS person_id,
            w.key AS key, w.op AS op, w.value AS value, w.timestamp AS timestamp,
            max(if(w.op = 'unset', w.timestamp, toDateTime64(0, 6, 'UTC')))
                OVER (PARTITION BY person_id, key) AS unset_at
        FROM person_property_writes AS w
        LEFT JOIN
        (__OVERRIDES__) AS o ON o.old_person_id = w.person_id
        WHERE w.project_id = {project_id:UInt64} AND w.key = {__KEY__:String}
    )
    GROUP BY person_id, key
)
WHERE (has_set OR has_set_once) AND value != 'null'
