import { loadConfig } from "../config.js";
import { buildApp } from "./app.js";

/** Where the committed OpenAPI document lives, relative to the repository root. */
export const OPENAPI_PATH = "openapi/openapi.json";

/**
 * The OpenAPI document the routes produce, as the text `npm run openapi` writes (2-space JSON,
 * final newline). Built from default configuration so the environment cannot change it.
 */
export async function renderOpenapi(): Promise<string> {
  const app = await buildApp({
    config: loadConfig({ LOG_LEVEL: "silent", DATA_DIR: ":memory:" }),
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
