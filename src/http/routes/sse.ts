import type { ServerResponse } from "node:http";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { isFinal } from "../../service/jobs/job-service.js";
import type { JobEvent } from "../../service/store/job-store.js";

/** A comment line this often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;
/** How long EventSource waits before reconnecting. */
const RETRY_MS = 2_000;
/** Stored events read and written at once when a stream replays a job's backlog. */
export const REPLAY_PAGE = 1000;

function format(event: JobEvent): string {
  return `id: ${event.seq}\nevent: ${event.type}\ndata: ${event.data}\n\n`;
}

/** Resolves once `res` can take more (its buffer drained) or is closed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/**
 * Streams a job's events as text/event-stream (WHATWG HTML §9.2): the backlog after `afterSeq`,
 * then live events until the final one, which ends the stream. The stored backlog is replayed
 * `REPLAY_PAGE` events at a time, each page written only once the socket took the last one
 * (`drain`), so a long replay holds neither the event loop nor memory; then the job is
 * subscribed to after the last replayed id, for what was not stored yet and the live events.
 * The reply is hijacked: Fastify neither serialises nor ends it.
 * @throws NotFoundError before anything is written, for an unknown job.
 */
export async function streamJobEvents(
  app: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
  jobId: string,
  afterSeq: number,
): Promise<FastifyReply> {
  const finalSeq = await app.jobs.finalSeq(jobId, request.owner); // 404 for an unknown job (or another owner's)
  if (afterSeq >= finalSeq) return reply.code(204).send();
  const res = reply.raw;
  let heartbeat: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    unsubscribe?.();
    res.end();
  };
  reply.hijack();
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-accel-buffering": "no", // nginx: do not buffer the stream
    "x-request-id": String(request.id),
  });
  res.on("close", close);
  res.write(`retry: ${RETRY_MS}\n\n`);
  try {
    let seen = afterSeq;
    for (;;) {
      const page = await app.jobs.storedEvents(jobId, seen, REPLAY_PAGE, request.owner);
      if (closed || page.length === 0) break;
      seen = page[page.length - 1]!.seq;
      const more = res.write(page.map(format).join(""));
      if (page.some(isFinal)) {
        close();
        break;
      }
      if (page.length < REPLAY_PAGE) break;
      // Other requests run between pages: wait for the socket, or at least for the next turn.
      await (more ? new Promise<void>((resolve) => setImmediate(resolve)) : drained(res));
    }
    if (closed) return reply;
    const subscription = await app.jobs.subscribe(
      jobId,
      seen,
      (event) => {
        if (closed) return;
        if (event) res.write(format(event));
        if (!event || isFinal(event)) close();
      },
      request.owner,
    );
    unsubscribe = subscription.unsubscribe;
    if (closed) {
      unsubscribe();
      return reply;
    }
    if (subscription.backlog.length > 0) res.write(subscription.backlog.map(format).join(""));
    if (subscription.finished) close();
    else heartbeat = setInterval(() => res.write(": keep-alive\n\n"), HEARTBEAT_MS);
  } catch (err) {
    // The headers are out: a job deleted meanwhile, or a store that stopped answering, ends the stream.
    request.log.warn({ err, job: jobId }, "event stream ended early");
    close();
  }
  return reply;
}
