/**
 * Headless Chromium for the browser tests: Debian's `chromium` (set CHROMIUM_PATH for another),
 * driven by playwright-core. Browser downloads do not work here, and as root Chromium needs
 * `--no-sandbox`; nothing is allowed to call home.
 */
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { type Browser, chromium } from "playwright-core";
import { buildTestApp } from "../http/helper.js";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Whether the browser tests run: always in CI (.ci/run installs Chromium, so a missing one is a
 * failure there), elsewhere only when Chromium is installed.
 */
export const browserTestsRun = existsSync(CHROMIUM) || Boolean(process.env.CI);

if (!browserTestsRun)
  console.warn(
    `test/browser: SKIPPED — no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH). ` +
      "In CI (.ci/run installs it) these tests always run.",
  );

/** Launches headless Chromium with the flags this machine needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout: 20_000,
  });
}

/**
 * A browser test file's fixture: the test app (`env` over its defaults) listening on a free
 * loopback port, its base URL, and headless Chromium. The caller closes both (browser first).
 */
export async function servePlayground(
  env: Record<string, string> = {},
): Promise<{ app: FastifyInstance; base: string; browser: Browser }> {
  const app = await buildTestApp(env);
  await app.listen({ port: 0, host: "127.0.0.1" });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { app, base, browser: await launchChromium() };
}
