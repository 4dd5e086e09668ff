-- A person's current properties, folded from the append-only log of writes of every person
-- id that resolves to them (merges included): only writes after the key's last $unset count;
-- of those, the latest $set wins, else the earliest $set_once.
SELECT key, if(has_set, last_set, first_set_once) AS value
FROM
(
    SELECT
        w.key AS key,
        countIf(w.op = 'set' AND w.timestamp > u.unset_at) > 0 AS has_set,
        argMaxIf(w.value, w.timestamp, w.op = 'set' AND w.timestamp > u.unset_at) AS last_set,
        countIf(w.op = 'set_once' AND w.timestamp > u.unset_at) > 0 AS has_set_once,
        argMinIf(w.value, w.timestamp, w.op = 'set_once' AND w.timestamp > u.unset_at) AS first_set_once
    FROM person_property_writes AS w
    LEFT JOIN
    (
        SELECT key, max(timestamp) AS unset_at
        FROM person_property_writes
        WHERE project_id = {project_id:UInt64} AND person_id IN {person_ids:Array(UUID)}
          AND op = 'unset'
        GROUP BY key
    ) AS u ON u.key = w.key
    WHERE w.project_id = {project_id:UInt64} AND w.person_id IN {person_ids:Array(UUID)}
    GROUP BY w.key
)
WHERE has_set OR has_set_once
ORDER BY key
