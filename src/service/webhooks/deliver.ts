import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { Webhook } from "standardwebhooks";
import { MAX_OUTCOME_LENGTH } from "../store/webhook-store.js";
import { type AddressPolicy, checkedLookup, refusedUrl } from "./address.js";

/** What one try answered: the status (null without an answer), a short outcome, and whether it counts as delivered. */
export interface SendResult {
  statusCode: number | null;
  outcome: string;
  delivered: boolean;
}

export interface SendOptions extends AddressPolicy {
  /** The whole try (connect, send, answer) ends after this long. */
  timeoutMs: number;
  /** Aborts the try (the sender is stopping). */
  signal?: AbortSignal;
}

/** Bytes of an answer read (then the connection is dropped); the answer's body is never stored. */
const MAX_ANSWER_BYTES = 4096;

/**
 * The Standard Webhooks headers of one try: `webhook-id` (the same on every try), the timestamp
 * in seconds, and one `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per secret, separated by
 * spaces (the previous secret's too, just after a rotation). Signed by the `standardwebhooks` package.
 */
export function signatureHeaders(
  msgId: string,
  at: Date,
  payload: string,
  secrets: readonly string[],
): Record<string, string> {
  return {
    "webhook-id": msgId,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": secrets.map((s) => new Webhook(s).sign(msgId, at, payload)).join(" "),
  };
}

/**
 * POSTs one delivery to `url`, signed. The URL is checked again (`refusedUrl`) and the host's
 * addresses at the connection (`checkedLookup`); redirects are not followed (a 3xx is a failed
 * try); the answer is read up to a few KiB and only its status line kept. Never throws: a failure
 * is a result.
 */
export function sendDelivery(
  url: string,
  msgId: string,
  payload: string,
  secrets: readonly string[],
  options: SendOptions,
): Promise<SendResult> {
  const refused = refusedUrl(url, options);
  if (refused) return Promise.resolve({ statusCode: null, outcome: `refused: ${refused}`, delivered: false });
  const target = new URL(url);
  const body = Buffer.from(payload, "utf8");
  const request = target.protocol === "https:" ? httpsRequest : httpRequest;
  const host = target.hostname.replace(/^\[|\]$/g, "");
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      resolve({ ...result, outcome: result.outcome.slice(0, MAX_OUTCOME_LENGTH) });
    };
    const req = request(target, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "content-length": String(body.length),
        "user-agent": "backprop-service-webhooks",
        ...signatureHeaders(msgId, new Date(), payload, secrets),
      },
      // A name is resolved here and each address checked; an address in the URL was checked above.
      ...(isIP(host) ? {} : { lookup: checkedLookup(target, options) as never }),
      agent: false,
    });
    const timer = setTimeout(() => {
      req.destroy();
      done({ statusCode: null, outcome: `no answer within ${options.timeoutMs} ms`, delivered: false });
    }, options.timeoutMs);
    const onAbort = () => {
      req.destroy();
      done({ statusCode: null, outcome: "aborted: the sender is stopping", delivered: false });
    };
    options.signal?.addEventListener("abort", onAbort);
    req.on("response", (res) => {
      const status = res.statusCode ?? 0;
      const line = `${status} ${res.statusMessage ?? ""}`.trim();
      let read = 0;
      const finish = () => {
        res.destroy();
        if (status >= 200 && status < 300) done({ statusCode: status, outcome: line, delivered: true });
        else if (status >= 300 && status < 400)
          done({ statusCode: status, outcome: `${line} (redirects are not followed)`, delivered: false });
        else done({ statusCode: status, outcome: line, delivered: false });
      };
      res.on("data", (chunk: Buffer) => {
        read += chunk.length;
        if (read >= MAX_ANSWER_BYTES) finish();
      });
      res.on("end", finish);
      res.on("error", finish);
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      const outcome = err.code === "EWEBHOOKADDRESS" ? err.message : `no answer: ${err.code ?? err.message}`;
      done({ statusCode: null, outcome, delivered: false });
    });
    req.end(body);
  });
}
