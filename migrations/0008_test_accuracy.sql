-- Each completed trial's accuracy on the held-out test split, measured once
-- after training (the objective is measured on the validation split).
ALTER TABLE trials ADD COLUMN test_accuracy double precision
    CHECK (test_accuracy IS NULL OR test_accuracy NOT IN ('NaN', 'Infinity', '-Infinity'));

-- The ranking views gain it as their last column (CREATE OR REPLACE keeps
-- the grants and only lets columns be added at the end).
CREATE OR REPLACE VIEW trial_ranking AS
SELECT s.name  AS study,
       rank() OVER w AS rank,
       t.number AS trial,
       t.activation,
       t.params,
       t.config_hash,
       t.replicate,
       t.seed,
       t.objective,
       s.metric,
       t.epochs_done,
       t.finished_at,
       t.test_accuracy
FROM trials t
JOIN studies s ON s.id = t.study_id
WHERE t.status = 'complete' AND t.objective IS NOT NULL
WINDOW w AS (PARTITION BY t.study_id
             ORDER BY CASE WHEN s.direction = 'maximize' THEN -t.objective ELSE t.objective END)
ORDER BY s.name, rank, t.number;

CREATE OR REPLACE VIEW config_ranking AS
SELECT s.name AS study,
       rank() OVER w AS rank,
       t.config_hash,
       min(t.activation) AS activation,
       (array_agg(t.params ORDER BY t.number))[1] AS params,
       count(*) AS replicates,
       avg(t.objective) AS mean,
       stddev_samp(t.objective) AS stddev,
       s.metric,
       avg(t.test_accuracy) AS mean_test_accuracy
FROM trials t
JOIN studies s ON s.id = t.study_id
WHERE t.status = 'complete' AND t.objective IS NOT NULL
GROUP BY s.id, s.name, s.metric, s.direction, t.config_hash
WINDOW w AS (PARTITION BY s.id
             ORDER BY CASE WHEN s.direction = 'maximize' THEN -avg(t.objective) ELSE avg(t.objective) END)
ORDER BY s.name, rank;
