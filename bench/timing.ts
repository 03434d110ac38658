/** Timing helpers: warm-up, chunked measurement, medians. */

export const now = (): number => performance.now();

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Something that trains: `step()` runs one unit of work (a batch, or a whole `train()` call)
 * worth `samples` samples. `chunk` steps are timed together so the clock's own cost vanishes.
 */
export interface Runner {
  label: string;
  samplesPerStep: number;
  /** Called before this runner's turn (tfjs: switch backend). */
  enter?: () => void | Promise<void>;
  step: () => void;
  dispose?: () => void;
  chunk: number;
}

/** Runs steps for at least `ms` milliseconds and raises `chunk` so that one chunk takes ≥ 5 ms. */
export function warmUp(r: Runner, ms: number): void {
  const t0 = now();
  r.chunk = 1;
  while (now() - t0 < ms) {
    const c0 = now();
    for (let i = 0; i < r.chunk; i++) r.step();
    if (now() - c0 < 5) r.chunk *= 2;
  }
}

/** Samples per second over whole chunks for at least `ms` milliseconds. */
export function measure(r: Runner, ms: number): number {
  let steps = 0;
  const t0 = now();
  let t = t0;
  do {
    for (let i = 0; i < r.chunk; i++) r.step();
    steps += r.chunk;
    t = now();
  } while (t - t0 < ms);
  return (steps * r.samplesPerStep) / ((t - t0) / 1000);
}
