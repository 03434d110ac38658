import { InvalidRequestError } from "./errors.js";

/**
 * A list's `after` (an id) and `cursor` (a position) are two ways to say where a page starts.
 * @throws InvalidRequestError (400) at `querystring.cursor` when both are given.
 */
export function checkCursor(query: { after?: string; cursor?: number }): void {
  if (query.after !== undefined && query.cursor !== undefined)
    throw new InvalidRequestError("give after or cursor, not both", [
      { path: "querystring.cursor", message: "not with after: give one of them" },
    ]);
}
