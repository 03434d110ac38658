/**
 * The decision regions panel: frames of the model's outputs on a grid (POST /predict), one per
 * drawn epoch, with a slider among them and a legend of the classes.
 */
import { api } from "../api.js";
import { $, button, input } from "../dom.js";
import { PALETTE, RegionView, rgb } from "../regions.js";
import { is2D, state, weightsPhrase } from "../state.js";
import type { ModelSpec, Nested, PredictBody, PredictResponse, Tensors } from "../types.js";
import { sendBack } from "../types.js";

/** The regions at one epoch. */
export interface Frame {
  epoch: number;
  weights: Tensors;
  outputs: Nested[] | undefined;
  sha?: string;
  label: string;
}

export const regions = new RegionView($<HTMLCanvasElement>("regions"));
/** Frames computed (shown once the job has reached their epoch). */
let computed: Frame[] = [];
/** Frames shown so far; the slider moves among them. */
const frames: Frame[] = [];
let followLatest = true;

/** The model's outputs on the regions' grid. */
export async function predictGrid(
  weights: Tensors,
  model: ModelSpec,
  signal?: AbortSignal,
): Promise<Nested[]> {
  const body: PredictBody = { model, weights: sendBack(weights), x: regions.gridSamples() };
  const answer = await api<PredictResponse>("POST", "/predict", body, signal);
  return answer.outputs;
}

/** Shows frame `index`: its regions, and its weights as the ones to inspect and download. */
export function showFrame(index: number): void {
  const frame = frames[index];
  if (!frame) return;
  regions.setOutputs(frame.outputs);
  state.currentWeights = frame.weights;
  state.currentLabel = frame.label;
  state.currentSha = frame.sha;
  const canvas = regions.canvas;
  canvas.dataset.epoch = String(frame.epoch);
  canvas.dataset.framesDrawn = String(Number(canvas.dataset.framesDrawn ?? "0") + 1);
  $("frame-label").textContent = frame.label;
  input("frame").value = String(index);
  button("download-weights").disabled = false;
  button("save-model").disabled = false;
  $("inspect-weights").textContent = `with ${weightsPhrase(frame.label)}`;
}

/** The slider moved to `index`: show that frame, and keep following new ones only at the end. */
export function pickFrame(index: number): void {
  followLatest = index === frames.length - 1;
  showFrame(index);
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

/** Adds a frame to the slider (and shows it when following the latest). */
export function addFrame(frame: Frame): void {
  frames.push(frame);
  updateFrameControls();
  if (followLatest) showFrame(frames.length - 1);
}

/** Empties the slider and follows the latest frame again. */
export function clearFrames(): void {
  frames.length = 0;
  followLatest = true;
}

/** Keeps a computed frame until the job reaches its epoch. */
export function computeFrame(frame: Frame): void {
  computed.push(frame);
}

/** Drops the computed frames not yet shown. */
export function dropComputed(): void {
  computed = [];
}

/** Moves computed frames whose epoch the job has reached onto the screen. */
export function releaseFrames(): void {
  const run = state.run;
  if (!run) return;
  const reached = run.final === "succeeded" ? Number.POSITIVE_INFINITY : run.jobEpoch;
  while (computed.length > 0 && computed[0]!.epoch <= reached) addFrame(computed.shift()!);
}

/** The number of frames on the slider, and the label of the last. */
export function shownFrames(): { count: number; lastLabel: string | undefined } {
  return { count: frames.length, lastLabel: frames[frames.length - 1]?.label };
}

/** A new run: no frames, follow the latest, none drawn yet. */
export function resetForRun(): void {
  frames.length = 0;
  computed = [];
  followLatest = true;
  regions.canvas.dataset.framesDrawn = "0";
  updateFrameControls();
}

/** A new data set: its points, no frames, the panel shown for 2-D inputs only, its legend. */
export function showSource(split: number): void {
  const source = state.source!;
  regions.setPoints(source.points, split);
  frames.length = 0;
  updateFrameControls();
  const twoD = is2D();
  $("regions").hidden = !twoD;
  $("frame-row").hidden = !twoD;
  $("regions-note").textContent = twoD
    ? "Train to see the regions."
    : `Decision regions need 2 inputs; this data set's inputShape is [${source.inputShape.join(", ")}].`;
  const legend = $("legend");
  legend.replaceChildren();
  for (const [i, name] of (source.classes ?? []).entries()) {
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = rgb(PALETTE[i % PALETTE.length]!);
    item.append(swatch, name);
    legend.append(item);
  }
}
