-- Policies, mixes and decisions, and the mixes a model was trained on: the same tables and columns
-- as the SQLite store's 0002_mixes.sql. JSON documents are kept as TEXT, byte for byte as written
-- (their hashes are logged); flags are BOOLEAN.

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

CREATE TABLE decisions (
    id             TEXT COLLATE "C" PRIMARY KEY,
    policy_name    TEXT COLLATE "C" NOT NULL,
    policy_version INTEGER NOT NULL,
    policy_sha256  TEXT COLLATE "C" NOT NULL,
    allowed        BOOLEAN NOT NULL,
    violations     TEXT COLLATE "C" NOT NULL,
    input          TEXT COLLATE "C" NOT NULL,
    evaluated_at   BIGINT NOT NULL,
    dry_run        BOOLEAN NOT NULL DEFAULT FALSE,
    log_index      BIGINT NOT NULL
);

CREATE TABLE mixes (
    id              TEXT COLLATE "C" PRIMARY KEY,
    policy_name     TEXT COLLATE "C" NOT NULL,
    policy_version  INTEGER NOT NULL,
    policy_sha256   TEXT COLLATE "C" NOT NULL,
    decision_id     TEXT COLLATE "C" NOT NULL REFERENCES decisions (id),
    size            BIGINT NOT NULL,
    seed            BIGINT NOT NULL,
    strategy        TEXT COLLATE "C" NOT NULL,
    request         TEXT COLLATE "C" NOT NULL,
    stats           TEXT COLLATE "C" NOT NULL,
    manifest_sha256 TEXT COLLATE "C" NOT NULL,
    created_at      BIGINT NOT NULL,
    log_index       BIGINT NOT NULL
);

-- A mix's manifest: its samples in order.
CREATE TABLE mix_samples (
    mix_id    TEXT COLLATE "C" NOT NULL REFERENCES mixes (id),
    ord       INTEGER NOT NULL,
    sample_id TEXT COLLATE "C" NOT NULL REFERENCES samples (id),
    PRIMARY KEY (mix_id, ord)
);

CREATE TABLE model_training (
    model_id TEXT COLLATE "C" NOT NULL REFERENCES models (id),
    mix_id   TEXT COLLATE "C" NOT NULL REFERENCES mixes (id),
    ord      INTEGER NOT NULL,
    PRIMARY KEY (model_id, mix_id)
);
