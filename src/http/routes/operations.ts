import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";

const CheckSchema = z.object({
  status: z.enum(["ok", "failing"]),
  detail: z.string().optional(),
});

export const ReadyResponseSchema = z
  .object({
    status: z.enum(["ready", "unavailable"]),
    checks: z.object({
      database: CheckSchema,
      pool: CheckSchema.extend({
        threads: z.number().int(),
        size: z.number().int(),
        running: z.number().int().describe("Tasks running."),
        waiting: z.number().int().describe("Tasks waiting for a worker."),
      }),
      jobs: CheckSchema.extend({
        queued: z.number().int(),
        running: z.number().int(),
      }).describe(
        "The job queue (in the distributed mode: BullMQ on Redis and the job records in PostgreSQL, as every " +
          "API process and worker sees them).",
      ),
    }),
  })
  .meta({ id: "Ready" });

const operations: FastifyPluginAsyncZod = async (app) => {
  app.get(
    "/ready",
    {
      schema: {
        tags: ["meta"],
        summary: "Readiness: the database and the job queue answer and the worker pool is up",
        description:
          "503 when a check fails (take the instance out of the load balancer, do not restart it).",
        response: { 200: ReadyResponseSchema, 503: ReadyResponseSchema },
      },
    },
    async (_request, reply) => {
      let database: z.infer<typeof CheckSchema> = { status: "ok" };
      try {
        app.store.db.prepare("SELECT 1").get();
      } catch (err) {
        database = { status: "failing", detail: err instanceof Error ? err.message : String(err) };
      }
      const load = app.pool.stats();
      // Threads start lazily (minThreads 0); a pool that can start them is up.
      const pool = { status: "ok" as const, ...load };
      let jobs: z.infer<typeof ReadyResponseSchema>["checks"]["jobs"];
      try {
        const [stats] = await Promise.all([app.jobs.stats(), app.jobs.countByStatus()]);
        jobs = { status: "ok", queued: stats.queued, running: stats.running };
      } catch (err) {
        jobs = {
          status: "failing",
          detail: err instanceof Error ? err.message : String(err),
          queued: 0,
          running: 0,
        };
      }
      const ready = database.status === "ok" && jobs.status === "ok";
      return reply.code(ready ? 200 : 503).send({
        status: ready ? "ready" : "unavailable",
        checks: { database, pool, jobs },
      });
    },
  );

  app.get(
    "/metrics",
    {
      schema: {
        tags: ["meta"],
        summary: "Prometheus metrics",
        description:
          "Text exposition format: HTTP requests by route and status, jobs by status, job durations, the job " +
          "queue, the worker pool's utilisation, and the process (memory, event-loop lag, GC).",
        response: {
          200: { description: "Metrics.", content: { "text/plain": { schema: z.string() } } },
        },
      },
    },
    async (_request, reply) => {
      const { registry } = app.metrics;
      return reply.type(registry.contentType).send(await registry.metrics());
    },
  );
};

export default operations;
