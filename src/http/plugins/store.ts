import fp from "fastify-plugin";
import { PgDatasetStore } from "../../service/distributed/pg-dataset-store.js";
import { PgJobStore } from "../../service/distributed/pg-job-store.js";
import { type Db, openDatabase } from "../../service/store/database.js";
import { DatasetStore, type DatasetStoreApi } from "../../service/store/dataset-store.js";
import { JobStore } from "../../service/store/job-store.js";
import { StoredDatasets } from "../../service/stored-datasets.js";

declare module "fastify" {
  interface FastifyInstance {
    /**
     * The stores (src/service/store): the SQLite database under DATA_DIR with the embedded job
     * store; the stored data sets (SQLite, or PostgreSQL in the distributed mode); and in the
     * distributed mode the PostgreSQL job store, whose pool the data sets share.
     */
    store: { db: Db; datasets: DatasetStoreApi; jobs: JobStore; pg?: PgJobStore };
    /** Stored data sets as the API shows them. */
    storedDatasets: StoredDatasets;
  }
}

export interface StorePluginOptions {
  /** Directory of the database file, or `:memory:`. */
  dataDir: string;
  /**
   * The distributed mode: stored data sets (and the jobs, see the jobs plugin) in PostgreSQL at
   * `databaseUrl`, in `schema`, so every API process and worker sees them.
   */
  distributed?: { databaseUrl: string; schema: string };
}

/**
 * Opens the SQLite database (running its migrations) and, in the distributed mode, the PostgreSQL
 * pool (running its migrations); decorates `app.store` and `app.storedDatasets`; closes both
 * with the app (onClose: after the last request, and after the jobs stopped in preClose).
 */
export default fp<StorePluginOptions>(
  async (app, opts) => {
    const db = openDatabase(opts.dataDir);
    const jobs = new JobStore(db);
    let pg: PgJobStore | undefined;
    let datasets: DatasetStoreApi = new DatasetStore(db);
    if (opts.distributed) {
      pg = new PgJobStore(opts.distributed.databaseUrl, opts.distributed.schema);
      try {
        await pg.migrate();
      } catch (err) {
        await pg.close();
        db.close();
        throw err;
      }
      datasets = new PgDatasetStore(pg.pool);
    }
    app.decorate("store", { db, datasets, jobs, ...(pg ? { pg } : {}) });
    app.decorate("storedDatasets", new StoredDatasets(datasets));
    app.addHook("onClose", async () => {
      db.close();
      await pg?.close();
    });
  },
  { name: "store" },
);
