-- Current person property values per (person, key) (merges applied) for one key — or, where
-- correlation puts a condition on a set of keys in place of the one key, for several — folded
-- from the log of writes in one GROUP BY: only writes after the person's last $unset of the
-- key count; of those the latest $set wins, else the earliest $set_once. The latest $set is
-- after the last $unset exactly when any $set is, so it needs no second pass; $set_once
-- writes are few (one per person and key), so they are kept as a sorted array to pick the
-- earliest after the $unset. `value` is the JSON text written at ingestion.
SELECT person_id, key,
       if(last_set_at > unset_at, last_set,
          arrayFirst(w -> w.1 > unset_at, arraySort(set_onces)).2) AS value
FROM
(
    SELECT
        if(o.old_person_id = toUUID('00000000-0000-0000-0000-000000000000'),
           w.person_id, o.override_person_id) AS person_id,
        w.key AS key,
        maxIf(w.timestamp, w.op = 'unset') AS unset_at,
        maxIf(w.timestamp, w.op = 'set') AS last_set_at,
        argMaxIf(w.value, w.timestamp, w.op = 'set') AS last_set,
        groupArrayIf((w.timestamp, w.value), w.op = 'set_once') AS set_onces
    FROM person_property_writes AS w
    LEFT JOIN
    (__OVERRIDES__) AS o ON o.old_person_id = w.person_id
    WHERE w.project_id = {project_id:UInt64} AND w.key = {__KEY__:String}
    GROUP BY person_id, key
)
WHERE (last_set_at > unset_at OR arrayExists(w -> w.1 > unset_at, set_onces))
    AND value != 'null'
