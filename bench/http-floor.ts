/**
 * The floor under `POST /gradients`: a bare Fastify app (no plugins, hooks, schemas or logging)
 * that parses a JSON body with Fastify's own parser and answers a fixed JSON text of a given
 * size. Loaded the same way as the service (bench/http.ts) right after it, its server CPU time
 * per request is what Node, Fastify and the loopback socket cost on this machine at that moment;
 * the service's figure divided by it is the overhead the service adds (docs/performance.md
 * "/gradients").
 */
import Fastify, { type FastifyInstance } from "fastify";

/**
 * A JSON object text of exactly `bytes` bytes (ASCII), `{"pad":"xx…"}`.
 * @throws RangeError when `bytes` is under 10, the smallest such object
 */
export function paddedJson(bytes: number): string {
  const frame = '{"pad":""}';
  if (bytes < frame.length) throw new RangeError(`paddedJson: ${bytes} bytes is under ${frame.length}`);
  return `{"pad":"${"x".repeat(bytes - frame.length)}"}`;
}

/**
 * Builds the bare app and listens on 127.0.0.1, port 0: `POST /gradients` answers 200 with
 * `paddedJson(answerBytes)` as `application/json; charset=utf-8`, the type the service sends.
 * Its default body limit (1 MiB) and JSON parser apply. The caller closes it.
 */
export async function floorApp(answerBytes: number): Promise<FastifyInstance> {
  const answer = paddedJson(answerBytes);
  const app = Fastify({ logger: false });
  app.post("/gradients", async (_request, reply) =>
    reply.type("application/json; charset=utf-8").send(answer),
  );
  await app.listen({ host: "127.0.0.1", port: 0 });
  return app;
}
