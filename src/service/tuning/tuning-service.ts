import { randomBytes, randomInt } from "node:crypto";
import { EventEmitter } from "node:events";
import { lossName } from "../../engine/index.js";
import { TrainRequestSchema } from "../../schemas/requests.js";
import type { Trial, TuningJob, TuningRequest, TuningStatus } from "../../schemas/tuning.js";
import type { EngineService, TrainPlan } from "../engine-service.js";
import {
  ConflictError,
  fieldError,
  formatPath,
  InvalidRequestError,
  NotFoundError,
  ProblemError,
  UnprocessableError,
} from "../errors.js";
import type { JobLogger } from "../jobs/job-view.js";
import type { JobsApi } from "../jobs/jobs-api.js";
import type { TrialRecord, TuningEvent, TuningRecord, TuningStore } from "../store/tuning-store.js";
import { bestView } from "./best-view.js";
import { bestTrial, coordinate, Interrupted, storedBody } from "./coordinator.js";
import { trialCount } from "./search.js";
import {
  applyValues,
  blamedField,
  checkPoints,
  formatSegments,
  type Param,
  parseSpace,
  pointProblem,
} from "./space.js";

export interface TuningServiceParts {
  store: TuningStore;
  jobs: JobsApi;
  engine: EngineService;
  log?: JobLogger;
}

/** Event types that end a tuning job's stream. */
export const FINAL_TUNING_EVENTS = new Set(["succeeded", "failed", "cancelled"]);

/**
 * Hyperparameter tuning jobs as the API shows them (docs/tuning.md): a body checked in full
 * before anything runs, stored, then coordinated in this process (`coordinate`), its trials
 * ordinary jobs of the same owner on the same queue. `start` takes up the running tuning jobs a
 * previous process left; `stop` leaves them running in the store. Every method taking an
 * `owner` sees only that owner's tuning jobs (404 for others').
 */
export class TuningService {
  private readonly running = new Map<string, AbortController>();
  private readonly wake = new EventEmitter().setMaxListeners(0);
  private stopping = false;

  constructor(private readonly parts: TuningServiceParts) {}

  /**
   * Checks the body (paths, ranges, the objective, and `base` with the ranges put in at their
   * corners through POST /train's own check), stores the tuning job and starts it.
   * @throws InvalidRequestError (400) / UnprocessableError (422) naming `searchSpace["<path>"]…`
   *   or `objective.metric`; the errors of POST /train for `base` itself.
   */
  async create(body: TuningRequest, owner: string): Promise<TuningJob> {
    // Checked here, not in parseSpace: tuning jobs stored before this check resume as they were.
    if (body.base.seed !== undefined)
      throw new InvalidRequestError("base.seed: each trial's seed is derived from the tuning job's seed", [
        fieldError(
          ["base", "seed"],
          "each trial's seed is derived from the tuning job's seed: set `seed` on the tuning job, beside base",
        ),
      ]);
    const params = parseSpace(body.searchSpace, body.base, body.algorithm);
    await this.checkCorners(body, params, owner);
    const seed = body.seed ?? randomInt(0, 2 ** 32);
    const record = await this.parts.store.insert({
      id: `tun_${randomBytes(12).toString("hex")}`,
      owner,
      createdAt: new Date().toISOString(),
      seed,
      request: JSON.stringify({ ...body, seed }),
    });
    this.launch(record);
    return this.view(record);
  }

  /**
   * The body at every check point (`checkPoints`), through the schema and POST /train's plan, and
   * the objective against what that plan's epochs report (the search may vary the loss, the split
   * or the metrics; every choice value is some point's).
   */
  private async checkCorners(body: TuningRequest, params: Param[], owner: string): Promise<void> {
    await this.checkBaseAlone(body.base, params, owner);
    for (const point of checkPoints(params)) {
      const applied = applyValues(body.base, params, point.values);
      const parsed = TrainRequestSchema.safeParse(applied);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const path = formatPath(issue.path as (string | number)[]);
        throw pointProblem(
          blamedField(params, point, path, issue.message),
          [{ path, message: issue.message }],
          issue.message,
        );
      }
      let plan: TrainPlan;
      try {
        plan = await this.parts.engine.prepareTrain(parsed.data, owner);
      } catch (err) {
        if (!(err instanceof ProblemError)) throw err;
        if (err.status === 404) throw underBase(err);
        const path = err.errors?.[0]?.path;
        throw pointProblem(
          blamedField(params, point, path, err.errors?.[0]?.message),
          err.errors,
          err.message,
        );
      }
      const why = unreported(body.objective.metric, plan);
      if (why)
        throw new UnprocessableError(`objective.metric: ${why}`, [fieldError(["objective", "metric"], why)]);
    }
  }

  /**
   * `base` as it is, through POST /train's check: a fault at a field no search path touches
   * (neither inside nor around one) is the base's own, answered as POST /train answers it with
   * the path under `base` — not blamed on the first searched range, which no value of it fixes.
   * Any other fault is left to the corners, which name the range.
   * @throws ProblemError (400, 422) at `base.<path>`
   */
  private async checkBaseAlone(base: TuningRequest["base"], params: Param[], owner: string): Promise<void> {
    try {
      await this.parts.engine.prepareTrain(base, owner);
    } catch (err) {
      if (!(err instanceof ProblemError)) throw err;
      if (err.status === 404) throw underBase(err);
      const path = err.errors?.[0]?.path;
      if (path === undefined) return;
      const searched = params.map((p) => formatSegments(p.segments));
      if (searched.some((q) => path.startsWith(q) || q.startsWith(path))) return;
      throw underBase(err);
    }
  }

  /** @throws NotFoundError */
  async get(id: string, owner: string): Promise<TuningJob> {
    return this.view(await this.record(id, owner));
  }

  /**
   * Newest first, one page, only those in `status` when given (the `next` link keeps it).
   * @throws InvalidRequestError (400) when `after` names none of the owner's.
   */
  async list(query: { limit: number; after?: string; status?: TuningStatus }, owner: string) {
    const page = await this.parts.store.list(query.limit, {
      after: query.after,
      owner,
      status: query.status,
    });
    if (!page)
      throw new InvalidRequestError(`no tuning job ${query.after} to list after`, [
        fieldError(["querystring", "after"], "not the id of a tuning job"),
      ]);
    const last = page.items.at(-1);
    const params = new URLSearchParams({ limit: String(query.limit) });
    if (query.status) params.set("status", query.status);
    if (last) params.set("after", last.id);
    const tuningJobs = await Promise.all(
      page.items.map(async (r) => {
        const { trials: _, ...rest } = await this.view(r);
        return rest;
      }),
    );
    return { tuningJobs, hasMore: page.hasMore, next: page.hasMore ? `/tuning-jobs?${params}` : null };
  }

  /**
   * Cancels a running tuning job: stored as cancelled, its coordinator stopped, every trial job
   * still queued or running cancelled. @throws NotFoundError; ConflictError (409) once it ended.
   */
  async cancel(id: string, owner: string): Promise<TuningJob> {
    const record = await this.record(id, owner);
    if (record.status !== "running")
      throw new ConflictError(
        `tuning job ${id} has already ${record.status === "cancelled" ? "been cancelled" : record.status}`,
      );
    const trials = await this.parts.store.trials(id);
    const { goal } = storedBody(record).objective;
    const best = bestTrial(trials, goal);
    if (
      await this.parts.store.finish(id, {
        status: "cancelled",
        finishedAt: new Date().toISOString(),
        bestTrial: best?.index ?? null,
      })
    ) {
      this.running.get(id)?.abort();
      for (const jobId of await this.parts.store.activeTrialJobs(id))
        await Promise.resolve(this.parts.jobs.cancel(jobId, owner)).catch(() => {}); // ended meanwhile
      // As the other ends say it: how many trials ended, and the best so far.
      const event = await this.parts.store.addEvent(id, "end", "cancelled", {
        status: "cancelled",
        trialsDone: trials.filter(ended).length,
        ...(best ? { best: { trial: best.index, objective: best.objective, modelId: best.modelId } } : {}),
      });
      if (event) this.wake.emit(id);
    }
    return this.get(id, owner);
  }

  /** The stored events after `afterSeq`. @throws NotFoundError */
  async events(
    id: string,
    afterSeq: number,
    owner: string,
  ): Promise<{ events: TuningEvent[]; running: boolean }> {
    const record = await this.record(id, owner);
    return { events: await this.parts.store.events(id, afterSeq), running: record.status === "running" };
  }

  /** Calls `listener` when this process stores an event of the tuning job; returns the function that stops. */
  onEvent(id: string, listener: () => void): () => void {
    this.wake.on(id, listener);
    return () => this.wake.off(id, listener);
  }

  /** Takes up the running tuning jobs (a previous process's included). */
  async start(): Promise<void> {
    this.stopping = false;
    for (const record of await this.parts.store.unfinished()) this.launch(record);
  }

  /** Stops every coordinator of this process, leaving their tuning jobs running in the store. */
  stop(): number {
    this.stopping = true;
    for (const c of this.running.values()) c.abort();
    return this.running.size;
  }

  private launch(record: TuningRecord): void {
    if (this.running.has(record.id) || this.stopping) return;
    const controller = new AbortController();
    this.running.set(record.id, controller);
    const deps = { ...this.parts, onEvent: (id: string) => this.wake.emit(id) };
    void coordinate(deps, record, controller.signal)
      .catch(async (err) => {
        if (err instanceof Interrupted || controller.signal.aborted || this.stopping) return;
        // A fault of the service (a store that stopped answering, a bug): the tuning job fails.
        this.parts.log?.error({ err, tuningJob: record.id }, "tuning job failed");
        const detail = err instanceof Error ? err.message : String(err);
        const error = { type: "/problems/tuning-failed", title: "Tuning job failed", status: 500, detail };
        if (
          await this.parts.store
            .finish(record.id, {
              status: "failed",
              finishedAt: new Date().toISOString(),
              bestTrial: null,
              error,
            })
            .catch(() => false)
        )
          await this.parts.store
            .addEvent(record.id, "end", "failed", { status: "failed", error })
            .catch(() => {});
        this.wake.emit(record.id);
      })
      .finally(() => this.running.delete(record.id));
  }

  private async record(id: string, owner: string): Promise<TuningRecord> {
    const record = await this.parts.store.get(id, owner);
    if (!record) throw new NotFoundError(`there is no tuning job ${id}`);
    return record;
  }

  /** The tuning job as the API shows it: its trials, a running trial's status and epochs from its job. */
  private async view(record: TuningRecord): Promise<TuningJob> {
    const body = storedBody(record);
    const { goal } = body.objective;
    const stored = await this.parts.store.trials(record.id);
    const trials = await Promise.all(stored.map((t) => this.trialView(t, record.owner)));
    const best =
      record.status === "running"
        ? bestTrial(stored, goal)
        : stored.find((t) => t.index === record.bestTrial);
    const self = `/tuning-jobs/${record.id}`;
    return {
      id: record.id,
      status: record.status,
      createdAt: record.createdAt,
      finishedAt: record.finishedAt,
      seed: record.seed,
      algorithm: body.algorithm,
      objective: body.objective,
      maxTrials: trialCount(
        body.algorithm,
        parseSpace(body.searchSpace, body.base, body.algorithm),
        body.maxTrials,
      ),
      parallelTrials: body.parallelTrials,
      trialsDone: stored.filter(ended).length,
      trials,
      best: bestView(best),
      ...(record.error ? { error: record.error } : {}),
      links: { self, events: `${self}/events`, cancel: `${self}/cancel` },
    };
  }

  private async trialView(t: TrialRecord, owner: string): Promise<Trial> {
    let status: Trial["status"] = t.status === "running" ? "queued" : t.status;
    let epochsRun = t.epochsRun;
    if (t.status === "running" && t.jobId) {
      const job = await Promise.resolve(this.parts.jobs.get(t.jobId, owner)).catch(() => undefined);
      if (job) {
        status = job.status;
        epochsRun = job.progress.epoch;
      }
    }
    return {
      index: t.index,
      parameters: t.parameters,
      seed: t.seed,
      jobId: t.jobId,
      status,
      objective: t.objective,
      epochsRun,
      ...(t.modelId ? { modelId: t.modelId } : {}),
      ...(t.error ? { error: t.error } : {}),
    };
  }
}

/**
 * Why the epochs of a run planned as `plan` do not report `metric`, or undefined when they do:
 * val… needs held-out samples; accuracy a classifier's loss (the summary's `classification`, the
 * rule the training loop's epoch log follows); an extra metric (precision, …) base.metrics.
 */
function unreported(metric: TuningRequest["objective"]["metric"], plan: TrainPlan): string | undefined {
  const plain = metric.startsWith("val") ? metric[3]!.toLowerCase() + metric.slice(4) : metric;
  if (metric.startsWith("val") && plan.nVal === 0)
    return plan.options.validationSplit
      ? `${metric} is measured on a validation split: base.validationSplit holds out no samples`
      : `${metric} is measured on a validation split: set base.validationSplit`;
  if (plain === "accuracy" && !plan.summary.classification)
    return (
      `${metric} is reported for classifiers' losses (cross-entropies, hinges), not for the model's ` +
      `loss ${lossName(plan.options.model.loss)}`
    );
  if (plain !== "loss" && plain !== "accuracy" && !(plan.options.metrics ?? []).includes(plain as never))
    return `${metric} is reported when base.metrics lists "${plain}"`;
  return undefined;
}

/** A problem of POST /train's check as a problem of the tuning body: its paths under `base`. */
export function underBase(err: ProblemError): ProblemError {
  const under = (p: string) => (p === "" ? "base" : p.startsWith("[") ? `base${p}` : `base.${p}`);
  return new ProblemError(
    err.status,
    err.type,
    err.title,
    `in base: ${err.message}`,
    err.errors?.map((e) => ({ ...e, path: under(e.path) })),
    err.headers,
  );
}

/** Whether a stored trial has ended (it is stored running or with its end). */
const ended = (t: TrialRecord) => t.status !== "running";
