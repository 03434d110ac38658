import { Matrix, QrDecomposition, SingularValueDecomposition } from "ml-matrix";
import type { Dense } from "./layers/dense.js";
import { columnNorm, type LeastSquaresProblem, minimumNorm } from "./least-squares-min-norm.js";
import { lossName } from "./losses.js";
import type { Model } from "./model.js";
import type { ModelSpec } from "./spec.js";
import type { NamedTensors } from "./tensor.js";

/**
 * The closed-form least-squares solution (docs/backprop.md §9: the minimiser of `‖Y − Xβ‖²`, written
 * as the normal equation `β̂ = (XᵀX)⁻¹XᵀY`). It is never computed that way: forming XᵀX
 * squares the condition number and loses twice the digits (Golub & Van Loan, Matrix
 * Computations, 4th ed., §5.3). Instead:
 *
 * - Columns are centred (when there is an intercept) and scaled to unit 2-norm. Centring is exact
 *   algebra (the intercept is recovered as `b = ȳ − x̄ᵀβ`) and removes the near-collinearity of
 *   the ones column with any column far from zero (Longley's years: its condition number falls
 *   from 4·10⁴ to 10²); scaling makes the rank decision independent of units (Higham, Accuracy
 *   and Stability of Numerical Algorithms, 2nd ed., ch. 19–20).
 * - Full rank: Householder QR of that matrix, `β = R⁻¹QᵀY` (`method: "qr"`).
 * - Rank decided from the singular values σ of R: a direction counts when
 *   `σ > max(n, q) · σ_max · ε` (the tolerance of LAPACK's `xGELSD`/NumPy `matrix_rank`), q the
 *   number of coefficient columns (inputs, plus one for the intercept). A column that centring
 *   turns to (almost) zero is constant: collinear with the intercept.
 * - Rank-deficient (a duplicated, constant or all-zero column, or fewer samples than columns):
 *   the minimum-norm solution over kernel and bias together (`method: "svd"`), the Moore–Penrose
 *   `A⁺Y` of `A = [X 1]` truncated at the numerical rank. The fit is found wholly in the scaled
 *   `A` (its SVD), and only then moved, along directions that do not change it, to the shortest
 *   plain weights (`minimumNorm`), so that no column's scale can spoil the predictions.
 *   It is finite unless a weight truly exceeds the largest double (an all-zero design gives
 *   all-zero weights), and it is the point gradient descent from zero weights converges to.
 *
 * Accuracy on the NIST StRD linear regression sets: see docs/nist.md.
 */

/** A least-squares fit of `k` outputs on `p` inputs. */
export interface LeastSquaresFit {
  /** `[p, k]` row-major: the weight of input j for output c is at `j·k + c` (a dense kernel). */
  coefficients: Float64Array;
  /** `[k]`; all zero when fitted without an intercept. */
  intercept: Float64Array;
  /** `qr` for a full-rank design, `svd` for the minimum-norm solution of a rank-deficient one. */
  method: "qr" | "svd";
  /** Numerical rank of the design matrix `[X 1]` (or `X` without intercept), ≤ min(n, q). */
  rank: number;
  /** Mean squared residual over samples and outputs (Keras' meanSquaredError at the solution). */
  mse: number;
  /**
   * Coefficient of determination `1 − SS_res / SS_tot`, pooled over outputs; `SS_tot` is taken
   * about each output's mean with an intercept and about zero without one (R's `lm`, and NIST's
   * certified values). When `SS_tot = 0`: 1 for an exact fit, otherwise 0 (scikit-learn).
   */
  r2: number;
}

/**
 * Solves `min ‖[X 1]·[W; b] − Y‖_F` (or `min ‖X·W − Y‖_F` without intercept) for all outputs at
 * once; the mean-squared-error minimiser is the same (it only divides by n·k).
 * @param x inputs `[n, p]` row-major, finite. @param y targets `[n, k]` row-major, finite.
 * @returns the coefficients `[p, k]`, the intercept `[k]`, the method, rank and fit statistics.
 * Never throws for finite input, and returns finite values unless the data come within a few
 * orders of the largest double (~1e308), where the norms and products overflow, or a weight
 * itself exceeds it (a column of x tiny beside y: `leastSquaresOverflowReason`).
 */
export function solveLeastSquares(
  x: Float64Array,
  y: Float64Array,
  n: number,
  p: number,
  k: number,
  intercept: boolean,
): LeastSquaresFit {
  const q = p + (intercept ? 1 : 0);
  const tolerance = Math.max(n, q) * Number.EPSILON;
  const problem: LeastSquaresProblem = { x, y, n, p, k, intercept, tolerance };
  const solved = (n >= q && fullRankQr(problem)) || {
    ...minimumNorm(problem),
    method: "svd" as const,
  };
  return { ...solved, ...fitStatistics(x, y, n, p, k, intercept, solved.coefficients, solved.intercept) };
}

type Solved = Pick<LeastSquaresFit, "coefficients" | "intercept" | "method" | "rank">;

/** Householder QR of the centred, unit-norm columns; `null` when they are rank-deficient. */
function fullRankQr(problem: LeastSquaresProblem): Solved | null {
  const { x, y, n, p, k, intercept, tolerance } = problem;
  const xMean = intercept ? columnMeans(x, n, p) : new Float64Array(p);
  const yMean = intercept ? columnMeans(y, n, k) : new Float64Array(k);
  const a = new Matrix(n, p);
  const scale = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    const raw = columnNorm(x, n, p, j, 0);
    const centred = columnNorm(x, n, p, j, xMean[j]!);
    // Centring leaves rounding noise of a constant column; scaled up it would look independent.
    if (!(centred > tolerance * raw)) return null;
    scale[j] = centred;
    for (let i = 0; i < n; i++) a.set(i, j, (x[i * p + j]! - xMean[j]!) / centred);
  }
  const coefficients = new Float64Array(p * k);
  if (p > 0) {
    const qr = new QrDecomposition(a);
    const sigma = new SingularValueDecomposition(qr.upperTriangularMatrix, {
      computeLeftSingularVectors: false,
      computeRightSingularVectors: false,
    }).diagonal;
    if (!(sigma[p - 1]! > tolerance * sigma[0]!)) return null;
    const yc = new Matrix(n, k);
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) yc.set(i, c, y[i * k + c]! - yMean[c]!);
    const z = qr.solve(yc);
    for (let j = 0; j < p; j++) for (let c = 0; c < k; c++) coefficients[j * k + c] = z.get(j, c) / scale[j]!;
  }
  const b = new Float64Array(k);
  // b = ȳ − x̄ᵀβ
  if (intercept)
    for (let c = 0; c < k; c++) {
      let s = yMean[c]!;
      for (let j = 0; j < p; j++) s -= xMean[j]! * coefficients[j * k + c]!;
      b[c] = s;
    }
  return { coefficients, intercept: b, method: "qr", rank: p + (intercept ? 1 : 0) };
}

function fitStatistics(
  x: Float64Array,
  y: Float64Array,
  n: number,
  p: number,
  k: number,
  intercept: boolean,
  coefficients: Float64Array,
  b: Float64Array,
): { mse: number; r2: number } {
  const yMean = intercept ? columnMeans(y, n, k) : new Float64Array(k);
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < n; i++)
    for (let c = 0; c < k; c++) {
      let pred = b[c]!;
      for (let j = 0; j < p; j++) pred += x[i * p + j]! * coefficients[j * k + c]!;
      ssRes += (y[i * k + c]! - pred) ** 2;
      ssTot += (y[i * k + c]! - yMean[c]!) ** 2;
    }
  const r2 = ssTot > 0 ? 1 - ssRes / ssTot : ssRes === 0 ? 1 : 0;
  return { mse: ssRes / (n * k), r2 };
}

function columnMeans(m: Float64Array, rows: number, cols: number): Float64Array {
  const mean = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) mean[j]! += m[i * cols + j]!;
  for (let j = 0; j < cols; j++) mean[j]! /= rows;
  return mean;
}

/**
 * Why the least-squares weights of `x` `[n, p]` and `y` `[n, k]` came out non-finite, for the
 * error message: values near the top of the double range (their squares overflow), or else a
 * column of x so small beside y that its weight (about y / x) exceeds ~1.8e308 — which column.
 */
export function leastSquaresOverflowReason(
  x: Float64Array,
  y: Float64Array,
  n: number,
  p: number,
  k: number,
): string {
  let top = 0;
  for (let i = 0; i < n * k; i++) top = Math.max(top, Math.abs(y[i]!));
  const yTop = top;
  for (let i = 0; i < n * p; i++) top = Math.max(top, Math.abs(x[i]!));
  if (top > 1e150) return `the values in x or y are too large (up to ${top.toPrecision(3)})`;
  let column = -1;
  let smallest = Number.POSITIVE_INFINITY;
  for (let j = 0; j < p; j++) {
    let m = 0;
    for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(x[i * p + j]!));
    if (m > 0 && m < smallest) [column, smallest] = [j, m];
  }
  return column < 0
    ? "a weight exceeds the largest double"
    : `input column ${column} of x (values up to ${smallest.toPrecision(3)}) is too small beside y (up to ` +
        `${yTop.toPrecision(3)}): its weight would exceed the largest double; rescale that column`;
}

/** Why a model cannot be solved in closed form: the message and the path of the offending field. */
export interface LinearModelMismatch {
  message: string;
  path: (string | number)[];
}

/**
 * Checks that `spec` is linear least squares: exactly one dense layer with linear activation (or
 * none) and `meanSquaredError`, without regularizers or constraints. Any number of inputs and outputs; `useBias: false` means no
 * intercept. @returns `null` when it is, else why not, with a path into the train request.
 */
export function linearModelMismatch(spec: ModelSpec): LinearModelMismatch | null {
  const why = "the closed-form solution (normalEquation) is for linear regression";
  if (spec.layers.length !== 1)
    return {
      message: `${why}: the model must be exactly one dense layer, it has ${spec.layers.length} layers`,
      path: ["model", "layers"],
    };
  const layer = spec.layers[0]!;
  if (layer.type !== "dense")
    return {
      message: `${why}: the model must be exactly one dense layer, not ${layer.type}`,
      path: ["model", "layers", 0, "type"],
    };
  if ((layer.activation ?? "linear") !== "linear")
    return {
      message: `${why}: the dense layer's activation must be linear, not ${layer.activation}`,
      path: ["model", "layers", 0, "activation"],
    };
  if (lossName(spec.loss) !== "meanSquaredError")
    return {
      message: `${why}: the loss must be meanSquaredError, not ${lossName(spec.loss)}`,
      path: ["model", "loss"],
    };
  // A penalty or a constraint changes the problem: the least-squares weights are not its optimum.
  for (const field of [
    "kernelRegularizer",
    "biasRegularizer",
    "activityRegularizer",
    "kernelConstraint",
  ] as const)
    if (layer[field] !== undefined)
      return {
        message: `${why} without regularizers or constraints: remove ${field} or use sgd or adam`,
        path: ["model", "layers", 0, field],
      };
  return null;
}

/**
 * The least-squares problem of a linear model's first `n` samples: `rows` rows of `p` inputs and
 * `k` outputs. A dense layer on `[..., in]` reads each of its `rows` rows of the last axis as a
 * sample of its own (docs/backprop.md §4.4): `n·rows` rows of `in` inputs and `units` outputs,
 * whose least squares are the mean squared error over the whole `[..., units]` output.
 */
export function leastSquaresShape(model: Model, n: number): { rows: number; p: number; k: number } {
  const dense = model.layers[0] as Dense;
  return { rows: n * dense.rows, p: dense.inputShape.at(-1)!, k: dense.units };
}

/**
 * The least-squares weights of a linear model (see `linearModelMismatch`) on the first `n` samples
 * of `x` `[·, ..., in]` and `y` `[·, ..., units]` (rows as `leastSquaresShape`), keyed as
 * `model.getWeights()`: kernel `[in, units]`, bias `[units]` when the layer has one.
 */
export function leastSquaresWeights(
  model: Model,
  x: Float64Array,
  y: Float64Array,
  n: number,
): { weights: NamedTensors; fit: LeastSquaresFit } {
  const [kernel, bias] = model.params();
  const { rows, p, k } = leastSquaresShape(model, n);
  const fit = solveLeastSquares(
    x.subarray(0, rows * p),
    y.subarray(0, rows * k),
    rows,
    p,
    k,
    bias !== undefined,
  );
  const weights: NamedTensors = { [kernel!.key]: { shape: [p, k], data: fit.coefficients } };
  if (bias) weights[bias.key] = { shape: [k], data: fit.intercept };
  return { weights, fit };
}
