import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { PROBLEM_CONTENT_TYPE } from "./problems.js";

/**
 * Answers `Expect: 100-continue` (what curl sends for bodies over 1 KB) itself. Without a
 * `checkContinue` listener Node says `100 Continue` to every such request, so a client sends a
 * body that is over the limit and then sees the connection drop instead of the 413. Here a
 * `Content-Length` over `bodyLimit` gets the same 413 problem+json as a body read to its end,
 * without reading it; anything else gets `100 Continue` and goes to the app as usual.
 * Multipart uploads (each part within BODY_LIMIT, so the whole may be larger) always continue.
 * @param id the request id the app would give the request (echoed as `x-request-id`).
 */
export function answerExpectContinue(
  server: Server,
  bodyLimit: number,
  id: (req: IncomingMessage) => string,
): void {
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
    const length = Number(req.headers["content-length"]);
    const multipart = (req.headers["content-type"] ?? "").toLowerCase().startsWith("multipart/");
    if (!multipart && Number.isFinite(length) && length > bodyLimit) {
      const requestId = id(req);
      const body = JSON.stringify({
        type: "about:blank",
        title: "Payload Too Large",
        status: 413,
        detail: `the request body is larger than the server allows (BODY_LIMIT: ${bodyLimit} bytes)`,
        instance: req.url,
        requestId,
      });
      // The body is never read: the connection closes after the answer.
      res.writeHead(413, {
        "content-type": PROBLEM_CONTENT_TYPE,
        "content-length": Buffer.byteLength(body),
        "x-request-id": requestId,
        connection: "close",
      });
      res.end(body);
      return;
    }
    res.writeContinue();
    server.emit("request", req, res);
  });
}
