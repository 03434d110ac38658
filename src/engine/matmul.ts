/**
 * Row-major matrix products over Float64Arrays, the three the affine layer needs (seed §5).
 * Loops are ordered so the innermost one walks contiguous memory. Sizes are not checked here:
 * callers own their buffers and shapes.
 */

/**
 * `c[m, n] = a[m, k] · b[k, n]` (overwrites c), plus `bias[n]` on every row when given.
 */
export function matmul(
  a: Float64Array,
  b: Float64Array,
  c: Float64Array,
  m: number,
  k: number,
  n: number,
  bias?: Float64Array,
): void {
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    if (bias) for (let j = 0; j < n; j++) c[ci + j] = bias[j]!;
    else c.fill(0, ci, ci + n);
    const ai = i * k;
    for (let p = 0; p < k; p++) {
      const aip = a[ai + p]!;
      const bp = p * n;
      for (let j = 0; j < n; j++) c[ci + j]! += aip * b[bp + j]!;
    }
  }
}

/**
 * `c[k, n] += a[m, k]ᵀ · b[m, n]` (accumulates into c). This is `∂L/∂W += Xᵀ·∂L/∂Y`.
 */
export function matmulTransA(
  a: Float64Array,
  b: Float64Array,
  c: Float64Array,
  m: number,
  k: number,
  n: number,
): void {
  for (let r = 0; r < m; r++) {
    const ar = r * k;
    const br = r * n;
    for (let p = 0; p < k; p++) {
      const arp = a[ar + p]!;
      const cp = p * n;
      for (let j = 0; j < n; j++) c[cp + j]! += arp * b[br + j]!;
    }
  }
}

/**
 * `c[m, k] = a[m, n] · b[k, n]ᵀ` (overwrites c). This is `∂L/∂X = ∂L/∂Y·Wᵀ`.
 */
export function matmulTransB(
  a: Float64Array,
  b: Float64Array,
  c: Float64Array,
  m: number,
  n: number,
  k: number,
): void {
  for (let i = 0; i < m; i++) {
    const ai = i * n;
    const ci = i * k;
    for (let p = 0; p < k; p++) {
      const bp = p * n;
      let s = 0;
      for (let j = 0; j < n; j++) s += a[ai + j]! * b[bp + j]!;
      c[ci + p] = s;
    }
  }
}
