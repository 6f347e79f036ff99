-- Policies, mixes and decisions, and the mixes a model was trained on.

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

CREATE TABLE decisions (
    id             TEXT PRIMARY KEY,
    policy_name    TEXT NOT NULL,
    policy_version INTEGER NOT NULL,
    policy_sha256  TEXT NOT NULL,
    allowed        INTEGER NOT NULL,
    violations     TEXT NOT NULL,
    input          TEXT NOT NULL,
    evaluated_at   INTEGER NOT NULL,
    dry_run        INTEGER NOT NULL DEFAULT 0,
    log_index      INTEGER NOT NULL
);

CREATE TABLE mixes (
    id              TEXT PRIMARY KEY,
    policy_name     TEXT NOT NULL,
    policy_version  INTEGER NOT NULL,
    policy_sha256   TEXT NOT NULL,
    decision_id     TEXT NOT NULL REFERENCES decisions (id),
    size            INTEGER NOT NULL,
    seed            INTEGER NOT NULL,
    strategy        TEXT NOT NULL,
    request         TEXT NOT NULL,
    stats           TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    log_index       INTEGER NOT NULL
);

-- A mix's manifest: its samples in order.
CREATE TABLE mix_samples (
    mix_id    TEXT NOT NULL REFERENCES mixes (id),
    ord       INTEGER NOT NULL,
    sample_id TEXT NOT NULL REFERENCES samples (id),
    PRIMARY KEY (mix_id, ord)
) WITHOUT ROWID;

CREATE TABLE model_training (
    model_id TEXT NOT NULL REFERENCES models (id),
    mix_id   TEXT NOT NULL REFERENCES mixes (id),
    ord      INTEGER NOT NULL,
    PRIMARY KEY (model_id, mix_id)
) WITHOUT ROWID;
