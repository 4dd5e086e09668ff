-- Histogram breakdowns (spec/trends.md §4.4.9): over the series' events in the range, how many
-- there are, how many have a numeric breakdown value, and that value's quantiles at the
-- levels 0, 1/N, …, 1 (the bin edges before rounding).
SELECT count() AS events,
       countIf(isNotNull(bin_number)) AS numbers,
       quantilesIf(__LEVELS__)(bin_number, isNotNull(bin_number)) AS edges
FROM (SELECT *, toFloat64OrNull(raw_value) AS bin_number FROM (__EVENTS__))
WHERE project_id = {project_id:UInt64}
