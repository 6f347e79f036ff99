-- Re-scoring (issue 13): each new score of a stored sample is a logged record (leaf kind "rescore",
-- id "sample id@seq"), numbered 1, 2, … per sample, naming the digest of the metrics it replaces
-- (from) and holding the new values, whose digest the leaf carries. The sample's metric columns
-- hold its latest scores, so that policies and rankings read them; ingest_metrics keeps, from its
-- first re-score on, the digest of the metrics the sample was logged with, from which its original
-- leaf is re-derived. It is NULL on every sample never re-scored.
CREATE TABLE rescores (
    sample_id       TEXT COLLATE "C" NOT NULL REFERENCES samples (id),
    seq             INTEGER NOT NULL,
    from_metrics    TEXT COLLATE "C" NOT NULL,
    tokens          BIGINT NOT NULL,
    mtld            DOUBLE PRECISION NOT NULL,
    toxicity        DOUBLE PRECISION,
    metrics_version TEXT COLLATE "C" NOT NULL,
    toxicity_scorer TEXT COLLATE "C" NOT NULL,
    created_at      BIGINT NOT NULL,
    log_index       BIGINT NOT NULL,
    PRIMARY KEY (sample_id, seq)
);
ALTER TABLE samples ADD COLUMN ingest_metrics TEXT COLLATE "C";
