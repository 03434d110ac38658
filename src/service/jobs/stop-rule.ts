import type { JobEvent, StopRule } from "../store/job-store.js";
import { stopsAt } from "../tuning/median.js";

/**
 * A tuning trial's median rule as its job's runner applies it (docs/tuning.md §3): the best
 * objective over the epochs so far, and whether an epoch stops the job.
 */
export class StopRuleTracker {
  private best: number | undefined;

  constructor(private readonly rule: StopRule) {}

  /**
   * Takes epoch `progress.epoch`'s values in (epochs in order, each once). An epoch that does not
   * report the metric stops nothing (the tuning job fails such a trial itself).
   * @returns whether the rule stops the job at this epoch.
   */
  step(progress: Record<string, unknown> & { epoch: number }): boolean {
    const { metric, goal, medians } = this.rule;
    const value = progress[metric];
    if (typeof value !== "number") return false;
    this.best =
      this.best === undefined ? value : (goal === "minimize" ? Math.min : Math.max)(this.best, value);
    const m = medians[progress.epoch - 1];
    return m !== undefined && stopsAt(this.best, m, goal);
  }

  /** Resuming from a checkpoint after `epochsDone` epochs: their stored progress events taken in. */
  replay(stored: readonly JobEvent[], epochsDone: number): void {
    for (const e of stored) if (e.type === "progress" && e.seq <= epochsDone) this.step(JSON.parse(e.data));
  }
}
