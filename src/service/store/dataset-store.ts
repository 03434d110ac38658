import { randomBytes } from "node:crypto";
import { ANONYMOUS } from "../auth.js";
import { fieldError, NotFoundError } from "../errors.js";
import type { Db } from "./database.js";

/** How a stored data set was sent. */
export type DatasetFormat = "json" | "csv";

/** What a client sees of a stored data set (everything but the values). */
export interface StoredDatasetInfo {
  id: string;
  name: string | null;
  format: DatasetFormat;
  createdAt: string;
  samples: number;
  /** The shape of one sample. */
  inputShape: number[];
  /** The shape of one target; `[]` is one number per sample (a label or a scalar target). */
  targetShape: number[];
  /** Class names when the targets are labels given as names: label i is `classes[i]`. */
  classes?: string[];
  /** CSV: the feature columns in order, and the label column. */
  columns?: { features: string[]; label: string };
}

/** A stored data set with its values: `x` is `[samples, ...inputShape]`, `y` `[samples, ...targetShape]`. */
export interface StoredDataset extends StoredDatasetInfo {
  x: Float64Array;
  y: Float64Array;
}

export type NewDataset = Omit<StoredDataset, "id" | "createdAt">;

/** A value now (SQLite) or later (PostgreSQL). */
export type MaybePromise<T> = T | Promise<T>;

/**
 * What `deleteUnlessUsed` did: deleted it; found none of the owner's with this id; or left it
 * because the jobs `usedBy` (queued or running, in the order they came) train on it.
 */
export type DatasetDeletion =
  | { status: "deleted" }
  | { status: "notFound" }
  | { status: "inUse"; usedBy: string[] };

/**
 * Where stored data sets live: SQLite under DATA_DIR (`DatasetStore`, synchronous) or, in the
 * distributed mode, PostgreSQL beside the jobs (`PgDatasetStore`), so every API process and
 * worker sees them. Both keep the values as float64 little-endian bytes and the same owner rules:
 * a method given an owner sees only that owner's data sets (another owner's id is "none").
 */
export interface DatasetStoreApi {
  /** Stores `data` for `owner` under a fresh id (`ds_` + 24 hex digits). */
  insert(data: NewDataset, owner?: string, now?: Date): MaybePromise<StoredDatasetInfo>;
  /** The data set without its values; with `owner`, only when it belongs to them. */
  info(id: string, owner?: string): MaybePromise<StoredDatasetInfo | undefined>;
  /** The data set with its values (fresh arrays), whoever owns it (the engine, after `info` checked access). */
  load(id: string): MaybePromise<StoredDataset | undefined>;
  /**
   * The owner's data sets, newest first, `limit` at most, after the data set `after`.
   * @returns `undefined` when `after` names no data set of the owner.
   */
  list(
    limit: number,
    after?: string,
    owner?: string,
  ): MaybePromise<{ items: StoredDatasetInfo[]; hasMore: boolean } | undefined>;
  /** Deletes the owner's data set whatever uses it; false when they have none of this id. */
  delete(id: string, owner?: string): MaybePromise<boolean>;
  /**
   * Deletes the owner's data set unless a queued or running job trains on it, in one
   * transaction: a job created at the same moment is either counted (the data set stays) or
   * finds the data set gone (its creation fails with `unknownDataset`), never both missed.
   */
  deleteUnlessUsed(id: string, owner: string): MaybePromise<DatasetDeletion>;
}

/** The 404 for a training body naming a stored data set that does not exist (or is another owner's). */
export function unknownDataset(id: string): NotFoundError {
  const message = `there is no stored data set ${id} (POST /datasets stores one)`;
  return new NotFoundError(message, [fieldError(["dataset", "id"], message)]);
}

/** A `datasets` row as both stores (SQLite, PostgreSQL) read it. */
export interface DatasetRow {
  id: string;
  name: string | null;
  format: DatasetFormat;
  created_at: string;
  samples: number;
  input_shape: string;
  target_shape: string;
  classes: string | null;
  columns: string | null;
  x?: Buffer;
  y?: Buffer;
}
type Row = DatasetRow & { seq: number };

const INFO_COLUMNS =
  "seq, id, name, format, created_at, samples, input_shape, target_shape, classes, columns";

/**
 * A new data set's values in the order of the columns `id, owner, name, format, created_at,
 * samples, input_shape, target_shape, classes, columns, x, y` (both stores insert these).
 */
export function datasetValues(id: string, owner: string, data: NewDataset, now: Date): unknown[] {
  return [
    id,
    owner,
    data.name,
    data.format,
    now.toISOString(),
    data.samples,
    JSON.stringify(data.inputShape),
    JSON.stringify(data.targetShape),
    data.classes ? JSON.stringify(data.classes) : null,
    data.columns ? JSON.stringify(data.columns) : null,
    bytesOf(data.x),
    bytesOf(data.y),
  ];
}

/** What a client sees of a data set, from its row (JSON columns parsed). */
export function datasetInfo(row: DatasetRow): StoredDatasetInfo {
  return {
    id: row.id,
    name: row.name,
    format: row.format,
    createdAt: row.created_at,
    samples: row.samples,
    inputShape: JSON.parse(row.input_shape),
    targetShape: JSON.parse(row.target_shape),
    ...(row.classes ? { classes: JSON.parse(row.classes) } : {}),
    ...(row.columns ? { columns: JSON.parse(row.columns) } : {}),
  };
}

/** Float64 values from their stored bytes (a fresh, aligned array; the blob may sit at any offset). */
export function toFloat64(blob: Uint8Array): Float64Array {
  const out = new Float64Array(blob.length / 8);
  new Uint8Array(out.buffer).set(blob);
  return out;
}

/** The bytes stored for float64 values (a view, not a copy). */
export const bytesOf = (a: Float64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/**
 * Stored data sets in SQLite (`datasets` table); values as float64 blobs. Each belongs to an
 * owner (see `ownerOf`); the methods that take one see only the owner's data sets. Synchronous:
 * every method is one statement or one transaction.
 */
export class DatasetStore implements DatasetStoreApi {
  constructor(private readonly db: Db) {}

  /** Stores `data` for `owner` under a fresh id (`ds_` + 24 hex digits). */
  insert(data: NewDataset, owner: string = ANONYMOUS, now = new Date()): StoredDatasetInfo {
    const id = `ds_${randomBytes(12).toString("hex")}`;
    this.db
      .prepare(
        `INSERT INTO datasets (id, owner, name, format, created_at, samples, input_shape, target_shape, classes, columns, x, y)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(...datasetValues(id, owner, data, now));
    return this.info(id)!;
  }

  /** The data set without its values; with `owner`, only when it belongs to them. */
  info(id: string, owner?: string): StoredDatasetInfo | undefined {
    const row = this.db.prepare(`SELECT ${INFO_COLUMNS}, owner FROM datasets WHERE id = ?`).get(id) as
      | (Row & { owner: string })
      | undefined;
    return row && (owner === undefined || row.owner === owner) ? datasetInfo(row) : undefined;
  }

  /** The data set with its values (fresh arrays), or undefined. */
  load(id: string): StoredDataset | undefined {
    const row = this.db.prepare(`SELECT ${INFO_COLUMNS}, x, y FROM datasets WHERE id = ?`).get(id) as
      | Row
      | undefined;
    return row && { ...datasetInfo(row), x: toFloat64(row.x!), y: toFloat64(row.y!) };
  }

  /**
   * The owner's data sets, newest first, `limit` at most, after the data set `after` (cursor pagination).
   * @returns `undefined` when `after` names no data set of the owner.
   */
  list(
    limit: number,
    after?: string,
    owner: string = ANONYMOUS,
  ): { items: StoredDatasetInfo[]; hasMore: boolean } | undefined {
    let below = Number.MAX_SAFE_INTEGER;
    if (after !== undefined) {
      const seq = this.db
        .prepare("SELECT seq FROM datasets WHERE id = ? AND owner = ?")
        .pluck()
        .get(after, owner) as number | undefined;
      if (seq === undefined) return undefined;
      below = seq;
    }
    const rows = this.db
      .prepare(`SELECT ${INFO_COLUMNS} FROM datasets WHERE owner = ? AND seq < ? ORDER BY seq DESC LIMIT ?`)
      .all(owner, below, limit + 1) as Row[];
    return { items: rows.slice(0, limit).map(datasetInfo), hasMore: rows.length > limit };
  }

  /** Deletes the owner's data set; false when they have none of this id. */
  delete(id: string, owner: string = ANONYMOUS): boolean {
    return this.db.prepare("DELETE FROM datasets WHERE id = ? AND owner = ?").run(id, owner).changes > 0;
  }

  /** As `DatasetStoreApi.deleteUnlessUsed`; SQLite serialises writers, so one transaction suffices. */
  deleteUnlessUsed(id: string, owner: string): DatasetDeletion {
    return this.db.transaction((): DatasetDeletion => {
      // Ownership first: another owner learns nothing, not even which jobs use it.
      if (!this.info(id, owner)) return { status: "notFound" };
      const usedBy = this.db
        .prepare("SELECT id FROM jobs WHERE dataset_id = ? AND status IN ('queued', 'running') ORDER BY seq")
        .pluck()
        .all(id) as string[];
      if (usedBy.length > 0) return { status: "inUse", usedBy };
      return this.delete(id, owner) ? { status: "deleted" } : { status: "notFound" };
    })();
  }
}
