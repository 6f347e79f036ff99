-- Only the indexes a query needs. The samples table keeps these, each for the query named:
--   the primary key (id)            every read by id, cursor pagination, the audits' walk;
--   UNIQUE (identity_sha256)        the duplicate check of every ingest (and the uniqueness rule);
--   samples_model_text              the provenance check of every human ingest:
--                                   SELECT content_sha256, min(id) FROM samples
--                                   WHERE origin = 'model' AND content_sha256 IN (…)
--   samples_prompt (partial)        a prompt's candidates and best-of-k ranks (WHERE prompt_id = …);
--   samples_model (partial)         listing a model's samples (WHERE model_id = …).
-- The content index covered every sample; only model output is ever looked up by its content, so it
-- now covers model output alone, and a human sample's ingest writes one index entry fewer.
DROP INDEX samples_content;
CREATE INDEX samples_model_text ON samples (content_sha256) WHERE origin = 'model';
