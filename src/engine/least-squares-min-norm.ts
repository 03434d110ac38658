import { Matrix, QrDecomposition, SingularValueDecomposition } from "ml-matrix";

/** The rank-deficient least-squares solution: weights `[p, k]` row-major, intercept `[k]`, rank. */
export interface MinimumNorm {
  coefficients: Float64Array;
  intercept: Float64Array;
  rank: number;
}

/**
 * One least-squares problem as the solvers take it: x `[n, p]` and y `[n, k]` row-major, with or
 * without an intercept column, and the relative rank tolerance on the unit-norm columns.
 */
export interface LeastSquaresProblem {
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly n: number;
  readonly p: number;
  readonly k: number;
  readonly intercept: boolean;
  readonly tolerance: number;
}

/**
 * Minimum-norm solution `A⁺Y` with `A = [X 1]` (or `X`), truncated at the numerical rank r
 * (docs/backprop.md §9.2), over kernel and bias together; x `[n, p]`, y `[n, k]` row-major,
 * `tolerance` relative to the largest singular value of the unit-column `A`. Never throws.
 * With more than max(n, 128) columns the null space is too large to form (`O(q³)`), and the
 * solution is unscaled through `D·V_r` (`minimumNormWide`), which keeps the fit exact only while
 * the column norms are within some orders of each other.
 */
export function minimumNorm(problem: LeastSquaresProblem): MinimumNorm {
  const { n, p, intercept } = problem;
  const q = p + (intercept ? 1 : 0);
  return q <= Math.max(n, WIDE) ? minimumNormTall(problem) : minimumNormWide(problem);
}

/** Columns beyond which (and beyond n) the full null space is not formed. */
const WIDE = 128;

/**
 * `minimumNorm` when the columns are at most max(n, 128): the full V costs no more than the QR.
 * With `A = As·D` (D the column norms, so `As` has unit columns) and the SVD `As ≈ U_r Σ_r V_rᵀ`,
 * the scaled coefficients `γ = D·β` that fit best are `γ₀ + N·ν` for any ν, where
 * `γ₀ = V_r Σ_r⁻¹ U_rᵀ Y` and N spans the rest of V (directions As does not see). The fit, and so
 * the predictions, are fixed by `γ₀` alone, computed wholly in the scaled problem; ν then picks
 * the one with the smallest plain ‖β‖ = ‖D⁻¹γ‖, a least-squares problem of its own
 * (`minNormShift`). Unscaling through `B = D·V_r` instead (`A_r⁺ = B(BᵀB)⁻¹Σ_r⁻¹U_rᵀ`) is exact
 * algebra but fails in floating point: a column 10¹⁷ times smaller than a duplicated one makes B
 * as ill-conditioned as the unscaled problem. All-zero columns get a weight of exactly 0.
 */
function minimumNormTall(problem: LeastSquaresProblem): MinimumNorm {
  const { x, y, n, p, k, intercept, tolerance } = problem;
  const q = p + (intercept ? 1 : 0);
  // The columns that are not all zero, and their norms.
  const cols: number[] = [];
  const norms: number[] = [];
  for (let j = 0; j < q; j++) {
    const norm = j < p ? columnNorm(x, n, p, j, 0) : Math.sqrt(n);
    if (norm > 0) {
      cols.push(j);
      norms.push(norm);
    }
  }
  const m = cols.length;
  const w = new Matrix(q, k);
  let rank = 0;
  if (m > 0) {
    // Padded with zero rows to at least m: the same singular values and right vectors, all m of them.
    const a = new Matrix(Math.max(n, m), m);
    for (let s = 0; s < m; s++) {
      const j = cols[s]!;
      for (let i = 0; i < n; i++) a.set(i, s, (j < p ? x[i * p + j]! : 1) / norms[s]!);
    }
    const svd = new SingularValueDecomposition(a, { autoTranspose: false });
    const sigma = svd.diagonal;
    while (rank < m && sigma[rank]! > tolerance * sigma[0]!) rank++;
    const u = svd.leftSingularVectors;
    const v = svd.rightSingularVectors;
    // γ₀ = V_r·(Σ_r⁻¹ U_rᵀ Y)   (m × k)
    const gamma = new Matrix(m, k);
    for (let s = 0; s < rank; s++)
      for (let c = 0; c < k; c++) {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += u.get(i, s) * y[i * k + c]!;
        const t = acc / sigma[s]!;
        for (let j = 0; j < m; j++) gamma.set(j, c, gamma.get(j, c) + v.get(j, s) * t);
      }
    if (rank < m) {
      // Entries of the null directions below their rounding (the backward error over the gap,
      // tolerance·σ₀/σ_r) are noise: weighted by a tiny column's large 1/norm they would pass for
      // a real share of that column.
      const nullBasis = v.subMatrix(0, m - 1, rank, m - 1);
      const noise = (16 * tolerance * sigma[0]!) / sigma[rank - 1]!;
      for (let j = 0; j < m; j++)
        for (let s = 0; s < m - rank; s++) if (Math.abs(nullBasis.get(j, s)) <= noise) nullBasis.set(j, s, 0);
      minNormShift(gamma, nullBasis, norms);
    }
    for (let s = 0; s < m; s++) for (let c = 0; c < k; c++) w.set(cols[s]!, c, gamma.get(s, c) / norms[s]!);
  }
  const coefficients = new Float64Array(p * k);
  for (let j = 0; j < p; j++) for (let c = 0; c < k; c++) coefficients[j * k + c] = w.get(j, c);
  const b = new Float64Array(k);
  if (intercept) for (let c = 0; c < k; c++) b[c] = w.get(p, c);
  return { coefficients, intercept: b, rank };
}

/**
 * Moves each column of `gamma` `[m, k]` within `gamma + range(N)` (N = `nullBasis`) to the point
 * of smallest `‖D⁻¹γ‖`, D = diag(norms), in place: `ν = −(MᵀM)⁻¹Mᵀ(D⁻¹γ)` with `M = D⁻¹N`, the
 * weights normalised to at most 1 (ν does not change). `Mᵀ(D⁻¹γ)` is summed term by term, so
 * each column keeps its relative accuracy whatever its weight (singular vectors of M would only
 * carry absolute accuracy); `(MᵀM)⁻¹` comes from the SVD of M, `V Σ⁻² Vᵀ`, leaving out directions
 * with `σ ≤ √ε·σ_max` that the squaring would drown in rounding (those shares stay as they are).
 * The step repeats while it still changes γ: a shift that cancels a large scaled coefficient of
 * a small-norm column leaves rounding of `ε·‖γ‖`, and each repetition removes most of what is
 * left (iterative refinement, Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed.,
 * ch. 12). The fit, `As·γ`, moves only by rounding.
 */
function minNormShift(gamma: Matrix, nullBasis: Matrix, norms: number[]): void {
  const m = gamma.rows;
  const k = gamma.columns;
  const nulls = nullBasis.columns;
  const smallest = Math.min(...norms);
  const weight = norms.map((d) => smallest / d);
  const weighted = new Matrix(m, nulls);
  for (let j = 0; j < m; j++)
    for (let s = 0; s < nulls; s++) weighted.set(j, s, weight[j]! * nullBasis.get(j, s));
  const svd = new SingularValueDecomposition(weighted, {
    autoTranspose: false,
    computeLeftSingularVectors: false,
  });
  const sigma = svd.diagonal;
  const cut = Math.sqrt(Number.EPSILON) * sigma[0]!;
  const vw = svd.rightSingularVectors;
  for (let c = 0; c < k; c++) {
    const start = gamma.getColumn(c);
    for (let pass = 0; pass < 64; pass++) {
      // g = Mᵀ(D⁻¹γ), then ν = −V Σ⁻² Vᵀ g, then γ += N·ν
      const g = new Float64Array(nulls);
      for (let l = 0; l < nulls; l++)
        for (let j = 0; j < m; j++) g[l]! += weighted.get(j, l) * (weight[j]! * gamma.get(j, c));
      const nu = new Float64Array(nulls);
      for (let s = 0; s < nulls; s++) {
        if (!(sigma[s]! > cut)) continue;
        let acc = 0;
        for (let l = 0; l < nulls; l++) acc += vw.get(l, s) * g[l]!;
        for (let l = 0; l < nulls; l++) nu[l]! -= (vw.get(l, s) * acc) / sigma[s]! / sigma[s]!;
      }
      let changed = false;
      for (let j = 0; j < m; j++) {
        let shift = 0;
        for (let l = 0; l < nulls; l++) shift += nullBasis.get(j, l) * nu[l]!;
        const next = gamma.get(j, c) + shift;
        if (next !== gamma.get(j, c)) changed = true;
        gamma.set(j, c, next);
      }
      if (!changed) break;
    }
    // A shift far longer than γ itself comes from rounding in N, not from the data; the
    // cancelling weights it makes would cost the predictions its length times ε. Keep γ₀.
    if (norm2(gamma.getColumn(c).map((g, j) => g - start[j]!)) > MAX_SHIFT * norm2(start))
      gamma.setColumn(c, start);
  }
}

/** How many times ‖γ₀‖ the minimum-norm shift may be before it is put down to rounding. */
const MAX_SHIFT = 1e4;

/** ‖v‖₂ without overflow or underflow. */
function norm2(v: number[]): number {
  const big = Math.max(0, ...v.map(Math.abs));
  return big > 0 && Number.isFinite(big) ? big * Math.hypot(...v.map((e) => e / big)) : big;
}

/**
 * `minimumNorm` for many more columns than samples, at `O(n²·q)` instead of `O(q³)`.
 * With `A = As·D` (D the column norms) and the SVD `As ≈ U_r Σ_r V_rᵀ`: `A_r = U_r Σ_r Bᵀ` with
 * `B = D·V_r = Q_B R_B`, so `A_r⁺ = Q_B R_B⁻ᵀ Σ_r⁻¹ U_rᵀ` (all factors have full rank r). The rank is
 * decided on the scaled `As`, so it does not depend on units, while the norm minimised is the
 * plain one over kernel and bias.
 */
function minimumNormWide(problem: LeastSquaresProblem): MinimumNorm {
  const { x, y, n, p, k, intercept, tolerance } = problem;
  const q = p + (intercept ? 1 : 0);
  const a = new Matrix(n, q);
  const scale = new Float64Array(q);
  for (let j = 0; j < q; j++) {
    const norm = j < p ? columnNorm(x, n, p, j, 0) : Math.sqrt(n);
    scale[j] = norm > 0 ? norm : 1;
    for (let i = 0; i < n; i++) a.set(i, j, (j < p ? x[i * p + j]! : 1) / scale[j]!);
  }
  const svd = new SingularValueDecomposition(a, { autoTranspose: true });
  const sigma = svd.diagonal;
  let rank = 0;
  while (rank < sigma.length && sigma[rank]! > tolerance * sigma[0]!) rank++;
  const w = new Matrix(q, k);
  if (rank > 0) {
    const u = svd.leftSingularVectors;
    const v = svd.rightSingularVectors;
    // t = Σ_r⁻¹ U_rᵀ Y   (r × k)
    const t = new Matrix(rank, k);
    for (let s = 0; s < rank; s++)
      for (let c = 0; c < k; c++) {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += u.get(i, s) * y[i * k + c]!;
        t.set(s, c, acc / sigma[s]!);
      }
    const bMatrix = new Matrix(q, rank);
    for (let j = 0; j < q; j++) for (let s = 0; s < rank; s++) bMatrix.set(j, s, scale[j]! * v.get(j, s));
    const qrB = new QrDecomposition(bMatrix);
    const rB = qrB.upperTriangularMatrix;
    const qB = qrB.orthogonalMatrix;
    // Solve R_Bᵀ·g = t by forward substitution (R_Bᵀ is lower-triangular), then W = Q_B·g.
    const g = new Matrix(rank, k);
    for (let c = 0; c < k; c++)
      for (let s = 0; s < rank; s++) {
        let acc = t.get(s, c);
        for (let l = 0; l < s; l++) acc -= rB.get(l, s) * g.get(l, c);
        g.set(s, c, acc / rB.get(s, s));
      }
    w.setSubMatrix(qB.mmul(g), 0, 0);
  }
  const coefficients = new Float64Array(p * k);
  for (let j = 0; j < p; j++) for (let c = 0; c < k; c++) coefficients[j * k + c] = w.get(j, c);
  const b = new Float64Array(k);
  if (intercept) for (let c = 0; c < k; c++) b[c] = w.get(p, c);
  return { coefficients, intercept: b, rank };
}

/** ‖m[:, j] − shift‖₂ without overflow or underflow (scaled by the largest magnitude). */
export function columnNorm(m: Float64Array, rows: number, cols: number, j: number, shift: number): number {
  let big = 0;
  for (let i = 0; i < rows; i++) big = Math.max(big, Math.abs(m[i * cols + j]! - shift));
  if (big === 0 || !Number.isFinite(big)) return big;
  let s = 0;
  for (let i = 0; i < rows; i++) s += ((m[i * cols + j]! - shift) / big) ** 2;
  return big * Math.sqrt(s);
}
