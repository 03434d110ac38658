/**
 * The playground: a form that builds a POST /jobs body, the job's event stream drawn as loss
 * curves, decision regions for 2-D inputs, a gradient inspector and a tuning search over the form. Every number comes from the
 * service's public API. This file wires the panels (web/src/panels) to the page's controls.
 */
import "./style.css";
import { apiKey, setApiKey } from "./api.js";
import { $, button, input, select, showError } from "./dom.js";
import { chooseSource, loadDatasets, regenerate, storeGenerated } from "./panels/data.js";
import { clearInspection, fillSamples, inspect } from "./panels/inspector.js";
import { addLayerRow, renumberLayers } from "./panels/layers.js";
import { fillLosses, updateOutputHint, validationSplit } from "./panels/model.js";
import { fillOptimizers, showOptimizerOptions } from "./panels/optimizer.js";
import { pickFrame, regions, showSource } from "./panels/regions.js";
import { downloadOnnx, downloadTfjs, modelAction, saveModel } from "./panels/saved-model.js";
import { cancelRun, chart, running, startRun } from "./panels/training.js";
import { initTuning } from "./panels/tuning.js";
import { downloadWeights, uploadWeights } from "./panels/weights.js";

/** Another data set was chosen: every panel shows it. */
function sourceChanged(): void {
  chooseSource();
  fillLosses();
  updateOutputHint();
  showSource(validationSplit());
  clearInspection();
  fillSamples();
}

/** A handler whose error is shown on the page (the Train button is enabled again unless a run goes on). */
function guard(fn: () => Promise<void> | void): () => void {
  return () => {
    Promise.resolve()
      .then(fn)
      .catch((err) => {
        showError(err);
        button("train").disabled = running();
      });
  };
}

function init(): void {
  fillOptimizers();
  document.addEventListener("layers-changed", updateOutputHint);
  addLayerRow(8, "tanh");
  addLayerRow(8, "tanh");
  input("api-key").value = apiKey();
  input("api-key").addEventListener("change", () => setApiKey(input("api-key").value.trim()));
  select("dataset").addEventListener("change", () => {
    sourceChanged();
    renumberLayers();
  });
  for (const id of ["samples", "noise"]) input(id).addEventListener("change", sourceChanged);
  $("regenerate").addEventListener("click", () => {
    regenerate();
    sourceChanged();
  });
  $("store-dataset").addEventListener(
    "click",
    guard(() => storeGenerated(sourceChanged)),
  );
  $("add-layer").addEventListener("click", () => addLayerRow(4, "tanh"));
  select("loss").addEventListener("change", updateOutputHint);
  select("optimizer").addEventListener("change", showOptimizerOptions);
  input("validation-split").addEventListener("change", () => regions.setValidationSplit(validationSplit()));
  $("setup").addEventListener("submit", (event) => {
    event.preventDefault();
    guard(startRun)();
  });
  $("cancel").addEventListener("click", guard(cancelRun));
  input("frame").addEventListener("input", () => pickFrame(Number(input("frame").value)));
  $("download-weights").addEventListener("click", downloadWeights);
  input("upload-weights").addEventListener("change", () => {
    const file = input("upload-weights").files?.[0];
    if (file) guard(() => uploadWeights(file))();
    input("upload-weights").value = "";
  });
  modelAction("save-model", saveModel);
  modelAction("download-tfjs", downloadTfjs);
  modelAction("download-onnx", downloadOnnx);
  $("inspect").addEventListener("click", guard(inspect));
  select("sample").addEventListener("change", guard(inspect));
  regions.canvas.addEventListener("click", (event) => {
    const i = regions.pick(event);
    if (i === undefined) return;
    select("sample").value = String(i);
    guard(inspect)();
  });
  initTuning(guard);
  chart.reset({ validation: false, epochs: Number(input("epochs").value) });
  guard(async () => {
    await loadDatasets(sourceChanged);
    document.body.dataset.ready = "true";
  })();
}

init();
