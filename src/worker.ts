/**
 * `npm run worker`: a worker process of the distributed mode. Takes jobs from the BullMQ queue on
 * REDIS_URL, runs them on its own thread pool (POOL_SIZE threads, WORKER_CONCURRENCY jobs at a
 * time), keeps their records, checkpoints and events in PostgreSQL (DATABASE_URL), where it also
 * reads the stored data sets the jobs name and stores each succeeded job's model (the job store's
 * `finish`, in the transaction that ends the job). Run any number, on any host. SIGTERM/SIGINT: running
 * jobs go back on the queue and resume elsewhere from their last checkpoint.
 */
import pino from "pino";
import { configWarnings, loadConfigOrExit } from "./config.js";
import { distributedWorker } from "./service/distributed/distributed.js";
import { EngineService } from "./service/engine-service.js";
import { EnginePool } from "./service/pool.js";
import { PgDatabase } from "./service/store/postgres/database.js";
import { SqlDatasetStore } from "./service/store/sql/sql-dataset-store.js";
import { SqlJobStore } from "./service/store/sql/sql-job-store.js";
import { closeOnSignals } from "./shutdown.js";

const config = loadConfigOrExit();
const log = pino({ level: config.logLevel });
for (const warning of configWarnings(config)) log.warn(warning);
const d = config.distributed;
if (!d) {
  log.fatal("the worker needs REDIS_URL and DATABASE_URL (the distributed mode)");
  process.exit(1);
}
/** Logs why the worker cannot start (one line: PostgreSQL or Redis not reachable, say) and exits 1. */
function fatal(err: unknown): never {
  log.fatal({ reason: err instanceof Error ? err.message : String(err) }, "could not start");
  process.exit(1);
}
const database = new PgDatabase(d.databaseUrl, d.schema);
await database.migrate().catch(fatal);
const pool = new EnginePool({
  size: config.poolSize,
  maxQueue: Math.max(config.maxQueue, d.workerConcurrency),
  minThreads: 1,
  maxHeapMb: config.workerMaxHeapMb,
  onError: (err, kind) =>
    kind === "lateResult"
      ? log.debug("an aborted task's result arrived after its thread was stopped; dropped")
      : log.error({ err }, "worker pool error"),
});
// Stored data sets live in PostgreSQL beside the jobs (the API processes store them there), over the same pool.
const datasets = new SqlDatasetStore(database);
const engine = new EngineService(pool, config, (id) => datasets.load(id));
const runner = distributedWorker(new SqlJobStore(database), engine, pool, {
  redisUrl: d.redisUrl,
  prefix: d.prefix,
  concurrency: d.workerConcurrency,
  checkpointEvery: config.checkpointEvery,
  checkpointMinMs: config.checkpointMinMs,
  lockDurationMs: d.lockMs,
  stalledIntervalMs: Math.max(500, Math.floor(d.lockMs / 2)),
  maxPerOwner: config.maxJobsPerClient,
  holdMs: d.holdMs,
  log,
});

// A repeat of the stop signal within a second (the process group signalled as a whole) is the same stop.
closeOnSignals({ delayMs: config.shutdownTimeoutMs, log }, async ({ signal, err }) => {
  if (err) log.error({ err }, "worker shutting down after an error");
  else log.info({ signal }, "worker shutting down");
  const { interrupted } = await runner.stop();
  log.info({ interrupted }, "jobs interrupted: back on the queue, they resume from their last checkpoint");
  await pool.close();
  await database.close();
});

await runner.start().catch(fatal);
log.info(
  {
    concurrency: d.workerConcurrency,
    pool: config.poolSize,
    prefix: d.prefix,
    maxJobsPerClient: config.maxJobsPerClient ?? null,
  },
  "worker ready",
);
