import type { Dialect } from "./driver.js";

/**
 * The schema, one list for both databases: entry i takes a database from version i to i + 1
 * (SQLite keeps the version in `PRAGMA user_version`, PostgreSQL in `schema_migrations`). The
 * tables are written once (`jobsTable`, `datasetsTable`, …) with the dialect's types; the steps
 * that shipped differently (SQLite had no owners at version 1, PostgreSQL no data sets) stay as
 * they were, so a database at any version of its dialect is brought up to date. Never edit a step
 * that has shipped: append.
 */
export function migrations(d: Dialect): string[] {
  return MIGRATIONS.map((step) => step(d));
}

/** The dialect's column types. */
function types(d: Dialect) {
  const sqlite = d.name === "sqlite";
  return {
    serial: sqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY",
    bigint: sqlite ? "INTEGER" : "BIGINT",
    blob: sqlite ? "BLOB" : "BYTEA",
    withoutRowid: sqlite ? " WITHOUT ROWID" : "",
  };
}

const OWNER = "owner TEXT NOT NULL DEFAULT 'anonymous',";

/** The columns every table of owned things begins with: order of creation, id, and the owner when it has one. */
function keyColumns(d: Dialect, owner: boolean): string {
  return `seq ${types(d).serial},\n    id TEXT NOT NULL UNIQUE,${owner ? `\n    ${OWNER}` : ""}`;
}

/** Stored data sets (`owner`: PostgreSQL had owners from its first data set; SQLite added them at 2). */
function datasetsTable(d: Dialect, owner: boolean): string {
  const t = types(d);
  return `
  CREATE TABLE datasets (
    ${keyColumns(d, owner)}
    name         TEXT,
    created_at   TEXT NOT NULL,
    format       TEXT NOT NULL CHECK (format IN ('json', 'csv')),
    samples      INTEGER NOT NULL,
    input_shape  TEXT NOT NULL,   -- JSON array: the shape of one sample
    target_shape TEXT NOT NULL,   -- JSON array: the shape of one target ([] = one number)
    classes      TEXT,            -- JSON array of class names (label i is classes[i]), or NULL
    columns      TEXT,            -- CSV: JSON {features: [...], label}
    x            ${t.blob} NOT NULL,   -- float64 little-endian, samples × size(input_shape)
    y            ${t.blob} NOT NULL    -- float64 little-endian, samples × size(target_shape)
  );`;
}

/** Training jobs with their checkpoint and event log (`owner`: PostgreSQL's first version had it). */
function jobsTables(d: Dialect, owner: boolean): string {
  const t = types(d);
  return `
  CREATE TABLE jobs (
    ${keyColumns(d, owner)}
    status          TEXT NOT NULL
                    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    created_at      TEXT NOT NULL,
    started_at      TEXT,
    finished_at     TEXT,
    request         TEXT NOT NULL,   -- the POST /jobs body as JSON, with the seed filled in
    seed            ${t.bigint} NOT NULL,
    dataset_id      TEXT,            -- a stored data set it trains on (not a foreign key: kept after deletion)
    idempotency_key TEXT UNIQUE,     -- "<owner> <key>": unique per owner
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

  -- The latest checkpoint of a running job; replaced at every checkpoint, dropped when it ends.
  CREATE TABLE checkpoints (
    job_id          TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    epochs_done     INTEGER NOT NULL,
    weights         ${t.blob} NOT NULL,   -- encodeTensors
    optimizer_state ${t.blob} NOT NULL,   -- encodeOptimizerState
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
  )${t.withoutRowid};`;
}

/**
 * Trained models (`SqlModelStore`): their spec and history as JSON text, their weights as one
 * `encodeTensors` blob (float64, trainable then non-trainable state, in the model's order).
 */
function modelsTable(d: Dialect): string {
  const t = types(d);
  return `
  CREATE TABLE models (
    ${keyColumns(d, true)}
    created_at     TEXT NOT NULL,
    source         TEXT NOT NULL CHECK (source IN ('job', 'train', 'import')),
    job_id         TEXT,            -- the job it came from (not a foreign key: kept after the job is deleted)
    spec           TEXT NOT NULL,   -- JSON: the model spec
    optimizer      TEXT,            -- JSON: the optimiser config it was trained with
    metrics        TEXT,            -- JSON: final metrics and a history summary
    dataset        TEXT,            -- JSON: {id}, {builtin} or {inline: {samples}}
    seed           ${t.bigint},
    engine_version TEXT NOT NULL,
    weights_sha256 TEXT NOT NULL,
    parameters     ${t.bigint} NOT NULL,
    loss_given     INTEGER NOT NULL DEFAULT 1, -- 0: imported without a loss (spec.loss is a placeholder)
    base_model_id  TEXT,            -- the model a run started from (not a foreign key: kept after it is deleted)
    weights        ${t.blob} NOT NULL   -- encodeTensors
  );
  CREATE INDEX models_by_owner ON models (owner, seq);
  CREATE INDEX models_by_created ON models (created_at);`;
}

/**
 * Webhook endpoints per owner, one delivery per endpoint and event (written in the transaction
 * that ends the job: `SqlJobStore.finish`), and each delivery's attempts.
 */
function webhooksTables(d: Dialect): string {
  const t = types(d);
  return `
  CREATE TABLE webhooks (
    ${keyColumns(d, true)}
    created_at      TEXT NOT NULL,
    url             TEXT NOT NULL,
    events          TEXT NOT NULL,   -- JSON array of event types
    secret          TEXT NOT NULL,   -- whsec_…: signs deliveries
    previous_secret TEXT,            -- the secret before the last rotation, also signing until:
    previous_until  ${t.bigint}      -- ms since the epoch
  );
  CREATE INDEX webhooks_by_owner ON webhooks (owner, seq);

  CREATE TABLE webhook_deliveries (
    seq             ${t.serial},
    id              TEXT NOT NULL UNIQUE,   -- msg_…: the webhook-id header, the same on every attempt
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_type      TEXT NOT NULL,
    subject_id      TEXT NOT NULL,          -- the job
    payload         TEXT NOT NULL,          -- the JSON body, signed as is
    created_at      TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at ${t.bigint},            -- ms since the epoch; a sender's claim moves it past its timeout
    UNIQUE (webhook_id, event_type, subject_id)
  );
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
  CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, seq);

  CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          TEXT NOT NULL,
    status_code INTEGER,
    outcome     TEXT NOT NULL,   -- the status line, or why there was no answer (at most 200 characters)
    PRIMARY KEY (delivery_id, attempt)
  )${t.withoutRowid};`;
}

/**
 * Tuning jobs (`SqlTuningStore`): the body (seed filled in), the status and the best trial; one
 * row per trial proposed (its job, values and outcome, and its objective per epoch for the median
 * rule); the event log of their streams, one event per `key` (a coordinator that resumes, or a
 * second one, adds none twice).
 */
function tuningTables(d: Dialect): string {
  const t = types(d);
  return `
  CREATE TABLE tuning_jobs (
    ${keyColumns(d, true)}
    status      TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    created_at  TEXT NOT NULL,
    finished_at TEXT,
    request     TEXT NOT NULL,   -- the POST /tuning-jobs body as JSON, with the seed filled in
    seed        ${t.bigint} NOT NULL,
    best_trial  INTEGER,         -- the index of the best succeeded trial, once it has ended
    error       TEXT             -- JSON problem details when failed
  );
  CREATE INDEX tuning_jobs_by_owner ON tuning_jobs (owner, seq);

  CREATE TABLE tuning_trials (
    tuning_job_id TEXT NOT NULL REFERENCES tuning_jobs (id) ON DELETE CASCADE,
    idx           INTEGER NOT NULL,
    job_id        TEXT,            -- the trial's job (not a foreign key: kept after it is deleted); NULL when it could not be created
    parameters    TEXT NOT NULL,   -- JSON: the values by path
    seed          ${t.bigint} NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled', 'stopped')),
    objective     DOUBLE PRECISION,
    epochs_run    INTEGER NOT NULL DEFAULT 0,
    model_id      TEXT,
    curve         TEXT NOT NULL DEFAULT '[]',   -- JSON: the objective per epoch it ran
    error         TEXT,
    PRIMARY KEY (tuning_job_id, idx)
  );

  CREATE TABLE tuning_events (
    tuning_job_id TEXT NOT NULL REFERENCES tuning_jobs (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    event_key     TEXT NOT NULL,
    type          TEXT NOT NULL,
    data          TEXT NOT NULL,
    PRIMARY KEY (tuning_job_id, seq),
    UNIQUE (tuning_job_id, event_key)
  );
  ALTER TABLE jobs ADD COLUMN tuning_job_id TEXT;
  CREATE INDEX jobs_by_tuning_job ON jobs (tuning_job_id) WHERE tuning_job_id IS NOT NULL;`;
}

const JOBS_BY_DATASET = "CREATE INDEX jobs_by_dataset ON jobs (dataset_id) WHERE dataset_id IS NOT NULL;";
const BY_OWNER = `
  CREATE INDEX jobs_by_owner ON jobs (owner, seq);
  CREATE INDEX datasets_by_owner ON datasets (owner, seq);`;

const MIGRATIONS: readonly ((d: Dialect) => string)[] = [
  // 1: training jobs with their checkpoint and event log; SQLite's stored data sets.
  (d) =>
    d.name === "sqlite"
      ? `${datasetsTable(d, false)}${jobsTables(d, false)}\n  ${JOBS_BY_DATASET}`
      : `${jobsTables(d, true)}\n  CREATE INDEX jobs_by_owner ON jobs (owner, seq);`,
  // 2: owners (API keys) in SQLite: rows from before belong to "anonymous", the owner when
  // API_KEYS is unset, and an idempotency key is unique per owner ("<owner> <key>": an owner id
  // has no space). PostgreSQL: its stored data sets, shared by every API process and worker.
  (d) =>
    d.name === "sqlite"
      ? `
  ALTER TABLE jobs ADD COLUMN ${OWNER.slice(0, -1)};
  ALTER TABLE datasets ADD COLUMN ${OWNER.slice(0, -1)};
  UPDATE jobs SET idempotency_key = 'anonymous ' || idempotency_key WHERE idempotency_key IS NOT NULL;${BY_OWNER}`
      : `${datasetsTable(d, true)}
  CREATE INDEX datasets_by_owner ON datasets (owner, seq);
  ${JOBS_BY_DATASET}`,
  // 3: job priorities (lower runs sooner; see DEFAULT_PRIORITY), and in PostgreSQL the index
  // MAX_JOBS_PER_CLIENT counts a client's running jobs by.
  (d) =>
    "ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 100;" +
    (d.name === "postgres"
      ? "\n  CREATE INDEX jobs_running_by_owner ON jobs (owner) WHERE status = 'running';"
      : ""),
  // 4: the model registry: every succeeded job's model, /train's when saved, and imports; a job
  // names the model it stored.
  (d) => `${modelsTable(d)}\n  ALTER TABLE jobs ADD COLUMN model_id TEXT;`,
  // 5: webhooks: endpoints per owner, deliveries of job events, and their attempts.
  (d) => webhooksTables(d),
  // 6: hyperparameter tuning jobs, their trials and events; a trial's job names its tuning job.
  (d) => tuningTables(d),
  // 7: a tuning trial's job carries the median rule its runner applies (JSON `StopRule`).
  () => "ALTER TABLE jobs ADD COLUMN stop_rule TEXT;",
];
