import type { FastifyInstance } from "fastify";
import { loadConfig } from "../../src/config.js";
import { buildApp } from "../../src/http/app.js";

/**
 * The app as the tests use it: silent, two workers, an in-memory database, defaults otherwise
 * (`env` overrides; `DATA_DIR` for a test of persistence).
 */
export async function buildTestApp(env: Record<string, string> = {}): Promise<FastifyInstance> {
  const app = await buildApp({
    config: loadConfig({ POOL_SIZE: "2", DATA_DIR: ":memory:", ...env }),
    logger: false,
  });
  await app.ready();
  return app;
}

/** A small classifier over 2 features, for the error cases. */
export function tinyModel(loss = "sparseCategoricalCrossentropy") {
  return {
    inputShape: [2],
    layers: [
      { type: "dense", units: 4, activation: "tanh" },
      { type: "dense", units: 3, activation: "softmax" },
    ],
    loss,
  };
}

export const sgd = { type: "sgd", learningRate: 0.1 };

/** Parsed problem+json, with its content type checked by the caller. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
}
