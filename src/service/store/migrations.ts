/**
 * Schema migrations, applied in order at start-up (`migrate`); entry i takes the schema from
 * version i to i + 1. Never edit one that has shipped: append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: stored data sets, training jobs with their checkpoint and event log.
  `
  CREATE TABLE datasets (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    name         TEXT,
    created_at   TEXT NOT NULL,
    format       TEXT NOT NULL CHECK (format IN ('json', 'csv')),
    samples      INTEGER NOT NULL,
    input_shape  TEXT NOT NULL,   -- JSON array: the shape of one sample
    target_shape TEXT NOT NULL,   -- JSON array: the shape of one target ([] = one number)
    classes      TEXT,            -- JSON array of class names (label i is classes[i]), or NULL
    columns      TEXT,            -- CSV: JSON {features: [...], label}
    x            BLOB NOT NULL,   -- float64 little-endian, samples × size(input_shape)
    y            BLOB NOT NULL    -- float64 little-endian, samples × size(target_shape)
  );

  CREATE TABLE jobs (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL
                    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    created_at      TEXT NOT NULL,
    started_at      TEXT,
    finished_at     TEXT,
    request         TEXT NOT NULL,   -- the POST /jobs body as JSON, with the seed filled in
    seed            INTEGER NOT NULL,
    dataset_id      TEXT,            -- a stored data set it trains on (not a foreign key: kept after deletion)
    idempotency_key TEXT UNIQUE,
    request_hash    TEXT,            -- SHA-256 of the canonical body, to tell a retry from a reuse of the key
    epochs          INTEGER NOT NULL,
    epochs_done     INTEGER NOT NULL DEFAULT 0,
    progress        TEXT,            -- JSON: the latest epoch's values
    attempts        INTEGER NOT NULL DEFAULT 0,   -- times a worker started it (1 + resumptions)
    error           TEXT,            -- JSON problem details when failed
    diverged        TEXT,            -- JSON divergence report when the loss became non-finite
    result          TEXT             -- the training result as JSON text when succeeded
  );
  CREATE INDEX jobs_by_status ON jobs (status, seq);
  CREATE INDEX jobs_by_dataset ON jobs (dataset_id) WHERE dataset_id IS NOT NULL;

  -- The latest checkpoint of a running job; replaced at every checkpoint, dropped when it ends.
  CREATE TABLE checkpoints (
    job_id          TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    epochs_done     INTEGER NOT NULL,
    weights         BLOB NOT NULL,   -- encodeTensors
    optimizer_state BLOB NOT NULL,   -- encodeOptimizerState
    summary         TEXT NOT NULL,   -- JSON: history, telemetry and timings so far
    created_at      TEXT NOT NULL
  );

  -- Server-sent events of a job, replayed to late subscribers (Last-Event-ID).
  CREATE TABLE job_events (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    type   TEXT NOT NULL,
    data   TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
  ) WITHOUT ROWID;
  `,
  // 2: owners (API keys). Rows from before belong to "anonymous", the owner when API_KEYS is
  // unset. An idempotency key is unique per owner: the column holds "<owner> <key>" (an owner id
  // has no space), so two owners may use the same key without seeing each other's jobs.
  `
  ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT 'anonymous';
  ALTER TABLE datasets ADD COLUMN owner TEXT NOT NULL DEFAULT 'anonymous';
  UPDATE jobs SET idempotency_key = 'anonymous ' || idempotency_key WHERE idempotency_key IS NOT NULL;
  CREATE INDEX jobs_by_owner ON jobs (owner, seq);
  CREATE INDEX datasets_by_owner ON datasets (owner, seq);
  `,
  // 3: job priorities (lower runs sooner; see DEFAULT_PRIORITY).
  `
  ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 100;
  `,
];
