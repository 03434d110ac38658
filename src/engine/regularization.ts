import type { Param } from "./layers/layer.js";
import {
  addPenaltyGrad,
  applyConstraint,
  type BoundConstraint,
  bindConstraint,
  checkRegularizer,
  penaltyOf,
  type RegularizedModel,
  type RegularizerSpec,
} from "./regularizers.js";
import { type Floats, floatsLike } from "./tensor.js";

/**
 * A model's regularisation penalty and kernel constraints (docs/backprop.md §16.2, §16.3). The
 * penalised loss of a batch of b samples, in the summed units of `Model.loss`, is
 * `Σ_samples loss + Σ_samples Σ_activity P(y) + b · Σ_weights P(w)`: per sample mean, the loss plus
 * the activity penalty averaged over the batch (Keras 2 divides it by the batch size) plus the
 * weight penalties once (Keras' `add_loss`).
 */
export class Regularization {
  /** Per internal layer: the activity regulariser on its output (the spec layer's last). */
  private readonly activity: (Required<RegularizerSpec> | undefined)[];
  private readonly weighted: { param: Param; index: number; reg: Required<RegularizerSpec> }[];
  private readonly constraints: BoundConstraint[];
  private pg: Floats = new Float64Array(0);
  /** Whether any penalty (weight or activity) is set: constraints alone add none. */
  readonly penalized: boolean;
  /**
   * Per model parameter (in `params()` order): ‖∂P/∂w‖₂ of its weight penalty at the last batch
   * back-propagated, the part of its gradient the penalty contributes; 0 without one.
   */
  readonly gradNorm: Floats;
  /** The penalty added by the last `Model.loss` call, in its summed units. */
  last = 0;

  private constructor(private readonly model: RegularizedModel) {
    const params = model.params();
    this.activity = model.layers.map(() => undefined);
    model.specLayerEnds.forEach((end, s) => {
      const r = (model.spec.layers[s] as { activityRegularizer?: unknown }).activityRegularizer;
      if (r !== undefined) this.activity[end] = checkRegularizer(r, ["layers", s, "activityRegularizer"]);
    });
    this.weighted = params.flatMap((param, index) =>
      param.regularizer ? [{ param, index, reg: checkRegularizer(param.regularizer, []) }] : [],
    );
    this.constraints = params.flatMap((p) => (p.constraint ? [bindConstraint(p.constraint, p, [])] : []));
    this.penalized = this.weighted.length > 0 || this.activity.some((a) => a !== undefined);
    this.gradNorm = new Float64Array(params.length);
  }

  /** The model's regularisation, or undefined when it has no regulariser and no constraint. */
  static of(model: RegularizedModel): Regularization | undefined {
    const r = new Regularization(model);
    return r.penalized || r.constraints.length > 0 ? r : undefined;
  }

  /** The penalty of a batch of `batch` samples after a `forward` of it (summed units); sets `last`. */
  penalty(batch: number): number {
    let total = 0;
    this.activity.forEach((r, i) => {
      if (r)
        total += penaltyOf(r, this.model.layerOutput(i), batch * sizeOf(this.model.layers[i]!.outputShape));
    });
    let weights = 0;
    for (const w of this.weighted) weights += penaltyOf(w.reg, w.param.value);
    this.last = total + batch * weights;
    return this.last;
  }

  /** Whether internal layer `i`'s output has an activity penalty. */
  hasActivity(i: number): boolean {
    return this.activity[i] !== undefined;
  }

  /** In the backward pass, before layer `i`'s: adds `gradScale · ∂P/∂y` of its activity penalty into `d`. */
  addActivityGrad(i: number, d: Floats, batch: number, gradScale: number): void {
    const r = this.activity[i];
    if (r)
      addPenaltyGrad(
        r,
        this.model.layerOutput(i),
        d,
        gradScale,
        batch * sizeOf(this.model.layers[i]!.outputShape),
      );
  }

  /**
   * For a loss fused with the output activation (whose gradient `g` is already with respect to the
   * logits): adds the output activity penalty's gradient, carried back through that activation.
   */
  addFusedActivityGrad(last: number, g: Floats, batch: number, gradScale: number): void {
    const r = this.activity[last];
    if (!r) return;
    const y = this.model.layerOutput(last);
    const n = batch * sizeOf(this.model.layers[last]!.outputShape);
    if (this.pg.length < n) this.pg = floatsLike(g, n);
    const pg = this.pg.subarray(0, n);
    pg.fill(0);
    addPenaltyGrad(r, y, pg, gradScale, n);
    const dz = this.model.layers[last]!.backward(pg, batch);
    for (let k = 0; k < n; k++) g[k]! += dz[k]!;
  }

  /** Adds `gradScale · batch · ∂P/∂w` of every weight penalty into the gradients; records `gradNorm`. */
  addWeightGrads(batch: number, gradScale: number): void {
    for (const w of this.weighted)
      this.gradNorm[w.index] = addPenaltyGrad(w.reg, w.param.value, w.param.grad, gradScale * batch);
  }

  /** Applies every kernel constraint, after an optimiser step. */
  applyConstraints(): void {
    for (const c of this.constraints) applyConstraint(c);
  }
}

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
