import { randomBytes } from "node:crypto";
import { ANONYMOUS } from "../auth.js";
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

interface Row {
  seq: number;
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

const INFO_COLUMNS =
  "seq, id, name, format, created_at, samples, input_shape, target_shape, classes, columns";

function info(row: Row): StoredDatasetInfo {
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

function toFloat64(blob: Buffer): Float64Array {
  const out = new Float64Array(blob.length / 8);
  new Uint8Array(out.buffer).set(blob);
  return out;
}

const bytesOf = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/**
 * Stored data sets in SQLite (`datasets` table); values as float64 blobs. Each belongs to an
 * owner (see `ownerOf`); the methods that take one see only the owner's data sets.
 */
export class DatasetStore {
  constructor(private readonly db: Db) {}

  /** Stores `data` for `owner` under a fresh id (`ds_` + 24 hex digits). */
  insert(data: NewDataset, owner: string = ANONYMOUS, now = new Date()): StoredDatasetInfo {
    const id = `ds_${randomBytes(12).toString("hex")}`;
    this.db
      .prepare(
        `INSERT INTO datasets (id, owner, name, format, created_at, samples, input_shape, target_shape, classes, columns, x, y)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
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
      );
    return this.info(id)!;
  }

  /** The data set without its values; with `owner`, only when it belongs to them. */
  info(id: string, owner?: string): StoredDatasetInfo | undefined {
    const row = this.db.prepare(`SELECT ${INFO_COLUMNS}, owner FROM datasets WHERE id = ?`).get(id) as
      | (Row & { owner: string })
      | undefined;
    return row && (owner === undefined || row.owner === owner) ? info(row) : undefined;
  }

  /** The data set with its values (fresh arrays), or undefined. */
  load(id: string): StoredDataset | undefined {
    const row = this.db.prepare(`SELECT ${INFO_COLUMNS}, x, y FROM datasets WHERE id = ?`).get(id) as
      | Row
      | undefined;
    return row && { ...info(row), x: toFloat64(row.x!), y: toFloat64(row.y!) };
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
    return { items: rows.slice(0, limit).map(info), hasMore: rows.length > limit };
  }

  /** Deletes the owner's data set; false when they have none of this id. */
  delete(id: string, owner: string = ANONYMOUS): boolean {
    return this.db.prepare("DELETE FROM datasets WHERE id = ? AND owner = ?").run(id, owner).changes > 0;
  }
}
