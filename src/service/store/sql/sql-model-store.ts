import { z } from "zod";
import type { NamedTensors } from "../../../engine/index.js";
import { ModelSpecSchema } from "../../../schemas/model.js";
import { ANONYMOUS } from "../../auth.js";
import type { ModelRecord, ModelSource, ModelStore, NewModel } from "../../models/model-store.js";
import { readStored, storedInvalid } from "../stored-json.js";
import { decodeTensors, encodeTensors } from "../tensor-codec.js";
import { first, pageNewestFirst, type SqlClient, type SqlDriver } from "./driver.js";

/** A `models` row without its weights. PostgreSQL's BIGINT columns arrive as text. */
interface ModelRow {
  seq: number | string;
  id: string;
  owner: string;
  created_at: string;
  source: ModelSource;
  job_id: string | null;
  spec: string;
  optimizer: string | null;
  metrics: string | null;
  dataset: string | null;
  seed: number | string | null;
  engine_version: string;
  weights_sha256: string;
  parameters: number | string;
  loss_given: number | string | boolean;
  base_model_id: string | null;
}

const MODEL_COLUMNS =
  "seq, id, owner, created_at, source, job_id, spec, optimizer, metrics, dataset, seed, engine_version, weights_sha256, parameters, loss_given, base_model_id";

/** A JSON column that may be null: read back as JSON (its shape is the reader's to check). */
function json(row: ModelRow, column: "optimizer" | "metrics" | "dataset"): unknown {
  const text = row[column];
  return text === null ? null : readStored(z.unknown(), text, { kind: "model", id: row.id, column });
}

/**
 * A model's record from its row, the spec read back through `ModelSpecSchema`.
 * @throws ProblemError (500, `/problems/stored-model-invalid`) naming the model and the column
 *   when a JSON column no longer parses.
 */
function modelRecord(row: ModelRow): ModelRecord {
  return {
    seq: Number(row.seq),
    id: row.id,
    owner: row.owner,
    createdAt: row.created_at,
    source: row.source,
    jobId: row.job_id,
    spec: readStored(ModelSpecSchema, row.spec, { kind: "model", id: row.id, column: "spec" }),
    optimizer: json(row, "optimizer"),
    metrics: json(row, "metrics"),
    dataset: json(row, "dataset"),
    seed: row.seed === null ? null : Number(row.seed),
    engineVersion: row.engine_version,
    weightsSha256: row.weights_sha256,
    parameters: Number(row.parameters),
    lossGiven: Number(row.loss_given) !== 0,
    baseModelId: row.base_model_id,
  };
}

const nullableJson = (value: unknown) =>
  value === null || value === undefined ? null : JSON.stringify(value);

/**
 * Inserts `model` on `c` (the store's connection, or the transaction that ends its job:
 * `SqlJobStore.finish`). The weights go in as one `encodeTensors` blob, bit for bit.
 */
export async function insertModel(c: SqlClient, model: NewModel): Promise<void> {
  await c.run(
    `INSERT INTO models (id, owner, created_at, source, job_id, spec, optimizer, metrics, dataset, seed,
       engine_version, weights_sha256, parameters, loss_given, base_model_id, weights)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      model.id,
      model.owner,
      model.createdAt,
      model.source,
      model.jobId,
      JSON.stringify(model.spec),
      nullableJson(model.optimizer),
      nullableJson(model.metrics),
      nullableJson(model.dataset),
      model.seed,
      model.engineVersion,
      model.weightsSha256,
      model.parameters,
      model.lossGiven ? 1 : 0,
      model.baseModelId,
      encodeTensors(model.weights),
    ],
  );
}

/**
 * `ModelStore` in SQL (`models`), one text for SQLite (embedded) and PostgreSQL (distributed,
 * beside the jobs). Ownership as `SqlJobStore`: a method given an owner sees only that owner's
 * models; another owner's id reads as none.
 */
export class SqlModelStore implements ModelStore {
  constructor(private readonly db: SqlDriver) {}

  async insert(model: NewModel): Promise<ModelRecord> {
    await insertModel(this.db, model);
    return (await this.get(model.id))!;
  }

  async get(id: string, owner?: string): Promise<ModelRecord | undefined> {
    const row = first(await this.db.all<ModelRow>(`SELECT ${MODEL_COLUMNS} FROM models WHERE id = ?`, [id]));
    return row && (owner === undefined || row.owner === owner) ? modelRecord(row) : undefined;
  }

  /** @throws ProblemError (500, `/problems/stored-model-invalid`) when the blob does not decode. */
  async weights(id: string, owner?: string): Promise<NamedTensors | undefined> {
    const row = first(
      await this.db.all<{ owner: string; weights: Uint8Array }>(
        "SELECT owner, weights FROM models WHERE id = ?",
        [id],
      ),
    );
    if (!row || (owner !== undefined && row.owner !== owner)) return undefined;
    try {
      return decodeTensors(row.weights).tensors;
    } catch (err) {
      throw storedInvalid(
        { kind: "model", id, column: "weights" },
        `does not decode (${err instanceof Error ? err.message : String(err)})`,
      );
    }
  }

  async list(
    limit: number,
    options: { after?: string; below?: number; owner?: string } = {},
  ): Promise<{ items: ModelRecord[]; hasMore: boolean } | undefined> {
    const page = await pageNewestFirst<ModelRow>(this.db, {
      table: "models",
      columns: MODEL_COLUMNS,
      owner: options.owner ?? ANONYMOUS,
      limit,
      after: options.after,
      below: options.below,
    });
    return page && { items: page.rows.map(modelRecord), hasMore: page.hasMore };
  }

  async delete(id: string, owner?: string): Promise<boolean> {
    const changed =
      owner === undefined
        ? await this.db.run("DELETE FROM models WHERE id = ?", [id])
        : await this.db.run("DELETE FROM models WHERE id = ? AND owner = ?", [id, owner]);
    return changed > 0;
  }

  deleteCreatedBefore(cutoff: string): Promise<number> {
    return this.db.run("DELETE FROM models WHERE created_at < ?", [cutoff]);
  }
}
