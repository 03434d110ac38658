import { Rng } from "../rng.js";
import type { Floats } from "../tensor.js";
import { dropoutSeed } from "./dropout.js";
import { Buffer, INFERENCE, type LayerMode } from "./layer.js";

/** 2⁻³²: turns a uniform uint32 into a uniform double in [0, 1). */
const UINT32_SCALE = 2 ** -32;

/**
 * The masks of a recurrent layer's `dropout` and `recurrentDropout` (docs/backprop.md §22.7), as
 * tfjs-layers draws them: in training mode, one mask per sequence, the same at every step and
 * shared by every gate: `m_x` `[batch, features]` multiplies each step's input x_s and `m_h`
 * `[batch, units]` each step's previous state h_{s−1} where the cell reads it. Each value is
 * `1/(1 − rate)` where a uniform draw `u ∈ [0, 1)` is `≥ rate` and 0 elsewhere (§18.1). A rate of
 * 0 gives no mask; inference gives none.
 * Draws come from the layer's own xoshiro128** stream (§18.3), one uint32 per value: first the
 * whole of `m_x` row-major, then `m_h`, at each training forward (or only the first, with
 * `reuseMasks`).
 */
export class RecurrentDropout {
  /** The stream: its state is what `OptimizerState.dropoutRng[<layer>]` carries. */
  rng: Rng;
  mode: LayerMode = INFERENCE;
  private readonly inputBuf: Buffer;
  private readonly stateBuf: Buffer;
  /** The masks the last forward applied (null: none, inference or a rate of 0). */
  input: Floats | null = null;
  state: Floats | null = null;

  /**
   * @param index the layer's index in the spec; `copy` 1 for a bidirectional layer's backward copy
   *   (its own stream), 0 otherwise.
   */
  constructor(
    readonly rate: number,
    readonly recurrentRate: number,
    features: number,
    units: number,
    readonly index: number,
    readonly copy: number,
  ) {
    this.inputBuf = new Buffer(features);
    this.stateBuf = new Buffer(units);
    this.rng = new Rng(dropoutSeed(0, index, copy));
  }

  /** Seeds the stream from the request's `seed`: `dropoutSeed(seed, index, copy)`. */
  seedStream(seed: number): void {
    this.rng = new Rng(dropoutSeed(seed, this.index, this.copy));
  }

  /** Sets `input` and `state` for a forward over `batch` sequences: drawn, reused or none (see the class). */
  begin(batch: number): void {
    const { mode } = this;
    if (!mode.training) {
      this.input = null;
      this.state = null;
      return;
    }
    const reuse =
      mode.reuseMasks &&
      (this.rate === 0 || this.input?.length === this.inputBuf.get(batch).length) &&
      (this.recurrentRate === 0 || this.state?.length === this.stateBuf.get(batch).length);
    if (reuse) return;
    this.input = this.rate > 0 ? this.draw(this.inputBuf.get(batch), this.rate) : null;
    this.state = this.recurrentRate > 0 ? this.draw(this.stateBuf.get(batch), this.recurrentRate) : null;
  }

  private draw(m: Floats, rate: number): Floats {
    const scale = 1 / (1 - rate);
    const { rng } = this;
    for (let i = 0; i < m.length; i++) m[i] = rng.nextUint32() * UINT32_SCALE >= rate ? scale : 0;
    return m;
  }
}
