/**
 * The model panel: the hidden layers (web/src/panels/layers.ts), the loss the data fits and the
 * output layer it calls for; and the training panel's fields, which with them make the request
 * body.
 */
import { $, input, select } from "../dom.js";
import { fieldNumber } from "../fields.js";
import { DEFAULT_LOSS, LOSSES, lossesFor } from "../options.js";
import { type RunBody, state } from "../state.js";
import type { DenseLayer, LossName, ModelSpec, TrainBody } from "../types.js";
import { sendBack } from "../types.js";
import { hasModeLayers, hiddenLayers, leadingLayers, outputIndex } from "./layers.js";
import { buildOptimizer } from "./optimizer.js";

/**
 * Fills the loss menu with the losses that fit the data set (class labels or numbers), keeping
 * the choice when it still fits, else the default for the kind.
 */
export function fillLosses(): void {
  const classes = state.source?.classes !== undefined;
  const sel = select("loss");
  const previous = sel.value;
  const names = lossesFor(classes);
  const chosen = names.includes(previous as LossName)
    ? previous
    : DEFAULT_LOSS[classes ? "classification" : "regression"];
  sel.replaceChildren(...names.map((n) => new Option(LOSSES[n].label, n, n === chosen, n === chosen)));
}

/** The output layer the loss and the data call for. */
function outputLayer(loss: LossName): DenseLayer {
  const k = state.source?.classes?.length;
  const entry = LOSSES[loss] ?? LOSSES[DEFAULT_LOSS.classification];
  const out =
    k === undefined
      ? (entry.regression ?? { units: 1, activation: "linear" })
      : (entry.classes?.(k) ?? { units: k, activation: "softmax" });
  return { type: "dense", ...out };
}

/**
 * The model in the form: a flatten for samples of rank > 1, the hidden rows' layers, the output
 * layer.
 * @throws Error naming the layer and field when a number is empty or out of range.
 */
export function buildModel(): ModelSpec {
  const loss = select("loss").value as LossName;
  const layers = [...leadingLayers(), ...hiddenLayers(true), outputLayer(loss)];
  return { inputShape: state.source!.inputShape, layers, loss };
}

/** Says which output layer the model gets; shows the inspector's training toggle when it matters. */
export function updateOutputHint(): void {
  const source = state.source;
  if (!source) return;
  const out = outputLayer(select("loss").value as LossName);
  $("output-layer").textContent =
    `input [${source.inputShape.join(", ")}]${source.inputShape.length > 1 ? " → flatten" : ""} → … → ` +
    `dense_${outputIndex()}(${out.units}, ${out.activation}) (output, set by the loss and the classes)`;
  $("training-label").hidden = !hasModeLayers();
}

/** A target as the service expects it for this model: a label, one number, or one-hot. */
export function target(label: number, model: ModelSpec): number | number[] {
  const last = model.layers[model.layers.length - 1];
  const units = (last?.type === "dense" ? last.units : undefined) ?? 1;
  if (model.loss === "sparseCategoricalCrossentropy" || units === 1 || state.source?.classes === undefined)
    return label;
  return Array.from({ length: units }, (_, i) => (i === label ? 1 : 0));
}

/** The largest validation split the form offers (the field's `max`). */
const MAX_SPLIT = 0.9;

/**
 * The validation split in the form, for display while it is edited: clamped to [0, 0.9], empty
 * is 0. The body (`buildBody`) refuses one outside instead of clamping it.
 */
export const validationSplit = () =>
  Math.min(MAX_SPLIT, Math.max(0, Number(input("validation-split").value) || 0));

/** The POST /jobs body the form describes. */
export function buildBody(): RunBody {
  const source = state.source;
  if (!source) throw new Error("no data set");
  const model = buildModel();
  const optimizer = buildOptimizer();
  const dataset: TrainBody["dataset"] =
    source.dataset === "inline"
      ? { x: source.points!.x, y: source.points!.labels.map((l) => target(l, model)) }
      : source.dataset;
  const body: RunBody = {
    model,
    dataset,
    optimizer,
    epochs: fieldNumber(input("epochs"), "epochs", { integer: true, min: 1 }),
    batchSize: fieldNumber(input("batch-size"), "batch size", { integer: true, min: 1 }),
  };
  // An empty seed is a fresh one (the service draws it); an empty split is none.
  const seed = input("seed").value.trim();
  if (seed !== "")
    body.seed = fieldNumber(input("seed"), "seed", { integer: true, min: 0, max: 2 ** 32 - 1 });
  const split =
    input("validation-split").value.trim() === ""
      ? 0
      : fieldNumber(input("validation-split"), "validation split", { min: 0, max: MAX_SPLIT });
  if (split > 0) body.validationSplit = split;
  if (input("use-initial").checked && state.uploaded) body.initialWeights = sendBack(state.uploaded);
  return body;
}
