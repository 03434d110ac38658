import { matmul, matmulTransB } from "../matmul.js";
import type { Floats } from "../tensor.js";
import { Buffer } from "./layer.js";
import { Recurrent, type RecurrentConfig } from "./recurrent.js";
import { actGrad, actRange, type CellActivation } from "./recurrent-math.js";
import { addRecurrentGrad, StepViews } from "./recurrent-steps.js";

/**
 * tfjs' `simpleRNN` (Elman 1990; docs/backprop.md §22.2): `a_s = x_s·W + b + h_{s−1}·U`,
 * `h_s = φ(a_s)`. X `[batch, T, features]`; kernel `[features, units]`, recurrent kernel
 * `[units, units]`, bias `[units]`.
 */
export class SimpleRnn extends Recurrent {
  readonly type = "simpleRNN";
  /** Pre-activations a_s, time-major `[T, batch, units]`. */
  private readonly aBuf: Buffer;
  private readonly aViews = new StepViews();

  constructor(name: string, inputShape: number[], config: RecurrentConfig) {
    super(name, inputShape, config, 1, [config.units], { forward: config.units, backward: 0 }, config.units);
    this.aBuf = new Buffer(this.steps * this.units);
  }

  protected run(batch: number): void {
    const { steps: T, units } = this;
    const h = this.hBuf.get(batch);
    const xw = this.xwBuf.get(batch);
    const a = this.aBuf.get(batch);
    const as = this.aViews.of(a, T);
    const n = batch * units;
    for (let s = 0; s < T; s++) {
      const o = s * n;
      // a_s = h_{s−1}·U, then + (x_s·W + b); h_s = φ(a_s) (h_s is block s+1 of the states).
      matmul(this.prevState(s, batch), this.recurrentKernel.value, as[s]!, batch, units, units);
      for (let k = o; k < o + n; k++) a[k] = xw[k]! + a[k]!;
      actRange(this.activation, a, o, h, o + n, n);
      this.keepMasked(s, batch, h);
    }
  }

  protected startBack(): void {}

  protected stepBack(s: number, batch: number, dh: Floats, dhPrev: Floats): void {
    const n = batch * this.units;
    const o = s * n;
    const a = this.aBuf.get(batch);
    const h = this.hBuf.get(batch);
    const dxz = this.dxzBuf.get(batch);
    // ∂L/∂a_s = ∂L/∂h_s ⊙ φ'(a_s) (docs/backprop.md §22.2)
    for (let k = 0; k < n; k++) dxz[o + k] = actGrad(this.activation, a[o + k]!, h[o + n + k]!, dh[k]!);
    // ∂L/∂h_{s−1} = ∂L/∂a_s·Uᵀ
    if (s > 0)
      matmulTransB(
        this.dxzViews.of(dxz, this.steps)[s]!,
        this.recurrentKernel.value,
        dhPrev,
        batch,
        this.units,
        this.units,
      );
  }

  protected endBack(batch: number): void {
    const { steps: T, units } = this;
    // ∂L/∂U += Σ_s h_{s−1}ᵀ·∂L/∂a_s: the states steps 0 … T−1 read against every step's ∂L/∂a.
    const hp = this.prevStates(batch);
    addRecurrentGrad(hp, this.dxzBuf.get(batch), this.recurrentKernel.grad, T * batch, units, units);
  }
}

/**
 * tfjs' `lstm` (Hochreiter & Schmidhuber 1997, forget gate of Gers et al. 2000; docs/backprop.md
 * §22.3): `z_s = x_s·W + b + h_{s−1}·U` split into i, f, c̃, o (Keras' order);
 * `i = σ(z_i)`, `f = σ(z_f)`, `g = φ(z_c)`, `o = σ(z_o)`, `c_s = f ⊙ c_{s−1} + i ⊙ g`,
 * `h_s = o ⊙ φ(c_s)`. Kernel `[features, 4·units]`, recurrent kernel `[units, 4·units]`, bias `[4·units]`.
 */
export class Lstm extends Recurrent {
  readonly type = "lstm";
  /** Pre-activations z_s and gate values (i, f, g, o), time-major `[T, batch, 4·units]` each. */
  private readonly zBuf: Buffer;
  private readonly gBuf: Buffer;
  /** Cell states `[T + 1, batch, units]` (c_0 = 0) and φ(c_s) `[T, batch, units]`. */
  private readonly cBuf: Buffer;
  private readonly tcBuf: Buffer;
  /** The running ∂L/∂c `[batch, units]`. */
  private readonly dcBuf: Buffer;
  private readonly zViews = new StepViews();

  constructor(
    name: string,
    inputShape: number[],
    config: RecurrentConfig,
    readonly recurrentActivation: CellActivation,
  ) {
    const u = config.units;
    super(name, inputShape, config, 4, [4 * u], { forward: 10 * u, backward: 0 }, 8 * u);
    const T = this.steps;
    this.zBuf = new Buffer(T * 4 * u);
    this.gBuf = new Buffer(T * 4 * u);
    this.cBuf = new Buffer((T + 1) * u);
    this.tcBuf = new Buffer(T * u);
    this.dcBuf = new Buffer(u);
  }

  protected run(batch: number): void {
    const { steps: T, units: u, width, activation: phi, recurrentActivation: sig } = this;
    const h = this.hBuf.get(batch);
    const xw = this.xwBuf.get(batch);
    const z = this.zBuf.get(batch);
    const zs = this.zViews.of(z, T);
    const g = this.gBuf.get(batch);
    const c = this.cBuf.get(batch);
    const tc = this.tcBuf.get(batch);
    c.fill(0, 0, batch * u);
    for (let s = 0; s < T; s++) {
      // z_s = h_{s−1}·U, then + (x_s·W + b)
      matmul(this.prevState(s, batch), this.recurrentKernel.value, zs[s]!, batch, u, width);
      const o = s * batch * width;
      for (let k = 0; k < batch * width; k++) z[o + k] = xw[o + k]! + z[o + k]!;
      for (let b = 0; b < batch; b++) {
        const r = o + b * width;
        actRange(sig, z, r, g, r, 2 * u);
        actRange(phi, z, r + 2 * u, g, r + 2 * u, u);
        actRange(sig, z, r + 3 * u, g, r + 3 * u, u);
      }
      const prev = s * batch * u;
      const next = prev + batch * u;
      for (let b = 0; b < batch; b++) {
        const r = o + b * width;
        for (let j = 0; j < u; j++) {
          const k = b * u + j;
          c[next + k] = g[r + u + j]! * c[prev + k]! + g[r + j]! * g[r + 2 * u + j]!;
        }
      }
      // φ(c_s): block s of tc, from block s+1 of c.
      actRange(phi, c, next, tc, prev, batch * u);
      for (let b = 0; b < batch; b++) {
        const r = o + b * width;
        for (let j = 0; j < u; j++) {
          const k = b * u + j;
          h[next + k] = g[r + 3 * u + j]! * tc[prev + k]!;
        }
      }
      this.keepMasked(s, batch, h, c);
    }
  }

  protected startBack(batch: number): void {
    this.dcBuf.get(batch).fill(0);
  }

  protected override carriedGrads(batch: number): Floats[] {
    return [this.dcBuf.get(batch)];
  }

  protected stepBack(s: number, batch: number, dh: Floats, dhPrev: Floats): void {
    const { units: u, width, activation: phi, recurrentActivation: sig } = this;
    const z = this.zBuf.get(batch);
    const g = this.gBuf.get(batch);
    const c = this.cBuf.get(batch);
    const tc = this.tcBuf.get(batch);
    const dc = this.dcBuf.get(batch);
    const dxz = this.dxzBuf.get(batch);
    const o = s * batch * width;
    const prev = s * batch * u;
    const next = prev + batch * u;
    // docs/backprop.md §22.3: ∂L/∂o = ∂L/∂h ⊙ φ(c); ∂L/∂c += ∂L/∂h ⊙ o ⊙ φ'(c);
    // ∂L/∂i = ∂L/∂c ⊙ g, ∂L/∂f = ∂L/∂c ⊙ c_{s−1}, ∂L/∂g = ∂L/∂c ⊙ i, ∂L/∂c_{s−1} = ∂L/∂c ⊙ f.
    for (let b = 0; b < batch; b++) {
      const r = o + b * width;
      for (let j = 0; j < u; j++) {
        const k = b * u + j;
        const gi = g[r + j]!;
        const gf = g[r + u + j]!;
        const gg = g[r + 2 * u + j]!;
        const go = g[r + 3 * u + j]!;
        const t = tc[prev + k]!;
        const dhk = dh[k]!;
        const dck = dc[k]! + actGrad(phi, c[next + k]!, t, dhk * go);
        dxz[r + j] = actGrad(sig, z[r + j]!, gi, dck * gg);
        dxz[r + u + j] = actGrad(sig, z[r + u + j]!, gf, dck * c[prev + k]!);
        dxz[r + 2 * u + j] = actGrad(phi, z[r + 2 * u + j]!, gg, dck * gi);
        dxz[r + 3 * u + j] = actGrad(sig, z[r + 3 * u + j]!, go, dhk * t);
        dc[k] = dck * gf;
      }
    }
    // ∂L/∂h_{s−1} = ∂L/∂z_s·Uᵀ
    if (s > 0)
      matmulTransB(
        this.dxzViews.of(dxz, this.steps)[s]!,
        this.recurrentKernel.value,
        dhPrev,
        batch,
        width,
        u,
      );
  }

  protected endBack(batch: number): void {
    const { steps: T, units: u, width } = this;
    addRecurrentGrad(
      this.prevStates(batch),
      this.dxzBuf.get(batch),
      this.recurrentKernel.grad,
      T * batch,
      u,
      width,
    );
  }
}
