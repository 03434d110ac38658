import fp from "fastify-plugin";
import { type Db, openDatabase } from "../../service/store/database.js";
import { DatasetStore } from "../../service/store/dataset-store.js";
import { JobStore } from "../../service/store/job-store.js";
import { StoredDatasets } from "../../service/stored-datasets.js";

declare module "fastify" {
  interface FastifyInstance {
    /** The SQLite database under DATA_DIR and the stores over it (src/service/store). */
    store: { db: Db; datasets: DatasetStore; jobs: JobStore };
    /** Stored data sets as the API shows them. */
    storedDatasets: StoredDatasets;
  }
}

export interface StorePluginOptions {
  /** Directory of the database file, or `:memory:`. */
  dataDir: string;
}

/** Opens the database (running its migrations), decorates `app.store`, closes it with the app. */
export default fp<StorePluginOptions>(
  async (app, opts) => {
    const db = openDatabase(opts.dataDir);
    const datasets = new DatasetStore(db);
    const jobs = new JobStore(db);
    app.decorate("store", { db, datasets, jobs });
    app.decorate("storedDatasets", new StoredDatasets(db, datasets, jobs));
    app.addHook("onClose", async () => {
      db.close();
    });
  },
  { name: "store" },
);
