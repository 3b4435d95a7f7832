-- Population-based training (schedule kind pbt): after each generation a
-- trial of the bottom quantile continues from the weights of a trial of
-- the top quantile with explored parameters. One row per such step: the
-- target trial, the generation and the epoch it was taken at, the source
-- trial whose checkpoint it copied, and its parameters before and after.
-- trials.params holds a trial's newest parameters.
CREATE TABLE trial_lineage (
    trial_id    bigint NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    generation  integer NOT NULL CHECK (generation >= 1),
    epoch       integer NOT NULL CHECK (epoch >= 1),
    source_id   bigint NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    source_value double precision,
    old_params  jsonb NOT NULL,
    new_params  jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (trial_id, generation)
);
CREATE INDEX trial_lineage_source ON trial_lineage (source_id);

CREATE VIEW pbt_lineage AS
SELECT s.name AS study,
       t.number AS trial,
       l.generation,
       l.epoch,
       src.number AS source_trial,
       l.source_value,
       l.old_params,
       l.new_params,
       l.created_at
FROM trial_lineage l
JOIN trials t ON t.id = l.trial_id
JOIN trials src ON src.id = l.source_id
JOIN studies s ON s.id = t.study_id;

GRANT SELECT ON pbt_lineage TO relutune_reader;
