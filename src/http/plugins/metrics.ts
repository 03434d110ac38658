import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { JOB_STATUSES } from "../../schemas/jobs.js";

declare module "fastify" {
  interface FastifyInstance {
    /** Prometheus metrics (prom-client), served at GET /metrics. */
    metrics: AppMetrics;
  }
}

export interface AppMetrics {
  registry: Registry;
  /** A job ended; `seconds` from its first start to its end. */
  jobFinished(status: string, seconds: number | undefined): void;
}

/**
 * One registry per app (tests build many): process metrics, HTTP requests by route and status,
 * jobs by status, job durations, the job queue, and the worker pool's load. Gauges of state read
 * it when scraped, so they never drift.
 */
export default fp(
  async (app: FastifyInstance) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const requests = new Counter({
      name: "http_requests_total",
      help: "HTTP requests answered, by method, route pattern and status code.",
      labelNames: ["method", "route", "status_code"],
      registers: [registry],
    });
    const durations = new Histogram({
      name: "http_request_duration_seconds",
      help: "Time to answer an HTTP request (an event stream counts until it ends), by method and route.",
      labelNames: ["method", "route"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
    const jobDurations = new Histogram({
      name: "training_job_duration_seconds",
      help: "Time from a job's first start to its end, by final status.",
      labelNames: ["status"],
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14_400],
      registers: [registry],
    });
    new Gauge({
      name: "training_jobs",
      help: "Jobs in the database, by status.",
      labelNames: ["status"],
      registers: [registry],
      async collect() {
        if (!app.hasDecorator("jobs")) return;
        const counts = await app.jobs.countByStatus();
        for (const status of JOB_STATUSES) this.set({ status }, counts[status]);
      },
    });
    new Gauge({
      name: "training_job_queue_depth",
      help: "Jobs waiting for a slot (in the distributed mode: waiting on the BullMQ queue, all workers).",
      registers: [registry],
      async collect() {
        if (app.hasDecorator("jobs")) this.set((await app.jobs.stats()).queued);
      },
    });
    new Gauge({
      name: "training_job_event_streams",
      help: "Open server-sent event streams of jobs.",
      registers: [registry],
      async collect() {
        if (app.hasDecorator("jobs")) this.set((await app.jobs.stats()).subscribers);
      },
    });
    new Gauge({
      name: "worker_pool_utilization",
      help: "Fraction of the worker threads busy with a task (POST /train, /gradients, /predict or a job chunk).",
      registers: [registry],
      collect() {
        if (app.hasDecorator("pool")) this.set(app.pool.stats().utilization);
      },
    });
    new Gauge({
      name: "worker_pool_threads",
      help: "Worker threads alive.",
      registers: [registry],
      collect() {
        if (app.hasDecorator("pool")) this.set(app.pool.stats().threads);
      },
    });
    new Gauge({
      name: "worker_pool_waiting_tasks",
      help: "Tasks waiting for a free worker.",
      registers: [registry],
      collect() {
        if (app.hasDecorator("pool")) this.set(app.pool.stats().waiting);
      },
    });

    new Gauge({
      name: "engine_kernels_info",
      help: "The matrix-product kernels the worker threads run (native-avx512, native-avx2, native, wasm, typescript): 1.",
      labelNames: ["kernels"],
      registers: [registry],
      async collect() {
        if (app.hasDecorator("pool")) this.set({ kernels: await app.pool.kernels() }, 1);
      },
    });

    app.decorate("metrics", {
      registry,
      jobFinished(status: string, seconds: number | undefined) {
        if (seconds !== undefined) jobDurations.observe({ status }, seconds);
      },
    });
    // The series of each method, route and status, looked up once: prom-client would otherwise
    // hash the labels on every observation.
    const series = new Map<
      string,
      { count: ReturnType<typeof requests.labels>; duration: ReturnType<typeof durations.labels> }
    >();
    app.addHook("onResponse", (request, reply, done) => {
      // The route's pattern (`/jobs/:id`), never the raw URL: ids would make a series each.
      const route = request.routeOptions.url ?? "unmatched";
      const { method } = request;
      const { statusCode } = reply;
      const key = `${method} ${statusCode} ${route}`;
      let s = series.get(key);
      if (s === undefined) {
        s = {
          count: requests.labels({ method, route, status_code: String(statusCode) }),
          duration: durations.labels({ method, route }),
        };
        series.set(key, s);
      }
      s.count.inc();
      s.duration.observe(reply.elapsedTime / 1000);
      done();
    });
  },
  { name: "metrics" },
);
