-- One group property's current value per group key of one group type, folded like persons.
SELECT group_key, if(has_set, last_set, first_set_once) AS value
FROM
(
    SELECT
        group_key,
        countIf(op = 'set') > 0 AS has_set,
        argMaxIf(value, timestamp, op = 'set') AS last_set,
        countIf(op = 'set_once') > 0 AS has_set_once,
        argMinIf(value, timestamp, op = 'set_once') AS first_set_once
    FROM group_property_writes
    WHERE project_id = {project_id:UInt64} AND group_type_index = {__INDEX__:UInt8}
      AND key = {__KEY__:String}
    GROUP BY group_key
)
WHERE (has_set OR has_set_once) AND value != 'null'
