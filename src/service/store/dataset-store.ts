import { z } from "zod";
import { fieldError, NotFoundError } from "../errors.js";
import { readStored } from "./stored-json.js";

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
 * Where stored data sets live: SQLite under DATA_DIR or, in the distributed mode, PostgreSQL
 * beside the jobs, so every API process and worker sees them (`SqlDatasetStore` over either).
 * The values are float64 little-endian bytes; a method given an owner sees only that owner's
 * data sets (another owner's id is "none").
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

const ShapeSchema = z.array(z.number().int().nonnegative());

/** The schemas a data set's JSON columns are read back through. */
const DATASET_COLUMNS = {
  input_shape: ShapeSchema,
  target_shape: ShapeSchema,
  classes: z.array(z.string()),
  columns: z.object({ features: z.array(z.string()), label: z.string() }),
};

/**
 * What a client sees of a data set, from its row (JSON columns read back through their schemas).
 * @throws ProblemError (500, `/problems/stored-dataset-invalid`) naming the data set and the
 *   column when one no longer parses (edited, or written by another version).
 */
export function datasetInfo(row: DatasetRow): StoredDatasetInfo {
  const at = (column: keyof typeof DATASET_COLUMNS) => ({ kind: "dataset" as const, id: row.id, column });
  return {
    id: row.id,
    name: row.name,
    format: row.format,
    createdAt: row.created_at,
    samples: row.samples,
    inputShape: readStored(DATASET_COLUMNS.input_shape, row.input_shape, at("input_shape")),
    targetShape: readStored(DATASET_COLUMNS.target_shape, row.target_shape, at("target_shape")),
    ...(row.classes ? { classes: readStored(DATASET_COLUMNS.classes, row.classes, at("classes")) } : {}),
    ...(row.columns ? { columns: readStored(DATASET_COLUMNS.columns, row.columns, at("columns")) } : {}),
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
