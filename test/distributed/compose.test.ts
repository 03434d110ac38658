/**
 * docker-compose.yml, checked without a Docker engine (none runs here): its services are the
 * ones the README describes, every app service's environment is a valid configuration of the
 * distributed mode, its commands run files that exist, and the topology it describes — its API
 * and worker services with their own environment, Redis and PostgreSQL swapped for the test
 * ones — takes a job through to the end.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../../src/config.js";
import { Cluster, skipReason } from "./cluster.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(readFileSync(`${root}/docker-compose.yml`, "utf8"), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;
/** The Dockerfile's CMD, which services without a `command` run. */
const imageCmd = JSON.parse(
  /^CMD (\[.*\])$/m.exec(readFileSync(`${root}/Dockerfile`, "utf8"))![1]!,
) as string[];

const apps = Object.entries(services).filter(([, s]) => s.build !== undefined);
const scriptOf = (s: Service) => (s.command ?? imageCmd).at(-1)!;

describe("docker-compose.yml", () => {
  it("has Redis, PostgreSQL, two APIs and scaled workers, each app waiting for both to be healthy", () => {
    expect(services.redis?.image).toMatch(/^redis:7/);
    expect(services.postgres?.image).toMatch(/^postgres:/);
    expect(apps.map(([name, s]) => [name, scriptOf(s)])).toEqual([
      ["api-1", "src/server.ts"],
      ["api-2", "src/server.ts"],
      ["worker", "src/worker.ts"],
    ]);
    expect(services.worker!.deploy?.replicas).toBeGreaterThanOrEqual(2);
    for (const [, s] of apps) {
      expect(existsSync(`${root}/${scriptOf(s)}`)).toBe(true);
      expect(s.depends_on).toEqual({
        redis: { condition: "service_healthy" },
        postgres: { condition: "service_healthy" },
      });
    }
  });

  it("gives every app service a valid distributed configuration on the compose network", () => {
    for (const [name, s] of apps) {
      const config = loadConfig(s.environment);
      expect(config.distributed, name).toMatchObject({
        redisUrl: "redis://redis:6379",
        databaseUrl: expect.stringMatching(/^postgres:\/\/\w+:\w+@postgres:5432\/\w+$/),
      });
      const pg = services.postgres!.environment!;
      expect(config.distributed!.databaseUrl).toBe(
        `postgres://${pg.POSTGRES_USER}:${pg.POSTGRES_PASSWORD}@postgres:5432/${pg.POSTGRES_DB}`,
      );
    }
  });
});

describe.skipIf(skipReason !== undefined)("the compose topology, run here", () => {
  const cluster = new Cluster();
  afterAll(() => cluster.cleanup(), 30_000);
  /** A service's own environment, Redis and PostgreSQL being the test ones (the cluster sets those). */
  const own = (name: string) => {
    const { REDIS_URL: _r, DATABASE_URL: _d, ...rest } = services[name]!.environment!;
    return rest;
  };

  it("takes a job in through one API and out through the other, run by a worker", async () => {
    const [a, b] = await Promise.all([
      cluster.api(own("api-1")),
      cluster.api(own("api-2")),
      cluster.worker(own("worker")),
    ]);
    const body = {
      model: {
        inputShape: [4],
        layers: [{ type: "dense", units: 3, activation: "softmax" }],
        loss: "sparseCategoricalCrossentropy",
      },
      dataset: { name: "iris" },
      optimizer: { type: "adam", learningRate: 0.05 },
      epochs: 30,
      seed: 3,
    };
    const created = await fetch(`${a.base}/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    let job: { status: string; result?: { metrics: { accuracy: number } } };
    do {
      await new Promise((r) => setTimeout(r, 50));
      job = (await (await fetch(`${b.base}/jobs/${id}`)).json()) as typeof job;
    } while (job.status === "queued" || job.status === "running");
    expect(job.status).toBe("succeeded");
    expect(job.result!.metrics.accuracy).toBeGreaterThan(0.6);
  }, 60_000);
});
