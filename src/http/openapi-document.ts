import { loadConfig } from "../config.js";
import { buildApp } from "./app.js";

/** Where the committed OpenAPI document lives, relative to the repository root. */
export const OPENAPI_PATH = "openapi/openapi.json";

/**
 * The configuration the committed document is rendered with: defaults, plus an API key and a
 * rate limit, so that it lists every status and header a deployment can send (401, 429,
 * WWW-Authenticate, X-RateLimit-*). The key is a placeholder; it appears nowhere in the document.
 */
export const COMMITTED_OPENAPI_ENV = {
  LOG_LEVEL: "silent",
  DATA_DIR: ":memory:",
  API_KEYS: "openapi-document-placeholder-key",
  RATE_LIMIT_MAX: "100",
} as const;

/**
 * The OpenAPI document the routes produce, as the text `npm run openapi` writes (2-space JSON,
 * final newline). Built from `COMMITTED_OPENAPI_ENV` so the environment cannot change it.
 */
export async function renderOpenapi(): Promise<string> {
  const app = await buildApp({
    config: loadConfig(COMMITTED_OPENAPI_ENV),
    minThreads: 0,
    logger: false,
  });
  try {
    await app.ready();
    return `${JSON.stringify(app.swagger(), null, 2)}\n`;
  } finally {
    await app.close();
  }
}
