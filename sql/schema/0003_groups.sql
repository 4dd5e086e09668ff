-- Group types get indexes 0-4 per project in the order first seen, as PostHog assigns them.
-- cluster: replicate_all
CREATE TABLE IF NOT EXISTS group_type_mapping
(
    project_id UInt64,
    group_type String,
    group_type_index UInt8,
    created_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (project_id, group_type);

-- Group properties, folded like person properties ($groupidentify writes `set`).
-- cluster: replicate_all
CREATE TABLE IF NOT EXISTS group_property_writes
(
    project_id UInt64,
    group_type_index UInt8,
    group_key String,
    key String,
    value String,
    op Enum8('set' = 1, 'set_once' = 2, 'unset' = 3),
    timestamp DateTime64(6, 'UTC'),
    inserted_at DateTime64(6, 'UTC')
)
ENGINE = MergeTree
ORDER BY (project_id, group_type_index, group_key, key, timestamp)
