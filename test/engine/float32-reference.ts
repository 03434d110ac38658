/**
 * float32 matrix products as the contract states them (docs/kernels.md): a fresh 0, then a·b for
 * p = 0 … k−1, then the bias or the old c, every product and every sum rounded to float32.
 */
const f = Math.fround;

/** float32 `c[m, n] = a[m, k]·b[k, n] (+ bias)`, every product and sum rounded to float32. */
export function naive32(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  bias?: Float32Array,
) {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s = f(s + f(a[i * k + p]! * b[p * n + j]!));
      c[i * n + j] = bias ? f(s + bias[j]!) : s;
    }
  return c;
}

/** float32 `c[m, k] = a[m, n]·b[k, n]ᵀ`. */
export function naive32TransB(a: Float32Array, b: Float32Array, m: number, n: number, k: number) {
  const c = new Float32Array(m * k);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) {
      let s = 0;
      for (let j = 0; j < n; j++) s = f(s + f(a[i * n + j]! * b[p * n + j]!));
      c[i * k + p] = s;
    }
  return c;
}

/** float32 `c[k, n] + a[m, k]ᵀ·b[m, n]`. */
export function naive32TransA(
  a: Float32Array,
  b: Float32Array,
  c0: Float32Array,
  m: number,
  k: number,
  n: number,
) {
  const c = Float32Array.from(c0);
  for (let p = 0; p < k; p++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let r = 0; r < m; r++) s = f(s + f(a[r * k + p]! * b[r * n + j]!));
      c[p * n + j] = f(c[p * n + j]! + s);
    }
  return c;
}
