-- Ids a pipeline controls: a sample's optional external_id, unique within its dataset. The index
-- serves the lookups of every ingest that names samples by external_id, and of the ingest role's
-- lookup (SELECT … FROM samples WHERE external_id IN (…)), and holds the uniqueness rule.
ALTER TABLE samples ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX samples_external_id ON samples (external_id, dataset) WHERE external_id IS NOT NULL;
