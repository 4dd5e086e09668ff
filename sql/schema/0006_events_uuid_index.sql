-- A finer uuid index for the writer's duplicate check. Each group-commit insert looks up its
-- uuids (hundreds at once) among the events of their days. At 1% false positives per uuid,
-- 800 lookups pass almost every index granule (1 - 0.99^800 ≈ 1), so the check read every uuid
-- of the day on every insert. At 0.01% over single granules about 8% pass: half the CPU per
-- check at 240k events in a day, and half the growth with the day's volume (bench/README.md).
-- cluster: alter events_local
ALTER TABLE events DROP INDEX IF EXISTS uuid_bloom;

-- cluster: alter events_local
ALTER TABLE events ADD INDEX IF NOT EXISTS uuid_bloom uuid TYPE bloom_filter(0.0001) GRANULARITY 1;

-- Parts written before this migration get the new index too (a background mutation).
-- cluster: alter events_local
ALTER TABLE events MATERIALIZE INDEX uuid_bloom
