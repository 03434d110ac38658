import type { TransferListItem } from "node:worker_threads";
import { Piscina } from "piscina";
import type { EngineOutcome, EngineResponses, EngineTask } from "./engine-task.js";
import runTask from "./engine-worker.js";
import { OverloadedError, SyncTimeoutError, WorkerFailedError } from "./errors.js";
import { ensureWorkerBundle, workerBundleFile, workerExecArgv } from "./worker-bundle.js";

export interface PoolOptions {
  /** Worker threads (at most). */
  size: number;
  /** Tasks allowed to wait for a free worker; beyond, `run` throws OverloadedError (503). */
  maxQueue: number;
  /** Threads started eagerly; 0 starts them on first use (scripts that never train). */
  minThreads?: number;
  /** Largest old-generation heap of a worker, MiB; a worker that needs more dies alone (its task fails). */
  maxHeapMb?: number;
  /**
   * Wall-clock limit of a `run` task, waiting included (SYNC_TIMEOUT_MS); past it the task is
   * aborted (its thread terminated) and `run` throws SyncTimeoutError. Job chunks have none.
   */
  timeoutMs?: number;
  /**
   * Tasks whose `work` (see `run`) is at most this many multiply-adds run at once on the calling
   * thread instead of waiting for a worker (INLINE_MAX_WORK; 0: never). At the default such a task
   * takes well under a millisecond, less than handing it to a thread, and a tiny /predict or
   * /gradients no longer waits behind a long /train.
   */
  inlineMaxWork?: number;
  /**
   * Told of what the thread pool reports outside any task (default: nothing): a thread that failed
   * with no task on it, a close that timed out, or the result of a task aborted while its thread
   * was already sending it (`lateResult`: the thread is terminated, the result dropped). Without a
   * listener these would be uncaught errors that stop the process.
   */
  onError?: (err: Error, kind: "lateResult" | "pool") => void;
}

/**
 * A task's abort signal made only when needed (a client's disconnection: src/http/routes/abort.ts):
 * a task run inline only reads `aborted` (and `reason`), one handed to a worker asks for the signal.
 */
export interface LazySignal {
  /** Whether it has fired (an `AbortSignal`'s `aborted`), without making the signal. */
  readonly aborted: boolean;
  /** Why it fired, when it has. */
  readonly reason: unknown;
  /** The signal, made on the first call. */
  signal(): AbortSignal;
}

/** What stops a task: an `AbortSignal`, or one made when needed. */
export type TaskSignal = AbortSignal | LazySignal;

/** Default `inlineMaxWork`: about 0.1 ms of engine time on one core. */
export const INLINE_MAX_WORK = 50_000;
/**
 * Inline tasks may take at most this share of the calling thread's time (a token bucket of
 * `INLINE_BURST_MS`); beyond it they go to the pool, so under a flood of tiny requests the event
 * loop still has time for everything else (GET /health, sockets, JSON parsing).
 */
const INLINE_SHARE = 0.5;
const INLINE_BURST_MS = 5;

/** Retry-After of a 503 when the pool is saturated. */
export const RETRY_AFTER_SECONDS = 5;

/**
 * The engine behind a pool of worker threads, so training never blocks the event loop
 * (GET /health stays instant). Typed arrays in tasks are transferred, not copied; results come
 * back as JSON text. The threads run `engine-worker.ts` bundled once per process
 * (`workerBundleFile`).
 * @throws from the constructor when the bundle cannot be built or written.
 */
export class EnginePool {
  private readonly piscina: Piscina;
  /** Tasks accepted and not yet settled (running or waiting). */
  private inFlight = 0;
  private readonly capacity: number;
  private readonly size: number;
  private readonly timeoutMs: number | undefined;
  private readonly inlineMaxWork: number;
  /** The file the threads load (`workerBundleFile`). */
  private readonly bundle: string;
  /** Tasks run on the calling thread (`inlineMaxWork`), for the metrics. */
  inlineRuns = 0;
  /** Calling-thread time inline tasks owe (ms; the token bucket of `INLINE_SHARE`), as of `inlineAt`. */
  private inlineDebtMs = 0;
  private inlineAt = 0;

  constructor(options: PoolOptions) {
    // Admission is counted here rather than with Piscina's maxQueue, whose accounting with
    // maxQueue 0 rejected a task on an idle worker right after a rejection (piscina 5.3).
    this.capacity = options.size + options.maxQueue;
    this.bundle = workerBundleFile();
    this.piscina = new Piscina({
      // engine-worker.ts bundled into one JavaScript file: threads load no TypeScript and start no
      // process (see worker-bundle.ts).
      filename: this.bundle,
      execArgv: workerExecArgv(),
      maxThreads: options.size,
      minThreads: Math.min(options.minThreads ?? 1, options.size),
      // Threads that loaded the engine are worth keeping.
      idleTimeout: 60_000,
      ...(options.maxHeapMb ? { resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb } } : {}),
    });
    // Piscina emits 'error' for a message of a task it no longer holds: a task aborted (a job
    // cancelled, a client gone, a time limit) whose thread had already posted its result before it
    // was terminated. That result is stale by design; nothing waits for it.
    this.piscina.on("error", (err: Error) =>
      options.onError?.(
        err,
        err.message.startsWith("Unexpected message from Worker") ? "lateResult" : "pool",
      ),
    );
    this.size = options.size;
    this.timeoutMs = options.timeoutMs;
    this.inlineMaxWork = options.inlineMaxWork ?? 0;
  }

  /**
   * Runs `task` in a worker. `transfer` lists buffers moved to the worker (unusable here after).
   * `work`: the caller's estimate of the task's multiply-adds; at most `inlineMaxWork`, the task
   * runs here and now (the same engine code, so the same answer bit for bit).
   * @throws OverloadedError when the queue is full; SyncTimeoutError past `timeoutMs`;
   *   WorkerFailedError when the thread dies (out of memory); an AbortError when `signal` fires
   *   (a task run inline: the signal's reason, when it fired before the task started).
   */
  async run<K extends EngineTask["kind"]>(
    task: Extract<EngineTask, { kind: K }>,
    options: { signal?: TaskSignal; transfer?: ArrayBuffer[]; work?: number } = {},
  ): Promise<EngineOutcome<EngineResponses[K]>> {
    if (options.work !== undefined && options.work <= this.inlineMaxWork && this.inlineAllowed()) {
      // What `AbortSignal.throwIfAborted` throws, without making a lazy signal.
      if (options.signal?.aborted) throw options.signal.reason;
      this.inlineRuns++;
      const start = performance.now();
      try {
        return runTask(task) as EngineOutcome<EngineResponses[K]>;
      } finally {
        this.inlineDebtMs += performance.now() - start;
      }
    }
    if (this.saturated) throw new OverloadedError(RETRY_AFTER_SECONDS);
    ensureWorkerBundle(this.bundle);
    this.inFlight++;
    // One signal for the caller's (a client that went away) and the deadline's.
    const controller = new AbortController();
    let timedOut = false;
    const timer =
      this.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            if (controller.signal.aborted) return;
            timedOut = true;
            controller.abort(new SyncTimeoutError(this.timeoutMs!));
          }, this.timeoutMs);
    const signal = options.signal instanceof AbortSignal ? options.signal : options.signal?.signal();
    const forward = () => controller.abort(signal?.reason);
    if (signal?.aborted) forward();
    else signal?.addEventListener("abort", forward, { once: true });
    try {
      return await this.piscina.run(task, {
        // A built-in data set's samples are shared memory (datasets.ts): cloned, they are shared, not copied.
        transferList: [...new Set(options.transfer ?? [])].filter((b) => b instanceof ArrayBuffer),
        signal: controller.signal,
      });
    } catch (err) {
      if (timedOut) throw controller.signal.reason;
      const death = workerDeath(err);
      if (death) throw new WorkerFailedError(death);
      throw err;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", forward);
      this.inFlight--;
    }
  }

  /** Whether inline tasks are within their share of the calling thread's time. */
  private inlineAllowed(): boolean {
    const now = performance.now();
    this.inlineDebtMs = Math.max(
      0,
      this.inlineDebtMs - (now - this.inlineAt) * (INLINE_SHARE / (1 - INLINE_SHARE)),
    );
    this.inlineAt = now;
    return this.inlineDebtMs < INLINE_BURST_MS;
  }

  /**
   * Runs a task of any kind the worker knows (see `engine-worker.ts`) and resolves with its
   * answer, typed `T` by the caller. Not subject to `maxQueue` nor `timeoutMs`: for callers that
   * bound their own tasks (a job's chunks: the queue bounds how many jobs run at once, and a chunk
   * refused halfway would stall its job). `transfer`: objects moved to the worker (ports, buffers).
   * @throws an AbortError when `signal` fires (the worker thread is terminated); any other error
   *   when the worker dies (out of memory, say).
   */
  async runUnqueued<T>(
    task: { kind: string },
    options: { signal?: AbortSignal; transfer?: TransferListItem[] } = {},
  ): Promise<T> {
    ensureWorkerBundle(this.bundle);
    this.inFlight++;
    try {
      return await this.piscina.run(task, {
        transferList: options.transfer ?? [],
        signal: options.signal ?? null,
      });
    } finally {
      this.inFlight--;
    }
  }

  /** Tasks accepted and not yet finished (running or waiting for a worker). */
  get pending(): number {
    return this.inFlight;
  }

  /**
   * Whether `run` would refuse a task now (every worker busy, the queue full). Routes check it
   * before reading a body, so an overloaded service answers 503 without parsing anything.
   */
  get saturated(): boolean {
    return this.inFlight >= this.capacity;
  }

  /** Load right now: worker threads, tasks running and waiting, busy fraction of `size`. */
  stats(): { size: number; threads: number; running: number; waiting: number; utilization: number } {
    const waiting = this.piscina.queueSize;
    const running = Math.max(0, Math.min(this.size, this.inFlight - waiting));
    return {
      size: this.size,
      threads: this.piscina.threads.length,
      running,
      waiting,
      utilization: running / this.size,
    };
  }

  /**
   * The matrix-product kernels the worker threads run (engine-worker.ts `kernels`, asked of one
   * thread once: every thread loads the same addon), e.g. `native-avx512`; `wasm` or `typescript`
   * where the native build is missing.
   */
  kernels(): Promise<string> {
    if (!this.workerKernels) {
      ensureWorkerBundle(this.bundle);
      this.workerKernels = this.piscina.run(null, { name: "kernels" }) as Promise<string>;
      this.workerKernels.catch(() => {
        this.workerKernels = undefined;
      });
    }
    return this.workerKernels;
  }
  private workerKernels: Promise<string> | undefined;

  /** Waits for running tasks, then stops the threads. */
  async close(): Promise<void> {
    await this.piscina.close();
  }
}

/**
 * Why the worker thread died, when `err` says it did (rather than the task throwing): over its
 * heap limit (`resourceLimits`), or exited. Undefined for an error thrown by the task itself.
 */
function workerDeath(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  if ((err as NodeJS.ErrnoException).code === "ERR_WORKER_OUT_OF_MEMORY")
    return "out of memory: over WORKER_MAX_HEAP_MB";
  if (/^worker exited with code/.test(err.message)) return err.message;
  return undefined;
}
