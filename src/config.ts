import { availableParallelism } from "node:os";
import { z } from "zod";

const int = (min: number) => z.coerce.number().int().min(min);

const EnvSchema = z.object({
  PORT: int(0).max(65_535).default(3000),
  /** 127.0.0.1 on a developer machine; the Docker image sets 0.0.0.0. */
  HOST: z.string().min(1).default("127.0.0.1"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Largest request body, bytes (413 beyond). */
  BODY_LIMIT: int(1024).default(10 * 1024 * 1024),
  /** Worker threads running the engine. */
  POOL_SIZE: int(1).default(Math.max(1, availableParallelism() - 1)),
  /** Requests allowed to wait for a worker; more are answered 503 with Retry-After. */
  MAX_QUEUE: int(0).default(64),
  /** Largest model accepted, in trainable parameters (422 beyond). */
  MAX_PARAMS: int(1).default(2_000_000),
  /**
   * Compute budget of one request, in forward multiply-adds (samples × epochs × per-sample cost,
   * plus the numerical check). 422 beyond; about a minute of CPU at the default.
   */
  MAX_WORK: z.coerce.number().positive().default(2e10),
  /** Where the SQLite database (jobs, stored data sets) lives; `:memory:` keeps nothing. */
  DATA_DIR: z.string().min(1).default("./data"),
  /** Training jobs running at once; the rest wait in order. Default: half the workers (≥ 1). */
  MAX_CONCURRENT_JOBS: int(1).optional(),
  /** A running job stores its weights and optimiser state every this many epochs. */
  CHECKPOINT_EVERY: int(1).default(10),
  /** Largest heap of one worker thread, MiB (unset: Node's default); a worker over it fails its task alone. */
  WORKER_MAX_HEAP_MB: int(16).optional(),
});

export interface Config {
  port: number;
  host: string;
  logLevel: z.infer<typeof EnvSchema>["LOG_LEVEL"];
  bodyLimit: number;
  poolSize: number;
  maxQueue: number;
  maxParams: number;
  maxWork: number;
  dataDir: string;
  maxConcurrentJobs: number;
  checkpointEvery: number;
  workerMaxHeapMb?: number;
}

/**
 * Reads and validates the configuration from `env` once, at start-up.
 * @throws Error listing every bad variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid configuration:\n  ${lines.join("\n  ")}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    bodyLimit: e.BODY_LIMIT,
    poolSize: e.POOL_SIZE,
    maxQueue: e.MAX_QUEUE,
    maxParams: e.MAX_PARAMS,
    maxWork: e.MAX_WORK,
    dataDir: e.DATA_DIR,
    maxConcurrentJobs: e.MAX_CONCURRENT_JOBS ?? Math.max(1, Math.floor(e.POOL_SIZE / 2)),
    checkpointEvery: e.CHECKPOINT_EVERY,
    workerMaxHeapMb: e.WORKER_MAX_HEAP_MB,
  };
}
