-- Stickiness: how many actors were active in exactly k buckets (the actors' counts come from
-- sticky_actors.sql).
SELECT active_buckets, count() AS actors
FROM (__ACTORS__)
GROUP BY active_buckets
