/** The oracle's checks of a training answer's options: `return` and `saveModel`. */
import { ANSWER_PARTS } from "../../src/schemas/answer-parts.js";

/**
 * Checks a 2xx answer of `route` against the `return` and `saveModel` of the body sent: the parts
 * `return` leaves out are absent; with `saveModel: true` the answer has a `modelId` (`mdl_` + 22
 * url-safe characters), or `modelNotSaved` when the run diverged; without it, neither.
 * @returns whether the answer should carry a part (every part without `return`).
 */
export function checkAnswerOptions(
  route: string,
  sent: unknown,
  body: Record<string, unknown>,
  out: string[],
): (part: string) => boolean {
  const asked = (sent ?? {}) as { return?: unknown; saveModel?: unknown };
  const train = route === "POST /train";
  const parts = train && Array.isArray(asked.return) ? (asked.return as string[]) : undefined;
  for (const part of ANSWER_PARTS)
    if (parts && !parts.includes(part) && body[part] !== undefined)
      out.push(`${part} present though return leaves it out`);
  if (train && asked.saveModel === true) {
    const saved = typeof body.modelId === "string" && /^mdl_[A-Za-z0-9_-]{22}$/.test(body.modelId);
    if (body.diverged !== undefined ? body.modelNotSaved === undefined || saved : !saved)
      out.push(
        `saveModel: modelId ${body.modelId}, modelNotSaved ${body.modelNotSaved}, diverged ${body.diverged !== undefined}`,
      );
  } else if (body.modelId !== undefined || body.modelNotSaved !== undefined)
    out.push("modelId or modelNotSaved without saveModel");
  return (part) => parts === undefined || parts.includes(part);
}
