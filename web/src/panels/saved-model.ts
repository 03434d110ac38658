/**
 * The weights panel's model registry: "Save model" stores the model on screen (POST /models with
 * the form's spec and the weights on screen) or, for a job's final weights, shows the model the
 * job stored when it succeeded; the downloads export the model shown for TensorFlow.js
 * (`model.json` and `weights.bin`, as tfjs' `downloads://` saves a model) and ONNX (`<id>.onnx`).
 * Files are fetched with the API key and handed to the browser as blobs: a bare link would go
 * without the key.
 */
import { api, apiFile } from "../api.js";
import { $, button, clearError, saveFile, showError } from "../dom.js";
import { state, weightsPhrase } from "../state.js";
import type { ModelRecord, SaveModelBody, Tensors } from "../types.js";
import { sendBack } from "../types.js";
import { buildModel } from "./model.js";

/** The model shown, and the weights on screen it holds (saving them again shows it again). */
let shown: { id: string; weights: Tensors } | undefined;

const ERROR_BOX = "model-error";
const EXPORT_BUTTONS = ["download-tfjs", "download-onnx"];

function code(text: string): HTMLElement {
  const el = document.createElement("code");
  el.textContent = text;
  return el;
}

/** Shows model `id`, how it came to be, and what to do with it; the downloads act on it. */
function show(id: string, weights: Tensors, how: string): void {
  shown = { id, weights };
  const info = $("model-info");
  info.dataset.modelId = id;
  info.replaceChildren(
    "Model ",
    code(id),
    `: ${how}. Predict with `,
    code(`POST /models/${id}/predict {"x": […]}`),
    "; train on from it with ",
    code(`"initialWeights": {"modelId": "${id}"}`),
    ".",
  );
  for (const b of EXPORT_BUTTONS) button(b).disabled = false;
}

/**
 * Save model: the weights on screen as a stored model. A job's final weights are already one
 * (its result's `modelId`), so that is shown rather than a copy stored; any other weights (a
 * frame of the run, uploaded ones) go to POST /models with the form's model spec.
 * @throws ApiError when the service refuses them (422: weights that do not fit the spec).
 */
export async function saveModel(): Promise<void> {
  const weights = state.currentWeights;
  if (!weights) return;
  const run = state.run;
  const phrase = weightsPhrase(state.currentLabel);
  if (run?.modelId && state.currentSha !== undefined && state.currentSha === run.finalSha) {
    show(run.modelId, weights, `${phrase}, stored by job ${run.job.id} when it succeeded`);
    return;
  }
  if (shown?.weights === weights) return;
  const body: SaveModelBody = { model: buildModel(), weights: sendBack(weights) };
  const model = await api<ModelRecord>("POST", "/models", body);
  show(model.id, weights, `${phrase}, stored with POST /models`);
}

/**
 * Download for TensorFlow.js: the model shown as `model.json` and `weights.bin` (its manifest's
 * path), which `tf.loadLayersModel(tf.io.browserFiles([json, bin]))` loads. Both are fetched
 * before either is saved, so a refused export (422: a layer tfjs cannot express) saves nothing.
 */
export async function downloadTfjs(): Promise<void> {
  if (!shown) return;
  const base = `/models/${shown.id}/tfjs`;
  const json = await apiFile(`${base}/model.json`);
  const bin = await apiFile(`${base}/weights.bin`);
  saveFile(json, "model.json");
  saveFile(bin, "weights.bin");
}

/** Download ONNX: the model shown as `<id>.onnx`; a 422 names the layer ONNX cannot express. */
export async function downloadOnnx(): Promise<void> {
  if (!shown) return;
  const { id } = shown;
  saveFile(await apiFile(`/models/${id}/onnx`), `${id}.onnx`);
}

/**
 * A click handler for one of the panel's buttons: disabled while it works, its error shown in
 * the panel's box.
 */
export function modelAction(id: string, fn: () => Promise<void>): void {
  const b = button(id);
  b.addEventListener("click", () => {
    clearError(ERROR_BOX);
    b.disabled = true;
    fn()
      .catch((err) => showError(err, ERROR_BOX))
      .finally(() => {
        b.disabled = false;
      });
  });
}
