/**
 * The activations the fused dense path (`DenseNet`) applies in loops of its own: linear, sigmoid,
 * tanh and relu, the ones hidden layers mostly use. Each is the expression `activate` and
 * `activateBackward` (../layers/activation.ts) evaluate, in double precision on the values read,
 * stored into an array of the run's dtype (which rounds a float32 run's, docs/precision.md §1), so
 * the bits are theirs; a copy per dtype keeps each loop monomorphic in a process that trains both.
 * Every other activation goes to those functions.
 */
import { activate, activateBackward, NATIVE_RELU_MIN, sigmoid } from "../layers/activation.js";
import type { ActivationName } from "../spec.js";
import type { Floats } from "../tensor.js";

/** The activations with loops here. */
export type LoopActivation = "linear" | "sigmoid" | "tanh" | "relu";

/** Whether `activation` has loops here (else `activate` and `activateBackward` run it). */
export function hasLoops(activation: ActivationName): activation is LoopActivation {
  return (
    activation === "linear" || activation === "sigmoid" || activation === "tanh" || activation === "relu"
  );
}

/** `activate(activation, x, y, ·)`, x and y of the same length; relu from `NATIVE_RELU_MIN` values is `activate`'s. */
export function loopForward(activation: LoopActivation, x: Floats, y: Floats): void {
  const n = y.length;
  if (activation === "relu" && n >= NATIVE_RELU_MIN) activate(activation, x, y, n);
  else if (y instanceof Float32Array) activationForward32(activation, x as Float32Array, y, n);
  else activationForward64(activation, x as Float64Array, y as Float64Array, n);
}

/**
 * `activateBackward(activation, y, dy, dx, ·)`: `dx` from the output `y`, all of the same length;
 * relu from `NATIVE_RELU_MIN` values is `activateBackward`'s.
 */
export function loopBackward(activation: LoopActivation, y: Floats, dy: Floats, dx: Floats): void {
  const n = dx.length;
  if (activation === "relu" && n >= NATIVE_RELU_MIN) activateBackward(activation, y, dy, dx, n);
  else if (dx instanceof Float32Array)
    activationBackward32(activation, y as Float32Array, dy as Float32Array, dx, n);
  else activationBackward64(activation, y as Float64Array, dy as Float64Array, dx as Float64Array, n);
}

/** `activateOne`'s codes (./dense-kernels.ts tests one per value: an integer compare, not a string one). */
export type ActivationCode = 0 | 1 | 2 | 3 | 4;

/** The code of `activation` for `activateOne`: 0 none, 1 linear, 2 sigmoid, 3 tanh, 4 relu. */
export function activationCode(activation: LoopActivation | undefined): ActivationCode {
  switch (activation) {
    case undefined:
      return 0;
    case "linear":
      return 1;
    case "sigmoid":
      return 2;
    case "tanh":
      return 3;
    case "relu":
      return 4;
  }
}

/**
 * `activate` of one value `v` as stored (a float32 run's already rounded), for the dense loops that
 * apply the activation as they store each output (./dense-kernels.ts); `code` from `activationCode`, not 0.
 */
export function activateOne(code: ActivationCode, v: number): number {
  return code === 2 ? sigmoid(v) : code === 3 ? Math.tanh(v) : code === 4 ? Math.max(v, 0) : v;
}

/** `activate` of a float64 batch's first `n` values (one of the dtype's copies, see the file's header). */
export function activationForward64(
  activation: LoopActivation,
  x: Float64Array,
  y: Float64Array,
  n: number,
): void {
  switch (activation) {
    case "linear":
      for (let i = 0; i < n; i++) y[i] = x[i]!;
      return;
    case "sigmoid":
      for (let i = 0; i < n; i++) y[i] = sigmoid(x[i]!);
      return;
    case "tanh":
      for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]!);
      return;
    case "relu":
      for (let i = 0; i < n; i++) y[i] = Math.max(x[i]!, 0);
  }
}

/** `activate` of a float32 batch's first `n` values. */
export function activationForward32(
  activation: LoopActivation,
  x: Float32Array,
  y: Float32Array,
  n: number,
): void {
  switch (activation) {
    case "linear":
      for (let i = 0; i < n; i++) y[i] = x[i]!;
      return;
    case "sigmoid":
      for (let i = 0; i < n; i++) y[i] = sigmoid(x[i]!);
      return;
    case "tanh":
      for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]!);
      return;
    case "relu":
      for (let i = 0; i < n; i++) y[i] = Math.max(x[i]!, 0);
  }
}

/** `activateBackward` of a float64 batch's first `n` values, from the output `y`. */
export function activationBackward64(
  activation: LoopActivation,
  y: Float64Array,
  dy: Float64Array,
  dx: Float64Array,
  n: number,
): void {
  switch (activation) {
    case "linear":
      for (let i = 0; i < n; i++) dx[i] = dy[i]!;
      return;
    case "sigmoid":
      for (let i = 0; i < n; i++) {
        const s = y[i]!;
        dx[i] = dy[i]! * s * (1 - s);
      }
      return;
    case "tanh":
      for (let i = 0; i < n; i++) {
        const t = y[i]!;
        dx[i] = dy[i]! * (1 - t * t);
      }
      return;
    case "relu":
      for (let i = 0; i < n; i++) dx[i] = y[i]! > 0 ? dy[i]! : 0;
  }
}

/** `activateBackward` of a float32 batch's first `n` values, from the output `y`. */
export function activationBackward32(
  activation: LoopActivation,
  y: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  n: number,
): void {
  switch (activation) {
    case "linear":
      for (let i = 0; i < n; i++) dx[i] = dy[i]!;
      return;
    case "sigmoid":
      for (let i = 0; i < n; i++) {
        const s = y[i]!;
        dx[i] = dy[i]! * s * (1 - s);
      }
      return;
    case "tanh":
      for (let i = 0; i < n; i++) {
        const t = y[i]!;
        dx[i] = dy[i]! * (1 - t * t);
      }
      return;
    case "relu":
      for (let i = 0; i < n; i++) dx[i] = y[i]! > 0 ? dy[i]! : 0;
  }
}
