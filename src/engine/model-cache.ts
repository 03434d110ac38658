import { currentScope } from "./layers/buffer-pool.js";
import type { Model } from "./model.js";
import type { ModelSpec } from "./spec.js";
import type { Dtype } from "./tensor.js";

/** Models with more weights (trainable or not) than this are never kept. */
export const REUSE_MAX_PARAMS = 65_536;
/** At most this many models are kept per thread… */
export const REUSE_MAX_MODELS = 64;
/** …holding at most this many weights together (with their gradients, about 16 MiB in float64). */
export const REUSE_MAX_TOTAL_PARAMS = 2 ** 20;

/**
 * Built models kept for the next call with the same spec OBJECT and dtype, in this thread
 * (docs/performance.md, "/gradients"): building a model (its layers, weights, gradients and
 * buffers) was most of a small `computeGradients`. The key is the spec object itself, and only a
 * deep-frozen spec is kept: it cannot change after the model was built from it, so the model's
 * architecture is always the spec's (the service's validated `model` is deep-frozen and shared by
 * the requests that send the same one; a spec cloned to a worker thread is not frozen, and is
 * never kept). The least recently used model goes first past `REUSE_MAX_MODELS` or
 * `REUSE_MAX_TOTAL_PARAMS`.
 *
 * A kept model carries its last caller's weights, gradients, mode, dropout streams and buffers:
 * its user must set all of them before reading anything, as `computeGradients` does (weights set
 * or initialised, which covers the non-trainable state; gradients zeroed; dropout reseeded; mode set).
 */
const kept = new Map<ModelSpec, { float64?: Kept; float32?: Kept }>();
let keptModels = 0;
let keptParams = 0;
/** Calls answered with a kept model, and calls that built one (kept or not), since the thread started. */
let hits = 0;
let builds = 0;

interface Kept {
  model: Model;
  params: number;
}

/**
 * The model kept for `spec` and `dtype`, or one built by `build` (kept for next time when `spec`
 * is deep-frozen, the model has at most `REUSE_MAX_PARAMS` weights and no `withRecycledBuffers`
 * scope is open, whose memory would be handed to others when it ends).
 * @throws what `build` throws (nothing is kept then).
 */
export function reusableModel(spec: ModelSpec, dtype: Dtype, build: () => Model): Model {
  const entry = kept.get(spec);
  const hit = entry?.[dtype];
  if (hit !== undefined) {
    // Most recently used last: a Map iterates in insertion order.
    kept.delete(spec);
    kept.set(spec, entry!);
    hits++;
    return hit.model;
  }
  const model = build();
  builds++;
  const params = model.weights().reduce((s, p) => s + p.value.length, 0);
  if (currentScope() !== undefined || params > REUSE_MAX_PARAMS || !isDeepFrozen(spec)) return model;
  const slot = entry ?? {};
  slot[dtype] = { model, params };
  kept.delete(spec);
  kept.set(spec, slot);
  keptModels++;
  keptParams += params;
  while (keptModels > REUSE_MAX_MODELS || keptParams > REUSE_MAX_TOTAL_PARAMS) {
    const [oldest, models] = kept.entries().next().value!;
    kept.delete(oldest);
    for (const k of [models.float64, models.float32])
      if (k) {
        keptModels--;
        keptParams -= k.params;
      }
  }
  return model;
}

/** Models kept now, and their weights (for the tests). */
export function keptModelCount(): { models: number; params: number } {
  return { models: keptModels, params: keptParams };
}

/**
 * How often `reusableModel` answered with a kept model (`hits`) and built one (`builds`) in this
 * thread so far: counters for the tests and the bench, which read the difference over some calls.
 */
export function modelCacheCounts(): { hits: number; builds: number } {
  return { hits, builds };
}

/** Whether `v` and everything it holds are frozen (a primitive is). */
export function isDeepFrozen(v: unknown): boolean {
  if (typeof v !== "object" || v === null) return true;
  if (!Object.isFrozen(v)) return false;
  for (const child of Object.values(v)) if (!isDeepFrozen(child)) return false;
  return true;
}
