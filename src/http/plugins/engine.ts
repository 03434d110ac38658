import fp from "fastify-plugin";
import { EngineService } from "../../service/engine-service.js";
import { EnginePool, type PoolOptions } from "../../service/pool.js";

declare module "fastify" {
  interface FastifyInstance {
    /** The engine behind the worker pool (src/service). */
    engine: EngineService;
  }
}

export interface EnginePluginOptions {
  pool: PoolOptions;
  maxParams: number;
  maxWork: number;
}

/** Starts the worker pool, decorates `app.engine`, and drains the pool when the app closes. */
export default fp<EnginePluginOptions>(
  async (app, opts) => {
    const pool = new EnginePool(opts.pool);
    app.decorate("engine", new EngineService(pool, { maxParams: opts.maxParams, maxWork: opts.maxWork }));
    app.addHook("onClose", async () => {
      await pool.close();
    });
  },
  { name: "engine" },
);
