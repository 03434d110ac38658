// The optimisers' per-parameter updates (SGD with and without momentum, Adam and AdamW) on
// float64 and float32 typed arrays read in place, each in one pass that also copies the weights
// aside and checks the gradient, the moment and the new weight are finite, bit-identical to the
// TypeScript updates (src/engine/optimizers/; docs/performance.md, "Dense networks").
//
// The kernels (optim-kernels.inc) are compiled three times — AVX-512F, AVX2, and the portable build
// (16-byte vectors) — and run the instruction set isa.h says, the one switch shared with the
// products and the convolution kernels (`selectKernels`). All three give the same bits.
//
// JS API (a bad argument throws a TypeError or RangeError, never crashes):
//   optimSgd(w, g, keep, velocity | null, lr, momentum, nesterov) → flags
//   optimAdam(w, g, keep, m, v, lr, beta1, beta2, epsilon, c1, c2, decay) → flags
// w, g, keep and the slots: one element type, one length, no two overlapping. flags: 1 a
// non-finite gradient, 2 a non-finite moment (Adam's v̂), 4 a non-finite new weight
// (src/engine/optimizers/base.ts, BAD_GRADIENT, BAD_MOMENT, BAD_WEIGHT).
#include <cstdint>
#include <cstring>
#include <string>

// The argument checks the convolution kernels use; not all of them are needed here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "conv-args.h"
#pragma GCC diagnostic pop
#include "isa.h"
#include "kernels.h"

namespace optim_portable {
constexpr int kVectorBytes = 16;
#include "optim-kernels.inc"
}  // namespace optim_portable

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define OPTIM_X86 1
#pragma GCC push_options
#pragma GCC target("avx2")
namespace optim_avx2 {
constexpr int kVectorBytes = 32;
#include "optim-kernels.inc"
}  // namespace optim_avx2
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f")
namespace optim_avx512 {
constexpr int kVectorBytes = 64;
#include "optim-kernels.inc"
}  // namespace optim_avx512
#pragma GCC pop_options
#endif

namespace {

#ifdef OPTIM_X86
#define OPTIM_DISPATCH(call)                                  \
  (isa::InUse() == isa::Isa::kAvx512 ? optim_avx512::call     \
   : isa::InUse() == isa::Isa::kAvx2 ? optim_avx2::call         \
                                     : optim_portable::call)
#else
#define OPTIM_DISPATCH(call) optim_portable::call
#endif

napi_value Int(napi_env env, int flags) {
  napi_value out;
  Check(env, napi_create_int32(env, flags, &out));
  return out;
}

double GetNumber(napi_env env, napi_value v, const char *name) {
  double x = 0;
  if (napi_get_value_double(env, v, &x) != napi_ok) TypeFail(std::string(name) + " must be a number");
  return x;
}

bool GetBool(napi_env env, napi_value v, const char *name) {
  bool b = false;
  if (napi_get_value_bool(env, v, &b) != napi_ok) TypeFail(std::string(name) + " must be a boolean");
  return b;
}

// Every array against every other: none may overlap.
void AllDisjoint(std::initializer_list<std::pair<const Array *, const char *>> arrays) {
  for (auto a = arrays.begin(); a != arrays.end(); ++a)
    for (auto b = a + 1; b != arrays.end(); ++b) Disjoint(*a->first, a->second, {b->first});
}

napi_value OptimSgdJs(napi_env env, napi_callback_info info) {
  return Call(env, info, 7, [&](napi_value *a) {
    const Array w = GetFloats(env, a[0], "w", GetArray(env, a[0], "w").type, -1);
    const Array g = GetFloats(env, a[1], "g", w.type, w.length);
    const Array keep = GetFloats(env, a[2], "keep", w.type, w.length);
    const bool momentum = !IsNullish(env, a[3]);
    const Array v = momentum ? GetFloats(env, a[3], "velocity", w.type, w.length) : Array{w.type, nullptr, 0};
    const double lr = GetNumber(env, a[4], "lr");
    const double mu = GetNumber(env, a[5], "momentum");
    const bool nesterov = GetBool(env, a[6], "nesterov");
    AllDisjoint({{&w, "w"}, {&g, "g"}, {&keep, "keep"}, {&v, "velocity"}});
    if (w.type == napi_float64_array)
      return Int(env, OPTIM_DISPATCH(Sgd(P<double>(w), P<double>(g), P<double>(keep),
                                         momentum ? P<double>(v) : nullptr, w.length, lr, mu, nesterov)));
    return Int(env, OPTIM_DISPATCH(Sgd(P<float>(w), P<float>(g), P<float>(keep),
                                       momentum ? P<float>(v) : nullptr, w.length, lr, mu, nesterov)));
  });
}

napi_value OptimAdamJs(napi_env env, napi_callback_info info) {
  return Call(env, info, 12, [&](napi_value *a) {
    const Array w = GetFloats(env, a[0], "w", GetArray(env, a[0], "w").type, -1);
    const Array g = GetFloats(env, a[1], "g", w.type, w.length);
    const Array keep = GetFloats(env, a[2], "keep", w.type, w.length);
    const Array m = GetFloats(env, a[3], "m", w.type, w.length);
    const Array v = GetFloats(env, a[4], "v", w.type, w.length);
    const double lr = GetNumber(env, a[5], "lr");
    const double b1 = GetNumber(env, a[6], "beta1");
    const double b2 = GetNumber(env, a[7], "beta2");
    const double eps = GetNumber(env, a[8], "epsilon");
    const double c1 = GetNumber(env, a[9], "c1");
    const double c2 = GetNumber(env, a[10], "c2");
    const double decay = GetNumber(env, a[11], "decay");
    AllDisjoint({{&w, "w"}, {&g, "g"}, {&keep, "keep"}, {&m, "m"}, {&v, "v"}});
    if (w.type == napi_float64_array)
      return Int(env, OPTIM_DISPATCH(Adam(P<double>(w), P<double>(g), P<double>(keep), P<double>(m),
                                          P<double>(v), w.length, lr, b1, b2, eps, c1, c2, decay)));
    return Int(env, OPTIM_DISPATCH(Adam(P<float>(w), P<float>(g), P<float>(keep), P<float>(m), P<float>(v),
                                        w.length, lr, b1, b2, eps, c1, c2, decay)));
  });
}

}  // namespace

napi_status RegisterOptim(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"optimSgd", nullptr, OptimSgdJs, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"optimAdam", nullptr, OptimAdamJs, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
