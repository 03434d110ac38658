import { availableParallelism } from "node:os";
import pino from "pino";
import { z } from "zod";

/** MAX_JOB_WORK's default, as a multiple of MAX_WORK: jobs exist for the long runs. */
export const JOB_WORK_FACTOR = 1000;

/**
 * A number written in decimal (`8`, `0.5`, `2e10`; spaces around are dropped), and nothing else:
 * `z.coerce.number` also took `0x2`, `0b10` and `Infinity`, and read `""` as 0 (`PORT=` listened
 * on a random port). An empty variable never reaches it: `loadConfig` treats it as unset.
 */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const num = () =>
  z.preprocess(
    (v) =>
      typeof v === "string" && DECIMAL.test(v.trim()) && Number.isFinite(Number(v)) ? Number(v.trim()) : v,
    z.number({ error: (issue) => `expected a number, got ${JSON.stringify(issue.input)}` }),
  );
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => num().pipe(z.number().int().min(min).max(max));

const EnvSchema = z.object({
  PORT: int(0, 65_535).default(3000),
  /** 127.0.0.1 on a developer machine; the Docker image sets 0.0.0.0. */
  HOST: z.string().min(1).default("127.0.0.1"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Largest request body, bytes (413 beyond). */
  BODY_LIMIT: int(1024).default(10 * 1024 * 1024),
  /** Worker threads running the engine. */
  POOL_SIZE: int(1).default(Math.max(1, availableParallelism() - 1)),
  /**
   * Threads one large matrix product may use (the engine's native kernels, docs/kernels.md): the
   * calling worker and up to ENGINE_THREADS − 1 low-priority helpers shared by the process; 1: no
   * helpers. Read where the kernels are loaded (src/native/kernels.ts); checked here at start.
   */
  ENGINE_THREADS: int(1, 64).default(Math.min(64, availableParallelism())),
  /** `off`: the engine's WebAssembly and TypeScript kernels instead of the native ones (same bits). Read by src/native/kernels.ts; checked here at start. */
  NATIVE_KERNELS: z.enum(["on", "off"]).default("on"),
  /**
   * Synchronous requests estimated at most this many multiply-adds (a /gradients or /predict of
   * a small model, a few epochs on a small data set) run at once on the main thread rather than
   * waiting for a worker; 0: every request goes to the pool. About 0.1 ms at the default.
   */
  INLINE_MAX_WORK: num().pipe(z.number().min(0)).default(50_000),
  /** Requests allowed to wait for a worker; more are answered 503 with Retry-After. */
  MAX_QUEUE: int(0).default(64),
  /** Largest model accepted, in trainable parameters (422 beyond). */
  MAX_PARAMS: int(1).default(2_000_000),
  /**
   * Compute budget of one request, in forward multiply-adds (samples × epochs × per-sample cost,
   * plus the numerical check). 422 beyond; about a minute of CPU at the default.
   */
  MAX_WORK: num().pipe(z.number().positive()).default(2e10),
  /**
   * Compute budget of one job (POST /jobs), in the same measure as MAX_WORK: jobs exist for long
   * runs, so it is far larger. 422 beyond at create. Default: 1000 × MAX_WORK (2e13, about half a
   * day of one worker's CPU at the defaults).
   */
  MAX_JOB_WORK: num().pipe(z.number().positive()).optional(),
  /** Where the SQLite database (jobs, stored data sets) lives; `:memory:` keeps nothing. */
  DATA_DIR: z.string().min(1).default("./data"),
  /** Training jobs running at once; the rest wait in order. Default: half the workers (≥ 1). */
  MAX_CONCURRENT_JOBS: int(1).optional(),
  /**
   * Jobs of one client (API key; everyone is one client without API_KEYS) running at once, over
   * all workers; its further jobs wait, and other clients' jobs run first. Unset: no limit.
   */
  MAX_JOBS_PER_CLIENT: int(1).optional(),
  /**
   * Finished jobs (succeeded, failed, cancelled) are deleted this many days after they ended, with
   * their events, results and idempotency keys, and webhook deliveries no longer pending (checked
   * at start and every hour). Unset: kept.
   */
  JOB_RETENTION_DAYS: num().pipe(z.number().positive()).optional(),
  /**
   * Stored models (the registry: every succeeded job's, /train's saved ones, imports) are deleted
   * this many days after they were created (checked at start and every hour). Unset: kept.
   */
  MODEL_RETENTION_DAYS: num().pipe(z.number().positive()).optional(),
  /** A running job stores its weights and optimiser state every this many epochs (at first, and at least). */
  CHECKPOINT_EVERY: int(1).default(10),
  /**
   * While a job's chunk of epochs takes less than half this long, the next one is twice as many
   * epochs: a fast model is not slowed down by a checkpoint every few milliseconds, and a crash
   * repeats at most about this much work. 0: exactly CHECKPOINT_EVERY epochs per checkpoint.
   */
  CHECKPOINT_MIN_MS: int(0).default(500),
  /** Largest heap of one worker thread, MiB (unset: Node's default); a worker over it fails its task alone. */
  WORKER_MAX_HEAP_MB: int(16).optional(),
  /**
   * Wall-clock limit of one synchronous request (POST /train, /gradients, /predict), waiting for
   * a worker included; past it the worker is stopped and the answer is 504 (use POST /jobs).
   */
  SYNC_TIMEOUT_MS: int(1).default(60_000),
  /** On SIGTERM/SIGINT, how long running requests may take to finish before the process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: int(1).default(30_000),
  /**
   * Comma-separated API keys; unset or empty: no authentication (local use). Each key is at least
   * 16 visible ASCII characters (no commas); the messages below never repeat a key.
   */
  API_KEYS: z
    .string()
    .default("")
    // Set but listing no key ("," — "$K1,$K2" with both unset) would turn access control off.
    .refine((s) => s.trim() === "" || s.split(",").some((k) => k.trim() !== ""), {
      message: "set but lists no key (only commas and spaces): unset it to run without keys",
    })
    .transform((s) =>
      s
        .split(",")
        .map((k) => k.trim())
        .filter((k) => k !== ""),
    )
    .refine((keys) => keys.every((k) => /^[\x21-\x7e]{16,}$/.test(k)), {
      message: "each key must be at least 16 visible ASCII characters (e.g. `openssl rand -hex 32`)",
    }),
  /** Requests per client (API key, or IP address without one) and window; unset: no rate limit. */
  RATE_LIMIT_MAX: int(1).optional(),
  RATE_LIMIT_WINDOW_MS: int(1).default(60_000),
  /**
   * Distributed mode: a Redis URL moves the job queue to BullMQ on Redis; worker processes
   * (`npm run worker`) run the jobs. Needs DATABASE_URL too (the workers share the job records).
   */
  REDIS_URL: z.string().url().optional(),
  /** Distributed mode: a PostgreSQL URL for jobs' records, checkpoints and events. */
  DATABASE_URL: z.string().url().optional(),
  /** The PostgreSQL schema holding the tables (created when missing). */
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default("public"),
  /** Prefix of every Redis key and channel (several deployments can share one Redis). */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/)
    .default("backprop"),
  /** Distributed mode: jobs one worker process runs at once (default: MAX_CONCURRENT_JOBS). */
  WORKER_CONCURRENCY: int(1).optional(),
  /**
   * Distributed mode: how long a worker's lock on a job lasts unless renewed; when a worker dies,
   * its job goes back on the queue within about this long and resumes from its checkpoint.
   */
  JOB_LOCK_MS: int(1000).default(30_000),
  /**
   * Distributed mode: a job held back by MAX_JOBS_PER_CLIENT waits in the queue's delayed set; the
   * end of one of its client's jobs releases it at once, and after this long it is tried again anyway.
   */
  JOB_HOLD_MS: int(100).default(5_000),
  /** Comma-separated origins allowed to call the API from a browser (CORS), or `*`; unset: same origin only. */
  CORS_ORIGINS: z
    .string()
    .default("")
    .transform((s) =>
      s
        .split(",")
        .map((o) => o.trim())
        .filter((o) => o !== ""),
    )
    .refine((origins) => origins.every((o) => o === "*" || /^https?:\/\/[^/\s]+$/.test(o)), {
      message: "each origin is `*` or scheme://host[:port], without a path",
    }),
  /**
   * Largest memory one batch's activations and gradients may take, in bytes (batch × the
   * model's values per sample × 8, or × 4 in a float32 run): these typed arrays live outside the heap WORKER_MAX_HEAP_MB
   * bounds. 422 beyond, naming `batchSize` (`x` for /predict). Default 512 MiB.
   */
  MAX_BATCH_BYTES: num()
    .pipe(z.number().positive())
    .default(512 * 2 ** 20),
  /**
   * Webhooks may be sent over http to a loopback address (a receiver on this machine: tests,
   * development). Unset (or 0, false): https only, and never to loopback.
   */
  WEBHOOK_ALLOW_INSECURE: z
    .enum(["", "0", "1", "false", "true"], { error: "expected 1 or true (set), 0 or false (unset)" })
    .default("")
    .transform((v) => v === "1" || v === "true"),
  /**
   * Delays before the 2nd, 3rd, … try of a webhook delivery that failed, in ms, comma-separated:
   * one try more than delays. Default 10 s, 1 min, 5 min, 30 min, 2 h, 6 h, 15 h (a day in all).
   */
  WEBHOOK_RETRY_DELAYS_MS: z
    .string()
    .default("10000,60000,300000,1800000,7200000,21600000,54000000")
    .refine((s) => /^\d{1,10}(,\d{1,10}){0,19}$/.test(s.replace(/\s+/g, "")), {
      message: "expected up to 20 delays in ms, comma-separated (e.g. 10000,60000,300000)",
    })
    .transform((s) => s.replace(/\s+/g, "").split(",").map(Number)),
  /** One webhook try (connect, send, answer) is abandoned after this long, and counts as failed. */
  WEBHOOK_TIMEOUT_MS: int(100, 60_000).default(10_000),
  /** How often each process looks for webhook deliveries due. */
  WEBHOOK_POLL_MS: int(10).default(1000),
  /**
   * Webhook tries each process has in flight at once, at most 2 of them to one endpoint: an
   * endpoint that does not answer holds back only its own deliveries.
   */
  WEBHOOK_CONCURRENCY: int(1, 256).default(8),
});

export interface Config {
  port: number;
  host: string;
  logLevel: z.infer<typeof EnvSchema>["LOG_LEVEL"];
  bodyLimit: number;
  poolSize: number;
  maxQueue: number;
  /** Largest estimated work (multiply-adds) of a request run on the main thread. */
  inlineMaxWork: number;
  maxParams: number;
  maxWork: number;
  /** Compute budget of one job (multiply-adds). */
  maxJobWork: number;
  dataDir: string;
  maxConcurrentJobs: number;
  /** Running jobs per client (owner) at once; undefined: no limit. */
  maxJobsPerClient?: number;
  checkpointEvery: number;
  /** Finished jobs are deleted this long after they ended (ms); undefined: kept. */
  jobRetentionMs?: number;
  /** Stored models are deleted this long after they were created (ms); undefined: kept. */
  modelRetentionMs?: number;
  /** Chunks of epochs grow (doubling) while one takes under half this (ms); 0: fixed chunks. */
  checkpointMinMs: number;
  workerMaxHeapMb?: number;
  syncTimeoutMs: number;
  shutdownTimeoutMs: number;
  /** API keys; empty: authentication is off and everything belongs to "anonymous". */
  apiKeys: string[];
  /** Per-client rate limit; undefined: off. */
  rateLimit?: { max: number; windowMs: number };
  /** Origins allowed by CORS (`*` for any); empty: none. */
  corsOrigins: string[];
  /** Set when REDIS_URL and DATABASE_URL are: jobs go to the BullMQ queue and PostgreSQL. */
  distributed?: {
    redisUrl: string;
    databaseUrl: string;
    schema: string;
    prefix: string;
    workerConcurrency: number;
    lockMs: number;
    holdMs: number;
  };
  /** Largest memory of one batch's activations and gradients, bytes. */
  maxBatchBytes: number;
  /** Webhook deliveries: address policy, retry schedule (ms), one try's timeout, polling period. */
  webhooks: {
    allowInsecure: boolean;
    retryDelaysMs: number[];
    timeoutMs: number;
    pollMs: number;
    concurrency: number;
  };
}

/** A configuration that cannot start: its message is one line naming each bad variable and what it expects. */
export class ConfigError extends Error {
  constructor(problems: string[]) {
    super(`invalid configuration: ${problems.join("; ")}`);
    this.name = "ConfigError";
  }
}

/** One bad variable: its name and what it expects (with the value sent, for a number that is not one). */
function describeIssue(issue: z.ZodIssue, env: NodeJS.ProcessEnv): string {
  const name = issue.path.join(".");
  const got = `got ${JSON.stringify(env[name])}`;
  if (issue.code === "invalid_type" && (issue.expected === "number" || issue.expected === "int"))
    return issue.expected === "int" ? `${name}: expected an integer, ${got}` : `${name}: ${issue.message}`;
  if (issue.code === "too_small")
    return `${name}: expected ${issue.inclusive ? "at least" : "more than"} ${issue.minimum}, ${got}`;
  if (issue.code === "too_big")
    return `${name}: expected ${issue.inclusive ? "at most" : "less than"} ${issue.maximum}, ${got}`;
  return `${name}: ${issue.message}`;
}

/**
 * Reads and validates the configuration from `env` once, at start-up. An empty or blank variable
 * counts as unset (its default); numbers are decimal (`num`).
 * @throws ConfigError listing every bad variable, on one line.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable (`PORT=`, or `PORT=` in a compose file) is an unset one: its default.
  const set = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ""),
  ) as NodeJS.ProcessEnv;
  const parsed = EnvSchema.safeParse(set);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => describeIssue(i, set)));
  const e = parsed.data;
  if ((e.REDIS_URL === undefined) !== (e.DATABASE_URL === undefined))
    throw new ConfigError(["REDIS_URL and DATABASE_URL go together (the distributed mode needs both)"]);
  if (e.MAX_JOB_WORK !== undefined && e.MAX_JOB_WORK < e.MAX_WORK)
    throw new ConfigError([
      `MAX_JOB_WORK (${e.MAX_JOB_WORK}) is smaller than MAX_WORK (${e.MAX_WORK}): a job's budget must be at least a request's (POST /train would accept what POST /jobs refuses)`,
    ]);
  const maxConcurrentJobs = e.MAX_CONCURRENT_JOBS ?? Math.max(1, Math.floor(e.POOL_SIZE / 2));
  return {
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    bodyLimit: e.BODY_LIMIT,
    poolSize: e.POOL_SIZE,
    maxQueue: e.MAX_QUEUE,
    inlineMaxWork: e.INLINE_MAX_WORK,
    maxParams: e.MAX_PARAMS,
    maxWork: e.MAX_WORK,
    maxJobWork: e.MAX_JOB_WORK ?? e.MAX_WORK * JOB_WORK_FACTOR,
    dataDir: e.DATA_DIR,
    maxConcurrentJobs,
    maxJobsPerClient: e.MAX_JOBS_PER_CLIENT,
    checkpointEvery: e.CHECKPOINT_EVERY,
    checkpointMinMs: e.CHECKPOINT_MIN_MS,
    jobRetentionMs: e.JOB_RETENTION_DAYS === undefined ? undefined : e.JOB_RETENTION_DAYS * 86_400_000,
    modelRetentionMs: e.MODEL_RETENTION_DAYS === undefined ? undefined : e.MODEL_RETENTION_DAYS * 86_400_000,
    workerMaxHeapMb: e.WORKER_MAX_HEAP_MB,
    syncTimeoutMs: e.SYNC_TIMEOUT_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    apiKeys: e.API_KEYS,
    rateLimit:
      e.RATE_LIMIT_MAX === undefined
        ? undefined
        : { max: e.RATE_LIMIT_MAX, windowMs: e.RATE_LIMIT_WINDOW_MS },
    corsOrigins: e.CORS_ORIGINS,
    ...(e.REDIS_URL && e.DATABASE_URL
      ? {
          distributed: {
            redisUrl: e.REDIS_URL,
            databaseUrl: e.DATABASE_URL,
            schema: e.DATABASE_SCHEMA,
            prefix: e.REDIS_PREFIX,
            workerConcurrency: e.WORKER_CONCURRENCY ?? maxConcurrentJobs,
            lockMs: e.JOB_LOCK_MS,
            holdMs: e.JOB_HOLD_MS,
          },
        }
      : {}),
    maxBatchBytes: e.MAX_BATCH_BYTES,
    webhooks: {
      allowInsecure: e.WEBHOOK_ALLOW_INSECURE,
      retryDelaysMs: e.WEBHOOK_RETRY_DELAYS_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      pollMs: e.WEBHOOK_POLL_MS,
      concurrency: e.WEBHOOK_CONCURRENCY,
    },
  };
}

/**
 * Settings that start but deserve a word in the log: more worker threads than cores (they share
 * the cores, so each run goes slower, and each worker holds its own heap).
 * @param cores the machine's (`availableParallelism()` by default).
 */
export function configWarnings(config: Config, cores = availableParallelism()): string[] {
  const out: string[] = [];
  if (config.poolSize > cores)
    out.push(
      `POOL_SIZE ${config.poolSize} is more than the ${cores} cores here: the worker threads share them, so each run is slower, and each holds its own heap and batch buffers`,
    );
  return out;
}

/**
 * `loadConfig` for a process's start (server, worker): a bad configuration is one fatal log line
 * ("invalid configuration: MAX_WORK: expected a number, got \"abc\"") and exit code 1, not a stack.
 */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    pino().fatal({ reason: err.message }, "could not start");
    process.exit(1);
  }
}
