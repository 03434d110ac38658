/** Fuzz generators: webhook endpoints (POST /webhooks), with URLs the service must take or refuse. */
import type { TreeObject } from "./json-text.js";
import type { Rand } from "./rand.js";

const EVENTS = ["job.succeeded", "job.failed", "job.cancelled"];

/** Public addresses (no name to resolve: the fuzz run needs no DNS) and refused ones of every kind. */
const URLS = [
  "https://8.8.8.8/hook",
  "https://1.1.1.1:8443/hooks/training?key=1",
  "https://[2001:4860:4860::8888]/hook",
  "https://10.0.0.1/hook",
  "https://169.254.169.254/latest/meta-data",
  "https://[fd00:ec2::254]/",
  "https://[::ffff:192.168.1.1]/",
  "https://2130706433/",
  "https://0x7f.1/",
  "https://[::127.0.0.1]/hook",
  "https://[::a00:1]/hook",
  "https://8.8.8.8:0/hook",
  "http://8.8.8.8/hook",
  "http://127.0.0.1:9/hook",
  "https://u:p@8.8.8.8/",
  "https://8.8.8.8/#frag",
  "ftp://8.8.8.8/",
  "javascript:alert(1)",
  "https://",
  "https://no-such-host.invalid/",
  `https://8.8.8.8/${"a".repeat(1990)}`,
];

/** A body for POST /webhooks: a URL (taken: 201, or refused: 422 naming `url`) and 1–3 distinct events. */
export function genWebhookBody(r: Rand): TreeObject {
  const events = EVENTS.filter(() => r.bool(0.6));
  return { url: r.pick(URLS), events: events.length > 0 ? events : [r.pick(EVENTS)] };
}
