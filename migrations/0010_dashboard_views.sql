-- Views the dashboard reads as relutune_reader: every study with its
-- progress, and every trial whatever its status (trial_ranking keeps only
-- the complete ones), with its error and attempts. Like the other result
-- views they expose no base table to the reader.

CREATE VIEW study_overview AS
SELECT s.name AS study,
       s.status,
       s.metric,
       s.direction,
       s.spec,
       s.created_at,
       s.finished_at,
       coalesce((s.spec -> 'search' ->> 'max_trials')::integer, 0) AS max_trials,
       count(t.id) AS trials,
       count(t.id) FILTER (WHERE t.status = 'pending') AS pending,
       count(t.id) FILTER (WHERE t.status = 'running') AS running,
       count(t.id) FILTER (WHERE t.status = 'complete') AS complete,
       count(t.id) FILTER (WHERE t.status = 'pruned') AS pruned,
       count(t.id) FILTER (WHERE t.status = 'diverged') AS diverged,
       count(t.id) FILTER (WHERE t.status = 'failed') AS failed,
       count(t.id) FILTER (WHERE t.status = 'canceled') AS canceled,
       CASE WHEN s.direction = 'maximize'
            THEN max(t.objective) FILTER (WHERE t.status = 'complete')
            ELSE min(t.objective) FILTER (WHERE t.status = 'complete') END AS best
FROM studies s
LEFT JOIN trials t ON t.study_id = s.id
GROUP BY s.id;

CREATE VIEW trial_overview AS
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
       -- Wall time per epoch of a finished trial (started_at is set when its
       -- first epoch is stored, so this undercounts the first epoch).
       CASE WHEN t.finished_at IS NOT NULL AND t.started_at IS NOT NULL AND t.epochs_done > 0
            THEN extract(epoch FROM t.finished_at - t.started_at) / t.epochs_done END AS seconds_per_epoch,
       -- Mean training throughput over its epochs, as the worker measured
       -- it: every trial of a study trains on the same data, so its
       -- inverse orders trials by epoch time without the sink's delays.
       m.samples_per_sec
FROM trials t
JOIN studies s ON s.id = t.study_id
LEFT JOIN LATERAL (
    SELECT avg(tm.samples_per_sec) FILTER (WHERE tm.samples_per_sec > 0) AS samples_per_sec
    FROM trial_metrics tm WHERE tm.trial_id = t.id
) m ON true;

GRANT SELECT ON study_overview, trial_overview TO relutune_reader;

-- config_ranking gains a 95% confidence interval of each configuration's
-- mean over its replicates (Student t; NULL below two replicates), as its
-- last columns (CREATE OR REPLACE keeps the grants and only lets columns be
-- added at the end).
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
       avg(t.test_accuracy) AS mean_test_accuracy,
       avg(t.objective) - t95(count(*) - 1) * stddev_samp(t.objective) / sqrt(count(*)) AS ci95_low,
       avg(t.objective) + t95(count(*) - 1) * stddev_samp(t.objective) / sqrt(count(*)) AS ci95_high
FROM trials t
JOIN studies s ON s.id = t.study_id
WHERE t.status = 'complete' AND t.objective IS NOT NULL
GROUP BY s.id, s.name, s.metric, s.direction, t.config_hash
WINDOW w AS (PARTITION BY s.id
             ORDER BY CASE WHEN s.direction = 'maximize' THEN -avg(t.objective) ELSE avg(t.objective) END)
ORDER BY s.name, rank;
