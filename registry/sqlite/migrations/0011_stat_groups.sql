-- Statistics groups (issue 14): a mix's statistics count its samples by model, generation,
-- dataset, source kind, source name (for web_crawl, the URI's host), license and generation basis,
-- and name each source's smallest URI. Each distinct combination of those fields (with the source
-- URI, except for web_crawl, whose hosts name their sources) is a row of stat_groups, and each sample
-- names its row in stat_group, so that a build groups its selection by one integer it carries,
-- without reading the selected rows of samples again.
--
-- The fields a group holds never change once a sample is stored (a re-score changes metrics only).
-- A sample's group is derived data, like its normalized key: the full audit re-derives it from the
-- sample's own fields and refuses a registry where the two disagree. The groups of samples stored
-- before this migration are filled in by the store in Go (backfill "stat_groups"), which names
-- sources as ingest does (registry.SourceName).
--
-- fields_sha256 is the SHA-256 of the group's fields, each length-prefixed (sqlstore.statGroup):
-- one short key for them, where a unique index on the fields themselves could outgrow an index
-- entry (a URI may be 2 KiB). Indexes: stat_groups_fields (unique) finds a batch's groups at ingest,
--   SELECT id, fields_sha256 FROM stat_groups WHERE fields_sha256 IN (?, …)
-- No index on samples.stat_group: only the draw, which reads it with the row it selects, uses it.
-- No foreign key either: it would cost every ingested row a lookup (6 ms a 1,000-sample batch on
-- PostgreSQL, BENCHMARKS.md), and it would add nothing to what holds without it: the audits require
-- each sample's group to exist and to hold its fields, and a draw refuses a selected sample whose
-- group is missing.
CREATE TABLE stat_groups (
    id               INTEGER PRIMARY KEY,
    model            TEXT NOT NULL,
    generation       INTEGER NOT NULL,
    dataset          TEXT NOT NULL,
    source_kind      TEXT NOT NULL,
    source           TEXT NOT NULL,
    license          TEXT NOT NULL,
    generation_basis TEXT NOT NULL,
    uri              TEXT NOT NULL,
    fields_sha256    BLOB NOT NULL
);
CREATE UNIQUE INDEX stat_groups_fields ON stat_groups (fields_sha256);
ALTER TABLE samples ADD COLUMN stat_group INTEGER;
