-- Funnel paths (spec B7): the funnel's people who meet `funnel_step` (positive: reached the
-- step; negative: stopped right before it), each with the times (microseconds) of the
-- reference step and of the step before it, taken from the attempt the funnel engine credits.
SELECT
    toUUID(actor) AS funnel_person,
    credited_times[{reference_step:UInt32}] AS funnel_reference,
    credited_times[greatest({reference_step:UInt32} - 1, 1)] AS funnel_previous
FROM (__ACTORS__)
WHERE __MEMBERS__
