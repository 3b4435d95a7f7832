-- Per activation and replicate seed: the mean objective of that
-- activation's complete trials trained with that seed. Replicates use the
-- same seeds for every configuration, so two activations compared seed by
-- seed saw the same data orders and initial random streams (`tunectl
-- compare` pairs them this way).
CREATE VIEW activation_seed_means AS
SELECT s.name AS study,
       t.activation,
       t.seed,
       min(t.replicate) AS replicate,
       count(*) AS n,
       avg(t.objective) AS mean,
       s.metric,
       s.direction
FROM trials t
JOIN studies s ON s.id = t.study_id
WHERE t.status = 'complete' AND t.objective IS NOT NULL
GROUP BY s.id, s.name, s.metric, s.direction, t.activation, t.seed
ORDER BY s.name, t.activation, min(t.replicate);

GRANT SELECT ON activation_seed_means TO relutune_reader;
