import { responseExamples } from "../schemas/response-examples.js";

/**
 * What the OpenAPI document says about answers beyond their bodies: the description of each
 * success, the response headers, the error statuses every route of a kind can send, and
 * examples of real answers. `openapi.ts` applies these tables to the generated document.
 */

/** Which optional parts of the service are on: they add statuses and headers. */
export interface ContractOptions {
  /** API_KEYS is set: protected operations need a key (401 without one). */
  apiKeys: boolean;
  /** RATE_LIMIT_MAX is set: protected operations are counted (429, X-RateLimit-* headers). */
  rateLimit: boolean;
}

/** `components.headers`: every response header the service sends on purpose. */
export const HEADERS = {
  "X-Request-Id": {
    description:
      "The id the request was logged under: the client's own `X-Request-Id` when it is 1–128 characters of " +
      "letters, digits and `_.:-`, else a fresh UUID. Sent with every answer.",
    required: true,
    schema: { type: "string" },
  },
  Location: {
    description: "Where the created resource is (its `links.self`).",
    required: true,
    schema: { type: "string" },
  },
  "Idempotent-Replayed": {
    description: "`true` when this answers an earlier create with the same Idempotency-Key (no new job).",
    schema: { type: "string", enum: ["true"] },
  },
  "Retry-After": {
    description: "Seconds to wait before trying again.",
    schema: { type: "integer", minimum: 1 },
  },
  "WWW-Authenticate": {
    description:
      'The scheme to authenticate with: `Bearer realm="api"` (with `error="invalid_token"` for a wrong key).',
    required: true,
    schema: { type: "string" },
  },
  "X-RateLimit-Limit": {
    description: "RATE_LIMIT_MAX: requests allowed per window and client.",
    schema: { type: "integer", minimum: 1 },
  },
  "X-RateLimit-Remaining": {
    description: "Requests this client has left in the current window.",
    schema: { type: "integer", minimum: 0 },
  },
  "X-RateLimit-Reset": {
    description: "Seconds until the current window ends.",
    schema: { type: "integer", minimum: 0 },
  },
  Allow: {
    description: "The methods the path answers.",
    required: true,
    schema: { type: "string" },
  },
} as const;

export type HeaderName = keyof typeof HEADERS;

/** Descriptions of answers that carry no problem (successes, /ready's 503), keyed `"<METHOD> <path> <status>"`. */
export const ANSWER_DESCRIPTIONS: Record<string, string> = {
  "GET /health 200": "The service is up.",
  "GET /ready 200": "Every check passed: the instance can take traffic.",
  "GET /ready 503":
    "A check failed (`checks` says which): take the instance out of the load balancer, do not restart it.",
  "GET /metrics 200": "Prometheus text exposition (version 0.0.4).",
  "GET /datasets 200": "The built-in data sets and one page of the stored ones.",
  "POST /datasets 201": "Stored; its id is in `id` and its address in Location.",
  "GET /datasets/{id} 200": "The stored data set's description (its values are not repeated).",
  "DELETE /datasets/{id} 204": "Deleted.",
  "POST /train 200":
    "Trained: the final weights (always finite), the per-epoch history, the gradient at the final weights " +
    "and the seed. Also 200 when the run diverged: then `diverged` says where, and the weights are the last " +
    "finite ones.",
  "POST /gradients 200": "The forward pass, the loss and the back-propagated gradient of every parameter.",
  "POST /predict 200": "The model's output for every sample, in order.",
  "POST /jobs 202":
    "Accepted: the job (queued), with its address in Location; or, for a repeated Idempotency-Key with the " +
    "same body, the first job (with `Idempotent-Replayed: true`).",
  "GET /jobs 200": "One page of jobs, newest first (without their results).",
  "GET /jobs/{id} 200": "The job: status, progress, and its result (succeeded) or error (failed).",
  "POST /jobs/{id}/cancel 200": "Cancelled: the job as it is now.",
  "GET /jobs/{id}/events 200": "The event stream (text/event-stream) until the job's final event.",
  "GET /jobs/{id}/events 204": "Nothing more will come: the client has already seen the final event.",
  "GET /models 200": "One page of the client's stored models, newest first.",
  "POST /models 201": "Imported: the model (`source: import`), with its address in Location.",
  "GET /models/{id} 200":
    "The stored model: spec, metrics, provenance and links (its weights are not repeated).",
  "DELETE /models/{id} 204": "Deleted.",
  "POST /models/{id}/predict 200": "The model's output for every sample, in order (inference mode).",
  "POST /models/{id}/gradients 200":
    "The forward pass, the loss and the back-propagated gradient of every parameter, at the stored weights.",
  "GET /models/{id}/tfjs/model.json 200":
    "TensorFlow.js' model.json: the Keras Sequential topology and the manifest of weights.bin beside it.",
  "GET /models/{id}/tfjs/weights.bin 200": "The weights, float32 little-endian, in the manifest's order.",
  "GET /models/{id}/onnx 200": "The ONNX model (an attachment named `<id>.onnx`).",
  "POST /webhooks 201":
    "Registered: the endpoint with its signing secret (shown only here), its address in Location.",
  "GET /webhooks 200": "The client's webhook endpoints, newest first (without their secrets).",
  "GET /webhooks/{id} 200": "The endpoint: URL, events, links (not its secret).",
  "DELETE /webhooks/{id} 204": "Deleted, with its deliveries.",
  "POST /webhooks/{id}/rotate-secret 200":
    "The endpoint with its new secret (shown only here); the old one signs too for a day.",
  "GET /webhooks/{id}/deliveries 200": "The endpoint's latest deliveries, newest first, each with its tries.",
};

/** Response headers per answer, keyed `"<METHOD> <path> <status>"` (X-Request-Id goes on every one). */
export const RESPONSE_HEADERS: Record<string, HeaderName[]> = {
  "POST /jobs 202": ["Location", "Idempotent-Replayed"],
  "POST /datasets 201": ["Location"],
  "POST /models 201": ["Location"],
  "POST /webhooks 201": ["Location"],
};

/** Real answers shown as examples, keyed `"<METHOD> <path> <status>"`. */
export const RESPONSE_EXAMPLES: Record<string, Record<string, { summary: string; value: unknown }>> = {
  "POST /train 200": {
    xor: { summary: "The answer to the `xor` request example", value: responseExamples.train },
  },
  "POST /gradients 200": {
    seedNetwork: {
      summary: "The answer to the `seedNetwork` request example",
      value: responseExamples.gradients,
    },
  },
  "POST /predict 200": {
    xor: { summary: "The answer to the `xor` request example", value: responseExamples.predict },
  },
};

/** Error answers added to operations by what they have (a path id, a stored data set in the body). */
export const EXTRA_PROBLEMS = {
  500: "Internal error (details are logged under the request id, not sent).",
  idTooLong: "`params.id` is longer than 100 characters (`errors` names it).",
  eventsBadRequest:
    "`params.id` is longer than 100 characters, or the Last-Event-ID header (or `lastEventId`) is not " +
    "the id of an event (a non-negative integer); `errors` names it.",
  unexpectedBody:
    "This operation takes no body; an empty one is accepted whatever its Content-Type, but a non-empty " +
    "one is still read: malformed JSON (`/problems/malformed-json`).",
  413:
    "This operation takes no body; an empty one is accepted whatever its Content-Type, but a non-empty " +
    "one is still read, and this one is larger than BODY_LIMIT.",
  415:
    "This operation takes no body; an empty one is accepted whatever its Content-Type, but a non-empty " +
    "one is still read, and this one is not application/json.",
  unknownDataset:
    "The body names a stored data set (`dataset.id`) that does not exist, or is another client's.",
  unknownModel:
    "The body names a stored model (`model.modelId`, `initialWeights.modelId`) that does not exist, or is " +
    "another client's.",
  401:
    "No valid API key (`/problems/unauthorized`): send `Authorization: Bearer <key>` or `x-api-key: <key>`. " +
    "Only when the server sets API_KEYS.",
  429:
    "More than RATE_LIMIT_MAX requests in RATE_LIMIT_WINDOW_MS from this API key (or IP address) " +
    "(`/problems/rate-limited`); see Retry-After. Only when the server sets RATE_LIMIT_MAX.",
} as const;
