// Entry point of the engine's native kernels (binding.gyp target engine_kernels).
#include "kernels.h"

namespace {

// `build`: a short description of what was compiled, for engineVersion and the bench.
napi_value Init(napi_env env, napi_value exports) {
  napi_value build;
#if defined(__x86_64__)
  const char *arch = "x86_64";
#elif defined(__aarch64__)
  const char *arch = "arm64";
#else
  const char *arch = "generic";
#endif
  if (napi_create_string_utf8(env, arch, NAPI_AUTO_LENGTH, &build) != napi_ok) return nullptr;
  if (napi_set_named_property(env, exports, "build", build) != napi_ok) return nullptr;
  if (RegisterGemm(env, exports) != napi_ok) return nullptr;
  if (RegisterConv(env, exports) != napi_ok) return nullptr;
  if (RegisterLayers(env, exports) != napi_ok) return nullptr;
  if (RegisterOptim(env, exports) != napi_ok) return nullptr;
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
