-- Laundering and duplicates (registry/dedup). Each sample keeps the SHA-256 of its normalized text
-- (32 bytes), its near-duplicate cluster (NULL: its own id) and, for human text stored under
-- --laundering=flag, the model sample it near-duplicates and their similarity. Model samples' band
-- keys are indexed in sample_bands, a row per band.
--
-- The indexes these add, each for the query named:
--   samples_model_norm (partial)   the provenance check of every ingest, which replaces the
--                                  byte-exact one (samples_model_text, dropped):
--                                  SELECT norm_sha256, id, cluster FROM samples
--                                  WHERE origin = 'model' AND norm_sha256 IN (…)
--   sample_bands's primary key     the near-duplicate candidates of every ingest:
--                                  SELECT … FROM sample_bands b
--                                  JOIN samples s ON s.log_index = b.log_index WHERE b.band IN (…)
--   samples_log_index (unique)     that join, and one sample a leaf; it grows at its end only.
-- A band row names its sample by log index: an integer of a few bytes where an id takes 36.
-- The keys and bands of samples stored before this migration are filled in by the store in Go, in
-- the same transaction (sqlstore's backfill of "dedup").
ALTER TABLE samples ADD COLUMN norm_sha256 BYTEA;
ALTER TABLE samples ADD COLUMN cluster TEXT REFERENCES samples (id);
ALTER TABLE samples ADD COLUMN near_duplicate_of TEXT REFERENCES samples (id);
ALTER TABLE samples ADD COLUMN near_similarity DOUBLE PRECISION;
DROP INDEX samples_model_text;
CREATE UNIQUE INDEX samples_log_index ON samples (log_index);
CREATE INDEX samples_model_norm ON samples (norm_sha256) WHERE origin = 'model';
CREATE TABLE sample_bands (
    band      BIGINT NOT NULL,
    log_index BIGINT NOT NULL,
    PRIMARY KEY (band, log_index)
);
