# The engine's native kernels (native/), built at `npm install` by node-gyp, as better-sqlite3 is.
# When the build fails (no compiler), the engine runs its WebAssembly and TypeScript kernels
# instead; all paths compute every value by the same IEEE operations (docs/kernels.md).
{
  "targets": [
    {
      "target_name": "engine_kernels",
      "sources": ["native/addon.cc", "native/gemm.cc", "native/conv.cc", "native/layers.cc", "native/optim.cc"],
      # No fused multiply-add contraction and no fast-math: every product and sum is rounded as
      # the TypeScript reference rounds it, so native results are bit-identical to it.
      "cflags": ["-O3", "-ffp-contract=off", "-fno-fast-math"],
      "cflags_cc": ["-O3", "-std=c++17", "-ffp-contract=off", "-fno-fast-math"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O3", "-ffp-contract=off"],
        "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17", "-ffp-contract=off"]
      }
    }
  ]
}
