// Entry point of the pool's worker threads. Worker threads do not share the main thread's
// TypeScript loader under every runner (vitest transforms only its own module graph), so the
// TypeScript worker is loaded with tsx's scoped `tsImport`, which works under `tsx`, vitest and
// plain node alike. Piscina waits for the default export's promise before sending tasks.
import { tsImport } from "tsx/esm/api";

const { default: run } = await tsImport("./engine-worker.ts", import.meta.url);

export default run;
