import { checkData, checkTokenIds } from "./data.js";
import { EngineError } from "./errors.js";
import { EVAL_CHUNK } from "./evaluate.js";
import { BatchNormalization } from "./layers/batch-normalization.js";
import { dropoutStreams, seedDropoutStreams } from "./layers/dropout-streams.js";
import { INFERENCE, type LayerMode, type Param } from "./layers/layer.js";
import { Model } from "./model.js";
import { reusableModel } from "./model-cache.js";
import { numericalCheck, stepResolutionWarnings } from "./numerical-check.js";
import type { ModelSpec } from "./spec.js";
import { recurrentCopies } from "./telemetry.js";
import type { Dtype, Floats, NamedTensors, Tensor } from "./tensor.js";
import type { Dataset, GradientsOptions, GradientsResult, GradientsWarning } from "./types.js";

/**
 * `/gradients`' training mode: what a training step's forward sees (dropout draws masks, batch
 * normalisation uses the sample's statistics) without changing the moving statistics.
 */
export const INSPECT_TRAINING: LayerMode = { training: true, updateStats: false, reuseMasks: false };

export { INSPECT_CHECK } from "./numerical-check.js";

/** Builds a model, prefixing spec errors with `["model"]`. */
export function buildModel(spec: ModelSpec, dtype: Dtype = "float64"): Model {
  try {
    return new Model(spec, { dtype });
  } catch (e) {
    if (e instanceof EngineError) throw new EngineError(e.message, ["model", ...e.path]);
    throw e;
  }
}

/**
 * Draws a built model's weights from `seed`, prefixing errors with `["model"]` as `buildModel`
 * does: an initialiser that overflows only in the run's dtype (a float32 `constant` of 1e300)
 * fails here, not when the spec is built.
 */
export function initialiseModel(model: Model, seed: number): void {
  try {
    model.initialise(seed);
  } catch (e) {
    if (e instanceof EngineError) throw new EngineError(e.message, ["model", ...e.path]);
    throw e;
  }
}

/**
 * Loss, output, every layer's activations and the back-propagated gradient of the MEAN loss
 * over `data` (usually one sample), optionally checked against numerical gradients
 * (docs/backprop.md §10).
 * Weights are `opts.weights` or, when absent, seeded Glorot-uniform ones. The model built for a
 * deep-frozen `opts.model` is kept for the next call with the same spec object (model-cache.ts);
 * the result never shares memory with it.
 * `opts.training` (default true) runs the forward pass as a training step does (`INSPECT_TRAINING`:
 * dropout masks drawn from `opts.seed`, reported in `dropoutMasks`; batch statistics from the
 * sample; moving statistics unchanged); false runs it in inference. The numerical check evaluates
 * the loss in the same mode, with the same masks (docs/backprop.md §18.4). In training mode,
 * `warnings` names every batch normalisation layer whose statistics cover one value per channel
 * (`oneValueBatchStatistics`).
 * @throws EngineError for a bad model (`["model", …]`), weights (`["weights", key]`) or data (`["x"]`, `["y", i]`),
 *   and at `["weights"]` (or `["x"]` for seeded weights) when the loss or a gradient overflows.
 */
export function computeGradients(opts: GradientsOptions): GradientsResult {
  return inspect(opts, true);
}

/**
 * `use(computeGradients(opts))` without copying the model's arrays first (docs/performance.md,
 * "/gradients"): without a numerical check, the result's output, activations, gradients, weights
 * and dropout masks are views of the model's own buffers (a kept model's, model-cache.ts), valid
 * only until `use` returns; with one (whose passes overwrite the layers' outputs), copies as
 * `computeGradients` makes them. The values, and so the bits, are the same either way.
 * @throws what `computeGradients` throws, and what `use` throws.
 */
export function withGradients<T>(opts: GradientsOptions, use: (r: GradientsResult) => T): T {
  return use(inspect(opts, opts.numericalCheck !== undefined));
}

/** `computeGradients`, its result's tensors copies (`copy`) or views of the model's buffers. */
function inspect(opts: GradientsOptions, copy: boolean): GradientsResult {
  const dtype = opts.dtype ?? "float64";
  // A model built for the same (deep-frozen) spec object before is reused: everything it carries
  // from that call is set again below before anything is read (weights and state, dropout
  // streams, mode, gradients; model-cache.ts).
  const model = reusableModel(opts.model, dtype, () => buildModel(opts.model, dtype));
  if (opts.weights) model.setWeights(opts.weights, "weights");
  else initialiseModel(model, opts.seed);
  const { data } = opts;
  checkData(model, data);
  if (data.n > EVAL_CHUNK)
    throw new EngineError(`at most ${EVAL_CHUNK} samples can be inspected at once`, ["x"]);
  const training = opts.training ?? true;
  seedDropoutStreams(model.layers, opts.seed);
  model.setMode(training ? INSPECT_TRAINING : INFERENCE);
  const recurrent = recurrentCopies(model);
  for (const { layer } of recurrent) layer.stateGradNorms = new Float64Array(layer.steps);

  const activations: { layer: string; output: Tensor }[] = [];
  const n = data.n;
  model.zeroGrads();
  const out = model.forward(data.x, n, (s, a) =>
    activations.push({
      layer: model.specLayerNames[s]!,
      output: batched(model.layers[model.specLayerEnds[s]!]!.outputShape, n, a, copy),
    }),
  );
  const output = batched(model.outputShape, n, out, copy);
  const loss = model.loss(data.y, n, true, 1 / n) / n;
  const gradients = copy ? model.getGrads() : tensorViews(model.params(), "grad");
  // JSON has no NaN or Infinity: an overflow is a defined error, not a silent null.
  const bad = !Number.isFinite(loss)
    ? "the loss"
    : Object.entries(gradients).find(([, g]) => !allFinite(g.data))?.[0];
  if (bad !== undefined)
    throw new EngineError(
      `${bad === "the loss" ? bad : `the gradient of ${bad}`} is not finite (overflow): the weights, ` +
        `inputs or targets are too large for ${model.dtype}`,
      [opts.weights ? "weights" : "x"],
    );
  const weights = copy ? model.getWeights() : tensorViews(model.weights(), "value");
  const result: GradientsResult = { loss, output, activations, gradients, weights };
  if (recurrent.length > 0)
    result.recurrent = Object.fromEntries(
      recurrent.map(({ name, layer }) => {
        const flow = {
          states: sampleMajor(layer.states(), layer.steps, n, layer.units),
          stateGradientNorm: [...layer.stateGradNorms!],
        };
        layer.stateGradNorms = undefined;
        return [name, flow];
      }),
    );
  const masks = training ? dropoutStreams(model.layers).flatMap((d) => d.masks()) : [];
  if (masks.length > 0)
    result.dropoutMasks = Object.fromEntries(masks.map((m) => [m.key, batched(m.shape, n, m.data, copy)]));
  if (opts.numericalCheck)
    result.numerical = numericalCheck(
      float64Twin(model, data, opts.seed, training),
      data.x,
      data.y,
      n,
      gradients,
      opts.numericalCheck,
    );
  const warnings = [
    ...(training ? oneValueBatchStatistics(model, n) : []),
    ...(opts.numericalCheck ? stepResolutionWarnings(model, opts.numericalCheck.epsilon ?? 1e-5) : []),
  ];
  if (warnings.length > 0) result.warnings = warnings;
  return result;
}

/**
 * The model itself for float64; for float32, a float64 model holding the same (float32) weights
 * and run in the same mode, so finite differences are taken in double precision (a step of 1e-5
 * is below float32's resolution for most weights; docs/precision.md §5).
 */
function float64Twin(model: Model, data: Dataset, seed: number, training: boolean): Model {
  if (model.dtype === "float64") return model;
  const twin = buildModel(model.spec);
  twin.setWeights(model.getWeights(), "weights");
  seedDropoutStreams(twin.layers, seed);
  twin.setMode(training ? INSPECT_TRAINING : INFERENCE);
  // Draws the same dropout masks the float32 pass drew (same seed, same stream).
  twin.forward(data.x, data.n);
  return twin;
}

/**
 * A warning for every batch normalisation layer that, in training mode over `n` samples, takes its
 * statistics over one value per channel (`n` × the other axes = 1: a dense layer's features for
 * one sample, not a convolution's channels over several positions). Each channel's variance is
 * then 0, `x̂ = 0`, the output is exactly beta, and gamma's gradient and every gradient below the
 * layer are 0 (docs/backprop.md §19.2) — what Keras computes too, but rarely what one means to inspect.
 */
export function oneValueBatchStatistics(model: Model, n: number): GradientsWarning[] {
  return model.layers
    .filter((l): l is BatchNormalization => l instanceof BatchNormalization && l.valuesPerChannel(n) === 1)
    .map((l) => ({
      code: "batchStatisticsOfOneValue",
      layer: l.name,
      message:
        `${l.name} (batchNormalization) took its training-mode batch statistics over a single value ` +
        `per channel (${n} sample${n === 1 ? "" : "s"} holding one value of each of its ${l.channels} channels): ` +
        "every channel's variance is 0, so its output is its beta and no gradient " +
        "flows below it (gamma's and every layer's beneath it are 0, apart from regularisation " +
        "penalties). Send training: false to inspect in inference, with the moving statistics.",
    }));
}

/**
 * Model outputs for `n` samples.
 * @param x `[n, ...inputShape]` @returns `[n, ...outputShape]`, float64 (the exact values of a float32 run's outputs)
 * @param dtype the dtype the model runs in (default float64; docs/precision.md).
 * @throws EngineError for a bad model, weights or `x` size, at `["x", sample, step]` for a value
 *   that is not a token id of a leading embedding, and at `["weights"]` when an output
 *   overflows to a non-finite value.
 */
export function predict(
  spec: ModelSpec,
  weights: NamedTensors,
  x: Floats,
  n: number,
  dtype: Dtype = "float64",
): Tensor {
  const model = buildModel(spec, dtype);
  model.setWeights(weights, "weights");
  if (x.length !== n * model.inputSize)
    throw new EngineError(`x has ${x.length} values, expected ${n} × ${model.inputSize}`, ["x"]);
  checkTokenIds(model, x);
  const out = new Float64Array(n * model.outputSize);
  for (let s = 0; s < n; s += EVAL_CHUNK) {
    const b = Math.min(EVAL_CHUNK, n - s);
    out.set(
      model.forward(x.subarray(s * model.inputSize, (s + b) * model.inputSize), b),
      s * model.outputSize,
    );
  }
  const bad = out.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw new EngineError(
      `the output of sample ${Math.floor(bad / model.outputSize)} is not finite (overflow): the weights or ` +
        `inputs are too large for ${dtype}`,
      ["weights"],
    );
  return { shape: [n, ...model.outputShape], data: out };
}

function allFinite(a: Floats): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}

/** Time-major states `[T, n, units]` as `[n, T, units]`. */
function sampleMajor(h: Floats, steps: number, n: number, units: number): Tensor {
  const data = new Float64Array(steps * n * units);
  for (let s = 0; s < steps; s++)
    for (let b = 0; b < n; b++)
      for (let j = 0; j < units; j++) data[(b * steps + s) * units + j] = h[(s * n + b) * units + j]!;
  return { shape: [n, steps, units], data };
}

/** `a` as a tensor of `n` samples of `shape`: a copy, or (not `copy`) `a` itself. */
function batched(shape: number[], n: number, a: Floats, copy: boolean): Tensor {
  return { shape: [n, ...shape], data: copy ? a.slice() : a };
}

/** Parameters' values or gradients by key, as views (what `getWeights` / `getGrads` copy). */
function tensorViews(params: readonly Param[], part: "value" | "grad"): NamedTensors {
  const out: NamedTensors = {};
  for (const p of params) out[p.key] = { shape: p.shape, data: p[part] };
  return out;
}
