// `npm install` / `npm ci` runs this: builds the engine's native kernels (binding.gyp, native/)
// with node-gyp, as better-sqlite3 builds its own. A failed build is not an error: the engine
// then runs its WebAssembly and TypeScript kernels, which give the same bits, only slower
// (docs/kernels.md). NATIVE_KERNELS=off skips the build.
const { spawnSync } = require("node:child_process");

if (process.env.NATIVE_KERNELS === "off") {
  console.log("engine native kernels: skipped (NATIVE_KERNELS=off)");
  process.exit(0);
}
const result = spawnSync("node-gyp", ["rebuild"], { stdio: "inherit", shell: process.platform === "win32" });
if (result.status !== 0) {
  console.warn(
    "engine native kernels: the build failed (see above); the engine will use its WebAssembly kernels, " +
      "which compute the same values more slowly. Install python3, make and a C++ compiler, then `npm run build:native`.",
  );
}
process.exit(0);
