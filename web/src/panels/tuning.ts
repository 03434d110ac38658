/**
 * The Tune panel: POST /tuning-jobs over the form's body (`buildBody`), searching the learning
 * rate (logUniform) and the first hidden layer's width (int) within the panel's ranges, and every
 * trial drawn on one chart as it ends — the objective against the learning rate (log scale), the
 * width written next to each point, stopped trials hollow, the best ringed. Follows
 * GET /tuning-jobs/{id}/events.
 */
import { ApiError, api, serverEvents } from "../api.js";
import { $, button, clearError, input, select } from "../dom.js";
import { fieldNumber } from "../fields.js";
import { buildBody } from "./model.js";

interface TuningJob {
  id: string;
  status: string;
  best: { trial: number; objective: number; parameters: Record<string, number>; modelId?: string } | null;
}

interface Point {
  trial: number;
  lr: number;
  units: number;
  objective: number;
  stopped: boolean;
}

const LR = "optimizer.learningRate";
/** The path of the first hidden layer's width (after a flatten, for images). */
const UNITS = "model.layers[0].units";
const FINAL = new Set(["succeeded", "failed", "cancelled"]);

let current: { id: string; abort: AbortController } | undefined;
let points: Point[] = [];
let range = { lrMin: 1e-3, lrMax: 0.1 };
let best: number | undefined;
let metric = "loss";

/** The tuning body the form and the panel describe. */
export function buildTuningBody(): Record<string, unknown> {
  // The page's seed seeds the whole search (each trial's is derived from it); base may not carry one.
  const { seed, ...base } = buildBody();
  if (base.model.layers.length < 2)
    throw new Error("add a hidden layer: the search varies the first one's width");
  const lrMin = fieldNumber(input("tune-lr-min"), "tune: learning rate from", { min: 0 });
  const lrMax = fieldNumber(input("tune-lr-max"), "tune: learning rate to", { min: 0 });
  const unitsMin = fieldNumber(input("tune-units-min"), "tune: width from", { integer: true, min: 1 });
  const unitsMax = fieldNumber(input("tune-units-max"), "tune: width to", { integer: true, min: 1 });
  metric = base.validationSplit ? "valLoss" : "loss";
  return {
    base,
    searchSpace: {
      [LR]: { type: "logUniform", min: lrMin, max: lrMax },
      [UNITS]: { type: "int", min: unitsMin, max: unitsMax },
    },
    objective: { metric, goal: "minimize" },
    algorithm: select("tune-algorithm").value,
    maxTrials: fieldNumber(input("tune-trials"), "tune: trials", { integer: true, min: 1, max: 200 }),
    parallelTrials: fieldNumber(input("tune-parallel"), "tune: at once", { integer: true, min: 1, max: 16 }),
    ...(input("tune-median").checked ? { earlyStopping: "median" } : {}),
    ...(seed !== undefined ? { seed } : {}),
  };
}

/** Tune: starts the search and follows it; the chart fills as trials end. */
export async function startTuning(): Promise<void> {
  clearError();
  const body = buildTuningBody();
  const space = body.searchSpace as Record<string, { min: number; max: number }>;
  button("tune").disabled = true;
  let job: TuningJob;
  try {
    job = await api<TuningJob>("POST", "/tuning-jobs", body);
  } finally {
    button("tune").disabled = false;
  }
  current?.abort.abort();
  const run = { id: job.id, abort: new AbortController() };
  current = run;
  points = [];
  best = undefined;
  range = { lrMin: space[LR]!.min, lrMax: space[LR]!.max };
  draw();
  button("tune-cancel").disabled = false;
  $("tune-status").dataset.state = "running";
  $("tune-status").textContent = `${job.id} · running (${metric}, ${body.algorithm})`;
  const started = new Map<number, Record<string, number>>();
  for await (const e of serverEvents(
    `/tuning-jobs/${job.id}/events`,
    (ev) => FINAL.has(ev.event),
    run.abort.signal,
  )) {
    const data = e.data as Record<string, unknown>;
    if (e.event === "trialStarted")
      started.set(data.trial as number, data.parameters as Record<string, number>);
    else if ((e.event === "trialEnded" || e.event === "trialStopped") && typeof data.objective === "number") {
      const p = started.get(data.trial as number);
      if (p)
        points.push({
          trial: data.trial as number,
          lr: p[LR]!,
          units: p[UNITS]!,
          objective: data.objective,
          stopped: e.event === "trialStopped",
        });
    } else if (e.event === "newBest") best = data.trial as number;
    $("tune-status").textContent = `${job.id} · ${points.length} of ${body.maxTrials} trials ended`;
    draw();
  }
  if (current !== run) return;
  const done = await api<TuningJob>("GET", `/tuning-jobs/${job.id}`);
  button("tune-cancel").disabled = true;
  $("tune-status").dataset.state = done.status;
  $("tune-status").textContent = done.best
    ? `${done.id} · ${done.status}: best trial #${done.best.trial}, ${metric} ${done.best.objective.toFixed(4)} at ` +
      `learning rate ${done.best.parameters[LR]!.toPrecision(3)}, width ${done.best.parameters[UNITS]} (model ${done.best.modelId})`
    : `${done.id} · ${done.status}`;
  best = done.best?.trial;
  draw();
}

/** Cancel: POST /tuning-jobs/{id}/cancel (one already ended is fine). */
export async function cancelTuning(): Promise<void> {
  if (!current) return;
  current.abort.abort();
  try {
    await api("POST", `/tuning-jobs/${current.id}/cancel`);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 409)) throw err;
  }
  button("tune-cancel").disabled = true;
  $("tune-status").dataset.state = "cancelled";
  $("tune-status").textContent = `${current.id} · cancelled`;
}

/** The chart: x = log10 learning rate over the searched range, y = the objective. */
function draw(): void {
  const canvas = $<HTMLCanvasElement>("tune-chart");
  const g = canvas.getContext("2d");
  if (!g) return;
  const { width: w, height: h } = canvas;
  const pad = 40;
  g.clearRect(0, 0, w, h);
  g.strokeStyle = "#888";
  g.strokeRect(pad, 10, w - pad - 10, h - pad - 10);
  g.fillStyle = "#444";
  g.font = "12px sans-serif";
  g.fillText(`learning rate ${range.lrMin} … ${range.lrMax} (log)`, pad, h - 12);
  g.fillText(metric, 4, 20);
  if (points.length === 0) return;
  const ys = points.map((p) => p.objective);
  const lo = Math.min(...ys);
  const hi = Math.max(...ys) === lo ? lo + 1 : Math.max(...ys);
  const x = (lr: number) =>
    pad +
    ((Math.log(lr) - Math.log(range.lrMin)) / (Math.log(range.lrMax) - Math.log(range.lrMin))) *
      (w - pad - 20);
  const y = (v: number) => 20 + (1 - (v - lo) / (hi - lo)) * (h - pad - 30);
  g.fillText(hi.toPrecision(3), 4, 34);
  g.fillText(lo.toPrecision(3), 4, h - pad);
  for (const p of points) {
    g.beginPath();
    g.arc(x(p.lr), y(p.objective), 5, 0, 2 * Math.PI);
    g.fillStyle = g.strokeStyle = "#2f6fdf";
    if (p.stopped) g.stroke();
    else g.fill();
    g.fillStyle = "#444";
    g.fillText(String(p.units), x(p.lr) + 7, y(p.objective) + 4);
    if (p.trial === best) {
      g.beginPath();
      g.strokeStyle = "#d33";
      g.lineWidth = 2;
      g.arc(x(p.lr), y(p.objective), 9, 0, 2 * Math.PI);
      g.stroke();
      g.lineWidth = 1;
    }
  }
  canvas.dataset.points = String(points.length);
}

/** Wires the panel's buttons. */
export function initTuning(guard: (fn: () => Promise<void>) => () => void): void {
  $("tune").addEventListener("click", guard(startTuning));
  $("tune-cancel").addEventListener("click", guard(cancelTuning));
  draw();
}
