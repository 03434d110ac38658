import type { EngineService } from "../engine-service.js";
import { JobService } from "../jobs/job-service.js";
import type { JobLogger } from "../jobs/job-view.js";
import { JobRunner, type RunnerOptions } from "../jobs/runner.js";
import type { EnginePool } from "../pool.js";
import type { JobStore } from "../store/job-store.js";
import { BullQueue, type BullQueueOptions } from "./bull-queue.js";
import { names } from "./names.js";
import { RedisEventBus } from "./redis-bus.js";

export interface DistributedOptions {
  redisUrl: string;
  /** Key prefix in Redis (queue keys and pub/sub channels). */
  prefix: string;
  log?: JobLogger;
}

/**
 * The job API of an API process in the distributed mode: jobs stored in `store` (PostgreSQL) and
 * put on the BullMQ queue, where worker processes (`distributedWorker`) on any host take them.
 * Nothing runs here. Events come from the store (the backlog) and Redis (pending and live), so
 * GET /jobs/{id}/events works on every API process; a cancel is stored, then published to the workers.
 */
export function distributedJobs(
  store: JobStore,
  engine: EngineService,
  options: DistributedOptions,
): JobService {
  const { redisUrl, prefix, log } = options;
  const bus = new RedisEventBus(redisUrl, names(prefix), log);
  const queue = new BullQueue({ redisUrl, prefix, names: names(prefix), log });
  return new JobService(engine, { store, bus, queue, log });
}

/**
 * A worker process of the distributed mode (`npm run worker`): takes jobs from the BullMQ queue,
 * runs them on this process's engine pool exactly as the embedded mode does (`JobRunner`), keeps
 * their checkpoints, events and outcome in `store`, and publishes their events on Redis. `start`
 * and `stop` as `JobService`'s: on stop, running jobs go back on the queue to resume elsewhere.
 */
export function distributedWorker(
  store: JobStore,
  engine: EngineService,
  pool: EnginePool,
  options: DistributedOptions &
    Omit<RunnerOptions, "log" | "onFinish"> &
    Pick<BullQueueOptions, "concurrency" | "lockDurationMs" | "stalledIntervalMs" | "holdMs">,
): JobService {
  const { redisUrl, prefix, log } = options;
  const bus = new RedisEventBus(redisUrl, names(prefix), log);
  const runner = new JobRunner(store, bus, engine, pool, { ...options, log });
  const queue = new BullQueue({
    ...options,
    names: names(prefix),
    onAbandoned: (id, reason) => runner.failAbandoned(id, reason),
  });
  return new JobService(engine, { store, bus, queue, runner, log });
}
