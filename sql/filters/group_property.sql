-- Current group property values per (group key, key) of one group type, for one key — or,
-- where correlation puts a condition on a set of keys in place of the one key, for several —
-- folded like persons.
SELECT group_key, key, if(has_set, last_set, first_set_once) AS value
FROM
(
    SELECT
        group_key,
        key,
        countIf(op = 'set') > 0 AS has_set,
        argMaxIf(value, timestamp, op = 'set') AS last_set,
        countIf(op = 'set_once') > 0 AS has_set_once,
        argMinIf(value, timestamp, op = 'set_once') AS first_set_once
    FROM group_property_writes
    WHERE project_id = {project_id:UInt64} AND group_type_index = {__INDEX__:UInt8}
      AND key = {__KEY__:String}
    GROUP BY group_key, key
)
WHERE (has_set OR has_set_once) AND value != 'null'
