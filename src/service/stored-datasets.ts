import type { StoreDatasetJson, StoredDatasetResponse } from "../schemas/stored-datasets.js";
import { ConflictError, InvalidRequestError, NotFoundError } from "./errors.js";
import { type CsvOptions, datasetFromCsv, datasetFromJson } from "./store/dataset-ingest.js";
import {
  type DatasetStoreApi,
  type NewDataset,
  type StoredDatasetInfo,
  unknownDataset,
} from "./store/dataset-store.js";

/**
 * Stored data sets as the API shows them: create from JSON or CSV, list, get, delete. Each
 * belongs to the owner that stored it (`ownerOf` its API key); another owner gets 404 for it.
 * Works over either store (SQLite, or PostgreSQL in the distributed mode), so every method is
 * async.
 */
export class StoredDatasets {
  constructor(private readonly datasets: DatasetStoreApi) {}

  /** @throws 400/422 naming the bad entry (see `datasetFromJson`). */
  async createFromJson(body: StoreDatasetJson, owner: string): Promise<StoredDatasetResponse> {
    return this.insert(datasetFromJson(body), owner);
  }

  /** @throws 400/422 naming the line and column (see `datasetFromCsv`). */
  async createFromCsv(text: string, options: CsvOptions, owner: string): Promise<StoredDatasetResponse> {
    return this.insert(datasetFromCsv(text, options), owner);
  }

  /** @throws NotFoundError */
  async get(id: string, owner: string): Promise<StoredDatasetResponse> {
    const info = await this.datasets.info(id, owner);
    if (!info) throw notFound(id);
    return view(info);
  }

  /**
   * Checks that a training body's stored data set (`"dataset": { "id" }`), if it names one,
   * belongs to `owner`. Call before handing the body to the engine, which loads by id alone.
   * @throws NotFoundError naming `dataset.id`, as for an id that does not exist.
   */
  async checkAccess(dataset: object, owner: string): Promise<void> {
    if ("id" in dataset && typeof dataset.id === "string" && !(await this.datasets.info(dataset.id, owner)))
      throw unknownDataset(dataset.id);
  }

  /** One page, newest first; `next` links the following one. @throws 400 when `after` names no data set. */
  async list(
    limit: number,
    after: string | undefined,
    owner: string,
  ): Promise<{ stored: StoredDatasetResponse[]; hasMore: boolean; next: string | null }> {
    const page = await this.datasets.list(limit, after, owner);
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
   * Deletes it, unless a queued or running job trains on it (checked in the same transaction as
   * the delete, see `DatasetStoreApi.deleteUnlessUsed`).
   * @throws NotFoundError; ConflictError naming the jobs.
   */
  async delete(id: string, owner: string): Promise<void> {
    const outcome = await this.datasets.deleteUnlessUsed(id, owner);
    if (outcome.status === "notFound") throw notFound(id);
    if (outcome.status === "inUse") {
      const { usedBy } = outcome;
      throw new ConflictError(
        `data set ${id} is used by unfinished job${usedBy.length > 1 ? "s" : ""} ${usedBy.join(", ")}; cancel ` +
          "them or wait for them to end",
      );
    }
  }

  private async insert(data: NewDataset, owner: string): Promise<StoredDatasetResponse> {
    return view(await this.datasets.insert(data, owner));
  }
}

function view(info: StoredDatasetInfo): StoredDatasetResponse {
  return { ...info, links: { self: `/datasets/${info.id}` } };
}

function notFound(id: string): NotFoundError {
  return new NotFoundError(`there is no stored data set ${id}`);
}
