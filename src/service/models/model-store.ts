import { randomBytes } from "node:crypto";
import type { ModelSpec, NamedTensors } from "../../engine/index.js";

/** A new model id: `mdl_` + 22 url-safe base64 characters (128 random bits). */
export function newModelId(): string {
  return `mdl_${randomBytes(16).toString("base64url")}`;
}

/** Where a stored model came from. */
export type ModelSource = "job" | "train" | "import";

/** A stored model without its weights (what `GET /models` lists). */
export interface ModelRecord {
  seq: number;
  /** `mdl_` + 22 url-safe base64 characters. */
  id: string;
  /** Who created it (see `ownerOf`); only they see it. */
  owner: string;
  createdAt: string;
  source: ModelSource;
  /** The job it came from (`source: "job"`), else null. */
  jobId: string | null;
  /** The model in the engine's language (validated by `ModelSpecSchema` when stored). */
  spec: ModelSpec;
  /** The optimiser config it was trained with (as the request gave it), null for an import. */
  optimizer: unknown;
  /** Final metrics and a history summary (JSON-able), null for an import. */
  metrics: unknown;
  /** The data set it was trained on: `{ id }`, `{ builtin }` or `{ inline: { samples } }`; null for an import. */
  dataset: unknown;
  seed: number | null;
  engineVersion: string;
  /** SHA-256 of the weights, as `weightsSha256` of the training answer. */
  weightsSha256: string;
  /** Number of weight values (trainable and state). */
  parameters: number;
  /**
   * Whether the model came with its loss. An import without one (tfjs' `model.save` of an
   * uncompiled model) has `spec.loss` filled in only to be valid: training it by id needs a loss.
   */
  lossGiven: boolean;
  /** The stored model a training run started from (`initialWeights` or `model` by id), else null. */
  baseModelId: string | null;
}

/** A model to store: its record's fields and its weights (trainable and non-trainable state). */
export interface NewModel extends Omit<ModelRecord, "seq"> {
  weights: NamedTensors;
}

/**
 * Where stored models are kept (`SqlModelStore` on SQLite or PostgreSQL, beside the jobs).
 * Ownership as the jobs: a model of another owner is not found.
 */
export interface ModelStore {
  insert(model: NewModel): Promise<ModelRecord>;
  /** The model; with `owner`, only when it belongs to them. */
  get(id: string, owner?: string): Promise<ModelRecord | undefined>;
  /** Its weights (float64, as trained, bit for bit), keys in the order they were stored; with `owner`, only theirs. */
  weights(id: string, owner?: string): Promise<NamedTensors | undefined>;
  /**
   * The owner's models (default "anonymous"), newest first, at most `limit`, after the model `after`
   * or below the position `below` (a record's `seq`: valid once that record is deleted).
   * @returns `undefined` when `after` names no model of the owner.
   */
  list(
    limit: number,
    options?: { after?: string; below?: number; owner?: string },
  ): Promise<{ items: ModelRecord[]; hasMore: boolean } | undefined>;
  /** Deletes it; with `owner`, only when it belongs to them. @returns whether it was deleted. */
  delete(id: string, owner?: string): Promise<boolean>;
  /** Deletes the models created before `cutoff` (ISO 8601). @returns how many. */
  deleteCreatedBefore(cutoff: string): Promise<number>;
}
