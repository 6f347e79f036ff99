-- The identity hash (duplicate detection; never shown to clients) is kept as its 32 bytes instead of
-- 64 hex characters: half the bytes in every row and in its unique index, which every ingest probes
-- and extends.
ALTER TABLE samples ALTER COLUMN identity_sha256 TYPE BYTEA USING decode(identity_sha256, 'hex');
