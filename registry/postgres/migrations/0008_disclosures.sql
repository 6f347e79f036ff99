-- The EU AI Act public summary (issue 12): a model's disclosure, one row a version, each logged
-- (leaf kind "disclosure", id "model id@version"), its content as the JSON document the leaf
-- digests; and a sample's optional collection time (Unix milliseconds), in its leaf only when set.
-- The primary key serves every read: the latest version of a model and the audit's walk in
-- (model_id, version) order.
CREATE TABLE model_disclosures (
    model_id   TEXT COLLATE "C" NOT NULL REFERENCES models (id),
    version    INTEGER NOT NULL,
    document   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    log_index  BIGINT NOT NULL,
    PRIMARY KEY (model_id, version)
);
ALTER TABLE samples ADD COLUMN collected_at BIGINT;
