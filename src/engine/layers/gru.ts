import { matmul, matmulTransA, matmulTransB } from "../matmul.js";
import { type Floats, layerFloats } from "../tensor.js";
import { Buffer } from "./layer.js";
import { Recurrent, type RecurrentConfig } from "./recurrent.js";
import { actGrad, actRange, type CellActivation } from "./recurrent-math.js";
import { addColumnSums, addRecurrentGrad, StepViews } from "./recurrent-steps.js";

/**
 * tfjs' / Keras' `gru` (Cho et al. 2014; docs/backprop.md §22.4), gates in Keras' order z, r, h:
 * `z = σ(x·W_z + b_z + h_{s−1}·U_z)`, `r = σ(x·W_r + b_r + h_{s−1}·U_r)`, `h_s = z ⊙ h_{s−1} + (1 − z) ⊙ ĥ`
 * with the candidate
 * - `resetAfter` false (tfjs): `ĥ = φ(x·W_h + b_h + (r ⊙ h_{s−1})·U_h)`, bias `[3·units]`;
 * - `resetAfter` true (Keras 2.3+'s default): `ĥ = φ(x·W_h + b_h + r ⊙ (h_{s−1}·U_h + b'_h))`, bias
 *   `[2, 3·units]`: row 0 added to the input product, row 1 to the recurrent one.
 * Kernel `[features, 3·units]`, recurrent kernel `[units, 3·units]`.
 */
export class Gru extends Recurrent {
  readonly type = "gru";
  /** Pre-activations (z, r, ĥ) and their values, time-major `[T, batch, 3·units]` each. */
  private readonly zBuf: Buffer;
  private readonly gBuf: Buffer;
  /**
   * resetAfter: `h_{s−1}·U + b'` `[T, batch, 3·units]`; otherwise `h_{s−1}·U_zr` `[batch, 2·units]`
   * (one step's), `r ⊙ h_{s−1}` `[T, batch, units]` and `(r ⊙ h_{s−1})·U_h` `[batch, units]`.
   */
  private readonly huBuf: Buffer;
  private readonly rhBuf: Buffer | undefined;
  private readonly rhuBuf: Buffer | undefined;
  /**
   * Gradients kept for the products over all steps: resetAfter ∂L/∂(h·U + b') `[T, batch, 3·units]`;
   * otherwise ∂L/∂(z, r pre-activations) `[T, batch, 2·units]` and ∂L/∂ĥ's pre-activation `[T, batch, units]`.
   */
  private readonly dhuBuf: Buffer;
  private readonly dahBuf: Buffer | undefined;
  /** resetAfter false: ∂L/∂(r ⊙ h_{s−1}) of one step `[batch, units]`. */
  private readonly drhBuf: Buffer | undefined;
  /** resetAfter false: contiguous copies of U's z, r columns `[units, 2·units]` and h columns `[units, units]`, and their gradients. */
  private readonly uzr: Floats;
  private readonly uh: Floats;
  private readonly guzr: Floats;
  private readonly guh: Floats;
  private readonly views = {
    hu: new StepViews(),
    rh: new StepViews(),
    dhu: new StepViews(),
    dah: new StepViews(),
  };

  constructor(
    name: string,
    inputShape: number[],
    config: RecurrentConfig,
    readonly recurrentActivation: CellActivation,
    readonly resetAfter: boolean,
  ) {
    const u = config.units;
    const per = resetAfter ? { forward: 9 * u, backward: 3 * u } : { forward: 7 * u, backward: 3 * u };
    super(name, inputShape, config, 3, resetAfter ? [2, 3 * u] : [3 * u], per, 10 * u);
    const T = this.steps;
    this.zBuf = new Buffer(T * 3 * u);
    this.gBuf = new Buffer(T * 3 * u);
    this.huBuf = new Buffer(resetAfter ? T * 3 * u : 2 * u);
    this.rhBuf = resetAfter ? undefined : new Buffer(T * u);
    this.rhuBuf = resetAfter ? undefined : new Buffer(u);
    this.dhuBuf = new Buffer(T * (resetAfter ? 3 : 2) * u);
    this.dahBuf = resetAfter ? undefined : new Buffer(T * u);
    this.drhBuf = resetAfter ? undefined : new Buffer(u);
    const n = resetAfter ? 0 : u;
    this.uzr = layerFloats(2 * n * n);
    this.uh = layerFloats(n * n);
    this.guzr = layerFloats(2 * n * n);
    this.guh = layerFloats(n * n);
  }

  protected override inputBias(): Floats | undefined {
    const b = this.bias?.value;
    return b && this.resetAfter ? b.subarray(0, this.width) : b;
  }

  protected override inputBiasGrad(): Floats | undefined {
    const g = this.bias?.grad;
    return g && this.resetAfter ? g.subarray(0, this.width) : g;
  }

  protected run(batch: number): void {
    const { steps: T, units: u, width, activation: phi, recurrentActivation: sig } = this;
    const h = this.hBuf.get(batch);
    const xw = this.xwBuf.get(batch);
    const z = this.zBuf.get(batch);
    const g = this.gBuf.get(batch);
    const hu = this.huBuf.get(batch);
    const U = this.recurrentKernel.value;
    const ra = this.resetAfter;
    if (!ra) splitColumns(U, u, this.uzr, this.uh);
    const hus = ra ? this.views.hu.of(hu, T) : undefined;
    const rh = this.rhBuf?.get(batch);
    const rhs = rh ? this.views.rh.of(rh, T) : undefined;
    const rhu = this.rhuBuf?.get(batch);
    const recBias = ra ? this.bias?.value.subarray(width, 2 * width) : undefined;
    for (let s = 0; s < T; s++) {
      const o = s * batch * width;
      const prev = s * batch * u;
      const next = prev + batch * u;
      // h_{s−1} as the cell reads it: masked by recurrentDropout everywhere below (docs/backprop.md §22.7).
      const hp = this.prevState(s, batch);
      if (ra) matmul(hp, U, hus![s]!, batch, u, width, recBias);
      else matmul(hp, this.uzr, hu, batch, u, 2 * u);
      for (let b = 0; b < batch; b++) {
        const r = o + b * width;
        const hr = ra ? r : b * 2 * u;
        for (let j = 0; j < 2 * u; j++) z[r + j] = xw[r + j]! + hu[hr + j]!;
        actRange(sig, z, r, g, r, 2 * u);
      }
      if (ra) {
        // ĥ's pre-activation: x·W_h + b_h + r ⊙ (h·U_h + b'_h)
        for (let b = 0; b < batch; b++) {
          const r = o + b * width;
          for (let j = 2 * u; j < 3 * u; j++) z[r + j] = xw[r + j]! + g[r + j - u]! * hu[r + j]!;
        }
      } else {
        // ĥ's pre-activation: x·W_h + b_h + (r ⊙ h_{s−1})·U_h
        for (let b = 0; b < batch; b++)
          for (let j = 0; j < u; j++) rh![prev + b * u + j] = g[o + b * width + u + j]! * hp[b * u + j]!;
        matmul(rhs![s]!, this.uh, rhu!, batch, u, u);
        for (let b = 0; b < batch; b++) {
          const r = o + b * width + 2 * u;
          for (let j = 0; j < u; j++) z[r + j] = xw[r + j]! + rhu![b * u + j]!;
        }
      }
      for (let b = 0; b < batch; b++) {
        const r = o + b * width;
        actRange(phi, z, r + 2 * u, g, r + 2 * u, u);
        // h_s = z ⊙ h_{s−1} + (1 − z) ⊙ ĥ
        for (let j = 0; j < u; j++) {
          const gz = g[r + j]!;
          h[next + b * u + j] = gz * hp[b * u + j]! + (1 - gz) * g[r + 2 * u + j]!;
        }
      }
      this.keepMasked(s, batch, h);
    }
  }

  protected override maskedGrads(batch: number): Floats[] {
    const grads = [this.dxzBuf.get(batch), this.dhuBuf.get(batch)];
    if (this.dahBuf) grads.push(this.dahBuf.get(batch));
    return grads;
  }

  protected startBack(): void {
    this.guzr.fill(0);
    this.guh.fill(0);
  }

  protected stepBack(s: number, batch: number, dh: Floats, dhPrev: Floats): void {
    const { steps: T, units: u, width, activation: phi, recurrentActivation: sig } = this;
    const h = this.prevStates(batch);
    const z = this.zBuf.get(batch);
    const g = this.gBuf.get(batch);
    const dxz = this.dxzBuf.get(batch);
    const dhu = this.dhuBuf.get(batch);
    const o = s * batch * width;
    const prev = s * batch * u;
    if (this.resetAfter) {
      const hu = this.huBuf.get(batch);
      // docs/backprop.md §22.4: ∂L/∂z = ∂L/∂h ⊙ (h_{s−1} − ĥ), ∂L/∂ĥ = ∂L/∂h ⊙ (1 − z);
      // ∂L/∂(h·U_h + b'_h) = ∂L/∂a_h ⊙ r, ∂L/∂r = ∂L/∂a_h ⊙ (h·U_h + b'_h).
      for (let b = 0; b < batch; b++) {
        const r = o + b * width;
        for (let j = 0; j < u; j++) {
          const k = b * u + j;
          const gz = g[r + j]!;
          const gr = g[r + u + j]!;
          const gh = g[r + 2 * u + j]!;
          const dhk = dh[k]!;
          const dah = actGrad(phi, z[r + 2 * u + j]!, gh, dhk * (1 - gz));
          const daz = actGrad(sig, z[r + j]!, gz, dhk * (h[prev + k]! - gh));
          const dar = actGrad(sig, z[r + u + j]!, gr, dah * hu[r + 2 * u + j]!);
          dxz[r + j] = daz;
          dxz[r + u + j] = dar;
          dxz[r + 2 * u + j] = dah;
          dhu[r + j] = daz;
          dhu[r + u + j] = dar;
          dhu[r + 2 * u + j] = dah * gr;
        }
      }
      if (s === 0) return;
      // ∂L/∂h_{s−1} = ∂L/∂(h·U + b')·Uᵀ + ∂L/∂h ⊙ z
      matmulTransB(this.views.dhu.of(dhu, T)[s]!, this.recurrentKernel.value, dhPrev, batch, width, u);
      for (let b = 0; b < batch; b++)
        for (let j = 0; j < u; j++) dhPrev[b * u + j]! += dh[b * u + j]! * g[o + b * width + j]!;
      return;
    }
    const dah = this.dahBuf!.get(batch);
    const drh = this.drhBuf!.get(batch);
    for (let b = 0; b < batch; b++) {
      const r = o + b * width;
      for (let j = 0; j < u; j++) {
        const k = b * u + j;
        const gz = g[r + j]!;
        const gh = g[r + 2 * u + j]!;
        const dhk = dh[k]!;
        const a = actGrad(phi, z[r + 2 * u + j]!, gh, dhk * (1 - gz));
        dxz[r + 2 * u + j] = a;
        dah[prev + k] = a;
        const daz = actGrad(sig, z[r + j]!, gz, dhk * (h[prev + k]! - gh));
        dxz[r + j] = daz;
        dhu[2 * prev + b * 2 * u + j] = daz;
      }
    }
    // ∂L/∂(r ⊙ h_{s−1}) = ∂L/∂a_h·U_hᵀ; ∂L/∂r = that ⊙ h_{s−1}
    matmulTransB(this.views.dah.of(dah, T)[s]!, this.uh, drh, batch, u, u);
    for (let b = 0; b < batch; b++) {
      const r = o + b * width;
      for (let j = 0; j < u; j++) {
        const k = b * u + j;
        const dar = actGrad(sig, z[r + u + j]!, g[r + u + j]!, drh[k]! * h[prev + k]!);
        dxz[r + u + j] = dar;
        dhu[2 * prev + b * 2 * u + u + j] = dar;
      }
    }
    if (s === 0) return;
    // ∂L/∂h_{s−1} = ∂L/∂a_zr·U_zrᵀ + ∂L/∂h ⊙ z + ∂L/∂(r ⊙ h_{s−1}) ⊙ r
    matmulTransB(this.views.dhu.of(dhu, T)[s]!, this.uzr, dhPrev, batch, 2 * u, u);
    for (let b = 0; b < batch; b++) {
      const r = o + b * width;
      for (let j = 0; j < u; j++) {
        const k = b * u + j;
        dhPrev[k] = dhPrev[k]! + dh[k]! * g[r + j]! + drh[k]! * g[r + u + j]!;
      }
    }
  }

  protected endBack(batch: number): void {
    const { steps: T, units: u, width } = this;
    const rows = T * batch;
    const h = this.prevStates(batch);
    const dhu = this.dhuBuf.get(batch);
    if (this.resetAfter) {
      addRecurrentGrad(h, dhu, this.recurrentKernel.grad, rows, u, width);
      if (this.bias) addColumnSums(dhu, rows, width, this.bias.grad.subarray(width, 2 * width));
      return;
    }
    // ∂L/∂U_zr = Σ_s h_{s−1}ᵀ·∂L/∂a_zr, ∂L/∂U_h = Σ_s (r ⊙ h_{s−1})ᵀ·∂L/∂a_h, then into U's columns.
    matmulTransA(h, dhu, this.guzr, rows, u, 2 * u);
    matmulTransA(this.rhBuf!.get(batch), this.dahBuf!.get(batch), this.guh, rows, u, u);
    const grad = this.recurrentKernel.grad;
    for (let p = 0; p < u; p++) {
      for (let j = 0; j < 2 * u; j++) grad[p * width + j]! += this.guzr[p * 2 * u + j]!;
      for (let j = 0; j < u; j++) grad[p * width + 2 * u + j]! += this.guh[p * u + j]!;
    }
  }
}

/** U `[units, 3·units]` → its z, r columns `[units, 2·units]` and its h columns `[units, units]`. */
function splitColumns(U: Floats, u: number, uzr: Floats, uh: Floats): void {
  for (let p = 0; p < u; p++) {
    for (let j = 0; j < 2 * u; j++) uzr[p * 2 * u + j] = U[p * 3 * u + j]!;
    for (let j = 0; j < u; j++) uh[p * u + j] = U[p * 3 * u + 2 * u + j]!;
  }
}
