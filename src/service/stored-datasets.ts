import type { StoreDatasetJson, StoredDatasetResponse } from "../schemas/stored-datasets.js";
import { ConflictError, fieldError, InvalidRequestError, NotFoundError } from "./errors.js";
import type { Db } from "./store/database.js";
import { type CsvOptions, datasetFromCsv, datasetFromJson } from "./store/dataset-ingest.js";
import type { DatasetStore, NewDataset, StoredDatasetInfo } from "./store/dataset-store.js";
import type { JobStore } from "./store/job-store.js";

/**
 * Stored data sets as the API shows them: create from JSON or CSV, list, get, delete. Each
 * belongs to the owner that stored it (`ownerOf` its API key); another owner gets 404 for it.
 */
export class StoredDatasets {
  constructor(
    private readonly db: Db,
    private readonly datasets: DatasetStore,
    private readonly jobs: JobStore,
  ) {}

  /** @throws 400/422 naming the bad entry (see `datasetFromJson`). */
  createFromJson(body: StoreDatasetJson, owner: string): StoredDatasetResponse {
    return this.insert(datasetFromJson(body), owner);
  }

  /** @throws 400/422 naming the line and column (see `datasetFromCsv`). */
  createFromCsv(text: string, options: CsvOptions, owner: string): StoredDatasetResponse {
    return this.insert(datasetFromCsv(text, options), owner);
  }

  /** @throws NotFoundError */
  get(id: string, owner: string): StoredDatasetResponse {
    const info = this.datasets.info(id, owner);
    if (!info) throw notFound(id);
    return view(info);
  }

  /**
   * Checks that a training body's stored data set (`"dataset": { "id" }`), if it names one,
   * belongs to `owner`. Call before handing the body to the engine, which loads by id alone.
   * @throws NotFoundError, as for an id that does not exist.
   */
  checkAccess(dataset: object, owner: string): void {
    if ("id" in dataset && typeof dataset.id === "string" && !this.datasets.info(dataset.id, owner)) {
      const message = `there is no stored data set ${dataset.id} (POST /datasets stores one)`;
      throw new NotFoundError(message, [fieldError(["dataset", "id"], message)]);
    }
  }

  /** One page, newest first; `next` links the following one. @throws 400 when `after` names no data set. */
  list(
    limit: number,
    after: string | undefined,
    owner: string,
  ): { stored: StoredDatasetResponse[]; hasMore: boolean; next: string | null } {
    const page = this.datasets.list(limit, after, owner);
    if (!page)
      throw new InvalidRequestError(`no data set ${after} to list after`, [
        { path: "querystring.after", message: "not the id of a stored data set" },
      ]);
    const last = page.items.at(-1);
    return {
      stored: page.items.map(view),
      hasMore: page.hasMore,
      next:
        page.hasMore && last
          ? `/datasets?${new URLSearchParams({ limit: String(limit), after: last.id })}`
          : null,
    };
  }

  /**
   * Deletes it, unless a queued or running job trains on it (checked in the same transaction).
   * @throws NotFoundError; ConflictError naming the jobs.
   */
  delete(id: string, owner: string): void {
    this.db.transaction(() => {
      // Ownership first: another owner learns nothing, not even which jobs use it.
      if (!this.datasets.info(id, owner)) throw notFound(id);
      const users = this.jobs.unfinishedUsing(id);
      if (users.length > 0)
        throw new ConflictError(
          `data set ${id} is used by unfinished job${users.length > 1 ? "s" : ""} ${users.join(", ")}; cancel ` +
            "them or wait for them to end",
        );
      if (!this.datasets.delete(id, owner)) throw notFound(id);
    })();
  }

  private insert(data: NewDataset, owner: string): StoredDatasetResponse {
    return view(this.datasets.insert(data, owner));
  }
}

function view(info: StoredDatasetInfo): StoredDatasetResponse {
  return { ...info, links: { self: `/datasets/${info.id}` } };
}

function notFound(id: string): NotFoundError {
  return new NotFoundError(`there is no stored data set ${id}`);
}
