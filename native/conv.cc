// Convolution kernels for the engine's conv2d layer, on float64 and float32 typed arrays read in
// place. Bit-identical to the TypeScript layer (docs/performance.md, "Convolution"):
// conv-kernels.inc says in what order. Relu and max pooling are in layers.cc.
//
// The kernels are compiled three times (conv-kernels.inc, conv-direct.inc) and run on the instruction set isa.h
// names, the matrix products' (AVX-512, AVX2, or the portable build: 16-byte vectors, SSE2 on
// x86-64, NEON on arm64, plain C elsewhere). All three give the same bits; `selectKernels`
// (gemm.cc) switches both kinds of kernels at once so the tests can check that.
//
// convForward, convInputGrad and convFilterGrad above setThreads' minWork run on the matrix
// products' thread pool (gemm-pool.h), their outputs cut into parts (Split below): the same bits
// on any number of threads.
//
// JS API (arguments are checked in conv-args.h; a bad call throws a TypeError or RangeError,
// never crashes):
//   geometry: Int32Array [batch, inH, inW, channels, kH, kW, strideH, strideW, padTop, padLeft,
//             outH, outW, filters] (for pooling, filters = channels)
//   convForward(geometry, x, kernel, bias | null, y, relu)  y = cols·K + bias (relu: max(·, 0))
//   convFilterGrad(geometry, x, dy, kernelGrad, biasGrad?)   ∂K += colsᵀ·∂Y (and convBiasGrad's ∂b)
//   convBiasGrad(geometry, dy, biasGrad)                     ∂b += Σ_rows ∂Y
//   convInputGrad(geometry, dy, kernel, dx)                  ∂X = col2im(∂Y·Kᵀ)
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "conv-args.h"
#include "conv.h"
#include "gemm-pool.h"
#include "isa.h"
#include "kernels.h"

namespace portable {
constexpr int kVectorBytes = 16;
#include "vec.inc"
#include "conv-kernels.inc"
#include "conv-direct.inc"
}  // namespace portable

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CONV_X86 1
#pragma GCC push_options
#pragma GCC target("avx2")
namespace avx2 {
constexpr int kVectorBytes = 32;
#include "vec.inc"
#include "conv-kernels.inc"
#include "conv-direct.inc"
}  // namespace avx2
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f")
namespace avx512 {
constexpr int kVectorBytes = 64;
#include "vec.inc"
#include "conv-kernels.inc"
#include "conv-direct.inc"
}  // namespace avx512
#pragma GCC pop_options
#endif

namespace {

#ifdef CONV_X86
#define DISPATCH(call)                           \
  switch (isa::InUse()) {                        \
    case isa::Isa::kAvx512: avx512::call; break; \
    case isa::Isa::kAvx2: avx2::call; break;     \
    default: portable::call; break;              \
  }
#else
#define DISPATCH(call) portable::call
#endif

template <typename T>
void Forward(const ConvShape &s, const T *x, const T *k, const T *b, T *y, bool relu, int64_t b0, int64_t b1) {
  if (portable::DirectForwardFits(s)) {
    DISPATCH(DirectForwardAny<T>(s, x, k, b, y, relu, b0, b1));
  } else {
    DISPATCH(Forward<T>(s, x, k, b, y, relu, b0, b1));
  }
}
template <typename T>
void FilterGrad(const ConvShape &s, const T *x, const T *dy, T *dk, int64_t p0, int64_t p1) {
  DISPATCH(FilterGrad<T>(s, x, dy, dk, p0, p1));
}
// ∂K rows [p0, p1), and ∂b with db, read straight from a single-channel x (conv-direct.inc) where
// the instruction set in use can; false (nothing computed) where it cannot.
template <typename T>
bool DirectFilterGrad(const ConvShape &s, const T *x, const T *dy, T *dk, T *db, int64_t p0, int64_t p1) {
#ifdef CONV_X86
  switch (isa::InUse()) {
    case isa::Isa::kAvx512: return avx512::DirectFilterGradAny<T>(s, x, dy, dk, db, p0, p1);
    case isa::Isa::kAvx2: return avx2::DirectFilterGradAny<T>(s, x, dy, dk, db, p0, p1);
    default: break;
  }
#endif
  return portable::DirectFilterGradAny<T>(s, x, dy, dk, db, p0, p1);
}
template <typename T>
void InputGrad(const ConvShape &s, const T *dy, const T *k, T *dx, int64_t b0, int64_t b1) {
  DISPATCH(InputGrad<T>(s, dy, k, dx, b0, b1));
}

template <typename T> void BiasGradDispatch(const T *dy, T *db, int64_t rows, int64_t F) {
  DISPATCH(BiasGrad<T>(dy, db, rows, F));
}

}  // namespace

void ConvForwardRange(const ConvShape &s, const double *x, const double *k, const double *bias,
                      double *y, bool relu, int64_t b0, int64_t b1) {
  Forward(s, x, k, bias, y, relu, b0, b1);
}
void ConvForwardRange(const ConvShape &s, const float *x, const float *k, const float *bias, float *y,
                      bool relu, int64_t b0, int64_t b1) {
  Forward(s, x, k, bias, y, relu, b0, b1);
}
void ConvFilterGradRange(const ConvShape &s, const double *x, const double *dy, double *dk, int64_t p0,
                         int64_t p1) {
  if (!DirectFilterGrad<double>(s, x, dy, dk, nullptr, p0, p1)) FilterGrad(s, x, dy, dk, p0, p1);
}
void ConvFilterGradRange(const ConvShape &s, const float *x, const float *dy, float *dk, int64_t p0,
                         int64_t p1) {
  if (!DirectFilterGrad<float>(s, x, dy, dk, nullptr, p0, p1)) FilterGrad(s, x, dy, dk, p0, p1);
}
void ConvInputGradRange(const ConvShape &s, const double *dy, const double *k, double *dx, int64_t b0,
                        int64_t b1) {
  InputGrad(s, dy, k, dx, b0, b1);
}
void ConvInputGradRange(const ConvShape &s, const float *dy, const float *k, float *dx, int64_t b0,
                        int64_t b1) {
  InputGrad(s, dy, k, dx, b0, b1);
}

namespace {

// Both cores for one convolution (docs/kernels.md, "Threads"): above the matrix products' work
// threshold (setThreads' minWork, counted as their m·k·n: rows × kernel rows × filters), the
// OUTPUTS are cut into parts that the caller and the gemm pool's helpers take one at a time —
// samples for the forward pass and ∂X, kernel rows for ∂K. Every sum stays whole in one call of
// a range function (conv.h), so the bits are those of one thread, whatever the thread count.

// fn(begin, end) over [0, n) cut into at most `maxParts` near-equal ranges whose inner edges are
// multiples of `align`, on the caller and the helpers; one call over everything below the threshold.
template <typename F> void Split(const ConvShape &s, int64_t n, int64_t maxParts, int64_t align, F &&fn) {
  const int threads = gemm_pool::Threads();
  const double work = static_cast<double>(s.batch) * s.outH * s.outW * s.kH * s.kW * s.channels * s.filters;
  const int64_t parts = threads <= 1 || work < gemm_pool::MinWork() ? 1 : std::min(maxParts, n / align);
  if (parts <= 1) {
    fn(int64_t{0}, n);
    return;
  }
  const auto edge = [&](long t) { return t == parts ? n : (n * t / parts + align / 2) / align * align; };
  gemm_pool::Parallel(static_cast<long>(parts), threads, [&](long t) { fn(edge(t), edge(t + 1)); });
}

// The forward pass and ∂X by samples, a few parts per thread so that a helper that wakes late
// still takes a share (a part costs little more than its samples: K is repacked, a few hundred values).
void BySamples(const ConvShape &s, const std::function<void(int64_t, int64_t)> &fn) {
  Split(s, s.batch, 4 * gemm_pool::Threads(), 1, fn);
}

// ∂K by kernel rows, one part per thread of at least two 8-row register tiles (kTileTaps), cut
// at tile edges: every part reads all of ∂Y and the windows again, so a kernel of 9 rows (3×3×1)
// stays on one thread — split, the parts cost more than the whole (measured, docs/kernels.md).
void ByKernelRows(const ConvShape &s, const std::function<void(int64_t, int64_t)> &fn) {
  const int64_t rowLen = s.kH * s.kW * s.channels;
  Split(s, rowLen, std::min<int64_t>(gemm_pool::Threads(), rowLen / 16), 8, fn);
}

napi_value ConvForwardJs(napi_env env, napi_callback_info info) {
  return Call(env, info, 6, [&](napi_value *a) {
    const ConvShape s = GetShape(env, a[0]);
    const Array x0 = GetArray(env, a[1], "x");
    const Array x = GetFloats(env, a[1], "x", x0.type, InSize(s));
    const Array k = GetFloats(env, a[2], "kernel", x.type, KernelSize(s));
    const bool hasBias = !IsNullish(env, a[3]);
    const Array b = hasBias ? GetFloats(env, a[3], "bias", x.type, s.filters) : Array{x.type, nullptr, 0};
    const Array y = GetFloats(env, a[4], "y", x.type, OutSize(s));
    bool relu = false;
    Check(env, napi_get_value_bool(env, a[5], &relu));
    Disjoint(y, "y", {&x, &k, &b});
    BySamples(s, [&](int64_t b0, int64_t b1) {
      if (x.type == napi_float64_array)
        Forward(s, P<double>(x), P<double>(k), hasBias ? P<double>(b) : nullptr, P<double>(y), relu, b0, b1);
      else
        Forward(s, P<float>(x), P<float>(k), hasBias ? P<float>(b) : nullptr, P<float>(y), relu, b0, b1);
    });
    return Undefined(env);
  });
}

napi_value ConvFilterGradJs(napi_env env, napi_callback_info info) {
  return Call(env, info, 5, 4, [&](napi_value *a) {
    const ConvShape s = GetShape(env, a[0]);
    const Array x = GetFloats(env, a[1], "x", GetArray(env, a[1], "x").type, InSize(s));
    const Array dy = GetFloats(env, a[2], "dy", x.type, OutSize(s));
    const Array dk = GetFloats(env, a[3], "kernelGrad", x.type, KernelSize(s));
    Disjoint(dk, "kernelGrad", {&x, &dy});
    const bool hasBias = !IsNullish(env, a[4]);
    const Array db = hasBias ? GetFloats(env, a[4], "biasGrad", x.type, s.filters) : Array{x.type, nullptr, 0};
    if (hasBias) Disjoint(db, "biasGrad", {&x, &dy, &dk});
    const bool f64 = x.type == napi_float64_array;
    // Read straight from a single-channel x where the kernels can, ∂b from the same ∂Y loads (by
    // the part holding tap 0); otherwise from gathered windows, ∂b in a pass of its own.
    std::atomic<bool> biasDone{false};
    ByKernelRows(s, [&](int64_t p0, int64_t p1) {
      bool direct;
      if (f64)
        direct = DirectFilterGrad(s, P<double>(x), P<double>(dy), P<double>(dk), p0 == 0 ? P<double>(db) : nullptr, p0, p1);
      else
        direct = DirectFilterGrad(s, P<float>(x), P<float>(dy), P<float>(dk), p0 == 0 ? P<float>(db) : nullptr, p0, p1);
      if (direct && p0 == 0) biasDone = true;
      if (direct) return;
      if (f64)
        FilterGrad(s, P<double>(x), P<double>(dy), P<double>(dk), p0, p1);
      else
        FilterGrad(s, P<float>(x), P<float>(dy), P<float>(dk), p0, p1);
    });
    if (hasBias && !biasDone) {
      if (f64)
        BiasGradDispatch(P<double>(dy), P<double>(db), s.batch * s.outH * s.outW, s.filters);
      else
        BiasGradDispatch(P<float>(dy), P<float>(db), s.batch * s.outH * s.outW, s.filters);
    }
    return Undefined(env);
  });
}

napi_value ConvBiasGradJs(napi_env env, napi_callback_info info) {
  return Call(env, info, 3, [&](napi_value *a) {
    const ConvShape s = GetShape(env, a[0]);
    const Array dy = GetFloats(env, a[1], "dy", GetArray(env, a[1], "dy").type, OutSize(s));
    const Array db = GetFloats(env, a[2], "biasGrad", dy.type, s.filters);
    Disjoint(db, "biasGrad", {&dy});
    const int64_t rows = s.batch * s.outH * s.outW;
    if (dy.type == napi_float64_array)
      BiasGradDispatch(P<double>(dy), P<double>(db), rows, s.filters);
    else
      BiasGradDispatch(P<float>(dy), P<float>(db), rows, s.filters);
    return Undefined(env);
  });
}

napi_value ConvInputGradJs(napi_env env, napi_callback_info info) {
  return Call(env, info, 4, [&](napi_value *a) {
    const ConvShape s = GetShape(env, a[0]);
    const Array dy = GetFloats(env, a[1], "dy", GetArray(env, a[1], "dy").type, OutSize(s));
    const Array k = GetFloats(env, a[2], "kernel", dy.type, KernelSize(s));
    const Array dx = GetFloats(env, a[3], "dx", dy.type, InSize(s));
    Disjoint(dx, "dx", {&dy, &k});
    BySamples(s, [&](int64_t b0, int64_t b1) {
      if (dy.type == napi_float64_array)
        InputGrad(s, P<double>(dy), P<double>(k), P<double>(dx), b0, b1);
      else
        InputGrad(s, P<float>(dy), P<float>(k), P<float>(dx), b0, b1);
    });
    return Undefined(env);
  });
}

}  // namespace

napi_status RegisterConv(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"convForward", nullptr, ConvForwardJs, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convFilterGrad", nullptr, ConvFilterGradJs, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convBiasGrad", nullptr, ConvBiasGradJs, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convInputGrad", nullptr, ConvInputGradJs, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
