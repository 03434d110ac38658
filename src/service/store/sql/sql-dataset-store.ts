import { randomBytes } from "node:crypto";
import { ANONYMOUS } from "../../auth.js";
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
} from "../dataset-store.js";
import { first, pageNewestFirst, type SqlDriver } from "./driver.js";

type Row = DatasetRow & { owner: string };

const INFO_COLUMNS =
  "id, owner, name, format, created_at, samples, input_shape, target_shape, classes, columns";

/**
 * Stored data sets in SQL (`datasets`), one text for SQLite (embedded) and PostgreSQL (the
 * distributed mode, where every API process and worker sees the same ones): `x` and `y` hold
 * float64 little-endian bytes (BLOB, BYTEA). A method given an owner sees only that owner's data
 * sets (another owner's id is "none").
 */
export class SqlDatasetStore implements DatasetStoreApi {
  constructor(private readonly db: SqlDriver) {}

  async insert(data: NewDataset, owner: string = ANONYMOUS, now = new Date()): Promise<StoredDatasetInfo> {
    const id = `ds_${randomBytes(12).toString("hex")}`;
    const rows = await this.db.all<Row>(
      `INSERT INTO datasets (id, owner, name, format, created_at, samples, input_shape, target_shape, classes, columns, x, y)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       RETURNING ${INFO_COLUMNS}`,
      datasetValues(id, owner, data, now),
    );
    return datasetInfo(rows[0]!);
  }

  async info(id: string, owner?: string): Promise<StoredDatasetInfo | undefined> {
    const row = first(await this.db.all<Row>(`SELECT ${INFO_COLUMNS} FROM datasets WHERE id = ?`, [id]));
    return row && (owner === undefined || row.owner === owner) ? datasetInfo(row) : undefined;
  }

  async load(id: string): Promise<StoredDataset | undefined> {
    const row = first(
      await this.db.all<Row>(`SELECT ${INFO_COLUMNS}, x, y FROM datasets WHERE id = ?`, [id]),
    );
    return row && { ...datasetInfo(row), x: toFloat64(row.x!), y: toFloat64(row.y!) };
  }

  async list(
    limit: number,
    after?: string,
    owner: string = ANONYMOUS,
  ): Promise<{ items: StoredDatasetInfo[]; hasMore: boolean } | undefined> {
    const page = await pageNewestFirst<Row>(this.db, {
      table: "datasets",
      columns: INFO_COLUMNS,
      owner,
      limit,
      after,
    });
    return page && { items: page.rows.map(datasetInfo), hasMore: page.hasMore };
  }

  async delete(id: string, owner: string = ANONYMOUS): Promise<boolean> {
    return (await this.db.run("DELETE FROM datasets WHERE id = ? AND owner = ?", [id, owner])) > 0;
  }

  /**
   * As `DatasetStoreApi.deleteUnlessUsed`. The data set's row is locked (FOR UPDATE in
   * PostgreSQL; SQLite serialises writers) before the jobs are counted; `SqlJobStore.insert` takes
   * FOR KEY SHARE on it before inserting a job naming it. The two conflict, so whichever comes
   * second waits for the other's commit: a delete that waited counts the new job (READ COMMITTED:
   * its next statement sees it) and answers `inUse`; a job insert that waited finds the row gone
   * and fails with `unknownDataset`.
   */
  deleteUnlessUsed(id: string, owner: string): Promise<DatasetDeletion> {
    return this.db.transaction(async (tx): Promise<DatasetDeletion> => {
      // Ownership first: another owner learns nothing, not even which jobs use it.
      const locked = await tx.all(
        `SELECT 1 FROM datasets WHERE id = ? AND owner = ?${this.db.dialect.forUpdate}`,
        [id, owner],
      );
      if (locked.length === 0) return { status: "notFound" };
      const rows = await tx.all<{ id: string }>(
        "SELECT id FROM jobs WHERE dataset_id = ? AND status IN ('queued', 'running') ORDER BY seq",
        [id],
      );
      if (rows.length > 0) return { status: "inUse", usedBy: rows.map((r) => r.id) };
      await tx.run("DELETE FROM datasets WHERE id = ?", [id]);
      return { status: "deleted" };
    });
  }
}
