/**
 * The gradient inspector: one sample, one back-propagation step (POST /gradients with
 * `numericalCheck: true`) at the weights on screen, drawn as heat maps of every trainable
 * parameter's gradient (kernel, bias, gamma, beta, alpha), each layer's output and, in training
 * mode, its dropout masks (a dropout layer's, a recurrent layer's dropout and recurrentDropout, a
 * bidirectional layer's for each copy), with the finite-difference check's verdict and the
 * service's warnings (a batch normalisation over one value per channel in training mode). A weight
 * with no gradient (batch normalisation's moving statistics) is listed as not trainable.
 */
import { api } from "../api.js";
import { $, clearError, input, select } from "../dom.js";
import { at, fmt, heatmap } from "../heatmap.js";
import { state, weightsPhrase } from "../state.js";
import type { GradientsBody, GradientsResponse, NestedNumbers } from "../types.js";
import { sendBack } from "../types.js";
import { hasModeLayers } from "./layers.js";
import { buildModel, target } from "./model.js";
import { regions } from "./regions.js";

/** The sample menu for the data set's points, or the manual x and y fields when it has none. */
export function fillSamples(): void {
  const sel = select("sample");
  sel.replaceChildren();
  const points = state.source?.points;
  $("sample-label").hidden = !points;
  $("manual-x-label").hidden = !!points;
  $("manual-y-label").hidden = !!points;
  if (!points) return;
  const n = Math.min(points.x.length, 500);
  for (let i = 0; i < n; i++) {
    const cls = points.classes[points.labels[i]!] ?? String(points.labels[i]);
    sel.append(new Option(`#${i} (${points.x[i]!.map((v) => fmt(v, 3)).join(", ")}) → ${cls}`, String(i)));
  }
}

/** Empties the inspector: its numbers belonged to the previous data set. */
export function clearInspection(): void {
  $("numerical").replaceChildren();
  $("numerical").className = "";
  $("inspection").replaceChildren();
}

/** Inspects the chosen sample (marked on the regions) or the manual x and y. */
export async function inspect(): Promise<void> {
  clearError();
  const model = buildModel();
  const source = state.source;
  let x: NestedNumbers;
  let y: number | number[];
  if (source?.points) {
    const i = Number(select("sample").value);
    regions.selected = i;
    regions.draw();
    x = source.points.x[i]!;
    y = target(source.points.labels[i]!, model);
  } else {
    x = JSON.parse(input("manual-x").value) as NestedNumbers;
    y = JSON.parse(input("manual-y").value) as number | number[];
  }
  const body: GradientsBody = { model, x, y, numericalCheck: true };
  // `training` only where it changes anything, so a model without dropout or batch
  // normalisation is inspected with the body the page always sent
  if (hasModeLayers()) body.training = input("training").checked;
  if (state.currentWeights) body.weights = sendBack(state.currentWeights);
  else body.seed = Number(input("seed").value) || 0;
  const answer = await api<GradientsResponse>("POST", "/gradients", body);
  const weights = state.currentWeights
    ? weightsPhrase(state.currentLabel)
    : `the seeded initial weights (seed ${answer.seed})`;
  const mode = body.training === undefined ? "" : body.training ? ", training mode" : ", inference mode";
  renderInspection(answer, x, `${weights}${mode}`);
}

/** The numerical check's verdict as a badge. */
function renderVerdict(num: GradientsResponse["numerical"]): void {
  const box = $("numerical");
  box.replaceChildren();
  if (!num) return;
  const rel = num.maxRelError ?? Number.NaN;
  const abs = num.maxAbsError ?? Number.NaN;
  // A relative error below 1e-4 is fine, above 1e-2 a bug (CS231n's rule of thumb); but where the
  // worst one sits on a gradient near 0, round-off dominates it and the absolute error tells.
  const roundOff = rel >= 1e-4 && abs < 1e-8;
  box.className = rel < 1e-4 || roundOff ? "badge good" : rel < 1e-2 ? "badge fair" : "badge bad";
  box.dataset.maxRelError = String(num.maxRelError);
  const w = num.worst;
  box.textContent =
    `Numerical check (${num.method} differences, ε = ${num.epsilon}): worst relative error ${fmt(num.maxRelError, 3)} ` +
    `at ${w.key}[${w.index.join("][")}] — backprop ${fmt(w.analytic, 12)}, finite differences ${fmt(w.numerical, 12)}; ` +
    `max absolute error ${fmt(num.maxAbsError, 3)}.` +
    (roundOff
      ? " A relative error this large on a gradient this close to 0 is finite-difference round-off: the absolute errors agree to 1e-8."
      : "");
}

function renderInspection(g: GradientsResponse, x: NestedNumbers, weightsLabel: string): void {
  const num = g.numerical;
  renderVerdict(num);
  const out = $("inspection");
  out.replaceChildren();
  const summary = document.createElement("p");
  summary.className = "hint";
  summary.textContent = `Loss ${fmt(g.loss, 6)} at ${weightsLabel}. Hover a cell for its value.`;
  out.append(summary);
  // The service's warnings (a batch normalisation over one value per channel), above the heat maps.
  for (const w of g.warnings ?? []) {
    const p = document.createElement("p");
    p.className = "hint inspection-warning";
    p.dataset.code = w.code;
    p.dataset.layer = w.layer;
    p.textContent = `⚠ ${w.message}`;
    out.append(p);
  }
  const row = (title: string, figures: HTMLElement[]) => {
    const section = document.createElement("div");
    section.className = "layer-block";
    const h = document.createElement("h3");
    h.textContent = title;
    const figs = document.createElement("div");
    figs.className = "figures";
    figs.append(...figures);
    section.append(h, figs);
    out.append(section);
  };
  row("input", [heatmap("x", x, (i, v) => `x[${i.join("][")}] = ${v}`)]);
  for (const a of g.activations) {
    const figures: HTMLElement[] = [];
    for (const key of parameterKeys(g, a.layer)) {
      const part = key.slice(a.layer.length + 1);
      const grad = g.gradients[key];
      if (grad === undefined) {
        figures.push(notTrainable(part));
        continue;
      }
      figures.push(
        heatmap(`∂L/∂${part}`, grad, (i, v) => {
          const idx = `[${i.join("][")}]`;
          return (
            `∂L/∂${key}${idx} = ${v}\nfinite differences: ${at(num?.gradients[key], i) ?? "–"}\n` +
            `weight: ${at(g.weights[key], i) ?? "–"}`
          );
        }),
      );
    }
    for (const { key, caption } of maskKeys(g, a.layer))
      figures.push(
        heatmap(
          caption,
          g.dropoutMasks![key]!,
          (i, v) => `${key} mask[${i.join("][")}] = ${v}${v === 0 ? " (dropped)" : ""}`,
        ),
      );
    figures.push(
      heatmap("output (activations)", a.output, (i, v) => `${a.layer} output[${i.join("][")}] = ${v}`),
    );
    row(a.layer, figures);
  }
}

/**
 * A layer's dropout masks in the answer, in its order, with their captions: a dropout layer's
 * under its name ("dropout mask"); a recurrent layer's as `<layer>/dropout` and
 * `<layer>/recurrentDropout` ("dropout mask", "recurrentDropout mask"); a bidirectional layer's
 * copies' as `<layer>/forward_<inner>/…` and `<layer>/backward_<inner>/…`
 * ("forward_lstm/dropout mask", …).
 */
function maskKeys(g: GradientsResponse, layer: string): { key: string; caption: string }[] {
  const prefix = `${layer}/`;
  return Object.keys(g.dropoutMasks ?? {}).flatMap((key) =>
    key === layer
      ? [{ key, caption: "dropout mask" }]
      : key.startsWith(prefix)
        ? [{ key, caption: `${key.slice(prefix.length)} mask` }]
        : [],
  );
}

/** The order parameters are shown in; any other follows, in the answer's order. */
const PARAMETER_ORDER = ["kernel", "bias", "gamma", "beta", "alpha", "moving_mean", "moving_variance"];

/** A layer's weights and gradients (`<layer>/<param>`), kernel first. */
function parameterKeys(g: GradientsResponse, layer: string): string[] {
  const prefix = `${layer}/`;
  const keys = [...new Set([...Object.keys(g.weights), ...Object.keys(g.gradients)])].filter((k) =>
    k.startsWith(prefix),
  );
  const rank = (k: string) => {
    const i = PARAMETER_ORDER.indexOf(k.slice(prefix.length));
    return i < 0 ? PARAMETER_ORDER.length : i;
  };
  return keys.sort((a, b) => rank(a) - rank(b));
}

/** A weight the answer has no gradient for: a non-trainable one. */
function notTrainable(part: string): HTMLElement {
  const figure = document.createElement("figure");
  figure.className = "not-trainable";
  const caption = document.createElement("figcaption");
  caption.textContent = part;
  const note = document.createElement("span");
  note.className = "hint";
  note.textContent = "not trainable (no gradient)";
  figure.append(caption, note);
  return figure;
}
