/**
 * The shadow run that draws the regions while the job trains. A running job does not expose its
 * weights (GET /jobs/{id} carries metrics until it has finished), so next to the job the page
 * runs the same body in short POST /train calls, each continuing the last exactly
 * (`initialWeights` + `optimizerState`, same seed), and draws each chunk's weights with
 * POST /predict on a grid. Exact resume makes the shadow's weights after e epochs bit-identical
 * to the job's after e epochs; a frame is shown once the job's event stream has reached its
 * epoch, and at the end the shadow's SHA-256 is compared with the job's.
 */
import { api } from "../api.js";
import { $ } from "../dom.js";
import { type Run, state } from "../state.js";
import type { OptimizerStateInput, TrainBody, TrainResponse, WeightsInput } from "../types.js";
import { sendBack } from "../types.js";
import { computeFrame, predictGrid, releaseFrames, shownFrames } from "./regions.js";

/** Frames of the regions along one run. */
const MAX_FRAMES = 24;

/** Epochs at which to draw: denser early, where the regions move most. */
function frameEpochs(epochs: number): number[] {
  const out = new Set<number>();
  const n = Math.min(MAX_FRAMES, epochs);
  for (let i = 1; i <= n; i++) out.add(Math.max(1, Math.round(epochs * (i / n) ** 2)));
  return [...out].sort((a, b) => a - b);
}

/** The shadow: the job's body in short POST /train chunks, exact resume, a frame after each. */
export async function shadow(r: Run): Promise<void> {
  const { body } = r;
  let weights: WeightsInput | undefined = body.initialWeights;
  let optimizerState: OptimizerStateInput | undefined;
  let done = 0;
  for (const epoch of frameEpochs(body.epochs)) {
    if (r.abort.signal.aborted || (r.final && r.final !== "succeeded")) return;
    const chunk: TrainBody = { ...body, epochs: epoch - done, returnOptimizerState: true };
    if (weights) chunk.initialWeights = weights;
    if (optimizerState) chunk.optimizerState = optimizerState;
    const answer = await api<TrainResponse>("POST", "/train", chunk, r.abort.signal);
    done = epoch;
    weights = sendBack(answer.weights);
    optimizerState = answer.optimizerState && sendBack(answer.optimizerState);
    if (answer.diverged) {
      $("regions-note").textContent = `The run diverged: ${answer.diverged.message}`;
      return;
    }
    const outputs = await predictGrid(answer.weights, body.model, r.abort.signal);
    computeFrame({
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

/** Once the job and its shadow have both ended: whether their final weights are bit-identical. */
export function reportShadow(r: Run): void {
  if (r !== state.run || !r.finalSha || !r.shadowDone) return;
  const note = $("regions-note");
  const n = shownFrames().count;
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
