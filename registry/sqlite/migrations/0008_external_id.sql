-- Ids a pipeline controls: a sample's optional external_id, unique within its dataset. The indexes,
-- each for the query named:
--   samples_external_id (unique, partial)  every ingest that names samples by external_id, and the
--                        lookup route: SELECT … FROM samples WHERE external_id IN (…); and the rule
--   samples_content_prefix                 the lookup route by content hash:
--                        SELECT … FROM samples WHERE substr(content_sha256, 1, 16) IN (…)
--                        (16 hex digits, 64 bits: a quarter of the full hash's index entry)
ALTER TABLE samples ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX samples_external_id ON samples (external_id, dataset) WHERE external_id IS NOT NULL;
CREATE INDEX samples_content_prefix ON samples (substr(content_sha256, 1, 16));
