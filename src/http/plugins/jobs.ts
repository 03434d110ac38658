import fp from "fastify-plugin";
import { JobService } from "../../service/jobs/job-service.js";

declare module "fastify" {
  interface FastifyInstance {
    /** Asynchronous training jobs (src/service/jobs). */
    jobs: JobService;
  }
}

export interface JobsPluginOptions {
  maxConcurrent: number;
  checkpointEvery: number;
}

/**
 * The job service over the store and the worker pool. Unfinished jobs are taken up once the app
 * is ready; on close, running jobs are interrupted and left to resume from their checkpoint.
 */
export default fp<JobsPluginOptions>(
  async (app, opts) => {
    const jobs = new JobService(app.store.jobs, app.engine, app.pool, {
      maxConcurrent: opts.maxConcurrent,
      checkpointEvery: opts.checkpointEvery,
      log: app.log,
      onFinish: (status, seconds) => app.metrics?.jobFinished(status, seconds),
    });
    app.decorate("jobs", jobs);
    app.addHook("onReady", async () => {
      jobs.start();
    });
    // Before the server stops: interrupting jobs also ends their event streams, which would
    // otherwise hold server.close() open.
    app.addHook("preClose", async () => {
      await jobs.stop();
    });
  },
  { name: "jobs", dependencies: ["store", "engine"] },
);
