import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { TuningEvent } from "../../service/store/tuning-store.js";
import { FINAL_TUNING_EVENTS } from "../../service/tuning/tuning-service.js";

const HEARTBEAT_MS = 15_000;
const RETRY_MS = 2_000;
/** How often a stream reads the store when no event of this process woke it (another process coordinates). */
const POLL_MS = 1_000;

const format = (e: TuningEvent) => `id: ${e.seq}\nevent: ${e.type}\ndata: ${e.data}\n\n`;

/**
 * Streams a tuning job's events as text/event-stream (the jobs' stream, src/http/routes/sse.ts,
 * for the pattern): the stored events after `afterSeq`, then each new one as it is stored (woken
 * by this process's coordinator, or read every POLL_MS), until the final one ends the stream.
 * @throws NotFoundError before anything is written, for an unknown tuning job.
 */
export async function streamTuningEvents(
  app: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
  id: string,
  afterSeq: number,
): Promise<FastifyReply> {
  const first = await app.tuning.events(id, afterSeq, request.owner); // 404 before the headers
  if (!first.running && first.events.length === 0) return reply.code(204).send();
  const res = reply.raw;
  let seen = afterSeq;
  let closed = false;
  let reading = false;
  let again = false;
  const write = (events: TuningEvent[]) => {
    for (const e of events)
      if (e.seq > seen) {
        seen = e.seq;
        res.write(format(e));
        if (FINAL_TUNING_EVENTS.has(e.type)) return close();
      }
  };
  const read = async () => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        if (closed) return;
        const { events, running } = await app.tuning.events(id, seen, request.owner);
        write(events);
        // Ended without a final event after `seen` (it was seen before): nothing more will come.
        if (!closed && !running && events.length === 0) close();
      } while (again);
    } catch (err) {
      request.log.warn({ err, tuningJob: id }, "tuning event stream ended early");
      close();
    } finally {
      reading = false;
    }
  };
  const poll = setInterval(() => void read(), POLL_MS);
  const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), HEARTBEAT_MS);
  const stop = app.tuning.onEvent(id, () => void read());
  function close() {
    if (closed) return;
    closed = true;
    clearInterval(poll);
    clearInterval(heartbeat);
    stop();
    res.end();
  }
  reply.hijack();
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-accel-buffering": "no",
    "x-request-id": String(request.id),
  });
  res.on("close", close);
  res.write(`retry: ${RETRY_MS}\n\n`);
  write(first.events);
  if (!closed) void read();
  return reply;
}
