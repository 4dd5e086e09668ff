-- Persons. A person id is derived from (project, first distinct id) at first sight, so every
-- gateway assigns the same id without coordination; person_distinct_ids records the sighting.
-- cluster: shard_by cityHash64(distinct_id)
CREATE TABLE IF NOT EXISTS person_distinct_ids
(
    project_id UInt64,
    distinct_id String,
    person_id UUID,
    created_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (project_id, distinct_id);

-- A merge ($identify, $create_alias) points the old person at the surviving one. Queries map
-- an event's person_id through this table, so events are never rewritten. `version` orders
-- re-pointings when a chain of merges is flattened.
-- cluster: replicate_all
CREATE TABLE IF NOT EXISTS person_overrides
(
    project_id UInt64,
    old_person_id UUID,
    override_person_id UUID,
    version UInt64,
    created_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (project_id, old_person_id);

-- One row per person, first seen. is_identified flips (a newer version) on $identify.
-- cluster: shard_by cityHash64(toString(id))
CREATE TABLE IF NOT EXISTS persons
(
    project_id UInt64,
    id UUID,
    created_at DateTime64(6, 'UTC'),
    is_identified UInt8,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (project_id, id);

-- Person properties as an append-only log of writes, folded at read time:
-- set → latest by event time, set_once → earliest, unset → a tombstone newer than the set.
-- Concurrent, retried or out-of-order ingestion therefore never loses an update.
-- cluster: shard_by cityHash64(toString(person_id))
CREATE TABLE IF NOT EXISTS person_property_writes
(
    project_id UInt64,
    person_id UUID,
    key String,
    value String,
    op Enum8('set' = 1, 'set_once' = 2, 'unset' = 3),
    timestamp DateTime64(6, 'UTC'),
    inserted_at DateTime64(6, 'UTC')
)
ENGINE = MergeTree
ORDER BY (project_id, person_id, key, timestamp)
