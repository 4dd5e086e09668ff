-- Every mutable entity (projects, users, API keys, insights, dashboards, tiles, actions,
-- cohorts) as an append-only log: a mutation is one INSERT of the entity's next version, so it
-- is atomic; the current state is the latest version; the activity log is these same rows.
-- cluster: replicate_all
CREATE TABLE IF NOT EXISTS metadata_log
(
    entity LowCardinality(String),
    project_id UInt64,
    id UInt64,
    version UInt64,
    document String,
    changes String,
    activity LowCardinality(String),
    user_id UInt64,
    created_at DateTime64(6, 'UTC')
)
ENGINE = MergeTree
ORDER BY (entity, project_id, id, version)
