-- Values trials reported at their scheduler's decision epochs (ASHA rungs,
-- median-rule epochs). The study workflow's Decide activity writes a row and
-- decides from every row of the same study and epoch, so the study's
-- workflow state stays small however many trials it runs.
CREATE TABLE rung_values (
    study_id   bigint NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    epoch      integer NOT NULL CHECK (epoch >= 1),
    trial      integer NOT NULL CHECK (trial >= 0),
    value      double precision NOT NULL CHECK (value NOT IN ('NaN', 'Infinity', '-Infinity')),
    decided    boolean NOT NULL, -- whether the trial was let go on
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (study_id, epoch, trial)
);
