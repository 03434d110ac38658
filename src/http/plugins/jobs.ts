import fp from "fastify-plugin";
import { DistributedJobs } from "../../service/distributed/distributed-jobs.js";
import { PgJobStore } from "../../service/distributed/pg-job-store.js";
import { JobService } from "../../service/jobs/job-service.js";
import type { JobsApi } from "../../service/jobs/jobs-api.js";

declare module "fastify" {
  interface FastifyInstance {
    /** Asynchronous training jobs (src/service/jobs; src/service/distributed in the distributed mode). */
    jobs: JobsApi;
  }
}

export interface JobsPluginOptions {
  maxConcurrent: number;
  checkpointEvery: number;
  /** The distributed mode: jobs on a BullMQ queue over Redis, records in PostgreSQL; run by `npm run worker`. */
  distributed?: { redisUrl: string; databaseUrl: string; schema: string; prefix: string };
}

/**
 * The job service: embedded (over the SQLite store and the worker pool) by default, or the
 * distributed one (PostgreSQL and a BullMQ queue; nothing runs in this process). Embedded:
 * unfinished jobs are taken up once the app is ready; on close, running jobs are interrupted and
 * left to resume from their checkpoint.
 */
export default fp<JobsPluginOptions>(
  async (app, opts) => {
    let jobs: JobsApi;
    if (opts.distributed) {
      const d = opts.distributed;
      const store = new PgJobStore(d.databaseUrl, d.schema);
      await store.migrate();
      jobs = new DistributedJobs(store, app.engine, { redisUrl: d.redisUrl, prefix: d.prefix, log: app.log });
      app.addHook("onClose", async () => {
        await store.close();
      });
    } else
      jobs = new JobService(app.store.jobs, app.engine, app.pool, {
        maxConcurrent: opts.maxConcurrent,
        checkpointEvery: opts.checkpointEvery,
        log: app.log,
        onFinish: (status, seconds) => app.metrics?.jobFinished(status, seconds),
      });
    app.decorate("jobs", jobs);
    app.addHook("onReady", async () => {
      await jobs.start();
    });
    // Before the server stops: interrupting jobs also ends their event streams, which would
    // otherwise hold server.close() open.
    app.addHook("preClose", async () => {
      await jobs.stop();
    });
  },
  { name: "jobs", dependencies: ["store", "engine"] },
);
