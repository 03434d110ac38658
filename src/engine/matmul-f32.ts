/**
 * The three matrix products of ./matmul.ts in IEEE single precision, for float32 runs
 * (docs/precision.md §2): every multiply and every add rounded to float32 (`Math.fround`, which V8
 * compiles to single-precision instructions), each element summed over p = 0, 1, …, k−1 from a
 * fresh accumulator 0, then the bias (or the old value of c) added last. That is what a float32
 * SIMD kernel computes lane by lane, so any kernel with these semantics gives the same bits.
 *
 * Rounding a float64 sum or product of two float32 values to float32 gives the correctly rounded
 * float32 result (53 ≥ 2·24 + 2: double rounding is innocuous for + and ×), so `fround(x·y)` and
 * `fround(s + t)` are exactly the single-precision operations. Stores into a `Float32Array` round
 * the same way.
 *
 * The register tiles are those of ./matmul.ts: 3 rows × 4 columns against a packed panel of 4
 * columns for `matmul` and `matmulTransB`, 2 rows × 4 columns for `matmulTransA`.
 */

const f = Math.fround;

/** Reused packing panel: contents never outlive a call, so results do not depend on it. */
let panel = new Float32Array(0);

function panelOf(size: number): Float32Array {
  if (panel.length < size) panel = new Float32Array(Math.max(size, 2 * panel.length));
  return panel;
}

/**
 * The micro-kernel: for rows i of `a` (`[m, kr]`) and a panel `pk` `[kr, 4]` holding columns
 * `j … j+cols−1` of the right-hand matrix (zeros beyond `cols`), sets
 * `c[i·ldc + j + q] = fl(fl(Σ_p fl(a[i·kr + p]·pk[4p + q])) + bias[j + q])` for q < cols.
 */
function panelProduct32(
  a: Float32Array,
  m: number,
  kr: number,
  pk: Float32Array,
  c: Float32Array,
  ldc: number,
  j: number,
  cols: number,
  bias: Float32Array | undefined,
): void {
  let i = 0;
  for (; i + 3 <= m; i += 3) {
    let c00 = 0;
    let c01 = 0;
    let c02 = 0;
    let c03 = 0;
    let c10 = 0;
    let c11 = 0;
    let c12 = 0;
    let c13 = 0;
    let c20 = 0;
    let c21 = 0;
    let c22 = 0;
    let c23 = 0;
    const a0 = i * kr;
    const a1 = a0 + kr;
    const a2 = a1 + kr;
    for (let p = 0, q = 0; p < kr; p++, q += 4) {
      const b0 = pk[q]!;
      const b1 = pk[q + 1]!;
      const b2 = pk[q + 2]!;
      const b3 = pk[q + 3]!;
      let x = a[a0 + p]!;
      c00 = f(c00 + f(x * b0));
      c01 = f(c01 + f(x * b1));
      c02 = f(c02 + f(x * b2));
      c03 = f(c03 + f(x * b3));
      x = a[a1 + p]!;
      c10 = f(c10 + f(x * b0));
      c11 = f(c11 + f(x * b1));
      c12 = f(c12 + f(x * b2));
      c13 = f(c13 + f(x * b3));
      x = a[a2 + p]!;
      c20 = f(c20 + f(x * b0));
      c21 = f(c21 + f(x * b1));
      c22 = f(c22 + f(x * b2));
      c23 = f(c23 + f(x * b3));
    }
    const o = i * ldc + j;
    storeRow32(c, o, cols, bias, j, c00, c01, c02, c03);
    storeRow32(c, o + ldc, cols, bias, j, c10, c11, c12, c13);
    storeRow32(c, o + 2 * ldc, cols, bias, j, c20, c21, c22, c23);
  }
  for (; i < m; i++) {
    let c00 = 0;
    let c01 = 0;
    let c02 = 0;
    let c03 = 0;
    const a0 = i * kr;
    for (let p = 0, q = 0; p < kr; p++, q += 4) {
      const x = a[a0 + p]!;
      c00 = f(c00 + f(x * pk[q]!));
      c01 = f(c01 + f(x * pk[q + 1]!));
      c02 = f(c02 + f(x * pk[q + 2]!));
      c03 = f(c03 + f(x * pk[q + 3]!));
    }
    storeRow32(c, i * ldc + j, cols, bias, j, c00, c01, c02, c03);
  }
}

/** Stores the first `cols` of a tile row, adding `bias[j…]` when there is one (the store rounds). */
function storeRow32(
  c: Float32Array,
  o: number,
  cols: number,
  bias: Float32Array | undefined,
  j: number,
  v0: number,
  v1: number,
  v2: number,
  v3: number,
): void {
  if (bias) {
    c[o] = v0 + bias[j]!;
    if (cols > 1) c[o + 1] = v1 + bias[j + 1]!;
    if (cols > 2) c[o + 2] = v2 + bias[j + 2]!;
    if (cols > 3) c[o + 3] = v3 + bias[j + 3]!;
  } else {
    c[o] = v0;
    if (cols > 1) c[o + 1] = v1;
    if (cols > 2) c[o + 2] = v2;
    if (cols > 3) c[o + 3] = v3;
  }
}

/** `c[m, n] = a[m, k] · b[k, n] (+ bias[n])` in single precision (see `matmul`). */
export function matmul32(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  k: number,
  n: number,
  bias?: Float32Array,
): void {
  const pk = panelOf(4 * k);
  for (let j = 0; j < n; j += 4) {
    const cols = Math.min(4, n - j);
    for (let p = 0, s = j, d = 0; p < k; p++, s += n, d += 4) {
      pk[d] = b[s]!;
      pk[d + 1] = cols > 1 ? b[s + 1]! : 0;
      pk[d + 2] = cols > 2 ? b[s + 2]! : 0;
      pk[d + 3] = cols > 3 ? b[s + 3]! : 0;
    }
    panelProduct32(a, m, k, pk, c, n, j, cols, bias);
  }
}

/** `c[m, k] = a[m, n] · b[k, n]ᵀ` in single precision (see `matmulTransB`). */
export function matmulTransB32(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
): void {
  const pk = panelOf(4 * n);
  for (let p = 0; p < k; p += 4) {
    const cols = Math.min(4, k - p);
    const r0 = p * n;
    for (let j = 0, d = 0; j < n; j++, d += 4) {
      pk[d] = b[r0 + j]!;
      pk[d + 1] = cols > 1 ? b[r0 + n + j]! : 0;
      pk[d + 2] = cols > 2 ? b[r0 + 2 * n + j]! : 0;
      pk[d + 3] = cols > 3 ? b[r0 + 3 * n + j]! : 0;
    }
    panelProduct32(a, m, n, pk, c, k, p, cols, undefined);
  }
}

/** `c[k, n] += a[m, k]ᵀ · b[m, n]` in single precision (see `matmulTransA`); the store rounds the add. */
export function matmulTransA32(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  k: number,
  n: number,
): void {
  const n4 = n - (n % 4);
  let p = 0;
  for (; p + 2 <= k; p += 2) {
    let j = 0;
    for (; j < n4; j += 4) {
      let c00 = 0;
      let c01 = 0;
      let c02 = 0;
      let c03 = 0;
      let c10 = 0;
      let c11 = 0;
      let c12 = 0;
      let c13 = 0;
      for (let r = 0, ar = p, br = j; r < m; r++, ar += k, br += n) {
        const b0 = b[br]!;
        const b1 = b[br + 1]!;
        const b2 = b[br + 2]!;
        const b3 = b[br + 3]!;
        const x = a[ar]!;
        const y = a[ar + 1]!;
        c00 = f(c00 + f(x * b0));
        c01 = f(c01 + f(x * b1));
        c02 = f(c02 + f(x * b2));
        c03 = f(c03 + f(x * b3));
        c10 = f(c10 + f(y * b0));
        c11 = f(c11 + f(y * b1));
        c12 = f(c12 + f(y * b2));
        c13 = f(c13 + f(y * b3));
      }
      const o = p * n + j;
      c[o]! += c00;
      c[o + 1]! += c01;
      c[o + 2]! += c02;
      c[o + 3]! += c03;
      c[o + n]! += c10;
      c[o + n + 1]! += c11;
      c[o + n + 2]! += c12;
      c[o + n + 3]! += c13;
    }
    for (; j < n; j++) {
      let c0 = 0;
      let c1 = 0;
      for (let r = 0, ar = p, br = j; r < m; r++, ar += k, br += n) {
        const bv = b[br]!;
        c0 = f(c0 + f(a[ar]! * bv));
        c1 = f(c1 + f(a[ar + 1]! * bv));
      }
      c[p * n + j]! += c0;
      c[(p + 1) * n + j]! += c1;
    }
  }
  if (p < k) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let r = 0, ar = p, br = j; r < m; r++, ar += k, br += n) s = f(s + f(a[ar]! * b[br]!));
      c[p * n + j]! += s;
    }
  }
}
