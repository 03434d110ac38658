import type { TrainResponse } from "../../schemas/responses.js";
import type { ChunkSummary } from "./summary-schema.js";

export type { ChunkSummary } from "./summary-schema.js";

export function emptySummary(): ChunkSummary {
  return { history: { loss: [] }, epochsRun: 0, initialEpoch: null, durationMs: 0 };
}

type Series = Record<string, unknown[] | undefined>;

function concat<T extends Series>(a: T | undefined, b: T): T {
  const out = { ...a } as Series;
  for (const [key, values] of Object.entries(b)) if (values) out[key] = [...(out[key] ?? []), ...values];
  return out as T;
}

/** `summary` followed by `chunk` (a new object; neither is changed). */
export function addChunk(summary: ChunkSummary, chunk: TrainResponse): ChunkSummary {
  const out: ChunkSummary = {
    history: concat(summary.history, chunk.history),
    epochsRun: summary.epochsRun + chunk.epochsRun,
    initialEpoch: summary.initialEpoch ?? chunk.initialEpoch,
    durationMs: summary.durationMs + chunk.durationMs,
  };
  const t = chunk.telemetry;
  if (t) {
    const before = summary.telemetry;
    const activations = { ...before?.activations };
    for (const [layer, a] of Object.entries(t.activations)) {
      const { activation, ...series } = a;
      activations[layer] = {
        activation,
        ...concat(before?.activations[layer] as Series | undefined, series),
      };
    }
    out.telemetry = {
      gradientNorm: concat(before?.gradientNorm, t.gradientNorm),
      updateRatio: concat(before?.updateRatio, t.updateRatio),
      activations,
      ...(t.regularizationGradientNorm
        ? {
            regularizationGradientNorm: concat(
              before?.regularizationGradientNorm,
              t.regularizationGradientNorm,
            ),
          }
        : {}),
      ...(t.stateGradientNorm
        ? { stateGradientNorm: concat(before?.stateGradientNorm, t.stateGradientNorm) }
        : {}),
    };
  }
  return out;
}
