import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  CreateJobQuerySchema,
  IdempotencyHeadersSchema,
  JobEventsHeadersSchema,
  JobEventsQuerySchema,
  JobIdParamsSchema,
  JobListSchema,
  JobSchema,
  ListJobsQuerySchema,
} from "../../schemas/jobs.js";
import { ProblemSchema } from "../../schemas/problem.js";
import { TrainRequestSchema } from "../../schemas/requests.js";
import { sendJsonText } from "./json-text.js";
import { problemResponses } from "./problem-responses.js";
import { streamJobEvents } from "./sse.js";

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});
const notFound = problem("No job has this id.");

const jobs: FastifyPluginAsyncZod = async (app) => {
  app.post(
    "/jobs",
    {
      schema: {
        tags: ["jobs"],
        summary: "Create an asynchronous training job",
        description:
          "Takes the body of POST /train, checks it the same way (400/422 at once), stores the job and " +
          "answers 202 with it and its Location. Jobs run in the worker pool, MAX_CONCURRENT_JOBS at a time " +
          "(at most MAX_JOBS_PER_CLIENT of one client's), the rest wait by `priority`, then in order; a running job stores a checkpoint every CHECKPOINT_EVERY epochs and continues " +
          "from it after a restart, ending with exactly the weights of an uninterrupted run. Follow it with " +
          "GET /jobs/{id} or its event stream. With an `Idempotency-Key`, a retried create answers the first job. " +
          "A succeeded job stores its trained model in the registry (`modelId` on the job, its result and its " +
          "`succeeded` event), so `saveModel` is accepted and changes nothing; `return` makes its result lean.",
        headers: IdempotencyHeadersSchema,
        querystring: CreateJobQuerySchema,
        body: TrainRequestSchema,
        response: {
          202: JobSchema.describe("The job (queued, or the first job of this Idempotency-Key)."),
          ...problemResponses,
          422: problem(
            "As for POST /train, or the Idempotency-Key was used before with another body " +
              "(type /problems/idempotency-key-reused).",
          ),
        },
      },
    },
    async (request, reply) => {
      await app.storedDatasets.checkAccess(request.body.dataset, request.owner);
      const { job, replayed } = await app.jobs.create(request.body, {
        owner: request.owner,
        idempotencyKey: request.headers["idempotency-key"],
        priority: request.query.priority,
      });
      if (replayed) reply.header("idempotent-replayed", "true");
      return reply.code(202).header("location", job.links.self).send(job);
    },
  );

  app.get(
    "/jobs",
    {
      schema: {
        tags: ["jobs"],
        summary: "List jobs, newest first",
        description: "One page of `limit` jobs; `next` links the following page (cursor: `after`).",
        querystring: ListJobsQuerySchema,
        response: { 200: JobListSchema, 400: problemResponses[400] },
      },
    },
    async (request) => await app.jobs.list(request.query, request.owner),
  );

  app.get(
    "/jobs/:id",
    {
      schema: {
        tags: ["jobs"],
        summary: "A job: status, progress, and its result or error",
        params: JobIdParamsSchema,
        response: { 200: JobSchema, 404: notFound },
      },
    },
    async (request, reply) => sendJsonText(reply, await app.jobs.getJson(request.params.id, request.owner)),
  );

  app.post(
    "/jobs/:id/cancel",
    {
      schema: {
        tags: ["jobs"],
        summary: "Cancel a queued or running job",
        description:
          "Marks it cancelled at once and terminates the worker thread running it (it does not finish its " +
          "epoch). 409 when the job has already finished.",
        params: JobIdParamsSchema,
        response: {
          200: JobSchema,
          404: notFound,
          409: problem("The job has already finished (succeeded, failed or cancelled)."),
        },
      },
    },
    async (request) => await app.jobs.cancel(request.params.id, request.owner),
  );

  app.get(
    "/jobs/:id/events",
    {
      schema: {
        tags: ["jobs"],
        summary: "Follow a job: server-sent events",
        description:
          "text/event-stream. One `progress` event per epoch, id = the epoch (1-based), data " +
          "`{epoch, epochs, loss, accuracy?, valLoss?, valAccuracy?}`; then one final `succeeded`, `failed` or " +
          "`cancelled` event, id = epochs + 1, and the stream ends. A client that connects late, or reconnects " +
          "with Last-Event-ID (or ?lastEventId=), first gets every event after that id. 204 when the client " +
          "has already seen the final event.",
        params: JobIdParamsSchema,
        querystring: JobEventsQuerySchema,
        headers: JobEventsHeadersSchema,
        response: {
          200: {
            description: "The event stream.",
            content: { "text/event-stream": { schema: z.string() } },
          },
          204: z.null().describe("Nothing more will come: the client has seen the final event."),
          404: notFound,
        },
      },
    },
    async (request, reply) => {
      const header = request.headers["last-event-id"];
      const after = header !== undefined ? Number(header) : (request.query.lastEventId ?? 0);
      return streamJobEvents(app, request, reply, request.params.id, after);
    },
  );
};

export default jobs;
