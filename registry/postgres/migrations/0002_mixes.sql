-- Policies, decisions and mixes, and the mixes a model was trained on: the same tables and columns
-- as the SQLite store's 0002_mixes.sql. JSON documents are kept as TEXT, byte for byte as written
-- (their hashes are logged); flags are BOOLEAN; times are Unix milliseconds.

CREATE TABLE policy_versions (
    name       TEXT COLLATE "C" NOT NULL,
    version    INTEGER NOT NULL,
    sha256     TEXT COLLATE "C" NOT NULL,
    module     TEXT COLLATE "C" NOT NULL,
    limits     TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    log_index  BIGINT NOT NULL,
    PRIMARY KEY (name, version)
);

-- Every evaluation of a proposed mix that was not a dry run; mix_id is set when it was allowed.
CREATE TABLE decisions (
    id             TEXT COLLATE "C" PRIMARY KEY,
    policy_name    TEXT COLLATE "C" NOT NULL,
    policy_version INTEGER NOT NULL,
    policy_sha256  TEXT COLLATE "C" NOT NULL,
    allowed        BOOLEAN NOT NULL,
    violations     TEXT COLLATE "C" NOT NULL,
    error          TEXT COLLATE "C" NOT NULL DEFAULT '',
    input          TEXT COLLATE "C" NOT NULL,
    mix_id         TEXT COLLATE "C",
    evaluated_at   BIGINT NOT NULL,
    log_index      BIGINT NOT NULL
);

CREATE TABLE mixes (
    id               TEXT COLLATE "C" PRIMARY KEY,
    policy_name      TEXT COLLATE "C" NOT NULL,
    policy_version   INTEGER NOT NULL,
    policy_sha256    TEXT COLLATE "C" NOT NULL,
    decision_id      TEXT COLLATE "C" NOT NULL REFERENCES decisions (id),
    size             INTEGER NOT NULL,
    seed             BIGINT NOT NULL,
    strategy         TEXT COLLATE "C" NOT NULL,
    request          TEXT COLLATE "C" NOT NULL,
    stats            TEXT COLLATE "C" NOT NULL,
    manifest_sha256  TEXT COLLATE "C" NOT NULL,
    max_generation   INTEGER NOT NULL,
    generation_basis TEXT COLLATE "C" NOT NULL,
    created_at       BIGINT NOT NULL,
    log_index        BIGINT NOT NULL
);

-- A mix's manifest, its sample ids in order, packed 16 bytes an id (the UUID's bytes) into chunks
-- of up to 4,096 ids: a mix of 500,000 samples is 123 rows, not 500,000.
CREATE TABLE mix_manifest (
    mix_id     TEXT COLLATE "C" NOT NULL REFERENCES mixes (id),
    chunk      INTEGER NOT NULL,
    sample_ids BYTEA NOT NULL,
    PRIMARY KEY (mix_id, chunk)
);

CREATE TABLE model_training (
    model_id TEXT COLLATE "C" NOT NULL REFERENCES models (id),
    mix_id   TEXT COLLATE "C" NOT NULL REFERENCES mixes (id),
    ord      INTEGER NOT NULL,
    PRIMARY KEY (model_id, mix_id)
);
