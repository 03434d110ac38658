import { EngineError } from "../errors.js";
import { configureParams } from "../regularizers.js";
import type {
  BidirectionalSpec,
  MergeMode,
  RecurrentSpec,
  TimeDistributedSpec,
  WrapperSpec,
} from "../spec.js";
import { formatShape } from "../tensor.js";
import { Activation } from "./activation.js";
import { Bidirectional } from "./bidirectional.js";
import { Dense } from "./dense.js";
import type { Layer } from "./layer.js";
import type { Recurrent } from "./recurrent.js";
import { buildRecurrent, recurrentParamCount } from "./recurrent-factory.js";
import { TimeDistributed } from "./time-distributed.js";

/** tfjs-layers' merge modes; its default is `"concat"`. */
export const MERGE_MODES: readonly MergeMode[] = ["concat", "sum", "mul", "ave"];

const RECURRENT_KINDS: readonly string[] = ["simpleRNN", "lstm", "gru"];

/** Trainable parameters of a wrapper spec on `inShape` (0 when it does not fit). */
export function wrapperParamCount(ls: WrapperSpec, inShape: readonly number[]): number {
  const inner = ls.layer as { type?: unknown; units?: unknown; useBias?: unknown } | undefined;
  if (ls.type === "bidirectional")
    return RECURRENT_KINDS.includes(inner?.type as string) ? 2 * recurrentParamCount(ls.layer, inShape) : 0;
  if (inShape.length !== 2 || inner?.type !== "dense" || !Number.isInteger(inner.units)) return 0;
  const units = inner.units as number;
  const n = inShape[1]! * units + (inner.useBias === false ? 0 : units);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/**
 * Builds a bidirectional or timeDistributed layer (docs/backprop.md §23) from its spec on `inShape`
 * `[timesteps, features]`; a timeDistributed dense with an activation is followed by that activation.
 * @throws EngineError at `["layers", i]` when the input is not `[timesteps, features]`, at
 *   `["layers", i, "layer", "type"]` when the wrapped kind is not one it takes, at
 *   `["layers", i, "mergeMode"]`, and at `["layers", i, "layer", field]` for what the wrapped
 *   layer refuses (as `buildRecurrent` and the dense layer do).
 */
export function buildWrapper(ls: WrapperSpec, name: string, inShape: number[], i: number): Layer[] {
  return ls.type === "bidirectional"
    ? [buildBidirectional(ls, name, inShape, i)]
    : buildTimeDistributed(ls, name, inShape, i);
}

function buildBidirectional(ls: BidirectionalSpec, name: string, inShape: number[], i: number): Layer {
  const inner = ls.layer as RecurrentSpec | undefined;
  if (!inner || !RECURRENT_KINDS.includes(inner.type))
    throw new EngineError(
      `layer ${name} (bidirectional) wraps a simpleRNN, lstm or gru layer, got ${JSON.stringify(inner?.type)}`,
      ["layers", i, "layer", "type"],
    );
  const mergeMode: unknown = ls.mergeMode ?? "concat";
  if (!MERGE_MODES.includes(mergeMode as MergeMode))
    throw new EngineError(
      `layer ${name} (bidirectional): mergeMode must be one of ${MERGE_MODES.join(", ")}, got ${JSON.stringify(mergeMode)}`,
      ["layers", i, "mergeMode"],
    );
  const innerName = inner.name ?? inner.type;
  // Each copy draws its dropout masks from its own stream (docs/backprop.md §22.7).
  const copy = (prefix: string, spec: RecurrentSpec, k: number): Recurrent =>
    nested(i, () => buildRecurrent(spec, `${name}/${prefix}_${innerName}`, inShape, i, k));
  const fwd = copy("forward", inner, 0);
  const bwd = copy("backward", { ...inner, goBackwards: !(inner.goBackwards ?? false) }, 1);
  for (const p of [...fwd.params(), ...bwd.params()])
    if (p.initializerPath) p.initializerPath = nestedPath(p.initializerPath);
  return new Bidirectional(name, fwd, bwd, mergeMode as MergeMode);
}

function buildTimeDistributed(ls: TimeDistributedSpec, name: string, inShape: number[], i: number): Layer[] {
  const inner = ls.layer as TimeDistributedSpec["layer"] | undefined;
  if (inner?.type !== "dense")
    throw new EngineError(
      `layer ${name} (timeDistributed) wraps a dense layer, got ${JSON.stringify(inner?.type)}`,
      ["layers", i, "layer", "type"],
    );
  if (inShape.length !== 2)
    throw new EngineError(
      `layer ${name} (timeDistributed) needs a [timesteps, features] input, got ${formatShape(inShape)}`,
      ["layers", i],
    );
  const units: unknown = inner.units;
  if (!Number.isInteger(units) || (units as number) < 1)
    throw new EngineError(`layer ${name} (timeDistributed): units must be a positive integer`, [
      "layers",
      i,
      "layer",
      "units",
    ]);
  if (inner.activityRegularizer !== undefined)
    throw new EngineError(
      `layer ${name} (timeDistributed): an activityRegularizer inside timeDistributed is not supported`,
      ["layers", i, "layer", "activityRegularizer"],
    );
  const dense = new Dense(name, inShape, units as number, inner.useBias ?? true);
  nested(i, () => configureParams(inner, dense.kernel, dense.bias, i));
  for (const p of dense.params()) if (p.initializerPath) p.initializerPath = nestedPath(p.initializerPath);
  const td = new TimeDistributed(name, dense);
  return inner.activation && inner.activation !== "linear"
    ? [td, new Activation(`${name}/activation`, td.outputShape, inner.activation)]
    : [td];
}

/** `["layers", i, field, …]` → `["layers", i, "layer", field, …]`: a wrapped layer's field. */
function nestedPath(path: (string | number)[]): (string | number)[] {
  return path.length > 2 ? [...path.slice(0, 2), "layer", ...path.slice(2)] : path;
}

/** Runs `build`, moving an EngineError's path into the wrapped layer's spec (see `nestedPath`). */
function nested<T>(i: number, build: () => T): T {
  try {
    return build();
  } catch (e) {
    if (e instanceof EngineError && e.path[0] === "layers" && e.path[1] === i)
      throw new EngineError(e.message, nestedPath(e.path));
    throw e;
  }
}
