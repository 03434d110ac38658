import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { JobEventsHeadersSchema, JobEventsQuerySchema } from "../../schemas/jobs.js";
import { ProblemSchema } from "../../schemas/problem.js";
import {
  ListTuningQuerySchema,
  TuningIdParamsSchema,
  TuningJobListSchema,
  TuningJobSchema,
  TuningRequestSchema,
} from "../../schemas/tuning.js";
import { ProblemError } from "../../service/errors.js";
import { underBase } from "../../service/tuning/tuning-service.js";
import { problemResponses } from "./problem-responses.js";
import { streamTuningEvents } from "./tuning-sse.js";

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});
const notFound = problem("No tuning job has this id.");

const tuning: FastifyPluginAsyncZod = async (app) => {
  app.post(
    "/tuning-jobs",
    {
      schema: {
        tags: ["tuning"],
        summary: "Start a hyperparameter search",
        description:
          "Trains `base` (a POST /train body) once per trial with values of `searchSpace` put in, proposed by " +
          "grid, random or bayesian (TPE) search, and keeps the trial with the best `objective`. Each trial is a " +
          "job of yours (GET /jobs/{id}, `tuningJobId` set) with its own seed derived from the tuning seed, on the " +
          "same queue as other jobs and counted against MAX_JOBS_PER_CLIENT. The body is checked before anything " +
          "runs, with `base` at the ranges' corners through POST /train's check: a value that breaks it is a 422 " +
          'naming e.g. `searchSpace["optimizer.learningRate"].max`. Same body, same trials and results; a restart ' +
          "resumes every trial from its checkpoint. Answers 202 with the tuning job.",
        body: TuningRequestSchema,
        response: {
          202: TuningJobSchema.describe("The tuning job (running)."),
          ...problemResponses,
          404: problem("`base` names a stored data set or model that does not exist."),
          422: problem(
            "As for POST /train for `base`; or a range that is empty, does not fit the algorithm, or makes a body " +
              "POST /train rejects (`errors` name the searchSpace field); or an objective the trials do not report.",
          ),
        },
      },
    },
    async (request, reply) => {
      // A data set of someone else's is no data set: 404 at base.dataset.id.
      await app.storedDatasets.checkAccess(request.body.base.dataset, request.owner).catch((err: unknown) => {
        throw err instanceof ProblemError ? underBase(err) : err;
      });
      const job = await app.tuning.create(request.body, request.owner);
      return reply.code(202).header("location", job.links.self).send(job);
    },
  );

  app.get(
    "/tuning-jobs",
    {
      schema: {
        tags: ["tuning"],
        summary: "List tuning jobs, newest first",
        querystring: ListTuningQuerySchema,
        response: {
          200: TuningJobListSchema.describe("One page of the key's tuning jobs."),
          400: problemResponses[400],
        },
      },
    },
    async (request) => await app.tuning.list(request.query, request.owner),
  );

  app.get(
    "/tuning-jobs/:id",
    {
      schema: {
        tags: ["tuning"],
        summary: "A tuning job: status, trials and the best trial",
        params: TuningIdParamsSchema,
        response: {
          200: TuningJobSchema.describe("The tuning job with its trials table."),
          404: notFound,
        },
      },
    },
    async (request) => await app.tuning.get(request.params.id, request.owner),
  );

  app.post(
    "/tuning-jobs/:id/cancel",
    {
      schema: {
        tags: ["tuning"],
        summary: "Cancel a tuning job and every trial still queued or running",
        params: TuningIdParamsSchema,
        response: {
          200: TuningJobSchema.describe("The tuning job, cancelled."),
          404: notFound,
          409: problem("The tuning job has already ended."),
        },
      },
    },
    async (request) => await app.tuning.cancel(request.params.id, request.owner),
  );

  app.get(
    "/tuning-jobs/:id/events",
    {
      schema: {
        tags: ["tuning"],
        summary: "Follow a tuning job: server-sent events",
        description:
          "text/event-stream, ids 1, 2, … in the order they happened: `trialStarted` {trial, jobId, parameters, " +
          "seed}, `trialEnded` and `trialStopped` (the median rule) {trial, jobId, status, objective, epochsRun, " +
          "modelId?}, `newBest` {trial, objective, parameters, modelId}; then `succeeded`, `failed` or `cancelled`, " +
          "and the stream ends. Last-Event-ID (or ?lastEventId=) replays the events after that id.",
        params: TuningIdParamsSchema,
        querystring: JobEventsQuerySchema,
        headers: JobEventsHeadersSchema,
        response: {
          200: { description: "The event stream.", content: { "text/event-stream": { schema: z.string() } } },
          204: z.null().describe("Nothing more will come: the client has seen the final event."),
          404: notFound,
        },
      },
    },
    async (request, reply) => {
      const header = request.headers["last-event-id"];
      const after = header !== undefined ? Number(header) : (request.query.lastEventId ?? 0);
      return streamTuningEvents(app, request, reply, request.params.id, after);
    },
  );
};

export default tuning;
