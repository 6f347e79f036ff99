-- The log's sequencer, as on PostgreSQL: one row holding the number of leaves. Every write
-- transaction reads it first and writes the new size with its leaves, so that both stores run the
-- same write path; on SQLite the single writer connection and IMMEDIATE transactions already order
-- writers, and the row is the count the start-up check compares with the leaves.
CREATE TABLE log_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL CHECK (size >= 0)
);
INSERT INTO log_head (id, size) SELECT 1, coalesce(max(idx) + 1, 0) FROM log_leaves;
