import fp from "fastify-plugin";
import type { ModelStore } from "../../service/models/model-store.js";
import type { DatasetStoreApi } from "../../service/store/dataset-store.js";
import type { JobStore } from "../../service/store/job-store.js";
import { PgDatabase } from "../../service/store/postgres/database.js";
import { SqlDatasetStore } from "../../service/store/sql/sql-dataset-store.js";
import { SqlJobStore } from "../../service/store/sql/sql-job-store.js";
import { SqlModelStore } from "../../service/store/sql/sql-model-store.js";
import { SqlTuningStore } from "../../service/store/sql/sql-tuning-store.js";
import { SqlWebhookStore } from "../../service/store/sql/sql-webhook-store.js";
import { lockDataDir } from "../../service/store/sqlite/data-dir-lock.js";
import { type Db, openDatabase, SqliteDriver } from "../../service/store/sqlite/database.js";
import type { TuningStore } from "../../service/store/tuning-store.js";
import type { WebhookStore } from "../../service/store/webhook-store.js";
import { StoredDatasets } from "../../service/stored-datasets.js";

declare module "fastify" {
  interface FastifyInstance {
    /**
     * The stores (src/service/store): the SQLite database under DATA_DIR; the jobs, the stored
     * data sets, the models and the webhooks, in SQLite or, in the distributed mode, in
     * PostgreSQL (`pg`) where every API process and worker sees them.
     */
    store: {
      db: Db;
      datasets: DatasetStoreApi;
      jobs: JobStore;
      models: ModelStore;
      webhooks: WebhookStore;
      tuning: TuningStore;
      pg?: PgDatabase;
    };
    /** Stored data sets as the API shows them. */
    storedDatasets: StoredDatasets;
  }
}

export interface StorePluginOptions {
  /** Directory of the database file, or `:memory:`. */
  dataDir: string;
  /**
   * The distributed mode: jobs, stored data sets and models in PostgreSQL at `databaseUrl`, in `schema`,
   * so every API process and worker sees them.
   */
  distributed?: { databaseUrl: string; schema: string };
}

/**
 * Takes DATA_DIR's lock in the embedded mode (`lockDataDir`: one server per directory), opens the
 * SQLite database (running its migrations) and, in the distributed mode, the PostgreSQL
 * pool (running its migrations); decorates `app.store` and `app.storedDatasets`; closes both
 * with the app (onClose: after the last request, and after the jobs stopped in preClose).
 */
export default fp<StorePluginOptions>(
  async (app, opts) => {
    // Embedded: one server per directory (a second would resume the first one's running jobs).
    const unlock = opts.distributed || opts.dataDir === ":memory:" ? undefined : lockDataDir(opts.dataDir);
    let db: Db;
    try {
      db = openDatabase(opts.dataDir);
    } catch (err) {
      unlock?.();
      throw err;
    }
    let pg: PgDatabase | undefined;
    if (opts.distributed) {
      pg = new PgDatabase(opts.distributed.databaseUrl, opts.distributed.schema);
      try {
        await pg.migrate();
      } catch (err) {
        await pg.close();
        db.close();
        unlock?.();
        throw err;
      }
    }
    const driver = pg ?? new SqliteDriver(db);
    const datasets = new SqlDatasetStore(driver);
    app.decorate("store", {
      db,
      datasets,
      jobs: new SqlJobStore(driver),
      models: new SqlModelStore(driver),
      webhooks: new SqlWebhookStore(driver),
      tuning: new SqlTuningStore(driver),
      ...(pg ? { pg } : {}),
    });
    app.decorate("storedDatasets", new StoredDatasets(datasets));
    app.addHook("onClose", async () => {
      db.close();
      await pg?.close();
      unlock?.();
    });
  },
  { name: "store" },
);
