/** The parts of the service's JSON the page reads (see openapi/openapi.json for all of it). */

export type Nested = number | null | Nested[];
export type Tensors = Record<string, Nested>;

export interface LayerSpec {
  type: "dense" | "flatten";
  units?: number;
  activation?: string;
}

export interface ModelSpec {
  inputShape: number[];
  layers: LayerSpec[];
  loss: string;
}

export interface TrainBody {
  model: ModelSpec;
  dataset: { name: string } | { id: string } | { x: number[][]; y: (number | number[])[] };
  optimizer: { type: "sgd" | "adam"; learningRate: number; momentum?: number };
  epochs: number;
  batchSize: number;
  seed?: number;
  validationSplit?: number;
  initialWeights?: Tensors;
}

export interface TrainResponse {
  weights: Tensors;
  weightsSha256: string;
  history: { loss: (number | null)[] };
  optimizerState?: unknown;
  epochsRun: number;
  diverged?: { message: string };
}

export interface Job {
  id: string;
  status: "queued" | "running" | "succeeded" | "failed" | "cancelled";
  seed: number;
  progress: Progress;
  error?: { detail?: string; title: string };
  result?: TrainResponse;
}

export interface Progress {
  epoch: number;
  epochs: number;
  loss?: number;
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
}

export interface DatasetInfo {
  name: string;
  description: string;
  inputShape: number[];
  samples: number;
  classes: string[];
}

export interface StoredDatasetInfo {
  id: string;
  name?: string | null;
  samples: number;
  inputShape: number[];
  classes?: string[] | null;
}

export interface GradientsResponse {
  loss: number | null;
  output: Nested;
  gradients: Tensors;
  activations: { layer: string; output: Nested }[];
  weights: Tensors;
  seed: number;
  numerical?: {
    method: string;
    epsilon: number;
    maxAbsError: number | null;
    maxRelError: number | null;
    gradients: Tensors;
    worst: {
      key: string;
      index: number[];
      analytic: number | null;
      numerical: number | null;
      relError: number | null;
    };
  };
}
