import fp from "fastify-plugin";
import { distributedJobs } from "../../service/distributed/distributed.js";
import { embeddedJobs } from "../../service/jobs/embedded.js";
import type { JobsApi } from "../../service/jobs/jobs-api.js";

declare module "fastify" {
  interface FastifyInstance {
    /** Asynchronous training jobs (src/service/jobs; src/service/distributed in the distributed mode). */
    jobs: JobsApi;
  }
}

export interface JobsPluginOptions {
  maxConcurrent: number;
  /** Running jobs per client (owner); undefined: no limit (embedded mode; workers apply it in the distributed one). */
  maxPerOwner?: number;
  checkpointEvery: number;
  /** See `ChunkEngine.checkpointMinMs`. */
  checkpointMinMs?: number;
  /**
   * JOB_RETENTION_DAYS in ms: finished jobs older than this are deleted at start and every hour,
   * and webhook deliveries no longer pending.
   */
  retentionMs?: number;
  /** MODEL_RETENTION_DAYS in ms: stored models created longer ago are deleted with the same sweep. */
  modelRetentionMs?: number;
  /**
   * The distributed mode: jobs on a BullMQ queue over Redis, records in PostgreSQL (the store
   * plugin's `app.store.jobs`, registered with `distributed`); run by `npm run worker`.
   */
  distributed?: { redisUrl: string; prefix: string };
}

/**
 * The job service: embedded (over the SQLite store and the worker pool) by default, or the
 * distributed one (PostgreSQL and a BullMQ queue; nothing runs in this process). Embedded:
 * unfinished jobs are taken up once the app is ready; on close, running jobs are interrupted and
 * left to resume from their checkpoint.
 */
export default fp<JobsPluginOptions>(
  async (app, opts) => {
    // The store plugin chose the job store of the mode (SQLite, or PostgreSQL when distributed).
    const jobs: JobsApi = opts.distributed
      ? distributedJobs(app.store.jobs, app.engine, { ...opts.distributed, log: app.log })
      : embeddedJobs(app.store.jobs, app.engine, app.pool, {
          maxConcurrent: opts.maxConcurrent,
          maxPerOwner: opts.maxPerOwner,
          checkpointEvery: opts.checkpointEvery,
          checkpointMinMs: opts.checkpointMinMs,
          log: app.log,
          onFinish: (status, seconds) => app.metrics?.jobFinished(status, seconds),
        });
    app.decorate("jobs", jobs);
    app.addHook("onReady", async () => {
      await jobs.start();
    });
    const { retentionMs, modelRetentionMs } = opts;
    if (retentionMs !== undefined || modelRetentionMs !== undefined) {
      // Every process may sweep (one DELETE each, the same for all): no coordination needed.
      const sweep = async () => {
        try {
          if (retentionMs !== undefined) {
            const cutoff = new Date(Date.now() - retentionMs);
            const deleted = await jobs.deleteFinishedBefore(cutoff);
            if (deleted > 0) app.log.info({ deleted }, "deleted jobs past JOB_RETENTION_DAYS");
            // Their webhook deliveries too, once no longer pending.
            const deliveries = await app.store.webhooks.deleteFinishedBefore(cutoff.toISOString());
            if (deliveries > 0)
              app.log.info({ deliveries }, "deleted webhook deliveries past JOB_RETENTION_DAYS");
          }
          if (modelRetentionMs !== undefined) {
            const cutoff = new Date(Date.now() - modelRetentionMs).toISOString();
            const deleted = await app.store.models.deleteCreatedBefore(cutoff);
            if (deleted > 0) app.log.info({ deleted }, "deleted models past MODEL_RETENTION_DAYS");
          }
        } catch (err) {
          app.log.error({ err }, "could not delete old jobs or models");
        }
      };
      const every = Math.min(retentionMs ?? Infinity, modelRetentionMs ?? Infinity, 3_600_000);
      let timer: NodeJS.Timeout | undefined;
      app.addHook("onReady", async () => {
        await sweep();
        timer = setInterval(() => void sweep(), every).unref();
      });
      app.addHook("preClose", async () => {
        clearInterval(timer);
      });
    }
    // Before the server stops: interrupting jobs also ends their event streams, which would
    // otherwise hold server.close() open.
    app.addHook("preClose", async () => {
      const { interrupted } = await jobs.stop();
      // The distributed mode runs its jobs in the workers: an API process interrupts none.
      if (!opts.distributed)
        app.log.info(
          { interrupted },
          "jobs interrupted: they resume from their last checkpoint at the next start",
        );
    });
  },
  { name: "jobs", dependencies: ["store", "engine"] },
);
