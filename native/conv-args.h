// Argument checking for the convolution kernels' N-API functions (conv.cc): typed arrays read in
// place, their element types, lengths and overlaps checked, a bad argument thrown to JavaScript as
// a TypeError or RangeError. Included by conv.cc and optim.cc.
#pragma once
#include <node_api.h>

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include "conv.h"

namespace {

// A bad argument: becomes a JS TypeError (type) or RangeError (size) in Call.
struct ArgError {
  bool range;
  std::string message;
};

[[noreturn]] void TypeFail(const std::string &m) { throw ArgError{false, m}; }
[[noreturn]] void RangeFail(const std::string &m) { throw ArgError{true, m}; }

void Check(napi_env env, napi_status status) {
  if (status != napi_ok) {
    const napi_extended_error_info *info = nullptr;
    napi_get_last_error_info(env, &info);
    TypeFail(info && info->error_message ? info->error_message : "N-API call failed");
  }
}

// A typed array's element type, address and length.
struct Array {
  napi_typedarray_type type;
  void *data;
  int64_t length;
  int64_t bytes() const {
    return length *
           (type == napi_float32_array || type == napi_int32_array || type == napi_uint32_array ? 4 : 8);
  }
};

Array GetArray(napi_env env, napi_value v, const char *name) {
  bool is = false;
  Check(env, napi_is_typedarray(env, v, &is));
  if (!is) TypeFail(std::string(name) + " must be a Float64Array or a Float32Array");
  Array a;
  size_t length = 0;
  Check(env, napi_get_typedarray_info(env, v, &a.type, &length, &a.data, nullptr, nullptr));
  a.length = static_cast<int64_t>(length);
  return a;
}

// A float array of the element type `type` (the first float argument's) and exactly `length` values.
Array GetFloats(napi_env env, napi_value v, const char *name, napi_typedarray_type type, int64_t length) {
  Array a = GetArray(env, v, name);
  if (a.type != napi_float64_array && a.type != napi_float32_array)
    TypeFail(std::string(name) + " must be a Float64Array or a Float32Array");
  if (a.type != type) TypeFail(std::string(name) + " must have the same element type as the other arrays");
  if (length >= 0 && a.length != length)
    RangeFail(std::string(name) + " has " + std::to_string(a.length) + " values, expected " +
              std::to_string(length));
  return a;
}

bool IsNullish(napi_env env, napi_value v) {
  napi_valuetype t;
  Check(env, napi_typeof(env, v, &t));
  return t == napi_null || t == napi_undefined;
}

// a·b, throwing instead of overflowing.
int64_t Mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r) || r > (int64_t(1) << 50)) RangeFail("geometry is too large");
  return r;
}

ConvShape GetShape(napi_env env, napi_value v) {
  Array g = GetArray(env, v, "geometry");
  if (g.type != napi_int32_array || g.length != 13)
    TypeFail("geometry must be an Int32Array [batch, inH, inW, channels, kH, kW, strideH, strideW, "
             "padTop, padLeft, outH, outW, filters]");
  const int32_t *a = static_cast<const int32_t *>(g.data);
  ConvShape s{a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12]};
  if (s.batch < 0 || s.inH < 1 || s.inW < 1 || s.channels < 1 || s.kH < 1 || s.kW < 1 || s.strideH < 1 ||
      s.strideW < 1 || s.padTop < 0 || s.padLeft < 0 || s.outH < 1 || s.outW < 1 || s.filters < 1)
    RangeFail("geometry: batch and paddings must be ≥ 0, every other size ≥ 1");
  // Every product the kernels form fits easily in 64 bits.
  Mul(Mul(Mul(s.batch, s.inH), s.inW), s.channels);
  Mul(Mul(Mul(s.batch, s.outH), s.outW), s.filters);
  Mul(Mul(Mul(s.kH, s.kW), s.channels), s.filters);
  Mul(Mul(s.outH, s.strideH), Mul(s.outW, s.strideW));
  return s;
}

int64_t InSize(const ConvShape &s) { return s.batch * s.inH * s.inW * s.channels; }
int64_t OutSize(const ConvShape &s) { return s.batch * s.outH * s.outW * s.filters; }
int64_t KernelSize(const ConvShape &s) { return s.kH * s.kW * s.channels * s.filters; }

// Outputs must not share memory with any other argument.
void Disjoint(const Array &out, const char *name, std::initializer_list<const Array *> others) {
  const char *o0 = static_cast<const char *>(out.data);
  for (const Array *a : others) {
    const char *a0 = static_cast<const char *>(a->data);
    if (out.length > 0 && a->length > 0 && o0 < a0 + a->bytes() && a0 < o0 + out.bytes())
      RangeFail(std::string(name) + " must not overlap the other arrays");
  }
}

// Runs `body` on the call's arguments, of which the last argc − required may be left out (they
// read as undefined); an ArgError becomes a JS exception.
template <typename Body>
napi_value Call(napi_env env, napi_callback_info info, size_t argc, size_t required, Body body) {
  std::vector<napi_value> args(argc);
  size_t n = argc;
  try {
    Check(env, napi_get_cb_info(env, info, &n, args.data(), nullptr, nullptr));
    if (n < required)
      TypeFail("expected " + std::to_string(required) + " arguments, got " + std::to_string(n));
    return body(args.data());
  } catch (const ArgError &e) {
    if (e.range)
      napi_throw_range_error(env, nullptr, e.message.c_str());
    else
      napi_throw_type_error(env, nullptr, e.message.c_str());
  } catch (const std::exception &e) {
    napi_throw_error(env, nullptr, e.what());
  }
  return nullptr;
}

// Call with every argument required.
template <typename Body> napi_value Call(napi_env env, napi_callback_info info, size_t argc, Body body) {
  return Call(env, info, argc, argc, body);
}

napi_value Undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

template <typename T> T *P(const Array &a) { return static_cast<T *>(a.data); }

}  // namespace
