-- Everything a response, a decision or an authorization depends on is covered by the log.
--
-- leaf_fields is the set of fields a record's leaf holds: 1 for records written before this
-- migration, 2 since. Set 2 adds the key's hash to a key's leaf, and the stats, deepest generation
-- and weakest basis to a mix's leaf. Lowering it on a record makes its leaf differ from the logged
-- one, so the number itself is tamper-evident.
ALTER TABLE api_keys ADD COLUMN leaf_fields INTEGER NOT NULL DEFAULT 1;
ALTER TABLE mixes ADD COLUMN leaf_fields INTEGER NOT NULL DEFAULT 1;

-- Idempotency records get a leaf of their own, whose id (record_id, a digest of the scope and the
-- key) finds the record again. Those written before could not be checked; they only serve a
-- client's retries, so they are dropped (a retried ingest still finds its samples by identity).
DELETE FROM idempotency;
ALTER TABLE idempotency ADD COLUMN log_index INTEGER NOT NULL DEFAULT -1;
ALTER TABLE idempotency ADD COLUMN record_id TEXT NOT NULL DEFAULT '';
CREATE INDEX idempotency_record ON idempotency (record_id);
