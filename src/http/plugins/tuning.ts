import fp from "fastify-plugin";
import { TuningService } from "../../service/tuning/tuning-service.js";

declare module "fastify" {
  interface FastifyInstance {
    /** Hyperparameter tuning jobs (src/service/tuning), their trials run as jobs (`app.jobs`). */
    tuning: TuningService;
  }
}

/**
 * The tuning service over the store's tuning tables and the job service: once the jobs have
 * started (onReady, after theirs), the running tuning jobs are taken up again; on close, their
 * coordinators stop first (before the jobs are interrupted), leaving them to resume at the next start.
 */
export default fp(
  async (app) => {
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
  },
  { name: "tuning", dependencies: ["store", "engine", "jobs"] },
);
