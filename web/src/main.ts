/**
 * The playground: a form that builds a POST /jobs body, the job's event stream drawn as loss
 * curves, decision regions for 2-D inputs and a gradient inspector. Every number comes from the
 * service's public API.
 *
 * How the regions follow training: a running job does not expose its weights (GET /jobs/{id}
 * carries metrics until it has finished), so next to the job the page runs a *shadow* of it —
 * the same body in short POST /train calls, each continuing the last exactly (`initialWeights`
 * + `optimizerState`, same seed) — and draws each chunk's weights with POST /predict on a grid.
 * Exact resume makes the shadow's weights after e epochs bit-identical to the job's after e
 * epochs; a frame is shown once the job's event stream has reached its epoch, and at the end the
 * shadow's SHA-256 is compared with the job's.
 */
import "./style.css";
import { ApiError, api, apiKey, serverEvents, setApiKey } from "./api.js";
import { LossChart } from "./chart.js";
import { GENERATORS, type Points, recallStored, rememberStored, XOR_POINTS } from "./datasets.js";
import { at, fmt, heatmap } from "./heatmap.js";
import { PALETTE, RegionView, rgb } from "./regions.js";
import type {
  DatasetInfo,
  GradientsResponse,
  Job,
  LayerSpec,
  ModelSpec,
  Nested,
  Progress,
  StoredDatasetInfo,
  Tensors,
  TrainBody,
  TrainResponse,
} from "./types.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);
const select = (id: string) => $<HTMLSelectElement>(id);

/** Frames of the regions along one run. */
const MAX_FRAMES = 24;

// ---------------------------------------------------------------------------------------------
// Data sets

interface Source {
  key: string;
  label: string;
  dataset: TrainBody["dataset"] | "inline";
  inputShape: number[];
  /** Class names; undefined for a regression target. */
  classes: string[] | undefined;
  points: Points | undefined;
  description: string;
}

let builtIns: DatasetInfo[] = [];
let stored: StoredDatasetInfo[] = [];
let source: Source | undefined;

function generatorSource(key: string): Source {
  const gen = GENERATORS[key]!;
  const samples = Math.min(2000, Math.max(10, Math.round(Number(input("samples").value) || 200)));
  const noise = Math.max(0, Number(input("noise").value) || 0);
  const seed = Number(input("regenerate").dataset.seed ?? "1");
  const points = gen.make(samples, noise, seed);
  return {
    key: `gen:${key}`,
    label: gen.label,
    dataset: "inline",
    inputShape: [2],
    classes: points.classes,
    points,
    description: `${samples} points generated here (seed ${seed}), sent inline as {x, y}.`,
  };
}

function currentSource(): Source {
  const key = select("dataset").value;
  const [kind, name = ""] = key.split(/:(.*)/s) as [string, string];
  if (kind === "gen") return generatorSource(name);
  if (kind === "builtin") {
    const info = builtIns.find((d) => d.name === name)!;
    return {
      key,
      label: name,
      dataset: { name },
      inputShape: info.inputShape,
      classes: info.classes,
      points: name === "xor" ? XOR_POINTS : undefined,
      description: info.description,
    };
  }
  const info = stored.find((d) => d.id === name)!;
  const points = recallStored(name);
  return {
    key,
    label: info.name ?? info.id,
    dataset: { id: name },
    inputShape: info.inputShape,
    classes: info.classes ?? points?.classes ?? undefined,
    points,
    description:
      `Stored data set ${info.id}: ${info.samples} samples.` +
      (points || info.inputShape.join() !== "2"
        ? ""
        : " The API does not return a stored set's values, so its points cannot be drawn here (only sets stored from this page are remembered)."),
  };
}

async function loadDatasets(selectKey?: string): Promise<void> {
  const answer = await api<{ datasets: DatasetInfo[]; stored: StoredDatasetInfo[] }>(
    "GET",
    "/datasets?limit=50",
  );
  builtIns = answer.datasets;
  stored = answer.stored;
  const sel = select("dataset");
  const previous = selectKey ?? sel.value;
  sel.replaceChildren();
  const group = (label: string, options: [string, string][]) => {
    if (options.length === 0) return;
    const g = document.createElement("optgroup");
    g.label = label;
    for (const [value, text] of options) g.append(new Option(text, value));
    sel.append(g);
  };
  group(
    "Built in (by name)",
    builtIns.map((d) => [`builtin:${d.name}`, `${d.name} (${d.samples} × [${d.inputShape.join(", ")}])`]),
  );
  group(
    "Generated here, 2-D (inline)",
    Object.entries(GENERATORS).map(([key, g]) => [`gen:${key}`, g.label]),
  );
  group(
    "Stored (by id)",
    stored.map((d) => [`stored:${d.id}`, `${d.name ?? d.id} (${d.samples} × [${d.inputShape.join(", ")}])`]),
  );
  sel.value = [...sel.options].some((o) => o.value === previous) ? previous : "builtin:xor";
  onSourceChange();
}

function onSourceChange(): void {
  source = currentSource();
  const generated = source.key.startsWith("gen:");
  $("generator-options").hidden = !generated;
  $("dataset-info").textContent = source.description;
  updateOutputHint();
  regions.setPoints(source.points, validationSplit());
  frames.length = 0;
  updateFrameControls();
  clearInspection();
  const twoD = source.inputShape.length === 1 && source.inputShape[0] === 2;
  $("regions").hidden = !twoD;
  $("frame-row").hidden = !twoD;
  $("regions-note").textContent = twoD
    ? "Train to see the regions."
    : `Decision regions need 2 inputs; this data set's inputShape is [${source.inputShape.join(", ")}].`;
  renderLegend();
  fillSamples();
}

function renderLegend(): void {
  const legend = $("legend");
  legend.replaceChildren();
  for (const [i, name] of (source?.classes ?? []).entries()) {
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = rgb(PALETTE[i % PALETTE.length]!);
    item.append(swatch, name);
    legend.append(item);
  }
}

async function storeGenerated(): Promise<void> {
  if (!source?.points) return;
  const created = await api<StoredDatasetInfo>("POST", "/datasets", {
    name: `playground ${source.label}`,
    x: source.points.x,
    y: source.points.labels,
    classes: source.points.classes,
  });
  rememberStored(created.id, source.points);
  await loadDatasets(`stored:${created.id}`);
}

// ---------------------------------------------------------------------------------------------
// The model and the request body

const ACTIVATIONS = ["tanh", "relu", "sigmoid", "linear"];

function addLayerRow(units = 8, activation = "tanh"): void {
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

function renumberLayers(): void {
  const rows = [...$("layers").querySelectorAll<HTMLDivElement>(".layer-row")];
  const offset = (source?.inputShape.length ?? 1) > 1 ? 1 : 0;
  rows.forEach((row, i) => {
    row.querySelector(".layer-name")!.textContent = `dense_${i + offset}`;
  });
  updateOutputHint();
}

/** The output layer the loss and the data call for. */
function outputLayer(loss: string): LayerSpec {
  const k = source?.classes?.length;
  if (k === undefined) return { type: "dense", units: 1, activation: "linear" };
  if (loss === "binaryCrossentropy" || (loss === "meanSquaredError" && k === 2))
    return { type: "dense", units: 1, activation: "sigmoid" };
  return { type: "dense", units: k, activation: "softmax" };
}

function buildModel(): ModelSpec {
  const loss = select("loss").value;
  const shape = source!.inputShape;
  const layers: LayerSpec[] = shape.length > 1 ? [{ type: "flatten" }] : [];
  for (const row of $("layers").querySelectorAll<HTMLDivElement>(".layer-row"))
    layers.push({
      type: "dense",
      units: Math.round(Number(row.querySelector<HTMLInputElement>(".units")!.value)),
      activation: row.querySelector<HTMLSelectElement>(".activation")!.value,
    });
  layers.push(outputLayer(loss));
  return { inputShape: shape, layers, loss };
}

function updateOutputHint(): void {
  if (!source) return;
  const out = outputLayer(select("loss").value);
  const index = $("layers").querySelectorAll(".layer-row").length + (source.inputShape.length > 1 ? 1 : 0);
  $("output-layer").textContent =
    `input [${source.inputShape.join(", ")}]${source.inputShape.length > 1 ? " → flatten" : ""} → … → ` +
    `dense_${index}(${out.units}, ${out.activation}) (output, set by the loss and the classes)`;
  $("momentum-label").hidden = select("optimizer").value !== "sgd";
}

/** A target as the service expects it for this model: a label, one number, or one-hot. */
function target(label: number, model: ModelSpec): number | number[] {
  const units = model.layers[model.layers.length - 1]?.units ?? 1;
  if (model.loss === "sparseCategoricalCrossentropy" || units === 1 || source?.classes === undefined)
    return label;
  return Array.from({ length: units }, (_, i) => (i === label ? 1 : 0));
}

const validationSplit = () => Math.min(0.9, Math.max(0, Number(input("validation-split").value) || 0));

function buildBody(): TrainBody {
  if (!source) throw new Error("no data set");
  const model = buildModel();
  const optimizerType = select("optimizer").value as "sgd" | "adam";
  const optimizer: TrainBody["optimizer"] = {
    type: optimizerType,
    learningRate: Number(input("learning-rate").value),
  };
  if (optimizerType === "sgd" && Number(input("momentum").value) > 0)
    optimizer.momentum = Number(input("momentum").value);
  const dataset: TrainBody["dataset"] =
    source.dataset === "inline"
      ? { x: source.points!.x, y: source.points!.labels.map((l) => target(l, model)) }
      : source.dataset;
  const body: TrainBody = {
    model,
    dataset,
    optimizer,
    epochs: Math.round(Number(input("epochs").value)),
    batchSize: Math.round(Number(input("batch-size").value)),
  };
  const seed = input("seed").value.trim();
  if (seed !== "") body.seed = Number(seed);
  if (validationSplit() > 0) body.validationSplit = validationSplit();
  if (input("use-initial").checked && uploaded) body.initialWeights = uploaded;
  return body;
}

// ---------------------------------------------------------------------------------------------
// Runs: the job, its events, and the shadow that draws the regions

interface Frame {
  epoch: number;
  weights: Tensors;
  outputs: Nested[] | undefined;
  sha?: string;
  label: string;
}

interface Run {
  job: Job;
  body: TrainBody & { seed: number };
  abort: AbortController;
  /** The latest epoch the job's event stream has reported. */
  jobEpoch: number;
  final?: "succeeded" | "failed" | "cancelled";
  finalSha?: string;
  shadowSha?: string;
  shadowDone: boolean;
  shadowPromise?: Promise<void>;
}

const regions = new RegionView($<HTMLCanvasElement>("regions"));
const chart = new LossChart($("chart"));
/** Frames computed (shown once the job has reached their epoch). */
let computed: Frame[] = [];
/** Frames shown so far; the slider moves among them. */
const frames: Frame[] = [];
let followLatest = true;
let run: Run | undefined;
let uploaded: Tensors | undefined;
/** The weights of the frame on screen (the inspector and the download use them). */
let currentWeights: Tensors | undefined;
let currentLabel = "";

function showError(err: unknown): void {
  if (err instanceof DOMException && err.name === "AbortError") return;
  const box = $("error");
  box.textContent = err instanceof Error ? err.message : String(err);
  box.hidden = false;
}

function clearError(): void {
  $("error").hidden = true;
}

const is2D = () => source?.inputShape.length === 1 && source.inputShape[0] === 2;

async function predictGrid(weights: Tensors, model: ModelSpec, signal?: AbortSignal): Promise<Nested[]> {
  const answer = await api<{ outputs: Nested[] }>(
    "POST",
    "/predict",
    { model, weights, x: regions.gridSamples() },
    signal,
  );
  return answer.outputs;
}

function showFrame(index: number): void {
  const frame = frames[index];
  if (!frame) return;
  regions.setOutputs(frame.outputs);
  currentWeights = frame.weights;
  currentLabel = frame.label;
  const canvas = regions.canvas;
  canvas.dataset.epoch = String(frame.epoch);
  canvas.dataset.framesDrawn = String(Number(canvas.dataset.framesDrawn ?? "0") + 1);
  $("frame-label").textContent = frame.label;
  input("frame").value = String(index);
  $<HTMLButtonElement>("download-weights").disabled = false;
  $("inspect-weights").textContent = `with ${weightsPhrase(frame.label)}`;
}

/** "the weights of epoch 70 of 500", "the job's final weights", "the uploaded weights". */
function weightsPhrase(label: string): string {
  return label.startsWith("epoch")
    ? `the weights of ${label}`
    : label.startsWith("the")
      ? label
      : `the ${label}`;
}

function updateFrameControls(): void {
  const slider = input("frame");
  slider.max = String(Math.max(0, frames.length - 1));
  slider.disabled = frames.length < 2;
  if (frames.length === 0) {
    $("frame-label").textContent = "";
    regions.setOutputs(undefined);
  }
}

function addFrame(frame: Frame): void {
  frames.push(frame);
  updateFrameControls();
  if (followLatest) showFrame(frames.length - 1);
}

/** Moves computed frames whose epoch the job has reached onto the screen. */
function releaseFrames(): void {
  if (!run) return;
  const reached = run.final === "succeeded" ? Number.POSITIVE_INFINITY : run.jobEpoch;
  while (computed.length > 0 && computed[0]!.epoch <= reached) addFrame(computed.shift()!);
}

/** Epochs at which to draw: denser early, where the regions move most. */
function frameEpochs(epochs: number): number[] {
  const out = new Set<number>();
  const n = Math.min(MAX_FRAMES, epochs);
  for (let i = 1; i <= n; i++) out.add(Math.max(1, Math.round(epochs * (i / n) ** 2)));
  return [...out].sort((a, b) => a - b);
}

/** The shadow: the job's body in short POST /train chunks, exact resume, a frame after each. */
async function shadow(r: Run): Promise<void> {
  const { body } = r;
  let weights = body.initialWeights;
  let optimizerState: unknown;
  let done = 0;
  for (const epoch of frameEpochs(body.epochs)) {
    if (r.abort.signal.aborted || (r.final && r.final !== "succeeded")) return;
    const chunk: Record<string, unknown> = { ...body, epochs: epoch - done, returnOptimizerState: true };
    if (weights) chunk.initialWeights = weights;
    if (optimizerState) chunk.optimizerState = optimizerState;
    const answer = await api<TrainResponse>("POST", "/train", chunk, r.abort.signal);
    done = epoch;
    weights = answer.weights;
    optimizerState = answer.optimizerState;
    if (answer.diverged) {
      $("regions-note").textContent = `The run diverged: ${answer.diverged.message}`;
      return;
    }
    const outputs = await predictGrid(answer.weights, body.model, r.abort.signal);
    computed.push({
      epoch,
      weights: answer.weights,
      outputs,
      sha: answer.weightsSha256,
      label: `epoch ${epoch} of ${body.epochs}`,
    });
    if (epoch === body.epochs) r.shadowSha = answer.weightsSha256;
    releaseFrames();
  }
  r.shadowDone = true;
  reportShadow(r);
}

function reportShadow(r: Run): void {
  if (r !== run || !r.finalSha || !r.shadowDone) return;
  const note = $("regions-note");
  const n = frames.length;
  if (r.shadowSha === r.finalSha) {
    note.dataset.verified = "true";
    note.textContent =
      `${n} frames from a shadow run of short POST /train calls (exact resume: initialWeights + optimizerState, ` +
      `seed ${r.body.seed}); its final weights are bit-identical to the job's (SHA-256 ${r.finalSha.slice(0, 16)}…).`;
  } else {
    note.dataset.verified = "false";
    note.textContent =
      `The shadow run's final weights differ from the job's (SHA-256 ${r.shadowSha?.slice(0, 12)}… vs ` +
      `${r.finalSha.slice(0, 12)}…); the last frame shows the job's own weights.`;
  }
}

function statusLine(job: Job, p: Progress | undefined, state: string): string {
  const parts = [`${job.id}`, state];
  if (p) {
    parts.push(`epoch ${p.epoch}/${p.epochs}`);
    if (p.loss !== undefined) parts.push(`loss ${fmt(p.loss)}`);
    if (p.accuracy !== undefined) parts.push(`accuracy ${fmt(p.accuracy, 3)}`);
    if (p.valLoss !== undefined) parts.push(`val loss ${fmt(p.valLoss)}`);
    if (p.valAccuracy !== undefined) parts.push(`val accuracy ${fmt(p.valAccuracy, 3)}`);
  }
  return parts.join(" · ");
}

async function follow(r: Run): Promise<void> {
  const status = $("status");
  let last: Progress | undefined;
  for await (const event of serverEvents(
    `/jobs/${r.job.id}/events`,
    (e) => e.event !== "progress",
    r.abort.signal,
  )) {
    if (event.event === "progress") {
      last = event.data as Progress;
      r.jobEpoch = last.epoch;
      chart.push(last);
      status.textContent = statusLine(r.job, last, "running");
      releaseFrames();
      continue;
    }
    const data = event.data as Progress & {
      status: string;
      weightsSha256?: string;
      error?: { detail?: string };
    };
    r.final = data.status as Run["final"];
    status.dataset.state = data.status;
    status.textContent = statusLine(r.job, last ?? data, data.status);
    if (data.status === "succeeded") {
      const job = await api<Job>("GET", `/jobs/${r.job.id}`);
      r.finalSha = job.result?.weightsSha256;
      $("job-note").textContent =
        `Job ${job.id} succeeded: ${job.result?.epochsRun} epochs, weights SHA-256 ${r.finalSha?.slice(0, 16)}…`;
      if (job.result && !is2D()) {
        // no regions to draw: the job's weights are the ones to inspect and download
        addFrame({
          epoch: job.result.epochsRun,
          weights: job.result.weights,
          outputs: undefined,
          label: "the job's final weights",
        });
      }
      releaseFrames();
      if (is2D() && job.result && (!r.shadowDone || r.shadowSha !== r.finalSha)) {
        await r.shadowPromise?.catch(() => undefined);
        if (r.shadowSha !== r.finalSha) {
          const outputs = await predictGrid(job.result.weights, r.body.model);
          addFrame({
            epoch: job.result.epochsRun,
            weights: job.result.weights,
            outputs,
            sha: r.finalSha,
            label: "the job's final weights",
          });
        }
      }
      reportShadow(r);
    } else {
      r.abort.abort();
      computed = [];
      $("job-note").textContent =
        data.status === "failed"
          ? `The job failed: ${data.error?.detail ?? `see GET /jobs/${r.job.id}`}`
          : "Cancelled.";
    }
  }
  finishRun(r);
}

function finishRun(r: Run): void {
  if (r !== run) return;
  $<HTMLButtonElement>("train").disabled = false;
  $<HTMLButtonElement>("cancel").disabled = true;
}

async function startRun(): Promise<void> {
  clearError();
  const body = buildBody();
  $<HTMLButtonElement>("train").disabled = true;
  const job = await api<Job>("POST", "/jobs", body);
  run?.abort.abort();
  const r: Run = {
    job,
    body: { ...body, seed: job.seed },
    abort: new AbortController(),
    jobEpoch: 0,
    shadowDone: false,
  };
  run = r;
  $<HTMLButtonElement>("cancel").disabled = false;
  $("status").dataset.state = job.status;
  $("status").textContent = statusLine(job, undefined, job.status);
  $("job-note").textContent =
    `POST /jobs → 202 ${job.id} (seed ${job.seed}); following GET /jobs/${job.id}/events.`;
  const note = $("regions-note");
  delete note.dataset.verified;
  chart.reset({ validation: body.validationSplit !== undefined, epochs: body.epochs });
  frames.length = 0;
  computed = [];
  followLatest = true;
  regions.canvas.dataset.framesDrawn = "0";
  updateFrameControls();
  if (is2D()) {
    note.textContent =
      "Drawing the regions from a shadow run of the job (short POST /train calls, exact resume)…";
    if (body.initialWeights)
      computed.push({
        epoch: 0,
        weights: body.initialWeights,
        outputs: await predictGrid(body.initialWeights, body.model),
        label: "epoch 0 (uploaded weights)",
      });
    r.shadowPromise = shadow(r).catch((err) => {
      if (r.abort.signal.aborted) return;
      note.textContent = `The shadow run stopped (${err instanceof Error ? err.message : err}); the regions will show the job's final weights.`;
      r.shadowDone = true;
    });
  }
  follow(r).catch((err) => {
    showError(err);
    finishRun(r);
  });
}

async function cancelRun(): Promise<void> {
  if (!run) return;
  const r = run;
  r.abort.abort();
  try {
    await api("POST", `/jobs/${r.job.id}/cancel`);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 409)) throw err;
  }
  r.final = "cancelled";
  computed = [];
  $("status").dataset.state = "cancelled";
  $("status").textContent = `${r.job.id} · cancelled at epoch ${r.jobEpoch}`;
  $("job-note").textContent = `POST /jobs/${r.job.id}/cancel: cancelled after epoch ${r.jobEpoch}.`;
  if (is2D())
    $("regions-note").textContent = frames.length
      ? `Cancelled; the regions show ${weightsPhrase(frames[frames.length - 1]!.label)}, the last frame the job reached.`
      : "Cancelled before the first frame.";
  finishRun(r);
}

// ---------------------------------------------------------------------------------------------
// Weights: download and upload

function downloadWeights(): void {
  if (!currentWeights) return;
  const blob = new Blob([JSON.stringify(currentWeights, null, 1)], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `weights-${currentLabel.replace(/[^\w]+/g, "-").replace(/^-|-$/g, "") || "playground"}.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** Weights from a file: a weights object, or anything with `weights` (a /train answer, a job's result). */
function weightsFrom(json: unknown): Tensors {
  const obj = json as { weights?: unknown; result?: { weights?: unknown } };
  const w = (obj?.weights ?? obj?.result?.weights ?? json) as Tensors;
  if (typeof w !== "object" || w === null || Array.isArray(w) || Object.keys(w).length === 0)
    throw new Error('the file holds no weights: expected { "dense_0/kernel": [[…]], … } or { weights: … }');
  for (const [key, value] of Object.entries(w))
    if (!Array.isArray(value)) throw new Error(`weights["${key}"] is not an array`);
  return w;
}

async function uploadWeights(file: File): Promise<void> {
  clearError();
  uploaded = weightsFrom(JSON.parse(await file.text()));
  const use = input("use-initial");
  use.disabled = false;
  use.checked = true;
  $("weights-info").textContent =
    `${file.name}: ${Object.keys(uploaded).length} tensors (${Object.keys(uploaded).join(", ")}).`;
  if (is2D()) {
    const model = buildModel();
    try {
      const outputs = await predictGrid(uploaded, model);
      frames.length = 0;
      followLatest = true;
      addFrame({ epoch: 0, weights: uploaded, outputs, label: "uploaded weights" });
    } catch (err) {
      $("weights-info").textContent +=
        ` They do not fit the model in the form: ${err instanceof Error ? err.message : err}`;
    }
  } else {
    currentWeights = uploaded;
    currentLabel = "uploaded weights";
    $("inspect-weights").textContent = `with ${weightsPhrase(currentLabel)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The gradient inspector

function fillSamples(): void {
  const sel = select("sample");
  sel.replaceChildren();
  const points = source?.points;
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

async function inspect(): Promise<void> {
  clearError();
  const model = buildModel();
  let x: Nested;
  let y: number | number[];
  if (source?.points) {
    const i = Number(select("sample").value);
    regions.selected = i;
    regions.draw();
    x = source.points.x[i]!;
    y = target(source.points.labels[i]!, model);
  } else {
    x = JSON.parse(input("manual-x").value) as Nested;
    y = JSON.parse(input("manual-y").value) as number | number[];
  }
  const body: Record<string, unknown> = { model, x, y, numericalCheck: true };
  if (currentWeights) body.weights = currentWeights;
  else body.seed = Number(input("seed").value) || 0;
  const answer = await api<GradientsResponse>("POST", "/gradients", body);
  renderInspection(
    answer,
    x,
    currentWeights ? weightsPhrase(currentLabel) : `the seeded initial weights (seed ${answer.seed})`,
  );
}

/** Empties the inspector: its numbers belonged to the previous data set. */
function clearInspection(): void {
  $("numerical").replaceChildren();
  $("numerical").className = "";
  $("inspection").replaceChildren();
}

function renderInspection(g: GradientsResponse, x: Nested, weightsLabel: string): void {
  const num = g.numerical;
  const box = $("numerical");
  box.replaceChildren();
  if (num) {
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
  const out = $("inspection");
  out.replaceChildren();
  const summary = document.createElement("p");
  summary.className = "hint";
  summary.textContent = `Loss ${fmt(g.loss, 6)} at ${weightsLabel}. Hover a cell for its value.`;
  out.append(summary);
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
    for (const part of ["kernel", "bias"]) {
      const key = `${a.layer}/${part}`;
      const grad = g.gradients[key];
      if (grad === undefined) continue;
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
    figures.push(
      heatmap("output (activations)", a.output, (i, v) => `${a.layer} output[${i.join("][")}] = ${v}`),
    );
    row(a.layer, figures);
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring

function guard(fn: () => Promise<void> | void): () => void {
  return () => {
    Promise.resolve()
      .then(fn)
      .catch((err) => {
        showError(err);
        $<HTMLButtonElement>("train").disabled =
          run !== undefined && run.final === undefined && !run.abort.signal.aborted;
      });
  };
}

function init(): void {
  addLayerRow(8, "tanh");
  addLayerRow(8, "tanh");
  input("api-key").value = apiKey();
  input("api-key").addEventListener("change", () => setApiKey(input("api-key").value.trim()));
  select("dataset").addEventListener("change", () => {
    onSourceChange();
    renumberLayers();
  });
  for (const id of ["samples", "noise"]) input(id).addEventListener("change", onSourceChange);
  $("regenerate").addEventListener("click", () => {
    const button = $("regenerate");
    button.dataset.seed = String(Number(button.dataset.seed ?? "1") + 1);
    onSourceChange();
  });
  $("store-dataset").addEventListener("click", guard(storeGenerated));
  $("add-layer").addEventListener("click", () => addLayerRow(4, "tanh"));
  select("loss").addEventListener("change", updateOutputHint);
  select("optimizer").addEventListener("change", updateOutputHint);
  input("validation-split").addEventListener("change", () => regions.setValidationSplit(validationSplit()));
  $("setup").addEventListener("submit", (event) => {
    event.preventDefault();
    guard(startRun)();
  });
  $("cancel").addEventListener("click", guard(cancelRun));
  input("frame").addEventListener("input", () => {
    const i = Number(input("frame").value);
    followLatest = i === frames.length - 1;
    showFrame(i);
  });
  $("download-weights").addEventListener("click", downloadWeights);
  input("upload-weights").addEventListener("change", () => {
    const file = input("upload-weights").files?.[0];
    if (file) guard(() => uploadWeights(file))();
    input("upload-weights").value = "";
  });
  $("inspect").addEventListener("click", guard(inspect));
  select("sample").addEventListener("change", guard(inspect));
  regions.canvas.addEventListener("click", (event) => {
    const i = regions.pick(event);
    if (i === undefined) return;
    select("sample").value = String(i);
    guard(inspect)();
  });
  chart.reset({ validation: false, epochs: Number(input("epochs").value) });
  guard(async () => {
    await loadDatasets();
    document.body.dataset.ready = "true";
  })();
}

init();
