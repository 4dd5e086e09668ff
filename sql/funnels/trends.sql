-- Funnel trends (spec funnels.md §3.3): per breakdown value and entrance period, the actors
-- whose best attempt starting in that period (trends_actors.sql) reached the `from` step and
-- the `to` step.
SELECT
    pvalue,
    period,
    countIf(reached >= {from_step:UInt32} + 1) AS reached_from,
    countIf(reached >= {to_step:UInt32} + 1) AS reached_to
FROM (__PERIODS__)
GROUP BY pvalue, period
