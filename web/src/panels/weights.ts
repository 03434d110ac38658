/**
 * The weights panel: the weights on screen downloaded as JSON, and weights uploaded from a file
 * to inspect, to draw, or to start the next run from (`initialWeights`).
 */
import { $, button, clearError, input, messageOf, saveFile } from "../dom.js";
import { is2D, state, weightsPhrase } from "../state.js";
import type { Tensors } from "../types.js";
import { buildModel } from "./model.js";
import { addFrame, clearFrames, predictGrid } from "./regions.js";

/** Saves the weights on screen as `weights-<label>.json`. */
export function downloadWeights(): void {
  if (!state.currentWeights) return;
  const blob = new Blob([JSON.stringify(state.currentWeights, null, 1)], { type: "application/json" });
  const label = state.currentLabel.replace(/[^\w]+/g, "-").replace(/^-|-$/g, "");
  saveFile(blob, `weights-${label || "playground"}.json`);
}

/**
 * Weights from a file: a weights object, or anything with `weights` (a /train answer, a job's
 * result). Throws when there are none or a value is not an array.
 */
function weightsFrom(json: unknown): Tensors {
  const obj = json as { weights?: unknown; result?: { weights?: unknown } };
  const w = (obj?.weights ?? obj?.result?.weights ?? json) as Tensors;
  if (typeof w !== "object" || w === null || Array.isArray(w) || Object.keys(w).length === 0)
    throw new Error('the file holds no weights: expected { "dense_0/kernel": [[…]], … } or { weights: … }');
  for (const [key, value] of Object.entries(w))
    if (!Array.isArray(value)) throw new Error(`weights["${key}"] is not an array`);
  return w;
}

/** Reads uploaded weights, offers them as `initialWeights`, and draws (or selects) them. */
export async function uploadWeights(file: File): Promise<void> {
  clearError();
  const uploaded = weightsFrom(JSON.parse(await file.text()));
  state.uploaded = uploaded;
  const use = input("use-initial");
  use.disabled = false;
  use.checked = true;
  $("weights-info").textContent =
    `${file.name}: ${Object.keys(uploaded).length} tensors (${Object.keys(uploaded).join(", ")}).`;
  if (is2D()) {
    const model = buildModel();
    try {
      const outputs = await predictGrid(uploaded, model);
      clearFrames();
      addFrame({ epoch: 0, weights: uploaded, outputs, label: "uploaded weights" });
    } catch (err) {
      $("weights-info").textContent += ` They do not fit the model in the form: ${messageOf(err)}`;
    }
  } else {
    state.currentWeights = uploaded;
    state.currentLabel = "uploaded weights";
    state.currentSha = undefined;
    button("save-model").disabled = false;
    $("inspect-weights").textContent = `with ${weightsPhrase(state.currentLabel)}`;
  }
}
