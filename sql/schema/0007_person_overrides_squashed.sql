-- How far person merges have been squashed into events, per project: every override with a
-- version up to `version` has been written into events.person_id (gateway/squash.py), so
-- queries over events join only the overrides above it. Appended after each squash; the
-- largest version is the mark. Other tables (distinct ids, property writes, static cohorts)
-- still map person ids through every override.
-- cluster: replicate_all
CREATE TABLE IF NOT EXISTS person_overrides_squashed
(
    project_id UInt64,
    version UInt64,
    squashed_at DateTime64(6, 'UTC')
)
ENGINE = MergeTree
ORDER BY (project_id, version)
