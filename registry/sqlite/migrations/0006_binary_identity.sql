-- The identity hash (duplicate detection; never shown to clients) is kept as its 32 bytes instead of
-- 64 hex characters: half the bytes in every row and in its unique index, which every ingest probes
-- and extends. SQLite keeps a BLOB as it is in a column of any declared type.
UPDATE samples SET identity_sha256 = unhex(identity_sha256);
