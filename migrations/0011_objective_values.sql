-- Multi-objective studies (a spec with objectives): each complete trial's
-- value of every objective, in the order of the spec's objectives. NULL for
-- the trials of single-objective studies; an element is NULL when that
-- value could not be measured (such a trial is left off the Pareto front).
ALTER TABLE trials ADD COLUMN objective_values double precision[]
    CHECK (objective_values IS NULL OR NOT ('NaN' = ANY (objective_values)
                                            OR 'Infinity' = ANY (objective_values)
                                            OR '-Infinity' = ANY (objective_values)));

-- Whether objective vector a dominates b: no worse in every objective, in
-- its direction, and better in at least one.
CREATE FUNCTION pareto_dominates(a double precision[], b double precision[], directions text[])
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT bool_and(CASE WHEN d = 'maximize' THEN x >= y ELSE x <= y END)
       AND bool_or(CASE WHEN d = 'maximize' THEN x > y ELSE x < y END)
    FROM unnest(a, b, directions) AS u(x, y, d)
$$;

-- Every trial of every multi-objective study with its objective values and
-- the study's objective metrics and directions (same order).
CREATE VIEW trial_objectives AS
WITH mo AS (
    SELECT s.id, s.name,
           ARRAY(SELECT o ->> 'metric' FROM jsonb_array_elements(s.spec -> 'objectives') o) AS metrics,
           ARRAY(SELECT o ->> 'direction' FROM jsonb_array_elements(s.spec -> 'objectives') o) AS directions
    FROM studies s
    WHERE jsonb_typeof(s.spec -> 'objectives') = 'array'
)
SELECT mo.name AS study,
       t.number AS trial,
       t.activation,
       t.params,
       t.config_hash,
       t.replicate,
       t.seed,
       t.status,
       t.objective_values,
       mo.metrics,
       mo.directions,
       t.finished_at
FROM trials t
JOIN mo ON mo.id = t.study_id;

-- The Pareto front of each multi-objective study: its complete trials with
-- every objective value that no other such trial dominates, with how many
-- trials of the study each one dominates.
CREATE VIEW pareto_front AS
WITH c AS (
    SELECT * FROM trial_objectives
    WHERE status = 'complete'
      AND cardinality(objective_values) = cardinality(metrics)
      AND array_position(objective_values, NULL) IS NULL
)
SELECT c.study,
       c.trial,
       c.activation,
       c.params,
       c.config_hash,
       c.replicate,
       c.seed,
       c.objective_values,
       c.metrics,
       c.directions,
       (SELECT count(*) FROM c d
        WHERE d.study = c.study AND pareto_dominates(c.objective_values, d.objective_values, c.directions)) AS dominates,
       c.finished_at
FROM c
WHERE NOT EXISTS (SELECT 1 FROM c o
                  WHERE o.study = c.study AND pareto_dominates(o.objective_values, c.objective_values, c.directions))
ORDER BY c.study, c.objective_values, c.trial;

GRANT SELECT ON trial_objectives, pareto_front TO relutune_reader;

-- trial_overview (the dashboard's trial rows) gains the objective values as
-- its last column (CREATE OR REPLACE keeps the grant and only lets columns
-- be added at the end).
CREATE OR REPLACE VIEW trial_overview AS
SELECT s.name AS study,
       t.number AS trial,
       t.activation,
       t.params,
       t.config_hash,
       t.replicate,
       t.seed,
       t.status,
       t.objective,
       t.test_accuracy,
       t.epochs_done,
       t.attempt,
       t.error,
       t.worker,
       t.created_at,
       t.started_at,
       t.finished_at,
       CASE WHEN t.finished_at IS NOT NULL AND t.started_at IS NOT NULL AND t.epochs_done > 0
            THEN extract(epoch FROM t.finished_at - t.started_at) / t.epochs_done END AS seconds_per_epoch,
       m.samples_per_sec,
       t.objective_values
FROM trials t
JOIN studies s ON s.id = t.study_id
LEFT JOIN LATERAL (
    SELECT avg(tm.samples_per_sec) FILTER (WHERE tm.samples_per_sec > 0) AS samples_per_sec
    FROM trial_metrics tm WHERE tm.trial_id = t.id
) m ON true;
