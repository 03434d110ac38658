/** Server-sent events as a test reads them. */
export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** Parses a text/event-stream body (WHATWG HTML §9.2.6), ignoring comments and `retry`. */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split(/\n\n/)) {
    const e: SseEvent = { event: "message", data: "" };
    let has = false;
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") e.id = value;
      else if (field === "event") e.event = value;
      else if (field === "data") {
        e.data = e.data ? `${e.data}\n${value}` : value;
        has = true;
      }
    }
    if (has) events.push(e);
  }
  return events;
}

/**
 * Reads a live event stream from `url`, handing each event to `onEvent` as it arrives, until the
 * server ends the stream or `onEvent` returns true (then the connection is dropped).
 */
export async function followSse(
  url: string,
  onEvent: (e: SseEvent) => boolean | undefined,
  headers: Record<string, string> = {},
): Promise<{ status: number; events: SseEvent[] }> {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  const events: SseEvent[] = [];
  if (!res.body) return { status: res.status, events };
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      const end = buffer.lastIndexOf("\n\n");
      if (end < 0) continue;
      const complete = parseSse(buffer.slice(0, end + 2));
      buffer = buffer.slice(end + 2);
      for (const e of complete) {
        events.push(e);
        if (onEvent(e) === true) {
          controller.abort();
          return { status: res.status, events };
        }
      }
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  }
  return { status: res.status, events };
}
