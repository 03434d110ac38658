import fp from "fastify-plugin";
import { EngineService } from "../../service/engine-service.js";
import type { ModelLookup } from "../../service/models/resolve.js";
import { EnginePool, type PoolOptions } from "../../service/pool.js";
import type { MaybePromise, StoredDataset } from "../../service/store/dataset-store.js";

declare module "fastify" {
  interface FastifyInstance {
    /** The engine behind the worker pool (src/service). */
    engine: EngineService;
    /** The worker pool itself (jobs run their chunks in it; metrics read its load). */
    pool: EnginePool;
  }
}

export interface EnginePluginOptions {
  pool: PoolOptions;
  maxParams: number;
  maxWork: number;
  /** A job's compute budget (MAX_JOB_WORK); default 1000 × maxWork. */
  maxJobWork?: number;
  /** Largest memory of one batch's activations and gradients, bytes (MAX_BATCH_BYTES). */
  maxBatchBytes?: number;
  /** Looks up a stored data set by id (`{ "dataset": { "id" } }`), in SQLite or PostgreSQL. */
  storedDatasets?: (id: string) => MaybePromise<StoredDataset | undefined>;
  /** The stored models requests name (`{ "model": { "modelId" } }`), per owner. */
  models?: ModelLookup;
}

/** Starts the worker pool, decorates `app.engine`, and drains the pool when the app closes. */
export default fp<EnginePluginOptions>(
  async (app, opts) => {
    const pool = new EnginePool({
      ...opts.pool,
      onError: (err, kind) =>
        kind === "lateResult"
          ? app.log.debug("an aborted task's result arrived after its thread was stopped; dropped")
          : app.log.error({ err }, "worker pool error"),
    });
    app.decorate(
      "engine",
      new EngineService(
        pool,
        {
          maxParams: opts.maxParams,
          maxWork: opts.maxWork,
          maxJobWork: opts.maxJobWork,
          maxBatchBytes: opts.maxBatchBytes,
        },
        opts.storedDatasets,
        opts.models,
      ),
    );
    app.decorate("pool", pool);
    app.addHook("onClose", async () => {
      await pool.close();
    });
  },
  { name: "engine" },
);
