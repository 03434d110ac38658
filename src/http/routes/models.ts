import fastifyMultipart from "@fastify/multipart";
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { modelGradientsExample, modelPredictExample } from "../../schemas/examples-models.js";
import { KerasSequentialSchema } from "../../schemas/model-refs.js";
import {
  ImportModelBodySchema,
  ModelGradientsRequestSchema,
  ModelIdParamsSchema,
  ModelListSchema,
  ModelPredictRequestSchema,
  ModelSchema,
} from "../../schemas/models.js";
import { ProblemSchema } from "../../schemas/problem.js";
import { GradientsResponseSchema, PredictResponseSchema } from "../../schemas/responses.js";
import { PagedListQuerySchema } from "../../schemas/stored-datasets.js";
import { ModelService } from "../../service/models/model-service.js";
import { abortOnDisconnect } from "./abort.js";
import { refuseWhenSaturated } from "./admission.js";
import { sendJsonText } from "./json-text.js";
import { isMultipart, multipartImport, weightsPartOf } from "./model-upload.js";
import { problemResponses, syncProblemResponses } from "./problem-responses.js";

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});
const notFound = problem("No model of this client has this id.");
const binary = (description: string) => ({
  description,
  content: { "application/octet-stream": { schema: z.string().meta({ format: "binary" }) } },
});
const cannotExpress = problem(
  "The format cannot express a layer kind or option of the model; `errors` names the layer and the format.",
);

/** Parts a multipart import may send at most (two are used; the rest are named in errors). */
const MULTIPART_PARTS = 6;

/**
 * A multipart body refused before it was read to its end: the parts still on their way would
 * hold the connection (and a shutdown) open. They are read and dropped, so the client, still
 * sending, gets the answer and the connection stays usable; past `maxBytes` (what the limits
 * allow) the connection is cut.
 */
function discardRest(request: FastifyRequest, maxBytes: number): void {
  const raw = request.raw;
  if (raw.readableEnded) return;
  raw.unpipe();
  let read = 0;
  raw.on("data", (chunk: Buffer) => {
    read += chunk.length;
    if (read > maxBytes) raw.destroy();
  });
  raw.resume();
}

const models: FastifyPluginAsyncZod = async (app) => {
  const service = new ModelService(app.store.models, app.engine);
  const partLimit = app.initialConfig.bodyLimit ?? 1_048_576;
  // Uploads for this plugin's routes only (elsewhere multipart stays 415): two parts (one more is read to name it), each
  // within BODY_LIMIT.
  await app.register(fastifyMultipart, {
    limits: { fileSize: partLimit, files: 3, fields: 3, parts: MULTIPART_PARTS },
  });

  app.get(
    "/models",
    {
      schema: {
        tags: ["models"],
        summary: "List stored models, newest first",
        description:
          "The caller's models: every succeeded job's, POST /train's with `saveModel`, and imports. One page of " +
          "`limit`; `next` links the following page (`cursor`, which survives the deletion of the models listed; " +
          "`after=<id>` also works while that model exists).",
        querystring: PagedListQuerySchema,
        response: { 200: ModelListSchema, 400: problemResponses[400] },
      },
    },
    async (request) => await service.list(request.query, request.owner),
  );

  app.get(
    "/models/:id",
    {
      schema: {
        tags: ["models"],
        summary: "A stored model: spec, metrics, provenance (no weights)",
        params: ModelIdParamsSchema,
        response: { 200: ModelSchema, 404: notFound },
      },
    },
    async (request) => await service.get(request.params.id, request.owner),
  );

  app.delete(
    "/models/:id",
    {
      schema: {
        tags: ["models"],
        summary: "Delete a stored model",
        description: "Jobs already created from it are unaffected: they hold its spec and weights.",
        params: ModelIdParamsSchema,
        response: { 204: z.null().describe("Deleted."), 404: notFound },
      },
    },
    async (request, reply) => {
      await service.delete(request.params.id, request.owner);
      return reply.code(204).send(null);
    },
  );

  app.post(
    "/models/:id/predict",
    {
      onRequest: refuseWhenSaturated(app),
      schema: {
        tags: ["models"],
        summary: "Run a stored model forward on samples (inference mode)",
        description: "POST /predict with the model's spec and weights.",
        params: ModelIdParamsSchema,
        body: ModelPredictRequestSchema.meta({ examples: [modelPredictExample] }),
        response: { 200: PredictResponseSchema, ...syncProblemResponses, 404: notFound },
      },
    },
    async (request, reply) =>
      sendJsonText(
        reply,
        await service.predict(request.params.id, request.body.x, request.owner, abortOnDisconnect(reply)),
      ),
  );

  app.post(
    "/models/:id/gradients",
    {
      onRequest: refuseWhenSaturated(app),
      schema: {
        tags: ["models"],
        summary: "Back-propagate one sample at a stored model's weights",
        description: "POST /gradients with the model's spec and weights.",
        params: ModelIdParamsSchema,
        body: ModelGradientsRequestSchema.meta({ examples: [modelGradientsExample] }),
        response: { 200: GradientsResponseSchema, ...syncProblemResponses, 404: notFound },
      },
    },
    async (request, reply) =>
      sendJsonText(
        reply,
        await service.gradients(request.params.id, request.body, request.owner, abortOnDisconnect(reply)),
      ),
  );

  app.get(
    "/models/:id/tfjs/model.json",
    {
      schema: {
        tags: ["models"],
        summary: "Export for TensorFlow.js: model.json",
        description:
          "A LayersModel `model.json`: `modelTopology` is a Keras Sequential config, `weightsManifest` names " +
          '`weights.bin` beside it, so `await tf.loadLayersModel("<base>/models/<id>/tfjs/model.json")` (with ' +
          "`{ requestInit: { headers: { 'x-api-key': key } } }` when keys are on) loads the model straight from " +
          "here. The weights are float32: a float64 model's rounded once, a float32 model's exactly as trained.",
        params: ModelIdParamsSchema,
        response: {
          200: z
            .looseObject({
              format: z.literal("layers-model"),
              generatedBy: z.string(),
              modelTopology: KerasSequentialSchema,
              weightsManifest: z.array(
                z.looseObject({ paths: z.array(z.string()), weights: z.array(z.unknown()) }),
              ),
            })
            .describe("TensorFlow.js' model.json (io.ModelJSON)."),
          404: notFound,
          422: cannotExpress,
        },
      },
    },
    async (request) => (await service.tfjs(request.params.id, request.owner)).modelJson as never,
  );

  app.get(
    "/models/:id/tfjs/weights.bin",
    {
      schema: {
        tags: ["models"],
        summary: "Export for TensorFlow.js: weights.bin",
        description: "The weights as little-endian float32, in the order of model.json's manifest.",
        params: ModelIdParamsSchema,
        response: { 200: binary("The weights' bytes."), 404: notFound, 422: cannotExpress },
      },
    },
    async (request, reply) => {
      const { weightsBin } = await service.tfjs(request.params.id, request.owner);
      // A view, not a copy: the cached bytes are sent as they are.
      const bytes = Buffer.from(weightsBin.buffer, weightsBin.byteOffset, weightsBin.byteLength);
      return reply.type("application/octet-stream").send(bytes as never);
    },
  );

  app.get(
    "/models/:id/onnx",
    {
      schema: {
        tags: ["models"],
        summary: "Export as ONNX",
        description:
          'A `model.onnx`: opset 18, float32, input "input" and output "output" with a symbolic batch ' +
          "dimension. Load it with onnxruntime (`InferenceSession.create(bytes)`).",
        params: ModelIdParamsSchema,
        response: { 200: binary("The ONNX model."), 404: notFound, 422: cannotExpress },
      },
    },
    async (request, reply) => {
      const bytes = await service.onnx(request.params.id, request.owner);
      return reply
        .type("application/octet-stream")
        .header("content-disposition", `attachment; filename="${request.params.id}.onnx"`)
        .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as never);
    },
  );

  app.post(
    "/models",
    {
      // The multipart form becomes the JSON form before validation: one schema checks both.
      preValidation: async (request) => {
        if (!isMultipart(request)) return;
        try {
          request.body = (await multipartImport(request, partLimit)) as never;
        } catch (err) {
          discardRest(request, MULTIPART_PARTS * partLimit);
          throw err;
        }
      },
      schema: {
        tags: ["models"],
        summary: "Import a model trained elsewhere (TensorFlow.js)",
        description:
          "Registers a TensorFlow.js LayersModel: `multipart/form-data` with the parts `model.json` and " +
          '`weights.bin` (as tfjs\' `model.save("<base>/models")` sends them, `model.weights.bin` too; each within ' +
          "BODY_LIMIT), or JSON: the model.json's fields with the weights in base64 `weightData`; or the service's " +
          "own JSON `{ model, weights }` (a model spec and its weights as /train answers them). The topology " +
          "must be a Keras Sequential of kinds this engine has; `loss` (or the model.json's `trainingConfig.loss`) " +
          "is needed to train it. Answers 201 with the model (`source: import`); errors name the model.json's fields.",
        consumes: ["application/json", "multipart/form-data"],
        body: ImportModelBodySchema,
        response: {
          201: ModelSchema,
          ...problemResponses,
          400: problem(
            "A body that does not match the schema, bad base64, or a multipart part missing, unknown or not JSON " +
              "(`errors` names the part or field).",
          ),
          413: problem("Body, or a multipart part, larger than BODY_LIMIT (`errors` names the part)."),
          415: problem("Content type other than application/json or multipart/form-data."),
          422: problem(
            "A layer class or option this engine lacks (`errors[].path` such as " +
              "`modelTopology.config.layers[3].class_name`, with what is supported), or weights that do not fit it.",
          ),
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const model =
        "model" in body
          ? await service.importNative(body, request.owner)
          : await service.import(
              (({ weightData: _, ...json }) => json)(body),
              Buffer.from(body.weightData, "base64"),
              request.owner,
              weightsPartOf(request),
            );
      return reply.code(201).header("location", model.links.self).send(model);
    },
  );
};

export default models;
