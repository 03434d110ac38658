import fp from "fastify-plugin";
import { TuningService } from "../../service/tuning/tuning-service.js";

declare module "fastify" {
  interface FastifyInstance {
    /** Hyperparameter tuning jobs (src/service/tuning), their trials run as jobs (`app.jobs`). */
    tuning: TuningService;
  }
}

export interface TuningPluginOptions {
  /** JOB_RETENTION_DAYS in ms: tuning jobs that ended longer ago are deleted at start and every hour. */
  retentionMs?: number;
}

/**
 * The tuning service over the store's tuning tables and the job service: once the jobs have
 * started (onReady, after theirs), the running tuning jobs are taken up again; on close, their
 * coordinators stop first (before the jobs are interrupted), leaving them to resume at the next
 * start. Ended tuning jobs are kept as long as jobs are (JOB_RETENTION_DAYS).
 */
export default fp<TuningPluginOptions>(
  async (app, opts) => {
    const tuning = new TuningService({
      store: app.store.tuning,
      jobs: app.jobs,
      engine: app.engine,
      log: app.log,
    });
    app.decorate("tuning", tuning);
    app.addHook("onReady", async () => {
      await tuning.start();
    });
    app.addHook("preClose", async () => {
      tuning.stop();
    });
    const { retentionMs } = opts;
    if (retentionMs !== undefined) {
      const sweep = async () => {
        try {
          const cutoff = new Date(Date.now() - retentionMs).toISOString();
          const deleted = await app.store.tuning.deleteFinishedBefore(cutoff);
          if (deleted > 0) app.log.info({ deleted }, "deleted tuning jobs past JOB_RETENTION_DAYS");
        } catch (err) {
          app.log.error({ err }, "could not delete old tuning jobs");
        }
      };
      let timer: NodeJS.Timeout | undefined;
      app.addHook("onReady", async () => {
        await sweep();
        timer = setInterval(() => void sweep(), Math.min(retentionMs, 3_600_000)).unref();
      });
      app.addHook("preClose", async () => {
        clearInterval(timer);
      });
    }
  },
  { name: "tuning", dependencies: ["store", "engine", "jobs"] },
);
