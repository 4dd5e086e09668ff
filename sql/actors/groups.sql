-- The groups of one page (one group type): properties folded as group_property.sql folds one
-- key (latest $set, else the earliest $set_once), and the first write as the group's creation.
SELECT group_key, min(first_write) AS created_at, groupArrayIf(key, present) AS keys,
       groupArrayIf(value, present) AS values
FROM
(
    SELECT group_key, key, min(timestamp) AS first_write,
           if(countIf(op = 'set') > 0, argMaxIf(value, timestamp, op = 'set'),
              argMinIf(value, timestamp, op = 'set_once')) AS value,
           countIf(op IN ('set', 'set_once')) > 0 AS present
    FROM group_property_writes
    WHERE project_id = {project_id:UInt64} AND group_type_index = {group_type_index:UInt8}
      AND group_key IN {group_keys:Array(String)}
    GROUP BY group_key, key
)
GROUP BY group_key
