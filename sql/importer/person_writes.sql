-- $set / $set_once inside imported rows' properties → the person property log. Read from the
-- staging table's JSON text (the events table holds parsed JSON), rows already filtered to
-- those stored in this import by uuid or by the import's created_at.
INSERT INTO person_property_writes
    (project_id, person_id, key, value, op, timestamp, inserted_at)
SELECT {project_id:UInt64}, person_id, w.1, w.2, w.3, ts, {now:DateTime64(6, 'UTC')}
FROM
(
    SELECT
        toUUID(lower(hex(MD5(concat(toString({project_id:UInt64}), ':',
                                    substring(distinct_id, 1, 200)))))) AS person_id,
        parseDateTime64BestEffort(timestamp, 6, 'UTC') AS ts,
        arrayConcat(
            arrayMap(x -> (x.1, x.2, 'set'), JSONExtractKeysAndValuesRaw(properties, '$set')),
            arrayMap(x -> (x.1, x.2, 'set_once'),
                     JSONExtractKeysAndValuesRaw(properties, '$set_once'))) AS writes
    FROM {staging}
    WHERE event NOT IN ('', '\\N') AND distinct_id NOT IN ('', '\\N')
      AND parseDateTime64BestEffortOrNull(timestamp, 6, 'UTC') IS NOT NULL
      AND isValidJSON(properties)
      AND (position(properties, '"$set"') > 0 OR position(properties, '"$set_once"') > 0)
)
ARRAY JOIN writes AS w
