/**
 * The hidden-layer rows of the model panel. A row is a dense layer (units, activation, an L2
 * penalty on its kernel) and what follows it: the advanced-activation layer chosen in its
 * activation menu, batch normalisation, dropout. Each row is named as the service names its
 * layers (`<type>_<index>`, counting every layer of the model).
 */
import { $ } from "../dom.js";
import { fieldNumber } from "../fields.js";
import { ACTIVATION_LAYERS, ACTIVATIONS, type ActivationLayer } from "../options.js";
import { state } from "../state.js";
import type { Activation, DenseLayer, LayerSpec } from "../types.js";

/** What a row says. */
export interface RowChoice {
  units: number;
  activation: Activation | ActivationLayer;
  /** The kernel's L2 factor (`kernelRegularizer.l2`); 0 is none. */
  l2: number;
  /** Dropout after the layer; 0 is none. */
  dropout: number;
  batchNorm: boolean;
}

const isActivationLayer = (a: string): a is ActivationLayer =>
  (ACTIVATION_LAYERS as readonly string[]).includes(a);

/** The largest dropout rate the form takes: the service refuses a rate of 1 (nothing kept). */
const DROPOUT_BELOW = 1;

function numberInput(
  cls: string,
  label: string,
  value: string,
  attrs: Record<string, string>,
): HTMLInputElement {
  const el = document.createElement("input");
  el.type = "number";
  el.className = cls;
  el.value = value;
  el.defaultValue = value;
  el.setAttribute("aria-label", label);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

function labelled(text: string, control: HTMLElement, cls = ""): HTMLLabelElement {
  const label = document.createElement("label");
  if (cls) label.className = cls;
  label.append(document.createTextNode(text), control);
  return label;
}

/** The activation menu: the schema's activations, then the advanced-activation layers. */
function activationMenu(chosen: string): HTMLSelectElement {
  const act = document.createElement("select");
  act.className = "activation";
  act.setAttribute("aria-label", "activation");
  for (const a of ACTIVATIONS) act.append(new Option(a, a, a === chosen, a === chosen));
  const group = document.createElement("optgroup");
  group.label = "layer after a linear dense";
  for (const a of ACTIVATION_LAYERS) group.append(new Option(a, a, a === chosen, a === chosen));
  act.append(group);
  return act;
}

/** Appends a hidden layer row to the form. */
export function addLayerRow(units = 8, activation: Activation | ActivationLayer = "tanh"): void {
  const row = document.createElement("div");
  row.className = "layer-row";
  const name = document.createElement("span");
  name.className = "layer-name";
  const remove = document.createElement("button");
  remove.type = "button";
  remove.textContent = "×";
  remove.title = "remove this layer";
  remove.setAttribute("aria-label", "remove this layer");
  remove.addEventListener("click", () => {
    row.remove();
    renumberLayers();
  });
  const main = document.createElement("div");
  main.className = "layer-main";
  main.append(
    name,
    numberInput("units", "units", String(units), { min: "1", max: "256" }),
    document.createTextNode(" units"),
    activationMenu(activation),
    remove,
  );
  const batchNorm = document.createElement("input");
  batchNorm.type = "checkbox";
  batchNorm.className = "batch-norm";
  const extras = document.createElement("div");
  extras.className = "layer-extras";
  extras.append(
    labelled("L2 ", numberInput("l2", "L2 (kernelRegularizer)", "0", { min: "0", step: "any" })),
    labelled(
      "dropout ",
      numberInput("dropout", "dropout rate", "0", { min: "0", max: "0.99", step: "0.05" }),
    ),
    labelled("", batchNorm, "check"),
  );
  batchNorm.after(document.createTextNode("batch norm"));
  const after = document.createElement("div");
  after.className = "layer-after hint";
  row.append(main, extras, after);
  row.addEventListener("input", renumberLayers);
  row.addEventListener("change", renumberLayers);
  $("layers").append(row);
  renumberLayers();
}

const rows = () => [...$("layers").querySelectorAll<HTMLDivElement>(".layer-row")];
const field = (row: HTMLElement, cls: string) => row.querySelector<HTMLInputElement>(`.${cls}`)!;

/**
 * A row's choice. `check`: every number checked, an error naming the layer and field thrown
 * (`dense_0 units must be…`); otherwise read as it stands (for naming the layers while editing).
 */
function readRow(row: HTMLElement, name: string, check: boolean): RowChoice {
  const num = (cls: string, label: string, limits: Parameters<typeof fieldNumber>[2]) =>
    check ? fieldNumber(field(row, cls), `${name} ${label}`, limits) : Number(field(row, cls).value) || 0;
  return {
    units: num("units", "units", { integer: true, min: 1 }),
    activation: row.querySelector<HTMLSelectElement>(".activation")!.value as RowChoice["activation"],
    l2: num("l2", "L2", { min: 0 }),
    dropout: num("dropout", "dropout rate", { min: 0, below: DROPOUT_BELOW }),
    batchNorm: field(row, "batch-norm").checked,
  };
}

/**
 * The layers a row stands for: the dense layer (linear before an advanced-activation layer; with
 * `kernelRegularizer: {l2}` when L2 > 0), that layer, batch normalisation, dropout (rate > 0).
 */
export function rowLayers(c: RowChoice): LayerSpec[] {
  const dense: DenseLayer = {
    type: "dense",
    units: c.units,
    activation: isActivationLayer(c.activation) ? "linear" : c.activation,
  };
  if (c.l2 > 0) dense.kernelRegularizer = { l2: c.l2 };
  const out: LayerSpec[] = [dense];
  if (c.activation === "prelu") out.push({ type: "prelu" });
  else if (c.activation === "leakyReLU") out.push({ type: "leakyReLU" });
  if (c.batchNorm) out.push({ type: "batchNormalization" });
  if (c.dropout > 0) out.push({ type: "dropout", rate: c.dropout });
  return out;
}

/** The layers before the hidden rows: a flatten for samples of rank > 1. */
export const leadingLayers = (): LayerSpec[] =>
  (state.source?.inputShape.length ?? 1) > 1 ? [{ type: "flatten" }] : [];

/**
 * The hidden layers in the form, after the leading ones.
 * @throws Error naming the layer and field when `check` and a number is out of range.
 */
export function hiddenLayers(check: boolean): LayerSpec[] {
  const out: LayerSpec[] = [];
  let index = leadingLayers().length;
  for (const row of rows()) {
    const layers = rowLayers(readRow(row, `dense_${index}`, check));
    out.push(...layers);
    index += layers.length;
  }
  return out;
}

/** Whether the form's model has a layer that acts differently in training (dropout, batch norm). */
export const hasModeLayers = () =>
  hiddenLayers(false).some((l) => l.type === "dropout" || l.type === "batchNormalization");

/** Names each row's layers as the service will (`dense_<index>`, `dropout_<index>`, …). */
export function renumberLayers(): void {
  let index = leadingLayers().length;
  for (const row of rows()) {
    const layers = rowLayers(readRow(row, "", false));
    const names = layers.map((l, i) => `${l.type}_${index + i}`);
    row.querySelector(".layer-name")!.textContent = names[0]!;
    row.querySelector(".layer-after")!.textContent =
      names.length > 1 ? `→ ${names.slice(1).join(" → ")}` : "";
    index += layers.length;
  }
  document.dispatchEvent(new Event("layers-changed"));
}

/** The number of layers before the output layer: the output layer's index. */
export const outputIndex = () => leadingLayers().length + hiddenLayers(false).length;
