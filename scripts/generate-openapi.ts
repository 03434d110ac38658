/** Writes openapi/openapi.json from the routes (`npm run openapi`); a test fails when it drifts. */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { OPENAPI_PATH, renderOpenapi } from "../src/http/openapi-document.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const target = resolve(root, OPENAPI_PATH);
await mkdir(dirname(target), { recursive: true });
await writeFile(target, await renderOpenapi());
console.log(`wrote ${OPENAPI_PATH}`);
