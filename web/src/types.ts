/**
 * The service's JSON as the page uses it, inferred from the zod schemas the service validates
 * and documents with (src/schemas): request bodies as the schemas accept them (`z.input`, so a
 * defaulted field may be left out), answers as the service sends them (`z.output`). Type-only:
 * nothing of src/schemas or zod reaches the browser bundle.
 */
import type { z } from "zod";
import type {
  DatasetsResponseSchema,
  DenseLayerSchema,
  GradientsRequestSchema,
  LossSchema,
  ModelSpecSchema,
  NamedTensorsInputSchema,
  NestedNumbers,
  NestedOutput,
  PredictRequestSchema,
  PredictResponse,
  Problem,
  GradientsResponse as ServiceGradientsResponse,
  TrainRequestSchema,
  TrainResponse,
} from "../../src/schemas/index.js";
import type { Job, JobProgress } from "../../src/schemas/jobs.js";
import type { ImportModelNativeSchema, ModelSchema } from "../../src/schemas/models.js";
import type { StoreDatasetJsonSchema, StoredDatasetResponse } from "../../src/schemas/stored-datasets.js";
import type { OptimizerStateSchema } from "../../src/schemas/training.js";

export type { Job, NestedNumbers, PredictResponse, Problem, TrainResponse };

/**
 * The answer of POST /gradients; in training mode, with each dropout layer's mask keyed by the
 * layer's name (0 where a unit was dropped).
 */
export type GradientsResponse = ServiceGradientsResponse;

/** A tensor in an answer: nested arrays of its shape, `null` for a non-finite value. */
export type Nested = NestedOutput;
/** Weights (or gradients) in an answer, keyed `"<layer>/kernel"` and `"<layer>/bias"`. */
export type Tensors = Record<string, Nested>;
/** Weights in a request: finite numbers only. */
export type WeightsInput = z.input<typeof NamedTensorsInputSchema>;

export type ModelSpec = z.input<typeof ModelSpecSchema>;
export type LayerSpec = ModelSpec["layers"][number];
export type DenseLayer = z.input<typeof DenseLayerSchema>;
export type Activation = NonNullable<DenseLayer["activation"]>;
export type Loss = z.input<typeof LossSchema>;
/** A loss by name (the form sends names only). */
export type LossName = Extract<Loss, string>;

/**
 * The body of POST /train and POST /jobs as the page sends it: the spec and weights inline (the
 * service also takes a stored model's id or a Keras topology there, which the page does not send).
 */
export type TrainBody = Omit<z.input<typeof TrainRequestSchema>, "model" | "initialWeights"> & {
  model: ModelSpec;
  initialWeights?: WeightsInput;
};
export type OptimizerSpec = TrainBody["optimizer"];
export type OptimizerType = OptimizerSpec["type"];
export type DatasetRef = TrainBody["dataset"];
/** A built-in data set's name (GET /datasets lists them). */
export type BuiltInName = Extract<DatasetRef, { name: unknown }>["name"];
export type OptimizerStateInput = z.input<typeof OptimizerStateSchema>;
/**
 * The body of POST /gradients, with `training` (default true: dropout drops, batch
 * normalisation uses the sample's statistics), which the form sends only for a model with
 * dropout or batch normalisation.
 */
export type GradientsBody = Omit<z.input<typeof GradientsRequestSchema>, "model"> & { model: ModelSpec };
export type PredictBody = Omit<z.input<typeof PredictRequestSchema>, "model"> & { model: ModelSpec };
export type StoreDatasetBody = z.input<typeof StoreDatasetJsonSchema>;

/** The body of POST /models that stores a model given as a spec and weights (what "Save model" sends). */
export type SaveModelBody = z.input<typeof ImportModelNativeSchema>;
/** A stored model, as POST /models answers it (201) and GET /models/{id}. */
export type ModelRecord = z.output<typeof ModelSchema>;

export type Progress = JobProgress;
export type DatasetsResponse = z.output<typeof DatasetsResponseSchema>;
export type DatasetInfo = DatasetsResponse["datasets"][number];
export type StoredDatasetInfo = StoredDatasetResponse;

/** The data of a job's last event (`succeeded`, `failed` or `cancelled`): its status and progress. */
export type FinalEvent = Progress & {
  status: Job["status"];
  weightsSha256?: string;
  error?: Partial<Problem>;
};

/**
 * Weights (or an optimiser state) from an answer, sent back in a request. Answers type tensor
 * values as nullable (`null` stands for a non-finite value), requests take finite numbers; the
 * page sends back only finite weights (a diverged run answers its last finite ones) and the
 * service checks whatever it is sent, so this changes the type, never the value.
 */
export function sendBack(weights: Tensors): WeightsInput;
export function sendBack(state: NonNullable<TrainResponse["optimizerState"]>): OptimizerStateInput;
export function sendBack(value: unknown): unknown {
  return value;
}
