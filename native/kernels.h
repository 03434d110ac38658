// The engine's native kernels: each source file registers its functions on the addon's exports.
// Loaded by src/native/kernels.ts; the engine reaches them through src/engine/native.ts.
#pragma once
#include <node_api.h>

// Adds the matrix-product functions (gemm.cc) to `exports`.
napi_status RegisterGemm(napi_env env, napi_value exports);
// Adds the convolution functions (conv.cc) to `exports`.
napi_status RegisterConv(napi_env env, napi_value exports);
// Adds relu, max pooling and allFinite (layers.cc) to `exports`.
napi_status RegisterLayers(napi_env env, napi_value exports);
// Adds the optimiser updates (optim.cc) to `exports`.
napi_status RegisterOptim(napi_env env, napi_value exports);
