import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { isFinal } from "../../service/jobs/job-service.js";
import type { JobEvent } from "../../service/store/job-store.js";

/** A comment line this often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;
/** How long EventSource waits before reconnecting. */
const RETRY_MS = 2_000;

function format(event: JobEvent): string {
  return `id: ${event.seq}\nevent: ${event.type}\ndata: ${event.data}\n\n`;
}

/**
 * Streams a job's events as text/event-stream (WHATWG HTML §9.2): the backlog after `afterSeq`,
 * then live events until the final one, which ends the stream. The reply is hijacked: Fastify
 * neither serialises nor ends it.
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
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    subscription.unsubscribe();
    res.end();
  };
  const subscription = await app.jobs.subscribe(
    jobId,
    afterSeq,
    (event) => {
      if (closed) return;
      if (event) res.write(format(event));
      if (!event || isFinal(event)) close();
    },
    request.owner,
  );
  reply.hijack();
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-accel-buffering": "no", // nginx: do not buffer the stream
    "x-request-id": String(request.id),
  });
  res.write(`retry: ${RETRY_MS}\n\n`);
  for (const event of subscription.backlog) res.write(format(event));
  if (subscription.finished) close();
  else {
    heartbeat = setInterval(() => res.write(": keep-alive\n\n"), HEARTBEAT_MS);
    res.on("close", close);
  }
  return reply;
}
