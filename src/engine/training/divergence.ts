import { describeNonFinite, layerOfKey, nonFiniteOutput } from "../forensics.js";
import { Activation } from "../layers/activation.js";
import type { Param } from "../layers/layer.js";
import { Recurrent } from "../layers/recurrent.js";
import type { Model } from "../model.js";
import { type Clipping, makeClipping } from "../optimizers/clipping.js";
import type { Optimizer } from "../optimizers.js";
import type { GradientClipping } from "../spec.js";
import { changeRatio } from "../telemetry.js";
import { type Dtype, type Floats, floatsLike } from "../tensor.js";
import type { Divergence } from "../types.js";

/**
 * About the |g| above which a sum of squared gradients overflows as stored, in each dtype: g² itself
 * (computed in double) past √DBL_MAX ≈ 1.34e154, or the stored float32 moment, an average of g²,
 * past FLT_MAX, i.e. an RMS gradient past √FLT_MAX ≈ 1.84e19 (docs/precision.md §1).
 */
const SQUARE_OVERFLOW: Record<Dtype, string> = { float64: "1.3e154", float32: "1.8e19" };

/**
 * The divergence checks of a gradient-descent run (NaN forensics): each batch checks its layer
 * outputs (`checkOutputs`), its loss (`checkLoss`), and the gradients, Adam's moments and the new
 * weights as the optimiser steps (`step`); each epoch checks its validation loss (`checkValLoss`).
 * The first non-finite value stops the run and `diverged` names the epoch, batch, stage, layer and
 * parameter (see `Divergence`). A step that makes a weight non-finite is undone, so the weights
 * left in the model are always finite.
 */
export class DivergenceWatch {
  /** Set by the first failed check; the run ends then. */
  diverged: Divergence | undefined;
  /** The weights before the current step (in `params` order), to undo a step that makes one non-finite. */
  readonly before: Floats[];
  /**
   * The last batch's mean loss that was finite; NaN before any (a number from the start, so that
   * storing a new one every batch allocates nothing).
   */
  private lastFiniteLoss = Number.NaN;
  private stepsTaken = 0;
  /** The recurrent layers' spec names: their gradients can explode through time. */
  private readonly recurrent: string[];
  private readonly clipping: Clipping | undefined;

  /** @param clip the optimiser's clipping fields, for the advice on a recurrent model. */
  constructor(
    private readonly model: Model,
    private readonly params: Param[],
    clip: GradientClipping = {},
  ) {
    this.before = params.map((p) => floatsLike(p.value));
    this.clipping = makeClipping(clip);
    this.recurrent = [];
    model.layers.forEach((layer, i) => {
      if (layer instanceof Recurrent) this.recurrent.push(model.specLayerNames[model.specIndexOf(i)]!);
    });
  }

  /**
   * After a batch's forward pass: false (and `diverged` set) when a layer's output is not finite.
   * @param b the batch's samples.
   */
  checkOutputs(epoch: number, batch: number, b: number): boolean {
    const { model } = this;
    const badLayer = nonFiniteOutput(model);
    if (badLayer < 0) return true;
    const layer = model.layers[badLayer]!;
    const what = layer instanceof Activation ? `${layer.name} (${layer.activation})` : layer.name;
    this.fail(
      epoch,
      batch,
      "activation",
      `the output of ${what} became ${describeNonFinite(model.layerOutput(badLayer), [b, ...layer.outputShape])}`,
      { layer: model.specLayerNames[model.specIndexOf(badLayer)]! },
    );
    return false;
  }

  /**
   * After a batch's loss: false (and `diverged` set) when the batch's summed loss, or the epoch's
   * running sum `total` with it, is not finite. Otherwise remembers the batch's mean loss as the
   * last finite one.
   */
  checkLoss(epoch: number, batch: number, total: number, batchLoss: number, b: number): boolean {
    if (!Number.isFinite(total + batchLoss)) {
      const what = Number.isFinite(batchLoss)
        ? "the epoch's summed loss overflowed"
        : `the loss became ${batchLoss}`;
      this.fail(epoch, batch, "loss", what);
      return false;
    }
    this.lastFiniteLoss = batchLoss / b;
    return true;
  }

  /**
   * One optimiser step, which checks the gradients, Adam's moments and the new weights as it goes
   * and keeps the weights it started from in `before`: false (and `diverged` set, the step undone)
   * at the first non-finite value.
   */
  step(optimizer: Optimizer, epoch: number, batch: number): boolean {
    const { params, before } = this;
    const fault = optimizer.step(before);
    this.stepsTaken++;
    if (!fault) return true;
    const p = params[fault.param]!;
    const detail =
      fault.stage === "gradient"
        ? `the gradient of ${p.key} became ${describeNonFinite(p.grad, p.shape)}`
        : fault.stage === "moment"
          ? `the gradient of ${p.key} is too large for ${optimizer.type}: its square overflowed ${optimizer.momentName} (|g| ≳ ${SQUARE_OVERFLOW[this.model.dtype]} in ${this.model.dtype})`
          : `the update made ${p.key} ${describeNonFinite(p.value, p.shape)} (the step is undone)`;
    for (let k = 0; k < params.length; k++) params[k]!.value.set(before[k]!);
    this.fail(epoch, batch, fault.stage === "weight" ? "weight" : "gradient", detail, {
      layer: layerOfKey(p.key),
      parameter: p.key,
    });
    return false;
  }

  /**
   * At the end of an epoch: false (and `diverged` set) when the validation loss is not finite.
   * @param lastBatch the index of the epoch's last batch.
   */
  checkValLoss(epoch: number, lastBatch: number, valLoss: number): boolean {
    if (Number.isFinite(valLoss)) return true;
    this.fail(epoch, lastBatch, "valLoss", `the validation loss at the end of the epoch became ${valLoss}`);
    return false;
  }

  /**
   * For a model with recurrent layers, after an update: their gradients can grow geometrically
   * through time (docs/backprop.md §22.2), and clipping them is the usual remedy (§15.1).
   */
  private recurrentAdvice(): string {
    if (this.recurrent.length === 0) return "";
    const layers = this.recurrent.join(", ");
    const c = this.clipping;
    return c
      ? `; the optimizer already clips (${c.kind} ${c.c}) the gradient of the recurrent ${layers}: a smaller ` +
          `optimizer.${c.kind} bounds each step further (docs/backprop.md §15.1)`
      : `; the gradient of the recurrent ${layers} can explode through time (docs/backprop.md §22.2): clip it ` +
          "with the optimizer's clipnorm (e.g. 1), globalClipnorm or clipvalue (docs/backprop.md §15.1), and " +
          "watch telemetry's stateGradientNorm";
  }

  private fail(
    epoch: number,
    batch: number,
    stage: Divergence["stage"],
    detail: string,
    where: { layer?: string; parameter?: string } = {},
  ): void {
    const { lastFiniteLoss } = this;
    // Before any update (or at the first update's gradient) the learning rate has played no part:
    // the starting point itself overflows.
    const atStart = this.stepsTaken === 0 || (stage === "gradient" && this.stepsTaken === 1);
    const advice = atStart
      ? "this is at the starting weights, before any update, so the learning rate played no part: check " +
        "the initial weights or initialisers, the inputs and targets, and sampleWeight or classWeight"
      : `lower the learning rate or scale the inputs${this.recurrentAdvice()}`;
    // Before a step, `before` still holds the weights from before the previous one.
    const culprit =
      stage !== "weight" && stage !== "gradient" && this.stepsTaken > 0
        ? largestUpdate(this.params, this.before)
        : undefined;
    this.diverged = {
      epoch,
      batch,
      stage,
      ...where,
      ...(culprit ? { largestUpdate: culprit } : {}),
      ...(!Number.isNaN(lastFiniteLoss) ? { lastFiniteLoss } : {}),
      message: `training diverged in epoch ${epoch} (0-based; the ${ordinal(epoch + 1)}), batch ${batch}: ${detail}; ${advice}`,
    };
  }
}

/**
 * The parameter whose latest step changed it most relative to its size (`Divergence.largestUpdate`).
 * @param before the weights before that step, in `params` order; `params` hold the ones after it.
 */
function largestUpdate(params: Param[], before: Floats[]): Divergence["largestUpdate"] {
  let best: { parameter: string; ratio: number | null } | undefined;
  params.forEach((p, k) => {
    const ratio = changeRatio(before[k]!, p.value);
    if (!best || (ratio !== null && (best.ratio === null || ratio > best.ratio)))
      best = { parameter: p.key, ratio };
  });
  return best;
}

/** 1 → "1st", 2 → "2nd", 11 → "11th", 23 → "23rd". */
export function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th");
  return `${n}${suffix}`;
}
