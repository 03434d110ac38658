// Relu, max pooling, the finiteness check of layer outputs and the copy of a batch's rows, for the
// engine's activation and maxPooling2d layers, its NaN forensics and its batch loop, on float64
// and float32 typed arrays read in place. Bit-identical to the TypeScript
// (src/engine/layers/activation.ts, pooling.ts, forensics.ts, training/batch-loop.ts;
// docs/performance.md, "Convolution"): pool-kernels.inc says in what order.
//
// The kernels are compiled three times (vec.inc, elementwise-kernels.inc, pool-kernels.inc) and
// run on the instruction set isa.h names, as the matrix products and convolutions do.
//
// JS API (arguments are checked in conv-args.h; a bad call throws a TypeError or RangeError,
// never crashes):
//   reluForward(x, y), reluBackward(y, dy, dx)
//   maxPoolForward(geometry, x, y, argmax), maxPoolBackward(dy, argmax, dx, geometry?, reluOutput?)
//     (geometry as conv.cc's, filters = channels)
//   allFinite(x) → whether every value of x is finite
//   gatherRows(src, order, start, count, rowLen, dst)  dst[r] = src[order[start + r]] (rows of
//     rowLen values; float64 or float32 each, converted as a typed array's store converts)
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

// The argument checks the convolution kernels use; not all of them are needed here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "conv-args.h"
#pragma GCC diagnostic pop
#include "isa.h"
#include "kernels.h"

namespace layers_portable {
constexpr int kVectorBytes = 16;
#include "vec.inc"
#include "elementwise-kernels.inc"
#include "pool-kernels.inc"
}  // namespace layers_portable

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LAYERS_X86 1
#pragma GCC push_options
#pragma GCC target("avx2")
namespace layers_avx2 {
constexpr int kVectorBytes = 32;
#include "vec.inc"
#include "elementwise-kernels.inc"
#include "pool-kernels.inc"
}  // namespace layers_avx2
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f")
namespace layers_avx512 {
constexpr int kVectorBytes = 64;
#include "vec.inc"
#include "elementwise-kernels.inc"
#include "pool-kernels.inc"
}  // namespace layers_avx512
#pragma GCC pop_options
#endif

namespace {

// The call on the instruction set in use, as an expression.
#ifdef LAYERS_X86
#define LAYERS_DISPATCH(call)                                  \
  (isa::InUse() == isa::Isa::kAvx512 ? layers_avx512::call     \
   : isa::InUse() == isa::Isa::kAvx2 ? layers_avx2::call         \
                                     : layers_portable::call)
#else
#define LAYERS_DISPATCH(call) layers_portable::call
#endif

template <typename T, typename I> void MaxPool(const ConvShape &s, const T *x, T *y, I *arg) {
  LAYERS_DISPATCH(MaxPoolAny(s, x, y, arg));
}

// MaxPoolBackVec (pool-kernels.inc) where the geometry allows; false (nothing written) elsewhere.
template <typename T, typename I>
bool MaxPoolBackGeometry(const ConvShape &s, const T *dy, const I *arg, const T *relu, T *dx) {
  return LAYERS_DISPATCH(MaxPoolBackAny(s, dy, arg, relu, dx));
}

napi_value ReluForwardJs(napi_env env, napi_callback_info info) {
  return Call(env, info, 2, [&](napi_value *a) {
    const Array x = GetFloats(env, a[0], "x", GetArray(env, a[0], "x").type, -1);
    const Array y = GetFloats(env, a[1], "y", x.type, x.length);
    if (x.data != y.data) Disjoint(y, "y", {&x});
    if (x.type == napi_float64_array) {
      LAYERS_DISPATCH(ReluForward(P<double>(x), P<double>(y), x.length));
    } else {
      LAYERS_DISPATCH(ReluForward(P<float>(x), P<float>(y), x.length));
    }
    return Undefined(env);
  });
}

napi_value ReluBackwardJs(napi_env env, napi_callback_info info) {
  return Call(env, info, 3, [&](napi_value *a) {
    const Array y = GetFloats(env, a[0], "y", GetArray(env, a[0], "y").type, -1);
    const Array dy = GetFloats(env, a[1], "dy", y.type, y.length);
    const Array dx = GetFloats(env, a[2], "dx", y.type, y.length);
    if (dx.data != dy.data) Disjoint(dx, "dx", {&dy});
    Disjoint(dx, "dx", {&y});
    if (y.type == napi_float64_array) {
      LAYERS_DISPATCH(ReluBackward(P<double>(y), P<double>(dy), P<double>(dx), y.length));
    } else {
      LAYERS_DISPATCH(ReluBackward(P<float>(y), P<float>(dy), P<float>(dx), y.length));
    }
    return Undefined(env);
  });
}

napi_value MaxPoolForwardJs(napi_env env, napi_callback_info info) {
  return Call(env, info, 4, [&](napi_value *a) {
    const ConvShape s = GetShape(env, a[0]);
    if (s.filters != s.channels) RangeFail("geometry: pooling keeps the channels (filters = channels)");
    // Every window must hold at least one real cell (windowGeometry guarantees it).
    if (s.padTop >= s.kH || s.padLeft >= s.kW || (s.outH - 1) * s.strideH - s.padTop >= s.inH ||
        (s.outW - 1) * s.strideW - s.padLeft >= s.inW)
      RangeFail("geometry: a pooling window lies entirely in the padding");
    const Array x = GetFloats(env, a[1], "x", GetArray(env, a[1], "x").type, InSize(s));
    const Array y = GetFloats(env, a[2], "y", x.type, OutSize(s));
    const Array arg = GetArray(env, a[3], "argmax");
    if (arg.type != napi_float64_array && arg.type != napi_int32_array)
      TypeFail("argmax must be a Float64Array or an Int32Array");
    if (arg.length != OutSize(s)) RangeFail("argmax must have as many values as y");
    if (arg.type == napi_int32_array && InSize(s) > INT32_MAX) RangeFail("x is too large for Int32Array indices");
    Disjoint(y, "y", {&x, &arg});
    Disjoint(arg, "argmax", {&x});
    const bool f64 = x.type == napi_float64_array;
    if (arg.type == napi_float64_array) {
      if (f64) MaxPool(s, P<double>(x), P<double>(y), P<double>(arg));
      else MaxPool(s, P<float>(x), P<float>(y), P<double>(arg));
    } else {
      if (f64) MaxPool(s, P<double>(x), P<double>(y), P<int32_t>(arg));
      else MaxPool(s, P<float>(x), P<float>(y), P<int32_t>(arg));
    }
    return Undefined(env);
  });
}

// dx = 0, then dx[argmax[o]] += dy[o] for o in order; every index is checked before anything is
// written. With `relu` (the pooling's output y): += (y[o] > 0 ? dy[o] : 0), which is relu's
// backward of the sum (every window reaching a cell has that cell's value as its y).
template <typename T, typename I>
void MaxPoolBack(const T *dy, const I *arg, const T *relu, T *dx, int64_t n, int64_t size) {
  for (int64_t o = 0; o < n; o++) {
    const I i = arg[o];
    if (!(i >= 0 && i < size) || static_cast<I>(static_cast<int64_t>(i)) != i)
      RangeFail("argmax[" + std::to_string(o) + "] is not an index into dx");
  }
  std::fill(dx, dx + size, T(0));
  if (relu)
    for (int64_t o = 0; o < n; o++) dx[static_cast<int64_t>(arg[o])] += relu[o] > 0 ? dy[o] : T(0);
  else
    for (int64_t o = 0; o < n; o++) dx[static_cast<int64_t>(arg[o])] += dy[o];
}

template <typename T, typename I>
void MaxPoolBackward(const ConvShape *s, const T *dy, const I *arg, const T *relu, T *dx, int64_t n, int64_t size) {
  // With the forward pass's geometry and Int32Array indices, windows that never overlap are
  // written cell by cell (Float64Array indices are checked and scattered).
  if constexpr (std::is_same<I, int32_t>::value)
    if (s && MaxPoolBackGeometry(*s, dy, arg, relu, dx)) return;
  MaxPoolBack(dy, arg, relu, dx, n, size);
}

napi_value MaxPoolBackwardJs(napi_env env, napi_callback_info info) {
  return Call(env, info, 5, 3, [&](napi_value *a) {
    const Array dy = GetFloats(env, a[0], "dy", GetArray(env, a[0], "dy").type, -1);
    const Array arg = GetArray(env, a[1], "argmax");
    if (arg.type != napi_float64_array && arg.type != napi_int32_array)
      TypeFail("argmax must be a Float64Array or an Int32Array");
    if (arg.length != dy.length) RangeFail("argmax must have as many values as dy");
    const Array dx = GetFloats(env, a[2], "dx", dy.type, -1);
    Disjoint(dx, "dx", {&dy, &arg});
    ConvShape shape{};
    const bool hasShape = !IsNullish(env, a[3]);
    if (hasShape) {
      shape = GetShape(env, a[3]);
      if (shape.filters != shape.channels) RangeFail("geometry: pooling keeps the channels (filters = channels)");
      if (dy.length != OutSize(shape)) RangeFail("dy must have the geometry's output size");
      if (dx.length != InSize(shape)) RangeFail("dx must have the geometry's input size");
    }
    const bool hasRelu = !IsNullish(env, a[4]);
    const Array relu = hasRelu ? GetFloats(env, a[4], "reluOutput", dy.type, dy.length) : Array{dy.type, nullptr, 0};
    if (hasRelu) Disjoint(dx, "dx", {&relu});
    const ConvShape *s = hasShape ? &shape : nullptr;
    const int64_t n = dy.length, size = dx.length;
    if (dy.type == napi_float64_array) {
      if (arg.type == napi_float64_array)
        MaxPoolBackward(s, P<double>(dy), P<double>(arg), P<double>(relu), P<double>(dx), n, size);
      else
        MaxPoolBackward(s, P<double>(dy), P<int32_t>(arg), P<double>(relu), P<double>(dx), n, size);
    } else {
      if (arg.type == napi_float64_array)
        MaxPoolBackward(s, P<float>(dy), P<double>(arg), P<float>(relu), P<float>(dx), n, size);
      else
        MaxPoolBackward(s, P<float>(dy), P<int32_t>(arg), P<float>(relu), P<float>(dx), n, size);
    }
    return Undefined(env);
  });
}

// An integer argument in [0, max].
int64_t GetCount(napi_env env, napi_value v, const char *name, int64_t max) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok) TypeFail(std::string(name) + " must be a number");
  if (!(d >= 0 && d <= static_cast<double>(max)) || d != static_cast<double>(static_cast<int64_t>(d)))
    RangeFail(std::string(name) + " must be an integer from 0 to " + std::to_string(max));
  return static_cast<int64_t>(d);
}

// Rows order[start + r] of src [rows, rowLen] into dst [count, rowLen], each value converted to dst's type.
template <typename S, typename D>
void GatherRows(const S *src, const uint32_t *order, int64_t count, int64_t rowLen, D *dst) {
  for (int64_t r = 0; r < count; r++) {
    const S *from = src + static_cast<int64_t>(order[r]) * rowLen;
    D *to = dst + r * rowLen;
    for (int64_t j = 0; j < rowLen; j++) to[j] = static_cast<D>(from[j]);
  }
}

napi_value GatherRowsJs(napi_env env, napi_callback_info info) {
  return Call(env, info, 6, [&](napi_value *a) {
    const Array src = GetFloats(env, a[0], "src", GetArray(env, a[0], "src").type, -1);
    const Array order = GetArray(env, a[1], "order");
    if (order.type != napi_uint32_array) TypeFail("order must be a Uint32Array");
    const int64_t start = GetCount(env, a[2], "start", order.length);
    const int64_t count = GetCount(env, a[3], "count", order.length - start);
    const int64_t rowLen = GetCount(env, a[4], "rowLen", src.length);
    const Array dst = GetFloats(env, a[5], "dst", GetArray(env, a[5], "dst").type, -1);
    if (dst.length < count * rowLen) RangeFail("dst is shorter than count · rowLen");
    Disjoint(dst, "dst", {&src, &order});
    const uint32_t *rows = P<uint32_t>(order) + start;
    const int64_t srcRows = rowLen == 0 ? 0 : src.length / rowLen;
    for (int64_t r = 0; r < count; r++)
      if (rowLen > 0 && rows[r] >= srcRows) RangeFail("order[" + std::to_string(start + r) + "] is not a row of src");
    const bool s64 = src.type == napi_float64_array;
    const bool d64 = dst.type == napi_float64_array;
    if (s64 && d64) GatherRows(P<double>(src), rows, count, rowLen, P<double>(dst));
    else if (s64) GatherRows(P<double>(src), rows, count, rowLen, P<float>(dst));
    else if (d64) GatherRows(P<float>(src), rows, count, rowLen, P<double>(dst));
    else GatherRows(P<float>(src), rows, count, rowLen, P<float>(dst));
    return Undefined(env);
  });
}

napi_value AllFiniteJs(napi_env env, napi_callback_info info) {
  return Call(env, info, 1, [&](napi_value *a) {
    const Array x = GetFloats(env, a[0], "x", GetArray(env, a[0], "x").type, -1);
    const bool finite = x.type == napi_float64_array ? LAYERS_DISPATCH(AllFinite(P<double>(x), x.length))
                                                     : LAYERS_DISPATCH(AllFinite(P<float>(x), x.length));
    napi_value out;
    Check(env, napi_get_boolean(env, finite, &out));
    return out;
  });
}

}  // namespace

napi_status RegisterLayers(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"reluForward", nullptr, ReluForwardJs, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reluBackward", nullptr, ReluBackwardJs, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolForward", nullptr, MaxPoolForwardJs, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolBackward", nullptr, MaxPoolBackwardJs, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"allFinite", nullptr, AllFiniteJs, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gatherRows", nullptr, GatherRowsJs, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
