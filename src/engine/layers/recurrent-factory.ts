import { EngineError } from "../errors.js";
import { checkInitializer, type InitializerSpec } from "../initializers.js";
import type { ActivationName, RecurrentSpec } from "../spec.js";
import { formatShape } from "../tensor.js";
import { Gru } from "./gru.js";
import type { Param } from "./layer.js";
import type { Recurrent } from "./recurrent.js";
import { Lstm, SimpleRnn } from "./recurrent-cells.js";
import { RecurrentDropout } from "./recurrent-dropout.js";
import type { CellActivation } from "./recurrent-math.js";

/** tfjs-layers' defaults for the recurrent layers (docs/models.md). */
export const RECURRENT_DEFAULTS = {
  activation: "tanh",
  recurrentActivation: "hardSigmoid",
  kernelInitializer: "glorotNormal",
  recurrentInitializer: "orthogonal",
  biasInitializer: "zeros",
  unitForgetBias: false,
  resetAfter: false,
} as const;

/** Gates per cell: the factor between `units` and the kernels' width. */
const GATES = { simpleRNN: 1, lstm: 4, gru: 3 } as const;

/** Trainable parameters of a recurrent spec on `inShape` `[timesteps, features]` (0 when it does not fit). */
export function recurrentParamCount(ls: RecurrentSpec, inShape: readonly number[]): number {
  if (inShape.length !== 2 || !Number.isInteger(ls.units) || ls.units < 1) return 0;
  const w = GATES[ls.type] * ls.units;
  const bias = ls.useBias === false ? 0 : ls.type === "gru" && ls.resetAfter === true ? 2 * w : w;
  const n = inShape[1]! * w + ls.units * w + bias;
  return Number.isFinite(n) ? n : 0;
}

/**
 * Builds a simpleRNN, lstm or gru layer from its spec on `inShape` (docs/backprop.md §22), with
 * its dropout masks' stream when `dropout` or `recurrentDropout` is above 0 (§22.7).
 * @param copy 1 for a bidirectional layer's backward copy (its own dropout stream), else 0.
 * @throws EngineError at `["layers", i]` when the input is not `[timesteps, features]`, and at
 *   `["layers", i, field]` for `units`, an activation that is not element-wise (softmax),
 *   `returnState: true`, `dropout`/`recurrentDropout` outside [0, 1), or an initialiser whose
 *   arguments are invalid.
 */
export function buildRecurrent(
  ls: RecurrentSpec,
  name: string,
  inShape: number[],
  i: number,
  copy = 0,
): Recurrent {
  const at = (field: string) => ["layers", i, field];
  if (inShape.length !== 2)
    throw new EngineError(
      `layer ${name} (${ls.type}) needs a [timesteps, features] input, got ${formatShape(inShape)}`,
      ["layers", i],
    );
  const units: unknown = ls.units;
  if (!Number.isInteger(units) || (units as number) < 1)
    throw new EngineError(`layer ${name} (${ls.type}): units must be a positive integer`, at("units"));
  if ((ls.returnState as unknown) === true)
    throw new EngineError(
      `layer ${name} (${ls.type}): returnState must be false: a sequential model has one output, and the ` +
        "final state equals the output (the last step's h) unless returnSequences is set",
      at("returnState"),
    );
  const rate = (field: "dropout" | "recurrentDropout"): number => {
    const v: unknown = ls[field] ?? 0;
    if (typeof v === "number" && v >= 0 && v < 1) return v;
    throw new EngineError(
      `layer ${name} (${ls.type}): ${field} must be a number in [0, 1), got ${JSON.stringify(v)}`,
      at(field),
    );
  };
  const [dropout, recurrentDropout] = [rate("dropout"), rate("recurrentDropout")];
  const cellAct = (field: "activation" | "recurrentActivation", given: ActivationName | undefined) => {
    const a: ActivationName = given ?? RECURRENT_DEFAULTS[field];
    if (a === "softmax")
      throw new EngineError(
        `layer ${name} (${ls.type}): ${field} must be element-wise; softmax normalises a whole row`,
        at(field),
      );
    return a as CellActivation;
  };
  const config = {
    units: units as number,
    activation: cellAct("activation", ls.activation),
    useBias: ls.useBias ?? true,
    returnSequences: ls.returnSequences ?? false,
    goBackwards: ls.goBackwards ?? false,
    ...(dropout > 0 || recurrentDropout > 0
      ? { dropout: new RecurrentDropout(dropout, recurrentDropout, inShape[1]!, units as number, i, copy) }
      : {}),
  };
  let layer: Recurrent;
  if (ls.type === "simpleRNN") layer = new SimpleRnn(name, inShape, { inputShape: inShape, ...config });
  else if (ls.type === "lstm") {
    layer = new Lstm(
      name,
      inShape,
      { inputShape: inShape, ...config },
      cellAct("recurrentActivation", ls.recurrentActivation),
    );
    const u = config.units;
    // unitForgetBias: the forget gate's bias starts at 1 (its block of i, f, c, o).
    if (ls.unitForgetBias === true && layer.bias) layer.bias.afterInit = (v) => v.fill(1, u, 2 * u);
  } else
    layer = new Gru(
      name,
      inShape,
      { inputShape: inShape, ...config },
      cellAct("recurrentActivation", ls.recurrentActivation),
      ls.resetAfter ?? RECURRENT_DEFAULTS.resetAfter,
    );
  setInitializer(
    layer.kernel,
    ls.kernelInitializer ?? RECURRENT_DEFAULTS.kernelInitializer,
    at,
    "kernelInitializer",
  );
  setInitializer(
    layer.recurrentKernel,
    ls.recurrentInitializer ?? RECURRENT_DEFAULTS.recurrentInitializer,
    at,
    "recurrentInitializer",
  );
  if (layer.bias)
    setInitializer(
      layer.bias,
      ls.biasInitializer ?? RECURRENT_DEFAULTS.biasInitializer,
      at,
      "biasInitializer",
    );
  return layer;
}

function setInitializer(
  p: Param,
  spec: InitializerSpec,
  at: (field: string) => (string | number)[],
  field: string,
): void {
  checkInitializer(spec, p.shape, at(field), p.fans);
  p.initializer = spec;
  p.initializerPath = at(field);
}
