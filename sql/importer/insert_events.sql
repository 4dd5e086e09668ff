-- Valid staged rows → events. The person id is the one ingestion derives (MD5 of
-- "project:distinct_id" as a UUID); merges already recorded apply at query time as usual.
-- Rows whose uuid is already stored (a re-run of the same file) are skipped.
INSERT INTO events (project_id, uuid, event, distinct_id, person_id, timestamp, properties,
                    elements_chain, created_at)
SELECT
    {project_id:UInt64},
    ifNull(toUUIDOrNull(s.uuid),
           toUUID(lower(hex(MD5(concat(toString({project_id:UInt64}), ':', toString(s.line), ':',
                                        s.distinct_id, s.event, s.timestamp, s.properties)))))),
    s.event,
    substring(s.distinct_id, 1, 200),
    toUUID(lower(hex(MD5(concat(toString({project_id:UInt64}), ':',
                                substring(s.distinct_id, 1, 200)))))),
    parseDateTime64BestEffort(s.timestamp, 6, 'UTC'),
    CAST(if(s.properties IN ('', '\\N'), '{}', s.properties), 'JSON'),
    if(s.elements_chain = '\\N', '', s.elements_chain),
    {now:DateTime64(6, 'UTC')}
FROM {staging} AS s
WHERE s.event NOT IN ('', '\\N') AND s.distinct_id NOT IN ('', '\\N')
  AND parseDateTime64BestEffortOrNull(s.timestamp, 6, 'UTC') IS NOT NULL
  AND (s.properties IN ('', '\\N') OR isValidJSON(s.properties))
  AND (s.uuid IN ('', '\\N') OR toUUIDOrNull(s.uuid) IS NOT NULL)
  AND ifNull(toUUIDOrNull(s.uuid), toUUID('00000000-0000-0000-0000-000000000000')) NOT IN (
      SELECT uuid FROM events WHERE project_id = {project_id:UInt64})
