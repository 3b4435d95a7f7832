-- Studies, trials and per-epoch metrics: the system of record.

CREATE TABLE studies (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    spec        jsonb NOT NULL,
    spec_hash   text NOT NULL,
    metric      text NOT NULL,
    direction   text NOT NULL CHECK (direction IN ('maximize', 'minimize')),
    status      text NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'complete', 'stopped', 'canceled', 'failed')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

CREATE TABLE trials (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study_id    bigint NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    number      integer NOT NULL CHECK (number >= 0),
    config_hash text NOT NULL,
    params      jsonb NOT NULL,
    activation  text GENERATED ALWAYS AS (params ->> 'activation') STORED,
    replicate   integer NOT NULL DEFAULT 0,
    seed        bigint NOT NULL,
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'running', 'complete', 'pruned', 'diverged', 'failed', 'canceled')),
    -- NULL unless the trial produced a finite objective; NaN sorts above every
    -- number in Postgres, so it must never be stored here.
    objective   double precision
                CHECK (objective IS NULL OR objective NOT IN ('NaN', 'Infinity', '-Infinity')),
    epochs_done integer NOT NULL DEFAULT 0,
    attempt     integer NOT NULL DEFAULT 0,
    error       text,
    worker      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz,
    finished_at timestamptz,
    UNIQUE (study_id, number),
    CHECK (status <> 'diverged' OR objective IS NULL)
);

CREATE INDEX trials_study_status ON trials (study_id, status);

CREATE TABLE trial_metrics (
    trial_id        bigint NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    epoch           integer NOT NULL CHECK (epoch >= 1),
    attempt         integer NOT NULL,
    train_loss      double precision,
    val_loss        double precision,
    val_accuracy    double precision,
    dead_fraction   double precision, -- mean over hidden layers
    saturation      double precision, -- mean over hidden layers
    grad_norm       double precision, -- L2 over all layers
    samples_per_sec double precision,
    lr              double precision,
    layers          jsonb NOT NULL DEFAULT '[]', -- per hidden layer diagnostics
    worker          text,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trial_id, epoch)
);

-- Two-sided 95% Student t quantile for df degrees of freedom (normal beyond 30).
CREATE FUNCTION t95(df bigint) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN df IS NULL OR df < 1 THEN NULL
        WHEN df <= 30 THEN (ARRAY[12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                  2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                  2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042])[df]
        ELSE 1.960
    END
$$;

-- Completed trials, best first within each study. Diverged, failed, pruned
-- and canceled trials are left out: they did not train for the full budget.
CREATE VIEW trial_ranking AS
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
       t.finished_at
FROM trials t
JOIN studies s ON s.id = t.study_id
WHERE t.status = 'complete' AND t.objective IS NOT NULL
WINDOW w AS (PARTITION BY t.study_id
             ORDER BY CASE WHEN s.direction = 'maximize' THEN -t.objective ELSE t.objective END)
ORDER BY s.name, rank, t.number;

-- One row per configuration: the mean over its completed replicates.
CREATE VIEW config_ranking AS
SELECT s.name AS study,
       rank() OVER w AS rank,
       t.config_hash,
       min(t.activation) AS activation,
       (array_agg(t.params ORDER BY t.number))[1] AS params,
       count(*) AS replicates,
       avg(t.objective) AS mean,
       stddev_samp(t.objective) AS stddev,
       s.metric
FROM trials t
JOIN studies s ON s.id = t.study_id
WHERE t.status = 'complete' AND t.objective IS NOT NULL
GROUP BY s.id, s.name, s.metric, s.direction, t.config_hash
WINDOW w AS (PARTITION BY s.id
             ORDER BY CASE WHEN s.direction = 'maximize' THEN -avg(t.objective) ELSE avg(t.objective) END)
ORDER BY s.name, rank;

-- Per activation: how its completed trials scored, with a 95% confidence
-- interval of the mean (Student t), and how many trials diverged.
CREATE VIEW activation_summary AS
WITH agg AS (
    SELECT t.study_id,
           t.activation,
           count(*) FILTER (WHERE t.status = 'complete' AND t.objective IS NOT NULL) AS n,
           avg(t.objective) FILTER (WHERE t.status = 'complete') AS mean,
           stddev_samp(t.objective) FILTER (WHERE t.status = 'complete') AS stddev,
           max(t.objective) FILTER (WHERE t.status = 'complete') AS max,
           min(t.objective) FILTER (WHERE t.status = 'complete') AS min,
           count(*) FILTER (WHERE t.status = 'diverged') AS diverged,
           count(*) FILTER (WHERE t.status = 'pruned') AS pruned,
           count(*) AS trials
    FROM trials t
    GROUP BY t.study_id, t.activation
)
SELECT s.name AS study,
       a.activation,
       a.n,
       a.mean,
       a.stddev,
       a.mean - t95(a.n - 1) * a.stddev / sqrt(a.n) AS ci95_low,
       a.mean + t95(a.n - 1) * a.stddev / sqrt(a.n) AS ci95_high,
       CASE WHEN s.direction = 'maximize' THEN a.max ELSE a.min END AS best,
       a.diverged,
       a.pruned,
       a.trials,
       s.metric
FROM agg a
JOIN studies s ON s.id = a.study_id
ORDER BY s.name, CASE WHEN s.direction = 'maximize' THEN -a.mean ELSE a.mean END NULLS LAST;

-- Per trial: its last recorded epoch's diagnostics, to explain rankings.
CREATE VIEW trial_diagnostics AS
SELECT s.name AS study,
       t.number AS trial,
       t.activation,
       t.status,
       t.objective,
       m.epoch,
       m.train_loss,
       m.val_loss,
       m.val_accuracy,
       m.dead_fraction,
       m.saturation,
       m.grad_norm
FROM trials t
JOIN studies s ON s.id = t.study_id
LEFT JOIN LATERAL (
    SELECT * FROM trial_metrics tm WHERE tm.trial_id = t.id ORDER BY tm.epoch DESC LIMIT 1
) m ON true
ORDER BY s.name, t.number;

-- Read-only role for analysts and `tunectl sql`: the views, nothing else.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'relutune_reader') THEN
        CREATE ROLE relutune_reader NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL; -- roles are cluster-wide: another database's migration made it
END
$$;
GRANT SELECT ON trial_ranking, config_ranking, activation_summary, trial_diagnostics TO relutune_reader;
