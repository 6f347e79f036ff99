-- Re-scoring (issue 13): each new score of a stored sample is a logged record (leaf kind "rescore",
-- id "sample id@seq"), numbered 1, 2, … per sample, naming the digest of the metrics it replaces
-- (from) and holding the new values, whose digest the leaf carries. The sample's metric columns
-- hold its latest scores, so that policies and rankings read them; ingest_metrics keeps, from its
-- first re-score on, the digest of the metrics the sample was logged with, from which its original
-- leaf is re-derived. It is NULL on every sample never re-scored.
CREATE TABLE rescores (
    sample_id       TEXT NOT NULL REFERENCES samples (id),
    seq             INTEGER NOT NULL,
    from_metrics    TEXT NOT NULL,
    tokens          INTEGER NOT NULL,
    mtld            REAL NOT NULL,
    toxicity        REAL,
    metrics_version TEXT NOT NULL,
    toxicity_scorer TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    log_index       INTEGER NOT NULL,
    PRIMARY KEY (sample_id, seq)
);
ALTER TABLE samples ADD COLUMN ingest_metrics TEXT;
