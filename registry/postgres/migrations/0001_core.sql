-- The registry core: models, samples and their lineage, API keys, idempotency records and the log.
-- The same tables and columns as the SQLite store's 0001_core.sql, plus log_head, the log's
-- sequencer. Times are Unix milliseconds (UTC); ids are UUID text. Text columns use the "C"
-- collation, so that ordering and range comparisons are byte-wise, as in SQLite and Go, whatever
-- the database's locale (cursor pagination and tie-breaks by id depend on it).

CREATE TABLE models (
    id                  TEXT COLLATE "C" PRIMARY KEY,
    name                TEXT COLLATE "C" NOT NULL,
    version             TEXT COLLATE "C" NOT NULL,
    provider            TEXT COLLATE "C" NOT NULL DEFAULT '',
    declared_generation INTEGER,
    generation          INTEGER NOT NULL,
    generation_basis    TEXT COLLATE "C" NOT NULL,
    created_at          BIGINT NOT NULL,
    log_index           BIGINT NOT NULL,
    UNIQUE (name, version)
);

CREATE TABLE samples (
    id               TEXT COLLATE "C" PRIMARY KEY,
    text             TEXT COLLATE "C" NOT NULL,
    content_sha256   TEXT COLLATE "C" NOT NULL,
    identity_sha256  TEXT COLLATE "C" NOT NULL UNIQUE,
    origin           TEXT COLLATE "C" NOT NULL CHECK (origin IN ('human', 'model')),
    model_id         TEXT COLLATE "C" REFERENCES models (id),
    model            TEXT COLLATE "C",
    prompt_id        TEXT COLLATE "C" REFERENCES samples (id),
    dataset          TEXT COLLATE "C" NOT NULL DEFAULT '',
    source_kind      TEXT COLLATE "C" NOT NULL,
    source_name      TEXT COLLATE "C" NOT NULL DEFAULT '',
    source_uri       TEXT COLLATE "C" NOT NULL DEFAULT '',
    license          TEXT COLLATE "C" NOT NULL DEFAULT '',
    metadata         TEXT COLLATE "C",
    generation       INTEGER NOT NULL,
    generation_basis TEXT COLLATE "C" NOT NULL,
    tokens           INTEGER NOT NULL,
    mtld             DOUBLE PRECISION NOT NULL,
    toxicity         DOUBLE PRECISION,
    metrics_version  TEXT COLLATE "C" NOT NULL,
    toxicity_scorer  TEXT COLLATE "C" NOT NULL,
    created_at       BIGINT NOT NULL,
    log_index        BIGINT NOT NULL,
    CHECK ((origin = 'model') = (model_id IS NOT NULL))
);
CREATE INDEX samples_content ON samples (content_sha256);
CREATE INDEX samples_prompt ON samples (prompt_id) WHERE prompt_id IS NOT NULL;
CREATE INDEX samples_model ON samples (model_id) WHERE model_id IS NOT NULL;

-- An edge points from parent to child; kind is 'prompt' for the prompt a sample answers.
CREATE TABLE edges (
    child_id  TEXT COLLATE "C" NOT NULL REFERENCES samples (id),
    parent_id TEXT COLLATE "C" NOT NULL REFERENCES samples (id),
    kind      TEXT COLLATE "C" NOT NULL CHECK (kind IN ('parent', 'prompt')),
    PRIMARY KEY (child_id, parent_id)
);
CREATE INDEX edges_parent ON edges (parent_id, child_id);

CREATE TABLE api_keys (
    id         TEXT COLLATE "C" PRIMARY KEY,
    role       TEXT COLLATE "C" NOT NULL CHECK (role IN ('ingest', 'auditor', 'admin')),
    hash       BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    log_index  BIGINT NOT NULL,
    revoked_log_index BIGINT
);

CREATE TABLE idempotency (
    scope          TEXT COLLATE "C" NOT NULL,
    key            TEXT COLLATE "C" NOT NULL,
    request_sha256 TEXT COLLATE "C" NOT NULL,
    result         TEXT COLLATE "C" NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);

-- The Merkle log: leaves verbatim, and the stored hashes of golang.org/x/mod/sumdb/tlog.
CREATE TABLE log_leaves (
    idx       BIGINT PRIMARY KEY CHECK (idx >= 0),
    kind      TEXT COLLATE "C" NOT NULL,
    record_id TEXT COLLATE "C" NOT NULL,
    leaf      BYTEA NOT NULL
);
CREATE TABLE log_hashes (
    idx  BIGINT PRIMARY KEY CHECK (idx >= 0),
    hash BYTEA NOT NULL
);
CREATE TABLE log_checkpoints (
    size       BIGINT PRIMARY KEY,
    root       BYTEA NOT NULL,
    note       BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- The log's sequencer: one row holding the number of leaves. Every transaction that appends leaves
-- first locks this row (SELECT … FOR UPDATE), so that writers from every registryd instance append
-- one after another, leaves get indexes 0, 1, 2, … without gaps, and each writer's duplicate and
-- provenance checks see every earlier writer's rows.
CREATE TABLE log_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL CHECK (size >= 0)
);
INSERT INTO log_head (id, size) VALUES (1, 0);
