import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One request a receiver got: its path, headers and body exactly as sent. */
export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A webhook receiver on loopback: answers each request with the next status of `answers`, 200
 * after them; a status of 0 (`HANG`) leaves that request unanswered until the receiver closes.
 */
export interface Receiver {
  url: string;
  received: Received[];
  /** Statuses still to answer, in order (push more to change what comes next). */
  answers: number[];
  /** Resolves once `n` requests have come. */
  waitFor(n: number): Promise<Received[]>;
  close(): Promise<void>;
}

/** In `answers`: never answer that request (a receiver that hangs). */
export const HANG = 0;

/** Starts a receiver on 127.0.0.1 (a free port); `path` is the endpoint's path. */
export async function startReceiver(answers: number[] = [], path = "/hook"): Promise<Receiver> {
  const received: Received[] = [];
  const waiters: { n: number; resolve: (r: Received[]) => void }[] = [];
  const state = { answers: [...answers] };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      const status = state.answers.shift() ?? 200;
      if (status !== HANG) {
        if (status >= 300 && status < 400) res.setHeader("location", "/elsewhere");
        res.statusCode = status;
        res.end(status === 204 ? undefined : "answer body, never stored");
      }
      for (const w of waiters.splice(0)) {
        if (received.length >= w.n) w.resolve(received);
        else waiters.push(w);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    get answers() {
      return state.answers;
    },
    set answers(v: number[]) {
      state.answers = v;
    },
    waitFor: (n) =>
      received.length >= n
        ? Promise.resolve(received)
        : new Promise((resolve) => waiters.push({ n, resolve })),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
