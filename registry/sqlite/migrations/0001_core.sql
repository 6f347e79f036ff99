-- The registry core: models, samples and their lineage, API keys, idempotency records and the log.
-- Times are Unix milliseconds (UTC); ids are UUID text.

CREATE TABLE models (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    version             TEXT NOT NULL,
    provider            TEXT NOT NULL DEFAULT '',
    declared_generation INTEGER,
    generation          INTEGER NOT NULL,
    generation_basis    TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    log_index           INTEGER NOT NULL,
    UNIQUE (name, version)
);

CREATE TABLE samples (
    id               TEXT PRIMARY KEY,
    text             TEXT NOT NULL,
    content_sha256   TEXT NOT NULL,
    identity_sha256  TEXT NOT NULL UNIQUE,
    origin           TEXT NOT NULL CHECK (origin IN ('human', 'model')),
    model_id         TEXT REFERENCES models (id),
    model            TEXT,
    prompt_id        TEXT REFERENCES samples (id),
    dataset          TEXT NOT NULL DEFAULT '',
    source_kind      TEXT NOT NULL,
    source_name      TEXT NOT NULL DEFAULT '',
    source_uri       TEXT NOT NULL DEFAULT '',
    license          TEXT NOT NULL DEFAULT '',
    metadata         TEXT,
    generation       INTEGER NOT NULL,
    generation_basis TEXT NOT NULL,
    tokens           INTEGER NOT NULL,
    mtld             REAL NOT NULL,
    toxicity         REAL,
    metrics_version  TEXT NOT NULL,
    toxicity_scorer  TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    log_index        INTEGER NOT NULL,
    CHECK ((origin = 'model') = (model_id IS NOT NULL))
);
CREATE INDEX samples_content ON samples (content_sha256);
CREATE INDEX samples_prompt ON samples (prompt_id) WHERE prompt_id IS NOT NULL;
CREATE INDEX samples_model ON samples (model_id) WHERE model_id IS NOT NULL;

-- An edge points from parent to child; kind is 'prompt' for the prompt a sample answers.
CREATE TABLE edges (
    child_id  TEXT NOT NULL REFERENCES samples (id),
    parent_id TEXT NOT NULL REFERENCES samples (id),
    kind      TEXT NOT NULL CHECK (kind IN ('parent', 'prompt')),
    PRIMARY KEY (child_id, parent_id)
) WITHOUT ROWID;
CREATE INDEX edges_parent ON edges (parent_id, child_id);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('ingest', 'auditor', 'admin')),
    hash       BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    log_index  INTEGER NOT NULL,
    revoked_log_index INTEGER
);

CREATE TABLE idempotency (
    scope          TEXT NOT NULL,
    key            TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    result         TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;

-- The Merkle log: leaves verbatim, and the stored hashes of golang.org/x/mod/sumdb/tlog.
CREATE TABLE log_leaves (
    idx       INTEGER PRIMARY KEY,
    kind      TEXT NOT NULL,
    record_id TEXT NOT NULL,
    leaf      BLOB NOT NULL
);
CREATE TABLE log_hashes (
    idx  INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
);
CREATE TABLE log_checkpoints (
    size       INTEGER PRIMARY KEY,
    root       BLOB NOT NULL,
    note       BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
