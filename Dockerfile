# syntax=docker/dockerfile:1
# The service runs its TypeScript directly with tsx (a runtime dependency), so there is no
# compile step: stage 1 installs production dependencies, stage 2 is the slim runtime.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
# better-sqlite3 compiles its native module when no prebuilt binary can be downloaded, and the
# install script builds the engine's native kernels (binding.gyp, native/) the same way.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json binding.gyp ./
COPY native ./native
COPY scripts/build-native.cjs ./scripts/
RUN npm ci --omit=dev && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data
# Production: turn access control on at `docker run` (never bake keys into the image), e.g.
#   docker run -p 3000:3000 -v bp-data:/app/data --env-file prod.env backprop-service
# with prod.env holding
#   API_KEYS=<key1>,<key2>        # one per client, each from `openssl rand -hex 32`; 401 without one
#   RATE_LIMIT_MAX=600            # requests per key (or IP) per RATE_LIMIT_WINDOW_MS (60 s); 429 beyond
#   WORKER_MAX_HEAP_MB=2048       # a worker over it fails its own request alone (503)
#   CORS_ORIGINS=https://app.example   # only if browsers on another origin call the API
# /health, /ready, /docs and the playground (/) stay public; README "Access control" has the rest.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/build/Release/engine_kernels.node ./build/Release/
COPY package.json tsconfig.json ./
COPY src ./src
# The playground page at / (bundled by esbuild, a runtime dependency, into memory on first request).
COPY web ./web
# Jobs and stored data sets (SQLite): the one directory the service writes; mount a volume there.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]
# Files stay root-owned and read-only to the service; it runs as the image's unprivileged user.
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1 (not npm), so SIGTERM reaches the graceful-shutdown handler directly.
CMD ["node", "--import", "tsx", "src/server.ts"]
