import type { EngineService } from "../engine-service.js";
import type { EnginePool } from "../pool.js";
import type { JobStore } from "../store/job-store.js";
import { JobService } from "./job-service.js";
import type { JobLogger } from "./job-view.js";
import { LocalEventBus } from "./local/local-bus.js";
import { LocalQueue, type LocalQueueOptions } from "./local/local-queue.js";
import { JobRunner, type RunnerOptions } from "./runner.js";

export interface EmbeddedJobsOptions
  extends LocalQueueOptions,
    Omit<RunnerOptions, "maxPerOwner" | "onFinish"> {
  log?: JobLogger;
  /** Called when a job ends, with the seconds since a worker first took it up (the metrics). */
  onFinish?: (status: "succeeded" | "failed" | "cancelled", seconds: number | undefined) => void;
}

/**
 * The embedded mode: jobs in `store` (SQLite), queued in this process (`LocalQueue`, which also
 * applies the per-owner limit), run on this process's engine pool, their events in memory
 * (`LocalEventBus`). After a restart, `start()` takes unfinished jobs up again from their
 * checkpoints; with the seed, a job ends with the weights an uninterrupted run gives, bit for bit.
 */
export function embeddedJobs(
  store: JobStore,
  engine: EngineService,
  pool: EnginePool,
  options: EmbeddedJobsOptions,
): JobService {
  const { maxConcurrent, maxPerOwner, log, onFinish } = options;
  const bus = new LocalEventBus();
  const queue = new LocalQueue(store, { maxConcurrent, maxPerOwner, log });
  const runner = new JobRunner(store, bus, engine, pool, {
    checkpointEvery: options.checkpointEvery,
    checkpointMinMs: options.checkpointMinMs,
    log,
    onFinish,
  });
  return new JobService(engine, { store, bus, queue, runner, log, onFinish });
}
