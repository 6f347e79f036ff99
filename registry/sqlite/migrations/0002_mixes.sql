-- Policies, decisions and mixes, and the mixes a model was trained on.

CREATE TABLE policy_versions (
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    sha256     TEXT NOT NULL,
    module     TEXT NOT NULL,
    limits     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    log_index  INTEGER NOT NULL,
    PRIMARY KEY (name, version)
);

-- Every evaluation of a proposed mix that was not a dry run; mix_id is set when it was allowed.
CREATE TABLE decisions (
    id             TEXT PRIMARY KEY,
    policy_name    TEXT NOT NULL,
    policy_version INTEGER NOT NULL,
    policy_sha256  TEXT NOT NULL,
    allowed        INTEGER NOT NULL,
    violations     TEXT NOT NULL,
    error          TEXT NOT NULL DEFAULT '',
    input          TEXT NOT NULL,
    mix_id         TEXT,
    evaluated_at   INTEGER NOT NULL,
    log_index      INTEGER NOT NULL
);

CREATE TABLE mixes (
    id               TEXT PRIMARY KEY,
    policy_name      TEXT NOT NULL,
    policy_version   INTEGER NOT NULL,
    policy_sha256    TEXT NOT NULL,
    decision_id      TEXT NOT NULL REFERENCES decisions (id),
    size             INTEGER NOT NULL,
    seed             INTEGER NOT NULL,
    strategy         TEXT NOT NULL,
    request          TEXT NOT NULL,
    stats            TEXT NOT NULL,
    manifest_sha256  TEXT NOT NULL,
    max_generation   INTEGER NOT NULL,
    generation_basis TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    log_index        INTEGER NOT NULL
);

-- A mix's manifest, its sample ids in order, packed 16 bytes an id into chunks of up to 4,096 ids:
-- a mix of 500,000 samples is 123 rows, not 500,000.
CREATE TABLE mix_manifest (
    mix_id     TEXT NOT NULL REFERENCES mixes (id),
    chunk      INTEGER NOT NULL,
    sample_ids BLOB NOT NULL,
    PRIMARY KEY (mix_id, chunk)
); -- a rowid table: its rows run to 64 KiB, too large for WITHOUT ROWID

CREATE TABLE model_training (
    model_id TEXT NOT NULL REFERENCES models (id),
    mix_id   TEXT NOT NULL REFERENCES mixes (id),
    ord      INTEGER NOT NULL,
    PRIMARY KEY (model_id, mix_id)
) WITHOUT ROWID;
