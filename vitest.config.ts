import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    // HTTP tests start worker threads and train small models; engine tests compare with tfjs.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
