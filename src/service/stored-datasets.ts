import type { StoreDatasetJson, StoredDatasetResponse } from "../schemas/stored-datasets.js";
import { ConflictError, InvalidRequestError, NotFoundError } from "./errors.js";
import type { Db } from "./store/database.js";
import { type CsvOptions, datasetFromCsv, datasetFromJson } from "./store/dataset-ingest.js";
import type { DatasetStore, NewDataset, StoredDatasetInfo } from "./store/dataset-store.js";
import type { JobStore } from "./store/job-store.js";

/** Stored data sets as the API shows them: create from JSON or CSV, list, get, delete. */
export class StoredDatasets {
  constructor(
    private readonly db: Db,
    private readonly datasets: DatasetStore,
    private readonly jobs: JobStore,
  ) {}

  /** @throws 400/422 naming the bad entry (see `datasetFromJson`). */
  createFromJson(body: StoreDatasetJson): StoredDatasetResponse {
    return this.insert(datasetFromJson(body));
  }

  /** @throws 400/422 naming the line and column (see `datasetFromCsv`). */
  createFromCsv(text: string, options: CsvOptions): StoredDatasetResponse {
    return this.insert(datasetFromCsv(text, options));
  }

  /** @throws NotFoundError */
  get(id: string): StoredDatasetResponse {
    const info = this.datasets.info(id);
    if (!info) throw notFound(id);
    return view(info);
  }

  /** One page, newest first; `next` links the following one. @throws 400 when `after` names no data set. */
  list(
    limit: number,
    after?: string,
  ): { stored: StoredDatasetResponse[]; hasMore: boolean; next: string | null } {
    const page = this.datasets.list(limit, after);
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
  delete(id: string): void {
    this.db.transaction(() => {
      const users = this.jobs.unfinishedUsing(id);
      if (users.length > 0)
        throw new ConflictError(
          `data set ${id} is used by unfinished job${users.length > 1 ? "s" : ""} ${users.join(", ")}; cancel ` +
            "them or wait for them to end",
        );
      if (!this.datasets.delete(id)) throw notFound(id);
    })();
  }

  private insert(data: NewDataset): StoredDatasetResponse {
    return view(this.datasets.insert(data));
  }
}

function view(info: StoredDatasetInfo): StoredDatasetResponse {
  return { ...info, links: { self: `/datasets/${info.id}` } };
}

function notFound(id: string): NotFoundError {
  return new NotFoundError(`there is no stored data set ${id}`);
}
