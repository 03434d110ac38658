// Matrix products over float64 and float32, the three src/engine/matmul.ts needs, reading the JS
// typed arrays in place (docs/kernels.md). The kernel itself is gemm-body.h, compiled for
// AVX-512, AVX2 and a portable vector width, chosen at run time by what the CPU supports. Large
// products are split by output blocks over the calling thread and a small pool of low-priority
// helper threads (gemm-pool.h): each element is summed by one thread in the fixed order, so the
// bits do not depend on the number of threads or their timing.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "gemm-pool.h"
#include "isa.h"
#include "kernels.h"

namespace {

// How the product lands in c (the same codes as src/engine/wasm/gemm.ts).
constexpr int kSet = 0;
constexpr int kSetBias = 1;
constexpr int kAdd = 2;

// `c[m, n] (mode) op(A)·op(B)`: op(A)[i, p] = a[i·ars + p·acs], op(B)[p, j] = b[p·brs + j·bcs],
// c row-major `[m, n]`, bias `[n]` for kSetBias.
template <typename T>
struct Product {
  const T *a;
  long ars, acs;
  const T *b;
  long brs, bcs;
  T *c;
  int m, k, n;
  int mode;
  const T *bias;
};

// A thread's packing buffers, 64-byte aligned, grown on demand and kept for the next call.
class Scratch {
 public:
  template <typename T>
  T *Get(int slot, size_t count) {
    const size_t bytes = (count * sizeof(T) + 63) / 64 * 64;
    if (size_[slot] < bytes) {
      std::free(buf_[slot]);
      buf_[slot] = std::aligned_alloc(64, bytes);
      if (!buf_[slot]) throw std::bad_alloc();
      size_[slot] = bytes;
    }
    return static_cast<T *>(buf_[slot]);
  }
  ~Scratch() {
    for (void *p : buf_) std::free(p);
  }

 private:
  void *buf_[3] = {nullptr, nullptr, nullptr};
  size_t size_[3] = {0, 0, 0};
};

thread_local Scratch scratch;

}  // namespace

// The portable path: 16-byte vectors (SSE2 on x86-64, NEON on arm64, emulated elsewhere).
#define GEMM_NS portable
#define GEMM_VB 16
#include "gemm-body.h"
#undef GEMM_NS
#undef GEMM_VB

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GEMM_X86 1
// Functions of these namespaces are compiled with __attribute__((target(...))) and only called
// after __builtin_cpu_supports said the CPU has the instructions.
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif
#define GEMM_NS avx2
#define GEMM_VB 32
#include "gemm-body.h"
#undef GEMM_NS
#undef GEMM_VB
#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw"))), apply_to = function)
#else
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw")
#endif
#define GEMM_NS avx512
#define GEMM_VB 64
#include "gemm-body.h"
#undef GEMM_NS
#undef GEMM_VB
// 256-bit vectors with AVX-512's 32 registers, for outputs 8 float32 or 4 float64 wide.
#define GEMM_NS avx512y
#define GEMM_VB 32
#include "gemm-body.h"
#undef GEMM_NS
#undef GEMM_VB
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif

namespace {

using isa::Isa;

#include "gemm-run.inc"

// ---- N-API ----------------------------------------------------------------------------------

bool Throw(napi_env env, bool range, const char *message) {
  if (range)
    napi_throw_range_error(env, "ERR_ENGINE_KERNEL", message);
  else
    napi_throw_type_error(env, "ERR_ENGINE_KERNEL", message);
  return false;
}

struct Array {
  napi_typedarray_type type;
  void *data;
  size_t length;
};

bool GetArray(napi_env env, napi_value v, const char *name, Array &out) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) {
    char msg[96];
    std::snprintf(msg, sizeof msg, "%s must be a Float64Array or a Float32Array", name);
    return Throw(env, false, msg);
  }
  napi_value buffer;
  size_t offset;
  napi_get_typedarray_info(env, v, &out.type, &out.length, &out.data, &buffer, &offset);
  if (out.type != napi_float64_array && out.type != napi_float32_array) {
    char msg[96];
    std::snprintf(msg, sizeof msg, "%s must be a Float64Array or a Float32Array", name);
    return Throw(env, false, msg);
  }
  return true;
}

bool GetSize(napi_env env, napi_value v, const char *name, int &out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    char msg[64];
    std::snprintf(msg, sizeof msg, "%s must be a number", name);
    return Throw(env, false, msg);
  }
  if (!(d >= 0 && d <= 2147483647.0) || d != static_cast<double>(static_cast<long>(d))) {
    char msg[96];
    std::snprintf(msg, sizeof msg, "%s must be an integer from 0 to 2^31-1", name);
    return Throw(env, true, msg);
  }
  out = static_cast<int>(d);
  return true;
}

bool CheckLength(napi_env env, const Array &x, double need, const char *name) {
  if (static_cast<double>(x.length) < need) {
    char msg[128];
    std::snprintf(msg, sizeof msg, "%s has %zu elements, the shape needs %.0f", name, x.length, need);
    return Throw(env, true, msg);
  }
  return true;
}

// The shape of each export: which of (m, k, n) the arguments are and how a, b, c are read.
enum class Shape { kPlain, kTransB, kTransA };

template <typename T>
void RunTyped(Shape shape, const Array &a, const Array &b, const Array &c, const Array *bias, int d0,
              int d1, int d2) {
  Product<T> x{};
  x.a = static_cast<const T *>(a.data);
  x.b = static_cast<const T *>(b.data);
  x.c = static_cast<T *>(c.data);
  x.bias = bias ? static_cast<const T *>(bias->data) : nullptr;
  switch (shape) {
    case Shape::kPlain:  // c[m, n] = a[m, k]·b[k, n] (+ bias): (d0, d1, d2) = (m, k, n)
      x.m = d0, x.k = d1, x.n = d2;
      x.ars = d1, x.acs = 1, x.brs = d2, x.bcs = 1;
      x.mode = bias ? kSetBias : kSet;
      break;
    case Shape::kTransB:  // c[m, k] = a[m, n]·b[k, n]ᵀ: (d0, d1, d2) = (m, n, k)
      x.m = d0, x.k = d1, x.n = d2;
      x.ars = d1, x.acs = 1, x.brs = 1, x.bcs = d1;
      x.mode = kSet;
      break;
    case Shape::kTransA:  // c[k, n] += a[m, k]ᵀ·b[m, n]: (d0, d1, d2) = (m, k, n)
      x.m = d1, x.k = d0, x.n = d2;
      x.ars = 1, x.acs = d1, x.brs = d2, x.bcs = 1;
      x.mode = kAdd;
      break;
  }
  Run(x);
}

napi_value Call(napi_env env, napi_callback_info info, Shape shape) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 6) {
    Throw(env, false, "expected (a, b, c, and three sizes)");
    return nullptr;
  }
  Array a, b, c, bias;
  int d0, d1, d2;
  if (!GetArray(env, argv[0], "a", a) || !GetArray(env, argv[1], "b", b) || !GetArray(env, argv[2], "c", c) ||
      !GetSize(env, argv[3], "the first size", d0) || !GetSize(env, argv[4], "the second size", d1) ||
      !GetSize(env, argv[5], "the third size", d2))
    return nullptr;
  bool hasBias = false;
  if (argc > 6 && shape == Shape::kPlain) {
    napi_valuetype t;
    napi_typeof(env, argv[6], &t);
    if (t != napi_undefined && t != napi_null) {
      if (!GetArray(env, argv[6], "bias", bias)) return nullptr;
      hasBias = true;
    }
  }
  if (b.type != a.type || c.type != a.type || (hasBias && bias.type != a.type)) {
    Throw(env, false, "a, b, c (and bias) must all be Float64Arrays or all Float32Arrays");
    return nullptr;
  }
  const double s0 = d0, s1 = d1, s2 = d2;
  // (a, b, c) lengths: plain (m·k, k·n, m·n); transB (m·n, k·n, m·k); transA (m·k, m·n, k·n).
  if (!CheckLength(env, a, s0 * s1, "a") || !CheckLength(env, b, shape == Shape::kTransA ? s0 * s2 : s1 * s2, "b") ||
      !CheckLength(env, c, shape == Shape::kPlain ? s0 * s2 : shape == Shape::kTransB ? s0 * s2 : s1 * s2, "c") ||
      (hasBias && !CheckLength(env, bias, s2, "bias")))
    return nullptr;
  try {
    if (a.type == napi_float64_array)
      RunTyped<double>(shape, a, b, c, hasBias ? &bias : nullptr, d0, d1, d2);
    else
      RunTyped<float>(shape, a, b, c, hasBias ? &bias : nullptr, d0, d1, d2);
  } catch (const std::bad_alloc &) {
    napi_throw_range_error(env, "ERR_ENGINE_KERNEL", "out of memory for the packing buffers");
  }
  return nullptr;
}

napi_value Matmul(napi_env env, napi_callback_info info) { return Call(env, info, Shape::kPlain); }
napi_value MatmulTransB(napi_env env, napi_callback_info info) { return Call(env, info, Shape::kTransB); }
napi_value MatmulTransA(napi_env env, napi_callback_info info) { return Call(env, info, Shape::kTransA); }

// poolStats(): how the pool has run products since the process started: { split, alone, late,
// slept } (split over threads; run alone by the back-off after a late helper; found the helper
// late; a helper's watch ran out and it slept).
napi_value PoolStats(napi_env env, napi_callback_info) {
  napi_value result, v;
  napi_create_object(env, &result);
  napi_create_double(env, static_cast<double>(gemm_pool::splitCount.load()), &v);
  napi_set_named_property(env, result, "split", v);
  napi_create_double(env, static_cast<double>(gemm_pool::backedOffCount.load()), &v);
  napi_set_named_property(env, result, "alone", v);
  napi_create_double(env, static_cast<double>(gemm_pool::lateCount.load()), &v);
  napi_set_named_property(env, result, "late", v);
  napi_create_double(env, static_cast<double>(gemm_pool::sleptCount.load()), &v);
  napi_set_named_property(env, result, "slept", v);
  return result;
}

// setThreads(threads, minWork?): the process-wide thread count (1: no helpers) and the smallest
// m·k·n worth splitting; returns the previous settings as { threads, minWork }.
napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  napi_value result, v;
  napi_create_object(env, &result);
  napi_create_int32(env, gemm_pool::Threads(), &v);
  napi_set_named_property(env, result, "threads", v);
  napi_create_double(env, gemm_pool::MinWork(), &v);
  napi_set_named_property(env, result, "minWork", v);
  int threads;
  if (argc < 1 || !GetSize(env, argv[0], "threads", threads)) return nullptr;
  if (threads < 1 || threads > 64) {
    Throw(env, true, "threads must be from 1 to 64");
    return nullptr;
  }
  double minWork = gemm_pool::MinWork();
  if (argc > 1) {
    napi_valuetype t;
    napi_typeof(env, argv[1], &t);
    if (t != napi_undefined) {
      if (napi_get_value_double(env, argv[1], &minWork) != napi_ok || !(minWork >= 0)) {
        Throw(env, false, "minWork must be a number ≥ 0");
        return nullptr;
      }
    }
  }
  gemm_pool::Configure(threads, minWork);
  return result;
}

// selectKernels(name): runs the products and the convolution kernels (conv.cc) on a lesser
// instruction set than the CPU's best (`native-avx2`, `native`), process-wide, so tests can check
// every path on one machine; returns the previous name. RangeError for a name the CPU cannot run.
napi_value SelectKernels(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  char name[32] = {0};
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    Throw(env, false, "expected a kernels name");
    return nullptr;
  }
  Isa want;
  if (!isa::FromName(name, want)) {
    Throw(env, true, "kernels must be native-avx512, native-avx2 or native");
    return nullptr;
  }
  if (static_cast<int>(want) > static_cast<int>(isa::kDetected)) {
    Throw(env, true, "this CPU cannot run those kernels");
    return nullptr;
  }
  napi_value previous;
  napi_create_string_utf8(env, isa::Name(isa::inUse.exchange(want)), NAPI_AUTO_LENGTH, &previous);
  return previous;
}

}  // namespace

napi_status RegisterGemm(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
      {"matmul", nullptr, Matmul, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"matmulTransB", nullptr, MatmulTransB, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"matmulTransA", nullptr, MatmulTransA, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"poolStats", nullptr, PoolStats, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"selectKernels", nullptr, SelectKernels, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_status s = napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns);
  if (s != napi_ok) return s;
  napi_value name;
  s = napi_create_string_utf8(env, isa::Name(isa::kDetected), NAPI_AUTO_LENGTH, &name);
  if (s != napi_ok) return s;
  return napi_set_named_property(env, exports, "kernels", name);
}
