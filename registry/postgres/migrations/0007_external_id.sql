-- Ids a pipeline controls: a sample's optional external_id, unique within its dataset. The index
-- serves every ingest that names samples by external_id, and the lookup route
-- (SELECT … FROM samples WHERE external_id IN (…)), and holds the uniqueness rule. It is partial:
-- samples without an external_id add no entry. (No index serves a lookup by content hash: one on
-- every sample's hash is a random insert per ingested sample, the cost issue 14 removed.)
ALTER TABLE samples ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX samples_external_id ON samples (external_id, dataset) WHERE external_id IS NOT NULL;
