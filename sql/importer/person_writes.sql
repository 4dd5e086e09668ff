-- $set / $set_once inside imported events' properties → the person property log.
INSERT INTO person_property_writes
    (project_id, person_id, key, value, op, timestamp, inserted_at)
SELECT project_id, person_id, w.1, w.2, w.3, timestamp, created_at
FROM
(
    SELECT project_id, person_id, timestamp, created_at,
           arrayConcat(
               arrayMap(x -> (x.1, x.2, 'set'), JSONExtractKeysAndValuesRaw(properties, '$set')),
               arrayMap(x -> (x.1, x.2, 'set_once'),
                        JSONExtractKeysAndValuesRaw(properties, '$set_once'))) AS writes
    FROM events
    WHERE project_id = {project_id:UInt64} AND created_at = {now:DateTime64(6, 'UTC')}
      AND (position(properties, '"$set"') > 0 OR position(properties, '"$set_once"') > 0)
)
ARRAY JOIN writes AS w
