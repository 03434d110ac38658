/**
 * The three matrix products of ./matmul.ts in TypeScript, float64: what runs where neither the
 * native nor the WebAssembly kernels do (or the product is too small for them to pay). The same
 * semantics as every other path (./matmul.ts's header; docs/kernels.md): each element summed over
 * p = 0, 1, …, k−1 from a fresh accumulator 0, then the bias (or the old value of c) added last.
 * ./matmul-f32.ts is the float32 copy, every operation rounded with `Math.fround`: V8 keeps each
 * monomorphic only as two functions.
 */

/** Reused packing panel: contents never outlive a call, so results do not depend on it. */
let panel = new Float64Array(0);

function panelOf(size: number): Float64Array {
  if (panel.length < size) panel = new Float64Array(Math.max(size, 2 * panel.length));
  return panel;
}

/**
 * The micro-kernel: for rows i of `a` (`[m, kr]`, row-major) and a panel `pk` `[kr, 4]` holding
 * columns `j … j+cols−1` of the right-hand matrix (zeros beyond `cols`), sets
 * `c[i·ldc + j + q] = Σ_p a[i·kr + p]·pk[4p + q] (+ bias[j + q])` for q < cols.
 */
function panelProduct(
  a: Float64Array,
  m: number,
  kr: number,
  pk: Float64Array,
  c: Float64Array,
  ldc: number,
  j: number,
  cols: number,
  bias: Float64Array | undefined,
): void {
  const bias0 = bias ? bias[j]! : 0;
  const bias1 = bias && cols > 1 ? bias[j + 1]! : 0;
  const bias2 = bias && cols > 2 ? bias[j + 2]! : 0;
  const bias3 = bias && cols > 3 ? bias[j + 3]! : 0;
  const full = cols === 4 && bias !== undefined;
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
      c00 += x * b0;
      c01 += x * b1;
      c02 += x * b2;
      c03 += x * b3;
      x = a[a1 + p]!;
      c10 += x * b0;
      c11 += x * b1;
      c12 += x * b2;
      c13 += x * b3;
      x = a[a2 + p]!;
      c20 += x * b0;
      c21 += x * b1;
      c22 += x * b2;
      c23 += x * b3;
    }
    const o = i * ldc + j;
    if (full) {
      c[o] = c00 + bias0;
      c[o + 1] = c01 + bias1;
      c[o + 2] = c02 + bias2;
      c[o + 3] = c03 + bias3;
      c[o + ldc] = c10 + bias0;
      c[o + ldc + 1] = c11 + bias1;
      c[o + ldc + 2] = c12 + bias2;
      c[o + ldc + 3] = c13 + bias3;
      c[o + 2 * ldc] = c20 + bias0;
      c[o + 2 * ldc + 1] = c21 + bias1;
      c[o + 2 * ldc + 2] = c22 + bias2;
      c[o + 2 * ldc + 3] = c23 + bias3;
    } else {
      storeRow(c, o, cols, bias, c00, c01, c02, c03, bias0, bias1, bias2, bias3);
      storeRow(c, o + ldc, cols, bias, c10, c11, c12, c13, bias0, bias1, bias2, bias3);
      storeRow(c, o + 2 * ldc, cols, bias, c20, c21, c22, c23, bias0, bias1, bias2, bias3);
    }
  }
  for (; i < m; i++) {
    let c00 = 0;
    let c01 = 0;
    let c02 = 0;
    let c03 = 0;
    const a0 = i * kr;
    for (let p = 0, q = 0; p < kr; p++, q += 4) {
      const x = a[a0 + p]!;
      c00 += x * pk[q]!;
      c01 += x * pk[q + 1]!;
      c02 += x * pk[q + 2]!;
      c03 += x * pk[q + 3]!;
    }
    storeRow(c, i * ldc + j, cols, bias, c00, c01, c02, c03, bias0, bias1, bias2, bias3);
  }
}

/** Stores the first `cols` of a tile row, adding the bias when there is one. */
function storeRow(
  c: Float64Array,
  o: number,
  cols: number,
  bias: Float64Array | undefined,
  v0: number,
  v1: number,
  v2: number,
  v3: number,
  b0: number,
  b1: number,
  b2: number,
  b3: number,
): void {
  if (bias) {
    c[o] = v0 + b0;
    if (cols > 1) c[o + 1] = v1 + b1;
    if (cols > 2) c[o + 2] = v2 + b2;
    if (cols > 3) c[o + 3] = v3 + b3;
  } else {
    c[o] = v0;
    if (cols > 1) c[o + 1] = v1;
    if (cols > 2) c[o + 2] = v2;
    if (cols > 3) c[o + 3] = v3;
  }
}

export function matmul64(
  a: Float64Array,
  b: Float64Array,
  c: Float64Array,
  m: number,
  k: number,
  n: number,
  bias?: Float64Array,
): void {
  const pk = panelOf(4 * k);
  for (let j = 0; j < n; j += 4) {
    const cols = Math.min(4, n - j);
    // Columns j … j+3 of b, row by row, zero-filled past n.
    for (let p = 0, s = j, d = 0; p < k; p++, s += n, d += 4) {
      pk[d] = b[s]!;
      pk[d + 1] = cols > 1 ? b[s + 1]! : 0;
      pk[d + 2] = cols > 2 ? b[s + 2]! : 0;
      pk[d + 3] = cols > 3 ? b[s + 3]! : 0;
    }
    panelProduct(a, m, k, pk, c, n, j, cols, bias);
  }
}

export function matmulTransB64(
  a: Float64Array,
  b: Float64Array,
  c: Float64Array,
  m: number,
  n: number,
  k: number,
): void {
  const pk = panelOf(4 * n);
  for (let p = 0; p < k; p += 4) {
    const cols = Math.min(4, k - p);
    // Rows p … p+3 of b are columns p … p+3 of bᵀ.
    const r0 = p * n;
    for (let j = 0, d = 0; j < n; j++, d += 4) {
      pk[d] = b[r0 + j]!;
      pk[d + 1] = cols > 1 ? b[r0 + n + j]! : 0;
      pk[d + 2] = cols > 2 ? b[r0 + 2 * n + j]! : 0;
      pk[d + 3] = cols > 3 ? b[r0 + 3 * n + j]! : 0;
    }
    panelProduct(a, m, n, pk, c, k, p, cols, undefined);
  }
}

export function matmulTransA64(
  a: Float64Array,
  b: Float64Array,
  c: Float64Array,
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
        c00 += x * b0;
        c01 += x * b1;
        c02 += x * b2;
        c03 += x * b3;
        c10 += y * b0;
        c11 += y * b1;
        c12 += y * b2;
        c13 += y * b3;
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
        c0 += a[ar]! * bv;
        c1 += a[ar + 1]! * bv;
      }
      c[p * n + j]! += c0;
      c[(p + 1) * n + j]! += c1;
    }
  }
  if (p < k) {
    let j = 0;
    for (; j < n4; j += 4) {
      let c0 = 0;
      let c1 = 0;
      let c2 = 0;
      let c3 = 0;
      for (let r = 0, ar = p, br = j; r < m; r++, ar += k, br += n) {
        const x = a[ar]!;
        c0 += x * b[br]!;
        c1 += x * b[br + 1]!;
        c2 += x * b[br + 2]!;
        c3 += x * b[br + 3]!;
      }
      const o = p * n + j;
      c[o]! += c0;
      c[o + 1]! += c1;
      c[o + 2]! += c2;
      c[o + 3]! += c3;
    }
    for (; j < n; j++) {
      let s = 0;
      for (let r = 0, ar = p, br = j; r < m; r++, ar += k, br += n) s += a[ar]! * b[br]!;
      c[p * n + j]! += s;
    }
  }
}
