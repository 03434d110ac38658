import { randomBytes } from "node:crypto";
import type pg from "pg";
import { ANONYMOUS } from "../auth.js";
import {
  type DatasetDeletion,
  type DatasetRow,
  type DatasetStoreApi,
  datasetInfo,
  datasetValues,
  type NewDataset,
  type StoredDataset,
  type StoredDatasetInfo,
  toFloat64,
} from "../store/dataset-store.js";
import { inTransaction } from "./pg-transaction.js";

type Row = DatasetRow & { owner: string };

const INFO_COLUMNS =
  "id, owner, name, format, created_at, samples, input_shape, target_shape, classes, columns";

/**
 * Stored data sets in PostgreSQL (table `datasets`, PG_MIGRATIONS 2), for the distributed mode:
 * every API process and every worker sees the same ones. The async counterpart of `DatasetStore`
 * — same columns, same owner rules, `x` and `y` as BYTEA holding exactly the bytes SQLite keeps
 * (float64 little-endian). Uses the job store's pool (`PgJobStore.pool`, same schema); closing
 * the pool is its owner's business.
 */
export class PgDatasetStore implements DatasetStoreApi {
  constructor(private readonly pool: pg.Pool) {}

  async insert(data: NewDataset, owner: string = ANONYMOUS, now = new Date()): Promise<StoredDatasetInfo> {
    const id = `ds_${randomBytes(12).toString("hex")}`;
    const { rows } = await this.pool.query<Row>(
      `INSERT INTO datasets (id, owner, name, format, created_at, samples, input_shape, target_shape, classes, columns, x, y)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       RETURNING ${INFO_COLUMNS}`,
      datasetValues(id, owner, data, now),
    );
    return datasetInfo(rows[0]!);
  }

  async info(id: string, owner?: string): Promise<StoredDatasetInfo | undefined> {
    const { rows } = await this.pool.query<Row>(`SELECT ${INFO_COLUMNS} FROM datasets WHERE id = $1`, [id]);
    const row = rows[0];
    return row && (owner === undefined || row.owner === owner) ? datasetInfo(row) : undefined;
  }

  async load(id: string): Promise<StoredDataset | undefined> {
    const { rows } = await this.pool.query<Row>(`SELECT ${INFO_COLUMNS}, x, y FROM datasets WHERE id = $1`, [
      id,
    ]);
    const row = rows[0];
    return row && { ...datasetInfo(row), x: toFloat64(row.x!), y: toFloat64(row.y!) };
  }

  async list(
    limit: number,
    after?: string,
    owner: string = ANONYMOUS,
  ): Promise<{ items: StoredDatasetInfo[]; hasMore: boolean } | undefined> {
    let below = Number.MAX_SAFE_INTEGER;
    if (after !== undefined) {
      const { rows } = await this.pool.query<{ seq: string }>(
        "SELECT seq FROM datasets WHERE id = $1 AND owner = $2",
        [after, owner],
      );
      if (!rows[0]) return undefined;
      below = Number(rows[0].seq);
    }
    const { rows } = await this.pool.query<Row>(
      `SELECT ${INFO_COLUMNS} FROM datasets WHERE owner = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
      [owner, below, limit + 1],
    );
    return { items: rows.slice(0, limit).map(datasetInfo), hasMore: rows.length > limit };
  }

  async delete(id: string, owner: string = ANONYMOUS): Promise<boolean> {
    const { rowCount } = await this.pool.query("DELETE FROM datasets WHERE id = $1 AND owner = $2", [
      id,
      owner,
    ]);
    return (rowCount ?? 0) > 0;
  }

  /**
   * As `DatasetStoreApi.deleteUnlessUsed`. The data set's row is locked FOR UPDATE before the jobs
   * are counted; `PgJobStore.insert` takes FOR KEY SHARE on it before inserting a job naming it.
   * The two conflict, so whichever comes second waits for the other's commit: a delete that waited
   * counts the new job (READ COMMITTED: its next statement sees it) and answers `inUse`; a job
   * insert that waited finds the row gone and fails with `unknownDataset`.
   */
  deleteUnlessUsed(id: string, owner: string): Promise<DatasetDeletion> {
    return inTransaction(this.pool, async (c): Promise<DatasetDeletion> => {
      // Ownership first: another owner learns nothing, not even which jobs use it.
      const locked = await c.query("SELECT 1 FROM datasets WHERE id = $1 AND owner = $2 FOR UPDATE", [
        id,
        owner,
      ]);
      if (locked.rowCount === 0) return { status: "notFound" };
      const { rows } = await c.query<{ id: string }>(
        "SELECT id FROM jobs WHERE dataset_id = $1 AND status IN ('queued', 'running') ORDER BY seq",
        [id],
      );
      if (rows.length > 0) return { status: "inUse", usedBy: rows.map((r) => r.id) };
      await c.query("DELETE FROM datasets WHERE id = $1", [id]);
      return { status: "deleted" };
    });
  }
}
