-- Metrics messages the sink can never store (malformed, out of bounds, or
-- claiming a trial that is not the one their subject names). Each is kept
-- here with the reason, and taken off the stream, so it cannot hold back
-- the messages behind it.
CREATE TABLE dead_letters (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    subject     text NOT NULL CHECK (octet_length(subject) <= 1024),
    -- the study the subject names, NULL when it names no valid study
    study       text CHECK (study ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    reason      text NOT NULL CHECK (octet_length(reason) <= 2048),
    -- the message body, cut to its first 64 KiB
    data        bytea NOT NULL CHECK (octet_length(data) <= 65536),
    -- the message's stream and sequence: a redelivered message is stored once
    stream      text,
    stream_seq  bigint,
    UNIQUE (stream, stream_seq)
);

CREATE INDEX dead_letters_study ON dead_letters (study, received_at);
