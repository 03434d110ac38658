/**
 * The model panel: hidden dense layers, the loss, and the output layer they call for; and the
 * training panel's fields, which with them make the request body.
 */
import { $, input, select } from "../dom.js";
import { type RunBody, state } from "../state.js";
import type {
  Activation,
  DenseLayer,
  LayerSpec,
  Loss,
  ModelSpec,
  OptimizerSpec,
  TrainBody,
} from "../types.js";
import { sendBack } from "../types.js";

const ACTIVATIONS: Activation[] = ["tanh", "relu", "sigmoid", "linear"];

/** Appends a hidden layer row to the form. */
export function addLayerRow(units = 8, activation: Activation = "tanh"): void {
  const row = document.createElement("div");
  row.className = "layer-row";
  const unitsInput = document.createElement("input");
  unitsInput.type = "number";
  unitsInput.min = "1";
  unitsInput.max = "256";
  unitsInput.value = String(units);
  unitsInput.className = "units";
  unitsInput.setAttribute("aria-label", "units");
  const act = document.createElement("select");
  act.className = "activation";
  act.setAttribute("aria-label", "activation");
  for (const a of ACTIVATIONS) act.append(new Option(a, a, a === activation, a === activation));
  const remove = document.createElement("button");
  remove.type = "button";
  remove.textContent = "×";
  remove.title = "remove this layer";
  remove.addEventListener("click", () => {
    row.remove();
    renumberLayers();
  });
  const name = document.createElement("span");
  name.className = "layer-name";
  row.append(name, unitsInput, document.createTextNode(" units, "), act, remove);
  $("layers").append(row);
  renumberLayers();
}

/** Names the rows as the service names the layers (`dense_<index>`, after a flatten if any). */
export function renumberLayers(): void {
  const rows = [...$("layers").querySelectorAll<HTMLDivElement>(".layer-row")];
  const offset = (state.source?.inputShape.length ?? 1) > 1 ? 1 : 0;
  rows.forEach((row, i) => {
    row.querySelector(".layer-name")!.textContent = `dense_${i + offset}`;
  });
  updateOutputHint();
}

/** The output layer the loss and the data call for. */
function outputLayer(loss: string): DenseLayer {
  const k = state.source?.classes?.length;
  if (k === undefined) return { type: "dense", units: 1, activation: "linear" };
  if (loss === "binaryCrossentropy" || (loss === "meanSquaredError" && k === 2))
    return { type: "dense", units: 1, activation: "sigmoid" };
  return { type: "dense", units: k, activation: "softmax" };
}

/** The model in the form: a flatten for samples of rank > 1, the hidden rows, the output layer. */
export function buildModel(): ModelSpec {
  const loss = select("loss").value as Extract<Loss, string>;
  const shape = state.source!.inputShape;
  const layers: LayerSpec[] = shape.length > 1 ? [{ type: "flatten" }] : [];
  for (const row of $("layers").querySelectorAll<HTMLDivElement>(".layer-row"))
    layers.push({
      type: "dense",
      units: fieldNumber(row.querySelector<HTMLInputElement>(".units")!, "units", { integer: true, min: 1 }),
      activation: row.querySelector<HTMLSelectElement>(".activation")!.value as Activation,
    });
  layers.push(outputLayer(loss));
  return { inputShape: shape, layers, loss };
}

/** Says which output layer the model gets; shows momentum for sgd only. */
export function updateOutputHint(): void {
  const source = state.source;
  if (!source) return;
  const out = outputLayer(select("loss").value);
  const index = $("layers").querySelectorAll(".layer-row").length + (source.inputShape.length > 1 ? 1 : 0);
  $("output-layer").textContent =
    `input [${source.inputShape.join(", ")}]${source.inputShape.length > 1 ? " → flatten" : ""} → … → ` +
    `dense_${index}(${out.units}, ${out.activation}) (output, set by the loss and the classes)`;
  $("momentum-label").hidden = select("optimizer").value !== "sgd";
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

/**
 * A numeric field's value, checked before anything is sent: an empty field is an error naming
 * it (never `Number("") = 0`, which would train with a learning rate of 0), and so is a value
 * outside [min, max] or, for `integer`, a fraction.
 * @throws Error naming the field, shown in the error box.
 */
export function fieldNumber(
  field: HTMLInputElement,
  label: string,
  limits: { integer?: boolean; min?: number; max?: number } = {},
): number {
  const text = field.value.trim();
  const fallback = field.defaultValue.trim() === "" ? "" : ` (the default is ${field.defaultValue.trim()})`;
  if (text === "") throw new Error(`${label} is empty: enter a number${fallback}`);
  const value = Number(text);
  const { integer = false, min, max } = limits;
  if (!Number.isFinite(value)) throw new Error(`${label} must be a number; got "${text}"`);
  if (integer && !Number.isInteger(value)) throw new Error(`${label} must be a whole number; got ${text}`);
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    const range =
      min !== undefined && max !== undefined
        ? `between ${min} and ${max}`
        : min !== undefined
          ? `at least ${min}`
          : `at most ${max}`;
    throw new Error(`${label} must be ${range}; got ${text}`);
  }
  return value;
}

/** The POST /jobs body the form describes. */
export function buildBody(): RunBody {
  const source = state.source;
  if (!source) throw new Error("no data set");
  const model = buildModel();
  const optimizerType = select("optimizer").value as "sgd" | "adam";
  const learningRate = fieldNumber(input("learning-rate"), "learning rate", { min: 0 });
  const momentum =
    optimizerType === "sgd" ? fieldNumber(input("momentum"), "momentum", { min: 0, max: 1 }) : 0;
  const optimizer: OptimizerSpec =
    optimizerType === "sgd" && momentum > 0
      ? { type: optimizerType, learningRate, momentum }
      : { type: optimizerType, learningRate };
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
