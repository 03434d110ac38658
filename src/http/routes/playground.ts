import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";

/** The playground's sources: `web/index.html` and `web/src/main.ts` (with what it imports). */
export const WEB_DIR = fileURLToPath(new URL("../../../web/", import.meta.url));

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

function asset(name: string, body: Buffer | Uint8Array): Asset {
  const buf = Buffer.from(body);
  const ext = name.slice(name.lastIndexOf("."));
  const hash = createHash("sha256").update(buf).digest("base64url").slice(0, 22);
  return { body: buf, type: TYPES[ext] ?? "application/octet-stream", etag: `"${hash}"` };
}

/**
 * Bundles `web/src/main.ts` (the TypeScript and uPlot) with esbuild into memory: `app.js` and
 * `app.css`, with the metafile (its `inputs` are the files bundled, relative to `web/`).
 */
export async function bundlePlayground() {
  const esbuild = await import("esbuild");
  const require = createRequire(import.meta.url);
  const uplot = require("uplot/package.json") as { version: string; license: string };
  return esbuild.build({
    entryPoints: { app: join(WEB_DIR, "src", "main.ts") },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022", "chrome111", "firefox113", "safari16"],
    minify: true,
    legalComments: "none",
    // uPlot's header is a plain comment, which minifying drops: keep its notice in the bundle
    banner: {
      js: `/*! uPlot ${uplot.version} (c) Leon Sorokin, ${uplot.license} License, https://github.com/leeoniya/uPlot */`,
    },
    write: false,
    metafile: true,
    outdir: "/playground",
    logLevel: "silent",
    absWorkingDir: WEB_DIR,
  });
}

/**
 * The page's assets: the bundle (`app.js`, `app.css`) plus `index.html`. Nothing is written to
 * disk, so a clean clone serves the page after `npm ci`.
 */
export async function buildPlayground(): Promise<Map<string, Asset>> {
  const result = await bundlePlayground();
  const assets = new Map<string, Asset>();
  for (const file of result.outputFiles) assets.set(basename(file.path), asset(file.path, file.contents));
  assets.set("index.html", asset("index.html", await readFile(join(WEB_DIR, "index.html"))));
  return assets;
}

let built: Promise<Map<string, Asset>> | undefined;

/** The bundle, built on first use and kept; a failed build is retried by the next request. */
function playgroundAssets(): Promise<Map<string, Asset>> {
  built ??= buildPlayground().catch((err: unknown) => {
    built = undefined;
    throw err;
  });
  return built;
}

async function send(request: FastifyRequest, reply: FastifyReply, name: string) {
  const file = (await playgroundAssets()).get(name);
  if (!file) throw Object.assign(new Error(`the playground bundle has no ${name}`), { statusCode: 500 });
  reply.header("cache-control", "no-cache").header("etag", file.etag);
  if (request.headers["if-none-match"] === file.etag) return reply.code(304).send();
  return reply.type(file.type).send(file.body);
}

/**
 * The playground page at `/` and its bundle under `/playground/` (hidden from the OpenAPI
 * document). The page is a client of the public API only.
 */
const playground: FastifyPluginAsync = async (app) => {
  const hide = { schema: { hide: true } };
  app.get("/", hide, (request, reply) => send(request, reply, "index.html"));
  app.get("/playground/app.js", hide, (request, reply) => send(request, reply, "app.js"));
  app.get("/playground/app.css", hide, (request, reply) => send(request, reply, "app.css"));
};

export default playground;
