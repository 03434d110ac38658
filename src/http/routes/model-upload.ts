import type { FastifyRequest } from "fastify";
import { InvalidRequestError, ProblemError } from "../../service/errors.js";

/** The parts of a multipart import: tfjs' `model.save("http://…")` names the weights `model.weights.bin`. */
export const MODEL_PART = "model.json";
export const WEIGHTS_PARTS = ["weights.bin", "model.weights.bin"];

/** Whether a request is `multipart/form-data` (an import's upload rather than its JSON form). */
export function isMultipart(request: FastifyRequest): boolean {
  return /^multipart\/form-data\b/i.test(request.headers["content-type"] ?? "");
}

/** The name the weights' part was sent under, per multipart request (for errors about its bytes). */
const weightsParts = new WeakMap<FastifyRequest, string>();

/** The part a multipart import sent its weights in (`weights.bin` or `model.weights.bin`); undefined for JSON. */
export function weightsPartOf(request: FastifyRequest): string | undefined {
  return weightsParts.get(request);
}

/** The parts an import accepts, for messages: `"model.json" and "weights.bin" (or "model.weights.bin")`. */
const ACCEPTED = `"${MODEL_PART}" and "${WEIGHTS_PARTS[0]}" (or "${WEIGHTS_PARTS[1]}")`;

function tooLarge(part: string, limit: number): ProblemError {
  const message = `the part is larger than ${limit} bytes (BODY_LIMIT)`;
  return new ProblemError(413, "/problems/too-large", "Payload too large", `${part}: ${message}`, [
    { path: part, message },
  ]);
}

function badPart(part: string, message: string): InvalidRequestError {
  // A part's name is the path as it is (`weights.bin`), not a property to quote.
  return new InvalidRequestError(`${part}: ${message}`, [{ path: part, message }]);
}

/**
 * A multipart import (`model.json` and `weights.bin`, as TensorFlow.js' `http` save handler
 * sends them) as the JSON body POST /models validates: the model.json's fields with the weights
 * in base64 `weightData`. Other parts are refused, so a misspelt part is named.
 * @param limit the largest part, bytes (the multipart plugin's `fileSize`)
 * @throws InvalidRequestError (400) naming a missing, repeated, unknown or non-JSON part, or the
 *   root for a body busboy cannot read;
 *   ProblemError (413) naming a part over `limit`.
 */
export async function multipartImport(
  request: FastifyRequest,
  limit: number,
): Promise<Record<string, unknown>> {
  const found = new Map<string, Buffer>();
  try {
    for await (const part of request.parts()) {
      const name = part.fieldname;
      const known = name === MODEL_PART || WEIGHTS_PARTS.includes(name);
      const bytes =
        part.type === "file"
          ? await part.toBuffer()
          : Buffer.from(String((part as { value: unknown }).value));
      if (!known) throw badPart(name, `unknown part: an import has the parts ${ACCEPTED}`);
      const key = name === MODEL_PART ? MODEL_PART : WEIGHTS_PARTS[0]!;
      if (found.has(key)) throw badPart(name, "sent twice");
      found.set(key, bytes);
      if (key !== MODEL_PART) weightsParts.set(request, name);
    }
  } catch (err) {
    if (err instanceof ProblemError) throw err;
    if ((err as { code?: string }).code === "FST_REQ_FILE_TOO_LARGE") {
      const part = (err as { part?: { fieldname?: string } }).part?.fieldname;
      throw tooLarge(part ?? "multipart", limit);
    }
    if ((err as { statusCode?: number }).statusCode === 413)
      throw new ProblemError(413, "/problems/too-large", "Payload too large", (err as Error).message);
    // busboy's own faults (no boundary, a part cut short, a malformed header): the body, not us.
    const message = `malformed multipart/form-data body: ${(err as Error).message}`;
    throw new InvalidRequestError(message, [{ path: "", message }]);
  }
  const model = found.get(MODEL_PART);
  const weights = found.get(WEIGHTS_PARTS[0]!);
  if (!model) throw badPart(MODEL_PART, "required part is missing (the TensorFlow.js model.json)");
  if (!weights)
    throw badPart(
      WEIGHTS_PARTS[0]!,
      `required part is missing (the weights' bytes, float32 little-endian; tfjs names it "${WEIGHTS_PARTS[1]}")`,
    );
  let json: unknown;
  try {
    json = JSON.parse(model.toString("utf8"));
  } catch (err) {
    throw badPart(MODEL_PART, `not JSON: ${(err as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw badPart(MODEL_PART, "expected a JSON object (a TensorFlow.js model.json)");
  return { ...json, weightData: weights.toString("base64") };
}
