import type { FastifyInstance } from "fastify";
import pino from "pino";
import { configWarnings, loadConfigOrExit } from "./config.js";
import { buildApp } from "./http/app.js";
import { closeOnSignals } from "./shutdown.js";

const config = loadConfigOrExit();
let app: FastifyInstance;
try {
  app = await buildApp({ config });
  for (const warning of configWarnings(config)) app.log.warn(warning);
  // Plugins start here (migrations, the job queue's connection): a failure is one line, not a stack.
  await app.ready();
} catch (err) {
  pino().fatal({ reason: err instanceof Error ? err.message : String(err) }, "could not start");
  process.exit(1);
}

// On SIGTERM/SIGINT (or a crash): stop accepting connections, interrupt running jobs (they
// resume from their checkpoint at the next start), let running requests finish (the pool drains
// in onClose), then exit. The same signal repeated within a second (a process group signalled
// as a whole: npm, this process) is the same stop; a later one, or SHUTDOWN_TIMEOUT_MS, forces
// the exit (code 1).
closeOnSignals({ delayMs: config.shutdownTimeoutMs, log: app.log }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, "shutting down after an error");
  else app.log.info({ requests: app.requestsInFlight, signal }, "shutting down");
  await app.close();
});

try {
  await app.listen({ port: config.port, host: config.host });
} catch (err) {
  // A port in use, a host that does not resolve: one line, as for the rest of the start.
  const reason = err instanceof Error ? err.message : String(err);
  pino().fatal({ reason, port: config.port, host: config.host }, "could not start");
  await app.close().catch(() => undefined);
  process.exit(1);
}
app.log.info(
  config.apiKeys.length > 0
    ? `access control on: ${config.apiKeys.length} API key(s) (API_KEYS)`
    : "access control off: API_KEYS is unset, every client is served",
);
