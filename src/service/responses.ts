import {
  type Dtype,
  dtypeOf,
  type Floats,
  type GradientsResult,
  METRIC_NAMES,
  type MetricSeries,
  type NamedTensors,
  type NumericalReport,
  OPTIMIZER_SLOTS,
  type OptimizerState,
  type SlotName,
  type Tensor,
  type TrainResult,
  valKey,
} from "../engine/index.js";
import type { NestedNumbers } from "../schemas/common.js";
import type { GradientsResponse, PredictResponse, TrainResponse } from "../schemas/responses.js";
import { arrayToNested, batchToNested, finiteOrNull, namedTensorsToNested } from "./convert.js";
import type { JsonText } from "./engine-task.js";
import { arrayJson, namedTensorsJson, numberJson } from "./tensor-json.js";

const finiteAll = (a: number[] | undefined) => a?.map(finiteOrNull);

/** The metric series of a history (`precision`, `valPrecision`, …), non-finite values as `null`. */
function metricSeries(h: MetricSeries<number[]>): MetricSeries<(number | null)[]> {
  const out: MetricSeries<(number | null)[]> = {};
  for (const [key, values] of Object.entries(h) as [keyof MetricSeries<number[]>, number[]][])
    if (METRIC_SERIES.has(key)) out[key] = values.map(finiteOrNull);
  return out;
}

const METRIC_SERIES = new Set<string>(
  METRIC_NAMES.filter((m) => m !== "accuracy").flatMap((m) => [m, valKey(m)]),
);
const mapValues = <T, U>(o: Record<string, T>, f: (v: T) => U): Record<string, U> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));

/**
 * Tensors the engine guarantees finite (trained weights, checked gradients and outputs), typed as
 * the finite tensors the response schemas promise. Were one not, JSON would carry `null` there,
 * which the contract tests (answers checked against the OpenAPI document) catch.
 */
const finiteTensors = (t: NamedTensors) => namedTensorsToNested(t) as Record<string, NestedNumbers>;

/**
 * The answer to POST /train. Non-finite numbers (a diverged run) become `null`.
 * @param durationMs time the engine spent, milliseconds
 */
export function trainResponse(r: TrainResult, seed: number, durationMs: number): TrainResponse {
  return {
    weights: finiteTensors(r.weights),
    history: {
      loss: r.history.loss.map(finiteOrNull),
      accuracy: finiteAll(r.history.accuracy),
      valLoss: finiteAll(r.history.valLoss),
      valAccuracy: finiteAll(r.history.valAccuracy),
      distanceToOptimum: finiteAll(r.history.distanceToOptimum),
      regularizationLoss: finiteAll(r.history.regularizationLoss),
      ...metricSeries(r.history),
    },
    gradients: r.gradients && finiteTensors(r.gradients),
    metrics: r.metrics,
    confusionMatrix: r.confusionMatrix,
    seed,
    engineVersion: r.engineVersion,
    weightsSha256: r.weightsSha256,
    epochsRun: r.epochsRun,
    initialEpoch: r.initialEpoch,
    stoppedEpoch: r.stoppedEpoch,
    bestEpoch: r.bestEpoch,
    nonFinite: r.nonFinite,
    telemetry: r.telemetry && {
      gradientNorm: mapValues(r.telemetry.gradientNorm, (a) => a.map(finiteOrNull)),
      updateRatio: mapValues(r.telemetry.updateRatio, (a) =>
        a.map((v) => (v === null ? null : finiteOrNull(v))),
      ),
      activations: r.telemetry.activations,
      regularizationGradientNorm:
        r.telemetry.regularizationGradientNorm &&
        mapValues(r.telemetry.regularizationGradientNorm, (a) => a.map(finiteOrNull)),
      stateGradientNorm:
        r.telemetry.stateGradientNorm &&
        mapValues(r.telemetry.stateGradientNorm, (epochs) => epochs.map((a) => a.map(finiteOrNull))),
    },
    // The slots keep their places in the state's key order, converted to nested arrays.
    optimizerState: r.optimizerState && {
      ...(r.optimizerState as Omit<OptimizerState, SlotName>),
      ...slotsToNested(r.optimizerState),
    },
    durationMs: Math.round(durationMs * 1000) / 1000,
    diverged: r.diverged,
    solution: r.solution && {
      ...r.solution,
      mse: finiteOrNull(r.solution.mse),
      r2: finiteOrNull(r.solution.r2),
    },
    optimum: r.optimum && namedTensorsToNested(r.optimum),
    warnings: r.warnings,
  };
}

/** The first sample of a batched tensor `[n, ...shape]`, as nested arrays of `shape`. */
function firstSample(t: Tensor) {
  return arrayToNested(t.data, t.shape.slice(1));
}

/** The answer's `numerical`: the report with its non-finite numbers as `null`. */
/** Per recurrent layer, one sample's states `[T, units]` and `‖∂L/∂h_t‖` (docs/backprop.md §22.5). */
function recurrentAnswer(rec: NonNullable<GradientsResult["recurrent"]>): GradientsResponse["recurrent"] {
  return Object.fromEntries(
    Object.entries(rec).map(([k, f]) => [
      k,
      {
        states: firstSample(f.states) as number[][],
        stateGradientNorm: f.stateGradientNorm.map(finiteOrNull),
      },
    ]),
  );
}

function numericalAnswer(n: NumericalReport): GradientsResponse["numerical"] {
  return {
    method: n.method,
    epsilon: n.epsilon,
    gradients: namedTensorsToNested(n.gradients),
    maxAbsError: finiteOrNull(n.maxAbsError),
    maxRelError: finiteOrNull(n.maxRelError),
    normRelError: finiteOrNull(n.normRelError),
    worst: {
      ...n.worst,
      analytic: finiteOrNull(n.worst.analytic),
      numerical: finiteOrNull(n.worst.numerical),
      relError: finiteOrNull(n.worst.relError),
    },
  };
}

/** The answer to POST /gradients: one sample, so outputs and activations lose the batch axis. */
export function gradientsResponse(r: GradientsResult, seed: number): GradientsResponse {
  const n = r.numerical;
  return {
    loss: r.loss, // finite: computeGradients throws on an overflow
    output: firstSample(r.output),
    gradients: finiteTensors(r.gradients),
    activations: r.activations.map((a) => ({ layer: a.layer, output: firstSample(a.output) })),
    weights: finiteTensors(r.weights),
    seed,
    dtype: dtypeOf(r.output.data),
    ...(r.dropoutMasks
      ? {
          dropoutMasks: Object.fromEntries(
            Object.entries(r.dropoutMasks).map(([k, t]) => [k, firstSample(t)]),
          ),
        }
      : {}),
    numerical: n && numericalAnswer(n),
    ...(r.recurrent ? { recurrent: recurrentAnswer(r.recurrent) } : {}),
    ...(r.warnings ? { warnings: r.warnings } : {}),
  };
}

/** The first sample of a batched tensor's data, `[n, ...shape]`, as JSON text of nested arrays of `shape`. */
const firstSampleJson = (data: Floats, shape: readonly number[]) => arrayJson(data, shape.slice(1));

/**
 * The answer to POST /gradients as JSON text, written from the engine's result directly: exactly
 * `JSON.stringify(gradientsResponse(r, seed))`, byte for byte, without building its nested arrays
 * first (docs/performance.md, "/gradients"). The rare parts (the numerical check, warnings) are
 * built as `gradientsResponse` builds them and stringified.
 */
export function gradientsJson(r: GradientsResult, seed: number): JsonText<GradientsResponse> {
  let s = `{"loss":${numberJson(r.loss)},"output":${firstSampleJson(r.output.data, r.output.shape)}`;
  s += `,"gradients":${namedTensorsJson(r.gradients)},"activations":[`;
  for (let i = 0; i < r.activations.length; i++) {
    const a = r.activations[i]!;
    s += `${i === 0 ? "" : ","}{"layer":${JSON.stringify(a.layer)},"output":${firstSampleJson(a.output.data, a.output.shape)}}`;
  }
  s += `],"weights":${namedTensorsJson(r.weights)},"seed":${numberJson(seed)},"dtype":"${dtypeOf(r.output.data)}"`;
  if (r.dropoutMasks) s += `,"dropoutMasks":${namedTensorsJson(r.dropoutMasks, firstSampleJson)}`;
  if (r.numerical) s += `,"numerical":${JSON.stringify(numericalAnswer(r.numerical))}`;
  if (r.recurrent) s += `,"recurrent":${JSON.stringify(recurrentAnswer(r.recurrent))}`;
  if (r.warnings) s += `,"warnings":${JSON.stringify(r.warnings)}`;
  return `${s}}`;
}

/** The answer to POST /predict: one output per sample. */
export function predictResponse(outputs: Tensor, dtype: Dtype): PredictResponse {
  // Finite: predict throws on an output that overflows. The outputs come back as float64 arrays
  // whatever ran (float32 values are exact in them): the dtype is the task's, not theirs.
  return { outputs: batchToNested(outputs) as NestedNumbers[], dtype };
}

/** An optimiser state's per-parameter arrays as nested arrays (`null` for a non-finite value). */
function slotsToNested(
  state: OptimizerState,
): Partial<Record<SlotName, ReturnType<typeof namedTensorsToNested>>> {
  const out: Partial<Record<SlotName, ReturnType<typeof namedTensorsToNested>>> = {};
  for (const slot of OPTIMIZER_SLOTS) {
    const tensors = state[slot];
    if (tensors) out[slot] = namedTensorsToNested(tensors);
  }
  return out;
}
