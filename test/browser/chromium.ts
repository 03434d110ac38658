/**
 * Headless Chromium for the browser tests: Debian's `chromium` (set CHROMIUM_PATH for another),
 * driven by playwright-core. Browser downloads do not work here, and as root Chromium needs
 * `--no-sandbox`; nothing is allowed to call home.
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

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
