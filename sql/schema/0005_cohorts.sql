-- Members of static cohorts (uploaded lists), by the person id their distinct id was first
-- given; queries map it through person_overrides like every person id. An upload writes a new
-- `version` of the list; the cohort's document names the current one, so a reader never sees
-- half a list.
-- cluster: replicate_all
CREATE TABLE IF NOT EXISTS static_cohort_people
(
    project_id UInt64,
    cohort_id UInt64,
    version UInt64,
    person_id UUID,
    inserted_at DateTime64(6, 'UTC')
)
ENGINE = MergeTree
ORDER BY (project_id, cohort_id, version, person_id)
