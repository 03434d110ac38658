/**
 * The back-propagation engine: pure TypeScript over Float64Arrays (or Float32Arrays in a float32 run), no I/O.
 * Its only state is per thread and never changes an answer: the layers' buffer pool
 * (layers/buffer-pool.ts) and the models `computeGradients` keeps for frozen specs (model-cache.ts).
 * The service imports only from this file.
 */

export { checkSamples, checkTokenIds, labelShape, validateData } from "./data.js";
export { EngineError } from "./errors.js";
export { EVAL_CHUNK } from "./evaluate.js";
export { ENGINE_VERSION, weightsSha256 } from "./fingerprint.js";
export { type WindowGeometry, windowGeometry } from "./im2col.js";
export type { Distribution, FanMode, InitializerName, InitializerSpec } from "./initializers.js";
export { NAMED_VARIANCE_SCALING } from "./initializers.js";
export { computeGradients, predict, withGradients } from "./inspect.js";
export { LEAKY_RELU_ALPHA } from "./layers/advanced-activations.js";
export { BATCH_NORM_DEFAULTS } from "./layers/batch-normalization.js";
export { ELEMENTWISE_NAMES } from "./layers/elementwise.js";
export { EMBEDDINGS_INITIALIZER } from "./layers/embedding.js";
export { LAYER_NORM_DEFAULTS } from "./layers/layer-normalization.js";
export {
  type LeastSquaresFit,
  type LinearModelMismatch,
  linearModelMismatch,
  solveLeastSquares,
} from "./least-squares.js";
export { isClassifier, lossName, takesLabels } from "./losses.js";
export {
  CLASSIFICATION_METRICS,
  type ExtraMetric,
  METRIC_NAMES,
  type MetricName,
  type MetricSeries,
  REGRESSION_METRICS,
  valKey,
} from "./metrics/names.js";
export type { ModelSummary } from "./model.js";
export { describeModel, initWeights, maskedLayers, maskReceivers } from "./model-builders.js";
export { isDeepFrozen } from "./model-cache.js";
export { checkNamedTensors } from "./named-tensors.js";
export { RIDDERS_STEPS } from "./numerical-check.js";
export { OPTIMIZER_SLOTS, type SlotName } from "./optimizers.js";
export type { ConstraintSpec, RegularizerName, RegularizerSpec } from "./regularizers.js";
export { makeSchedule, type Schedule } from "./schedules.js";
export { Sha256, sha256Hex } from "./sha256.js";
export type * from "./spec.js";
export { SATURATION_TOLERANCE } from "./telemetry.js";
export {
  cloneTensor,
  type Dtype,
  dtypeOf,
  type Floats,
  formatShape,
  type NamedTensors,
  sameShape,
  sizeOf,
  type Tensor,
} from "./tensor.js";
export { DEFAULT_BATCH_SIZE, OPTIMUM_BUDGET, train } from "./train.js";
export { type CheckedTraining, checkTrainOptions } from "./train-check.js";
export type * from "./types.js";
