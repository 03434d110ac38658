/**
 * The service's HTTP API as the page uses it: JSON in and out, problem details turned into
 * errors, a short wait on 429/503 with Retry-After, and server-sent events read with fetch (so
 * an API key header can go with them, which EventSource cannot send).
 */
import type { Problem } from "./types.js";

/** A status other than 2xx, with the RFC 9457 problem details the service answered (if any). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
    message: string,
  ) {
    super(message);
  }
}

const API_KEY_STORAGE = "playground.apiKey";

/** An API key to send (the service may require one); kept in localStorage. */
export function apiKey(): string {
  return localStorage.getItem(API_KEY_STORAGE) ?? "";
}

export function setApiKey(key: string): void {
  if (key) localStorage.setItem(API_KEY_STORAGE, key);
  else localStorage.removeItem(API_KEY_STORAGE);
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const key = apiKey();
  return key ? { ...extra, authorization: `Bearer ${key}`, "x-api-key": key } : extra;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

async function toError(res: Response, what: string): Promise<ApiError> {
  let problem: Problem | undefined;
  try {
    problem = (await res.json()) as Problem;
  } catch {
    problem = undefined;
  }
  const fields = problem?.errors?.map((e) => `${e.path}: ${e.message}`).join("; ");
  const detail = problem?.detail ?? problem?.title ?? res.statusText;
  return new ApiError(res.status, problem, `${what} → ${res.status}: ${fields || detail}`);
}

/** A request with the key; retries twice on 429/503 with a short Retry-After. Throws ApiError for any status but 2xx. */
async function send(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(path, {
      method,
      headers: headers(body === undefined ? {} : { "content-type": "application/json" }),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (res.ok) return res;
    const retryAfter = Number(res.headers.get("retry-after"));
    if ((res.status === 429 || res.status === 503) && attempt < 2 && retryAfter > 0 && retryAfter <= 10) {
      await sleep(retryAfter * 1000, signal);
      continue;
    }
    throw await toError(res, `${method} ${path}`);
  }
}

/** One JSON request; throws ApiError for any status but 2xx. Retries twice on 429/503. */
export async function api<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const res = await send(method, path, body, signal);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

/**
 * A file from the service (GET), as a Blob: fetched with the key, which a bare link cannot
 * send. Throws ApiError for any status but 2xx, as `api` does.
 */
export async function apiFile(path: string, signal?: AbortSignal): Promise<Blob> {
  return (await send("GET", path, undefined, signal)).blob();
}

export interface ServerEvent {
  id: number;
  event: string;
  data: unknown;
}

/**
 * The events of a text/event-stream (WHATWG HTML §9.2), read with fetch. Reconnects after the
 * last id when the connection drops before `isLast` says the stream is over; a 204 ends it.
 */
export async function* serverEvents(
  path: string,
  isLast: (event: ServerEvent) => boolean,
  signal: AbortSignal,
): AsyncGenerator<ServerEvent> {
  let lastId = 0;
  for (let attempt = 0; attempt < 5; attempt++) {
    const res = await fetch(path, {
      headers: headers({
        accept: "text/event-stream",
        ...(lastId ? { "last-event-id": String(lastId) } : {}),
      }),
      signal,
    });
    if (res.status === 204) return;
    if (!res.ok || !res.body) throw await toError(res, `GET ${path}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let event = { id: 0, event: "message", data: "" };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let newline = buffer.search(/\r\n|\r|\n/);
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
        newline = buffer.search(/\r\n|\r|\n/);
        if (line === "") {
          if (event.data !== "") {
            const parsed: ServerEvent = { id: event.id, event: event.event, data: JSON.parse(event.data) };
            lastId = event.id;
            yield parsed;
            if (isLast(parsed)) return;
          }
          event = { id: event.id, event: "message", data: "" };
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "id") event.id = Number(val);
        else if (field === "event") event.event = val;
        else if (field === "data") event.data = event.data ? `${event.data}\n${val}` : val;
      }
    }
    await sleep(500 * (attempt + 1), signal);
  }
  throw new Error(`GET ${path}: the event stream kept dropping`);
}
