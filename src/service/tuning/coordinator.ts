import type { Problem } from "../../schemas/problem.js";
import { TrainRequestSchema } from "../../schemas/requests.js";
import { type TuningRequest, TuningRequestSchema } from "../../schemas/tuning.js";
import { fieldError, formatPath, ProblemError, UnprocessableError } from "../errors.js";
import { problemOf } from "../jobs/chunk-loop.js";
import type { JobLogger } from "../jobs/job-view.js";
import type { JobsApi } from "../jobs/jobs-api.js";
import type { JobEvent } from "../store/job-store.js";
import type { TrialRecord, TuningEvent, TuningRecord, TuningStore } from "../store/tuning-store.js";
import { medianStops, medianThresholds } from "./median.js";
import { decode, derivedSeed, propose, trialCount } from "./search.js";
import { applyValues, type Param, type Point, parseSpace } from "./space.js";
import type { Observation } from "./tpe.js";

/** What a coordinator works with. */
export interface CoordinatorDeps {
  store: TuningStore;
  jobs: JobsApi;
  log?: JobLogger;
  /** Called after each event is stored (wakes this process's event streams). */
  onEvent?: (tuningId: string, event: TuningEvent) => void;
}

/** Thrown when the coordinator must stop without ending the tuning job (a shutdown, a cancel). */
export class Interrupted extends Error {
  override readonly name = "Interrupted";
}

/** The idempotency key of trial `index`'s job: a coordinator that resumes gets the same job back. */
export const trialKey = (tuningId: string, index: number) => `${tuningId}/trial/${index}`;

/** A stored body read back through the schema. */
export function storedBody(record: TuningRecord): TuningRequest & { seed: number } {
  return { ...TuningRequestSchema.parse(JSON.parse(record.request)), seed: record.seed };
}

/** Whether objective `a` is better than `b` (strictly). */
export const better = (a: number, b: number, goal: "minimize" | "maximize") =>
  goal === "minimize" ? a < b : a > b;

/** The succeeded trial with the best objective (the lowest index on a tie), if any. */
export function bestTrial(
  trials: readonly TrialRecord[],
  goal: "minimize" | "maximize",
): TrialRecord | undefined {
  let best: TrialRecord | undefined;
  for (const t of [...trials].sort((a, b) => a.index - b.index))
    if (
      t.status === "succeeded" &&
      t.objective !== null &&
      (!best || better(t.objective, best.objective!, goal))
    )
      best = t;
  return best;
}

/**
 * Runs one tuning job to its end (docs/tuning.md §4): trials in batches of `parallelTrials`,
 * each batch proposed from the trials of the batches before it (in index order), each trial an
 * ordinary job created with an idempotency key of the tuning job and the trial's index, watched
 * through its events (the median rule cancels it at the epoch that stops it), its outcome stored.
 * Everything it decides is a function of the body and the trials' events, so a coordinator
 * started again after a crash (its trials resumed from their checkpoints) ends the same way.
 * @throws Interrupted when `signal` aborts or a trial's event stream ends without its end (a shutdown).
 */
export async function coordinate(
  deps: CoordinatorDeps,
  record: TuningRecord,
  signal: AbortSignal,
): Promise<void> {
  const { store } = deps;
  const { id, owner } = record;
  const body = storedBody(record);
  const params = parseSpace(body.searchSpace, body.base, body.algorithm);
  const total = trialCount(body.algorithm, params, body.maxTrials);
  const { goal } = body.objective;
  const stored = new Map((await store.trials(id)).map((t) => [t.index, t]));
  const done: { trial: TrialRecord; point: Point }[] = [];
  let best = bestTrial([...stored.values()], goal)?.objective ?? undefined;
  const event = async (key: string, type: TuningEvent["type"], data: unknown) => {
    const e = await store.addEvent(id, key, type, data);
    if (e) deps.onEvent?.(id, e);
  };

  for (let start = 0; start < total; start += body.parallelTrials) {
    const observations: Observation[] = done.map(({ trial, point }) => ({
      point,
      loss: lossOf(trial, goal),
    }));
    const references = body.earlyStopping
      ? done
          .filter(({ trial }) => trial.status === "succeeded" || trial.status === "stopped")
          .map(({ trial }) => trial.curve)
      : [];
    const batch: { index: number; point: Point }[] = [];
    for (let index = start; index < Math.min(start + body.parallelTrials, total); index++)
      batch.push({ index, point: propose(body.algorithm, params, body.seed, index, observations) });
    const ended = await Promise.all(
      batch.map(async ({ index, point }) => {
        const trial = await runTrial(
          { deps, body, params, record, signal, references, event },
          index,
          point,
          stored.get(index),
        );
        if (
          trial.status === "succeeded" &&
          trial.objective !== null &&
          (best === undefined || better(trial.objective, best, goal))
        ) {
          best = trial.objective;
          await event(`best ${index}`, "newBest", {
            trial: index,
            objective: trial.objective,
            parameters: trial.parameters,
            modelId: trial.modelId,
          });
        }
        return { trial, point };
      }),
    );
    done.push(...ended);
  }
  const trials = done.map((d) => d.trial);
  const winner = bestTrial(trials, goal);
  const error: Problem | undefined = winner
    ? undefined
    : {
        type: "/problems/no-trial-succeeded",
        title: "No trial succeeded",
        status: 422,
        detail: `none of the ${trials.length} trials succeeded${firstError(trials)}`,
      };
  const status = winner ? "succeeded" : "failed";
  if (
    await store.finish(id, {
      status,
      finishedAt: new Date().toISOString(),
      bestTrial: winner?.index ?? null,
      error,
    })
  )
    await event("end", status, {
      status,
      trialsDone: trials.length,
      ...(winner
        ? { best: { trial: winner.index, objective: winner.objective, modelId: winner.modelId } }
        : { error }),
    });
  deps.log?.info({ tuningJob: id, owner, status, trials: trials.length }, "tuning job finished");
}

/** The search's loss of a finished trial: its objective (negated when maximised); +∞ when it has none. */
function lossOf(t: TrialRecord, goal: "minimize" | "maximize"): number {
  if (t.objective === null || !Number.isFinite(t.objective)) return Number.POSITIVE_INFINITY;
  return goal === "minimize" ? t.objective : -t.objective;
}

function firstError(trials: TrialRecord[]): string {
  const e = trials.find((t) => t.error)?.error;
  return e ? `; the first error: ${e.detail ?? e.title}` : "";
}

interface TrialContext {
  deps: CoordinatorDeps;
  body: TuningRequest & { seed: number };
  params: Param[];
  record: TuningRecord;
  signal: AbortSignal;
  references: number[][];
  event: (key: string, type: TuningEvent["type"], data: unknown) => Promise<void>;
}

/** Runs (or resumes, or reads back) trial `index` at `point`, to its outcome. */
async function runTrial(
  c: TrialContext,
  index: number,
  point: Point,
  existing?: TrialRecord,
): Promise<TrialRecord> {
  if (existing && existing.status !== "running") {
    // Ended before a restart: its events again, in case the process stopped before storing them
    // (a key stored already adds nothing).
    if (existing.jobId)
      await c.event(`started ${index}`, "trialStarted", {
        trial: index,
        jobId: existing.jobId,
        parameters: existing.parameters,
        seed: existing.seed,
      });
    await c.event(
      `ended ${index}`,
      existing.status === "stopped" ? "trialStopped" : "trialEnded",
      outcomeData(existing),
    );
    return existing;
  }
  const { deps, body, params, record, signal } = c;
  const values = point.map((x, d) => decode(params[d]!, x));
  const parameters = Object.fromEntries(params.map((p, d) => [p.path, values[d]!]));
  const seed = derivedSeed(body.seed, index, 0);
  const trial: TrialRecord = {
    index,
    jobId: null,
    parameters,
    seed,
    status: "running",
    objective: null,
    epochsRun: 0,
    modelId: null,
    curve: [],
    error: null,
  };
  if (signal.aborted) throw new Interrupted("stopped");
  try {
    // Read through the schema as POST /train reads a body (its defaults and transforms applied).
    const parsed = TrainRequestSchema.safeParse({
      ...(applyValues(body.base, params, values) as object),
      seed,
    });
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const at = formatPath(issue.path as (string | number)[]);
      throw new UnprocessableError(`base.${at}: ${issue.message}`, [
        fieldError(["base", ...(issue.path as (string | number)[])], issue.message),
      ]);
    }
    // The job applies the median rule itself, so it ends at the epoch the rule stops it at
    // however late the cancel below lands (or if it never does: a crash in between).
    const { metric, goal } = body.objective;
    const { job } = await deps.jobs.create(parsed.data, {
      owner: record.owner,
      idempotencyKey: trialKey(record.id, index),
      tuningJobId: record.id,
      ...(c.references.length > 0
        ? { stopRule: { metric, goal, medians: medianThresholds(c.references) } }
        : {}),
    });
    trial.jobId = job.id;
  } catch (err) {
    if (!(err instanceof ProblemError)) throw err;
    // The body was checked at its corners; a value inside them, or a job (a data set deleted
    // since), can still be refused: the trial fails with that problem.
    const failed = { ...trial, status: "failed" as const, error: problemOf(err) };
    await save(c, failed);
    await c.event(`ended ${index}`, "trialEnded", outcomeData(failed));
    return failed;
  }
  if (!(await save(c, trial)) || signal.aborted) {
    await Promise.resolve(deps.jobs.cancel(trial.jobId!, record.owner)).catch(() => {});
    throw new Interrupted("the tuning job ended");
  }
  await c.event(`started ${index}`, "trialStarted", { trial: index, jobId: trial.jobId, parameters, seed });
  const outcome = { ...trial, ...(await watch(c, trial.jobId!)) };
  if (!(await save(c, outcome))) throw new Interrupted("the tuning job ended");
  await c.event(
    `ended ${index}`,
    outcome.status === "stopped" ? "trialStopped" : "trialEnded",
    outcomeData(outcome),
  );
  return outcome;
}

async function save(c: TrialContext, trial: TrialRecord): Promise<boolean> {
  return c.deps.store.saveTrial(c.record.id, trial);
}

function outcomeData(t: TrialRecord) {
  return {
    trial: t.index,
    jobId: t.jobId,
    status: t.status,
    objective: t.objective,
    epochsRun: t.epochsRun,
    ...(t.modelId ? { modelId: t.modelId } : {}),
    ...(t.error ? { error: t.error } : {}),
  };
}

type Outcome = Pick<TrialRecord, "status" | "objective" | "epochsRun" | "modelId" | "curve" | "error">;

/**
 * Follows a trial's job from its first event to its outcome: its objective per epoch (the
 * stored events, then the live ones: a resumed job repeats none), the median rule at each epoch
 * (a stop cancels the job; the outcome is the epoch the rule stopped it at, whenever the cancel lands).
 */
function watch(c: TrialContext, jobId: string): Promise<Outcome> {
  const { metric, goal } = c.body.objective;
  const owner = c.record.owner;
  return new Promise<Outcome>((resolve, reject) => {
    const curve: number[] = [];
    let settled = false;
    let unsubscribe: (() => void) | undefined;
    let buffered: (JobEvent | null)[] | undefined = [];
    const settle = (outcome: Outcome | Error, cancel = false) => {
      if (settled) return;
      settled = true;
      unsubscribe?.();
      c.signal.removeEventListener("abort", onAbort);
      if (cancel) void Promise.resolve(c.deps.jobs.cancel(jobId, owner)).catch(() => {}); // already ended: nothing to do
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const onAbort = () => settle(new Interrupted("stopped"));
    const handle = (e: JobEvent | null) => {
      if (settled) return;
      if (e === null) return settle(new Interrupted("the trial's event stream ended"));
      const data = JSON.parse(e.data) as Record<string, unknown>;
      const value = data[metric];
      const epochsRun = typeof data.epoch === "number" ? data.epoch : curve.length;
      const base = { curve, modelId: null, error: null, epochsRun };
      if (e.type === "progress") {
        if (typeof value !== "number")
          return settle({ ...base, status: "failed", objective: null, error: notReported(metric) }, true);
        curve.push(value);
        if (c.references.length > 0 && medianStops(curve, c.references, goal))
          settle({ ...base, status: "stopped", objective: value }, true);
      } else if (e.type === "succeeded") {
        if (typeof value !== "number")
          return settle({ ...base, status: "failed", objective: null, error: notReported(metric) });
        settle({
          ...base,
          status: "succeeded",
          objective: value,
          modelId: (data.modelId as string | undefined) ?? null,
        });
      } else if (e.type === "failed")
        settle({
          ...base,
          status: "failed",
          objective: null,
          error: (data.error as Problem | undefined) ?? null,
        });
      else settle({ ...base, status: "cancelled", objective: curve.at(-1) ?? null });
    };
    c.signal.addEventListener("abort", onAbort);
    if (c.signal.aborted) return onAbort();
    Promise.resolve(
      c.deps.jobs.subscribe(jobId, 0, (e) => (buffered ? buffered.push(e) : handle(e)), owner),
    ).then(
      (sub) => {
        unsubscribe = sub.unsubscribe;
        for (const e of sub.backlog) handle(e);
        const live = buffered ?? [];
        buffered = undefined;
        for (const e of live) handle(e);
        if (settled) sub.unsubscribe();
      },
      (err) => settle(err instanceof Error ? err : new Error(String(err))),
    );
  });
}

function notReported(metric: string): Problem {
  return {
    type: "/problems/objective-not-reported",
    title: "Objective not reported",
    status: 422,
    detail: `the trial's epochs do not report ${metric} (val… metrics need base.validationSplit, extra ones base.metrics)`,
  };
}
