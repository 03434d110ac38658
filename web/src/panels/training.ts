/**
 * The training panel: the form's body sent as a job (POST /jobs), its event stream drawn as
 * loss and accuracy curves with a status line, and the job's end (its weights, or why it
 * stopped); the regions follow it through the shadow run.
 */
import { ApiError, api, serverEvents } from "../api.js";
import { LossChart } from "../chart.js";
import { $, button, clearError, messageOf, showError } from "../dom.js";
import { fmt } from "../heatmap.js";
import { is2D, type Run, state, weightsPhrase } from "../state.js";
import type { FinalEvent, Job, Progress } from "../types.js";
import { buildBody } from "./model.js";
import {
  addFrame,
  computeFrame,
  dropComputed,
  predictGrid,
  releaseFrames,
  resetForRun,
  shownFrames,
} from "./regions.js";
import { reportShadow, shadow } from "./shadow.js";

export const chart = new LossChart($("chart"));

function statusLine(job: Job, p: Progress | undefined, status: string): string {
  const parts = [`${job.id}`, status];
  if (p) {
    parts.push(`epoch ${p.epoch}/${p.epochs}`);
    if (p.loss !== undefined) parts.push(`loss ${fmt(p.loss)}`);
    if (p.accuracy !== undefined) parts.push(`accuracy ${fmt(p.accuracy, 3)}`);
    if (p.valLoss !== undefined) parts.push(`val loss ${fmt(p.valLoss)}`);
    if (p.valAccuracy !== undefined) parts.push(`val accuracy ${fmt(p.valAccuracy, 3)}`);
  }
  return parts.join(" · ");
}

/** The job succeeded: say so, and show its final weights where the shadow did not match them. */
async function succeeded(r: Run): Promise<void> {
  const job = await api<Job>("GET", `/jobs/${r.job.id}`);
  r.finalSha = job.result?.weightsSha256;
  $("job-note").textContent =
    `Job ${job.id} succeeded: ${job.result?.epochsRun} epochs, weights SHA-256 ${r.finalSha?.slice(0, 16)}…`;
  // The playground sends no `return`: a succeeded job's result has its weights.
  const weights = job.result?.weights;
  if (job.result && weights && !is2D()) {
    // no regions to draw: the job's weights are the ones to inspect and download
    addFrame({
      epoch: job.result.epochsRun,
      weights,
      outputs: undefined,
      label: "the job's final weights",
    });
  }
  releaseFrames();
  if (is2D() && job.result && weights && (!r.shadowDone || r.shadowSha !== r.finalSha)) {
    await r.shadowPromise?.catch(() => undefined);
    if (r.shadowSha !== r.finalSha) {
      const outputs = await predictGrid(weights, r.body.model);
      addFrame({
        epoch: job.result.epochsRun,
        weights,
        outputs,
        sha: r.finalSha,
        label: "the job's final weights",
      });
    }
  }
  reportShadow(r);
}

/** Follows the job's events: the chart and status while it runs, then its end. */
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
    const data = event.data as FinalEvent;
    r.final = data.status as Run["final"];
    status.dataset.state = data.status;
    status.textContent = statusLine(r.job, last ?? data, data.status);
    if (data.status === "succeeded") await succeeded(r);
    else {
      r.abort.abort();
      dropComputed();
      $("job-note").textContent =
        data.status === "failed"
          ? `The job failed: ${data.error?.detail ?? `see GET /jobs/${r.job.id}`}`
          : "Cancelled.";
    }
  }
  finishRun(r);
}

function finishRun(r: Run): void {
  if (r !== state.run) return;
  button("train").disabled = false;
  button("cancel").disabled = true;
}

/** Whether a run is under way (the Train button stays disabled then). */
export function running(): boolean {
  const run = state.run;
  return run !== undefined && run.final === undefined && !run.abort.signal.aborted;
}

/** Train: POST /jobs with the form's body, then follow the job (and its shadow, for 2-D data). */
export async function startRun(): Promise<void> {
  clearError();
  const body = buildBody();
  button("train").disabled = true;
  const job = await api<Job>("POST", "/jobs", body);
  state.run?.abort.abort();
  const r: Run = {
    job,
    body: { ...body, seed: job.seed },
    abort: new AbortController(),
    jobEpoch: 0,
    shadowDone: false,
  };
  state.run = r;
  button("cancel").disabled = false;
  $("status").dataset.state = job.status;
  $("status").textContent = statusLine(job, undefined, job.status);
  $("job-note").textContent =
    `POST /jobs → 202 ${job.id} (seed ${job.seed}); following GET /jobs/${job.id}/events.`;
  const note = $("regions-note");
  delete note.dataset.verified;
  chart.reset({ validation: body.validationSplit !== undefined, epochs: body.epochs });
  resetForRun();
  if (is2D()) {
    note.textContent =
      "Drawing the regions from a shadow run of the job (short POST /train calls, exact resume)…";
    if (body.initialWeights)
      computeFrame({
        epoch: 0,
        weights: body.initialWeights,
        outputs: await predictGrid(body.initialWeights, body.model),
        label: "epoch 0 (uploaded weights)",
      });
    r.shadowPromise = shadow(r).catch((err) => {
      if (r.abort.signal.aborted) return;
      note.textContent = `The shadow run stopped (${messageOf(err)}); the regions will show the job's final weights.`;
      r.shadowDone = true;
    });
  }
  follow(r).catch((err) => {
    showError(err);
    finishRun(r);
  });
}

/** Cancel: POST /jobs/{id}/cancel (a job already ended is fine), and say where it stopped. */
export async function cancelRun(): Promise<void> {
  const r = state.run;
  if (!r) return;
  r.abort.abort();
  try {
    await api("POST", `/jobs/${r.job.id}/cancel`);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 409)) throw err;
  }
  r.final = "cancelled";
  dropComputed();
  $("status").dataset.state = "cancelled";
  $("status").textContent = `${r.job.id} · cancelled at epoch ${r.jobEpoch}`;
  $("job-note").textContent = `POST /jobs/${r.job.id}/cancel: cancelled after epoch ${r.jobEpoch}.`;
  const shown = shownFrames();
  if (is2D())
    $("regions-note").textContent = shown.count
      ? `Cancelled; the regions show ${weightsPhrase(shown.lastLabel!)}, the last frame the job reached.`
      : "Cancelled before the first frame.";
  finishRun(r);
}
