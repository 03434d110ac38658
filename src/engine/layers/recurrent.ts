import { matmul, matmulTransA, matmulTransB } from "../matmul.js";
import { type Floats, layerFloats } from "../tensor.js";
import { Buffer, type Layer, type LayerMode, NO_INPUT_GRAD, type Param, type SampleValues } from "./layer.js";
import type { RecurrentDropout } from "./recurrent-dropout.js";
import type { CellActivation } from "./recurrent-math.js";
import { addColumnSums, rowNormSum, StepViews } from "./recurrent-steps.js";

/** The shape and options every recurrent cell is built from (see `RecurrentOptions` in spec-recurrent.ts). */
export interface RecurrentConfig {
  /** Per-sample input `[timesteps, features]`. */
  inputShape: number[];
  units: number;
  activation: CellActivation;
  useBias: boolean;
  returnSequences: boolean;
  goBackwards: boolean;
  /** The masks of `dropout` / `recurrentDropout` when either rate is above 0 (docs/backprop.md §22.7). */
  dropout?: RecurrentDropout;
}

/**
 * What simpleRNN, lstm and gru share (docs/backprop.md §22.1): X `[batch, timesteps, features]`
 * is copied time-major (step s reads input step `goBackwards ? T−1−s : s`), the input product of
 * every step is ONE matrix product `Xs·W + b` `[T·batch, gates·units]`, a subclass runs the
 * recurrence step by step (`run`, one product `h_{s−1}·U` per step), and the output is the last
 * state `[batch, units]` or every state `[batch, T, units]` in processing order (Keras' order,
 * also with `goBackwards`). The state starts at zero. Backward is back-propagation through time:
 * the subclass's `stepBack` turns `∂L/∂h_s` into the gates' pre-activation gradients of step s
 * and `∂L/∂h_{s−1}`; then `∂L/∂W += Xsᵀ·∂L/∂Z`, `∂L/∂X = ∂L/∂Z·Wᵀ` and the recurrent kernel's
 * gradient are each one product over all steps.
 * Weights as Keras: `<name>/kernel` `[features, gates·units]`, `<name>/recurrent_kernel`
 * `[units, gates·units]`, `<name>/bias`, the gates side by side along the last axis.
 * With dropout (docs/backprop.md §22.7), training multiplies Xs by the input mask as it is copied
 * (so every product and gradient above reads the masked inputs) and the cells read the previous
 * state through `prevState`/`prevStates`, masked; backward multiplies ∂L/∂h_{s−1} and ∂L/∂X by
 * the same masks.
 */
export abstract class Recurrent implements Layer {
  abstract readonly type: string;
  readonly outputShape: number[];
  readonly forwardCost: number;
  readonly sampleValues: SampleValues;
  readonly kernel: Param;
  readonly recurrentKernel: Param;
  readonly bias: Param | undefined;
  /** Timesteps T. */
  readonly steps: number;
  /** Input features per step. */
  readonly features: number;
  readonly units: number;
  readonly activation: CellActivation;
  readonly returnSequences: boolean;
  readonly goBackwards: boolean;
  /** `gates · units`: the width of the kernels and of the pre-activations. */
  protected readonly width: number;
  /**
   * When set (length T), each `backward` writes into entry s the gradient flowing into the state of
   * processing step s (output step s; input step T−1−s with `goBackwards`): the sum over the batch of
   * the rows' L2 norms `‖∂L/∂h_s‖`, where ∂L/∂h_s is the whole gradient on h_s (from the output and
   * from step s+1; docs/backprop.md §22.5). With the model's mean loss that is each sample's norm
   * averaged over the batch. Costs one pass over `[batch, units]` per step.
   */
  stateGradNorms: Float64Array | undefined;
  /** Inputs, time-major `[T, batch, features]`. */
  private readonly xsBuf: Buffer;
  /** `Xs·W + b_input`, time-major `[T, batch, width]`. */
  protected readonly xwBuf: Buffer;
  /** States `[T + 1, batch, units]`, h_0 = 0 first. */
  protected readonly hBuf: Buffer;
  /** ∂L/∂(input pre-activations), time-major `[T, batch, width]`. */
  protected readonly dxzBuf: Buffer;
  private readonly out: Buffer;
  private readonly dhBufs: [Buffer, Buffer];
  private readonly dxsBuf: Buffer;
  private readonly dxBuf: Buffer;
  protected readonly hViews = new StepViews();
  protected readonly dxzViews = new StepViews();
  protected batch = 0;
  /** The input's time-step mask `[batch, T]` of the last `setMask` (input order), or null. */
  private mask: Floats | null = null;
  /** Rows of the running gradients that a masked step carries over (`backward`), `[batch, units]` each. */
  private readonly savedBufs: Buffer[] = [];
  /**
   * With `returnSequences` the output keeps the input's time steps, and the mask goes on
   * (Keras' `compute_mask`); otherwise absent: the mask is dropped (docs/backprop.md §22.6).
   */
  readonly outputMask?: () => Floats | null;
  /** The layer reads the time-step mask: a masked step leaves the state unchanged (docs/backprop.md §22.6). */
  readonly masking = "consume" as const;
  /** `dropout` / `recurrentDropout` above 0: the masks and their stream (docs/backprop.md §22.7). */
  readonly dropout: RecurrentDropout | undefined;
  /** With `recurrentDropout`: the masked states m_h ⊙ h_{s−1} the cells read, `[T, batch, units]`. */
  private readonly hmBuf: Buffer | undefined;
  private readonly hmViews = new StepViews();
  /** Only with dropout: training draws masks, inference none (Keras' `training`). */
  readonly setMode?: (mode: LayerMode) => void;

  /**
   * @param gates 1 (simpleRNN), 4 (lstm) or 3 (gru).
   * @param biasShape `[gates·units]`, or gru's `[2, 3·units]` with `resetAfter`.
   * @param stepValues doubles per sample and step a subclass keeps for backward (forward) and
   *   needs while back-propagating (backward), for `sampleValues`.
   * @param stepCost multiply-adds per sample and step beyond the two products (gate arithmetic).
   */
  constructor(
    readonly name: string,
    readonly inputShape: number[],
    config: RecurrentConfig,
    gates: number,
    biasShape: number[],
    stepValues: SampleValues,
    stepCost: number,
  ) {
    const [steps, features] = inputShape as [number, number];
    const units = config.units;
    this.steps = steps;
    this.features = features;
    this.units = units;
    this.activation = config.activation;
    this.returnSequences = config.returnSequences;
    this.goBackwards = config.goBackwards;
    const width = gates * units;
    this.width = width;
    this.outputShape = config.returnSequences ? [steps, units] : [units];
    this.forwardCost = steps * (features * width + units * width + stepCost);
    const outSize = config.returnSequences ? steps * units : units;
    const drop = config.dropout;
    const masks = drop ? features + units + (drop.recurrentRate > 0 ? steps * units : 0) : 0;
    this.sampleValues = {
      forward:
        steps * (features + width) + (steps + 1) * units + outSize + steps * stepValues.forward + masks,
      backward: steps * width + 2 * units + 2 * steps * features + steps * stepValues.backward,
    };
    const param = (key: string, shape: number[], fans?: { fanIn: number; fanOut: number }): Param => {
      const n = shape.reduce((a, b) => a * b, 1);
      return {
        key: `${name}/${key}`,
        shape,
        value: layerFloats(n),
        grad: layerFloats(n),
        ...(fans ? { fans } : {}),
      };
    };
    this.kernel = param("kernel", [features, width], { fanIn: features, fanOut: width });
    this.recurrentKernel = param("recurrent_kernel", [units, width], { fanIn: units, fanOut: width });
    this.bias = config.useBias ? param("bias", biasShape) : undefined;
    this.xsBuf = new Buffer(steps * features);
    this.xwBuf = new Buffer(steps * width);
    this.hBuf = new Buffer((steps + 1) * units);
    this.dxzBuf = new Buffer(steps * width);
    this.out = new Buffer(outSize);
    this.dhBufs = [new Buffer(units), new Buffer(units)];
    this.dxsBuf = new Buffer(steps * features);
    this.dxBuf = new Buffer(steps * features);
    if (config.returnSequences) this.outputMask = () => this.mask;
    this.dropout = drop;
    this.hmBuf = drop && drop.recurrentRate > 0 ? new Buffer(steps * units) : undefined;
    if (drop)
      this.setMode = (mode) => {
        drop.mode = mode;
      };
  }

  /**
   * The state step s reads, h_{s−1} `[batch, units]`: block s of the states, or with a
   * recurrent-dropout mask `m_h ⊙ h_{s−1}` (written here into block s of the masked states).
   * Called by `run` once per step, after state s is known.
   */
  protected prevState(s: number, batch: number): Floats {
    const h = this.hViews.of(this.hBuf.get(batch), this.steps + 1)[s]!;
    const m = this.dropout?.state;
    if (!m) return h;
    const hm = this.hmViews.of(this.hmBuf!.get(batch), this.steps)[s]!;
    for (let k = 0; k < hm.length; k++) hm[k] = h[k]! * m[k]!;
    return hm;
  }

  /**
   * Every step's `prevState` of the last forward: `[T, batch, units]` from offset 0 (the states'
   * buffer, `[T + 1, batch, units]`, or the masked states'); for backward and the recurrent kernel's gradient.
   */
  protected prevStates(batch: number): Floats {
    return this.dropout?.state ? this.hmBuf!.get(batch) : this.hBuf.get(batch);
  }

  /** @param mask `[batch, T]`, 1 for a real step and 0 for a masked one, or null (every step real). */
  setMask(mask: Floats | null): void {
    this.mask = mask;
  }

  /** Whether row b of processing step s is masked (input step `T−1−s` with `goBackwards`). */
  protected masked(s: number, b: number): boolean {
    const T = this.steps;
    return this.mask !== null && this.mask[b * T + (this.goBackwards ? T - 1 - s : s)] === 0;
  }

  /**
   * The forward pass's per-step select (docs/backprop.md §22.6): for every masked row of step s,
   * the state after the step is the state before it. `states` are `[T + 1, batch, units]` buffers
   * (h, and the lstm's c), block s+1 overwritten from block s; called by `run` after each step.
   */
  protected keepMasked(s: number, batch: number, ...states: Floats[]): void {
    if (this.mask === null) return;
    const n = batch * this.units;
    for (let b = 0; b < batch; b++) {
      if (!this.masked(s, b)) continue;
      const from = s * n + b * this.units;
      for (const st of states) st.copyWithin(from + n, from, from + this.units);
    }
  }

  /**
   * Time-major `[T, batch, w]` buffers whose masked rows must be zero after `stepBack` (the
   * gradients the weights' products read): `dxzBuf`, and what a subclass adds.
   */
  protected maskedGrads(batch: number): Floats[] {
    return [this.dxzBuf.get(batch)];
  }

  /** Running gradients `[batch, units]` a masked step passes back unchanged besides ∂L/∂h (the lstm's ∂L/∂c). */
  protected carriedGrads(_batch: number): Floats[] {
    return [];
  }

  params(): Param[] {
    return this.bias ? [this.kernel, this.recurrentKernel, this.bias] : [this.kernel, this.recurrentKernel];
  }

  /** The bias added to the input product, `[width]` (the whole bias but for gru's `resetAfter`). */
  protected inputBias(): Floats | undefined {
    return this.bias?.value;
  }

  /** Where the input bias's gradient goes, `[width]`. */
  protected inputBiasGrad(): Floats | undefined {
    return this.bias?.grad;
  }

  /** Runs steps 0 … T−1: fills states 1 … T of `hBuf` from `xwBuf` (state 0 is zero). */
  protected abstract run(batch: number): void;

  /** Called once before the first `stepBack` of a backward pass (zero running gradients). */
  protected abstract startBack(batch: number): void;

  /**
   * Step s of back-propagation through time: from `dh` = ∂L/∂h_s `[batch, units]`, writes step s's
   * rows of `dxzBuf` and `dhPrev` = ∂L/∂h_{s−1} (not needed, and may be left unwritten, at s = 0).
   */
  protected abstract stepBack(s: number, batch: number, dh: Floats, dhPrev: Floats): void;

  /** Called after the last `stepBack`: adds the recurrent kernel's (and recurrent bias's) gradients. */
  protected abstract endBack(batch: number): void;

  /**
   * The states h_1 … h_T of the last forward, time-major `[T, batch, units]` in processing order
   * (a view of the layer's buffer: valid until its next forward).
   */
  states(): Floats {
    return this.hBuf.get(this.batch).subarray(this.batch * this.units);
  }

  /** @param x `[batch, T, features]` @returns `[batch, T, units]` or `[batch, units]` */
  forward(x: Floats, batch: number): Floats {
    const { steps: T, features: F, units, width } = this;
    this.batch = batch;
    this.dropout?.begin(batch);
    const mx = this.dropout?.input;
    const xs = this.xsBuf.get(batch);
    for (let s = 0; s < T; s++) {
      const t = this.goBackwards ? T - 1 - s : s;
      for (let b = 0; b < batch; b++) {
        const src = (b * T + t) * F;
        const dst = (s * batch + b) * F;
        if (mx) for (let i = 0; i < F; i++) xs[dst + i] = x[src + i]! * mx[b * F + i]!;
        else for (let i = 0; i < F; i++) xs[dst + i] = x[src + i]!;
      }
    }
    // The input product of every step at once: [T·batch, F]·[F, width] (+ b).
    matmul(xs, this.kernel.value, this.xwBuf.get(batch), T * batch, F, width, this.inputBias());
    const h = this.hBuf.get(batch);
    h.fill(0, 0, batch * units);
    this.run(batch);
    const y = this.out.get(batch);
    if (this.returnSequences) {
      for (let b = 0; b < batch; b++)
        for (let s = 0; s < T; s++) {
          const src = ((s + 1) * batch + b) * units;
          const dst = (b * T + s) * units;
          for (let j = 0; j < units; j++) y[dst + j] = h[src + j]!;
        }
    } else y.set(h.subarray(T * batch * units, (T + 1) * batch * units));
    return y;
  }

  /**
   * Back-propagation through time (docs/backprop.md §22.1): ADDS into every parameter's gradient.
   * @param dy `[batch, ...outputShape]` @returns ∂L/∂X `[batch, T, features]`
   */
  backward(dy: Floats, batch: number, needInputGrad = true): Floats {
    const { steps: T, features: F, units, width } = this;
    let [dh, dhPrev] = [this.dhBufs[0].get(batch), this.dhBufs[1].get(batch)];
    dh.fill(0);
    const norms = this.stateGradNorms?.length === T ? this.stateGradNorms : undefined;
    this.startBack(batch);
    for (let s = T - 1; s >= 0; s--) {
      // ∂L/∂h_s = the output's gradient at step s + what step s+1 passed back (in dh).
      if (this.returnSequences)
        for (let b = 0; b < batch; b++) {
          const o = (b * T + s) * units;
          for (let j = 0; j < units; j++) dh[b * units + j]! += dy[o + j]!;
        }
      else if (s === T - 1) for (let k = 0; k < batch * units; k++) dh[k]! += dy[k]!;
      if (norms) norms[s] = rowNormSum(dh, batch, units);
      const saved = this.mask ? this.saveCarried(s, batch) : null;
      this.stepBack(s, batch, dh, dhPrev);
      // The cell read m_h ⊙ h_{s−1}: ∂L/∂h_{s−1} = m_h ⊙ ∂L/∂(m_h ⊙ h_{s−1}) (docs/backprop.md §22.7).
      const mh = this.dropout?.state;
      if (mh && s > 0) for (let k = 0; k < dhPrev.length; k++) dhPrev[k]! *= mh[k]!;
      if (saved) this.passMasked(s, batch, dh, dhPrev, saved);
      [dh, dhPrev] = [dhPrev, dh];
    }
    this.endBack(batch);
    const xs = this.xsBuf.get(batch);
    const dxz = this.dxzBuf.get(batch);
    // ∂L/∂W += Xsᵀ·∂L/∂Z over all steps at once; ∂L/∂b += Σ_rows ∂L/∂Z (docs/backprop.md §22.1).
    matmulTransA(xs, dxz, this.kernel.grad, T * batch, F, width);
    const bg = this.inputBiasGrad();
    if (bg) addColumnSums(dxz, T * batch, width, bg);
    if (!needInputGrad) return NO_INPUT_GRAD;
    const dxs = this.dxsBuf.get(batch);
    matmulTransB(dxz, this.kernel.value, dxs, T * batch, width, F);
    const dx = this.dxBuf.get(batch);
    const mx = this.dropout?.input;
    for (let s = 0; s < T; s++) {
      const t = this.goBackwards ? T - 1 - s : s;
      for (let b = 0; b < batch; b++) {
        const src = (s * batch + b) * F;
        const dst = (b * T + t) * F;
        if (mx) for (let i = 0; i < F; i++) dx[dst + i] = dxs[src + i]! * mx[b * F + i]!;
        else for (let i = 0; i < F; i++) dx[dst + i] = dxs[src + i]!;
      }
    }
    return dx;
  }

  /** Copies of the carried gradients (`carriedGrads`) before step s's `stepBack`, when a row of it is masked. */
  private saveCarried(s: number, batch: number): Floats[] | null {
    let any = false;
    for (let b = 0; b < batch && !any; b++) any = this.masked(s, b);
    if (!any) return null;
    return this.carriedGrads(batch).map((g, i) => {
      this.savedBufs[i] ??= new Buffer(this.units);
      const copy = this.savedBufs[i]!.get(batch);
      copy.set(g);
      return copy;
    });
  }

  /**
   * Backward's per-step select (docs/backprop.md §22.6): a masked row of step s passes its state
   * gradient straight through (∂L/∂h_{s−1} = ∂L/∂h_s, the lstm's ∂L/∂c unchanged) and gives the
   * weights nothing (its rows of the gate gradients are zero).
   */
  private passMasked(s: number, batch: number, dh: Floats, dhPrev: Floats, saved: Floats[]): void {
    const u = this.units;
    const grads = this.maskedGrads(batch);
    const carried = this.carriedGrads(batch);
    for (let b = 0; b < batch; b++) {
      if (!this.masked(s, b)) continue;
      for (const g of grads) {
        const w = g.length / (this.steps * batch);
        g.fill(0, (s * batch + b) * w, (s * batch + b + 1) * w);
      }
      for (let j = b * u; j < (b + 1) * u; j++) dhPrev[j] = dh[j]!;
      carried.forEach((c, i) => {
        for (let j = b * u; j < (b + 1) * u; j++) c[j] = saved[i]![j]!;
      });
    }
  }
}
