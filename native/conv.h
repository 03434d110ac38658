// The convolution kernels' shapes and their work-splitting entry points (conv.cc). Each range
// function computes a disjoint set of OUTPUTS with every sum whole, so calls on disjoint ranges
// may run on different threads at once and give the same bits as one call over everything:
// a thread pool can split the forward pass and ∂X by samples, ∂K by kernel rows.
#pragma once
#include <cstdint>

// A convolution over x [batch, inH, inW, channels] with a [kH, kW, channels, filters] kernel,
// moved by [strideH, strideW], the first window starting padTop rows above and padLeft columns
// left of the input; y [batch, outH, outW, filters] (src/engine/im2col.ts, windowGeometry).
struct ConvShape {
  int64_t batch, inH, inW, channels, kH, kW, strideH, strideW, padTop, padLeft, outH, outW, filters;
};

// y for the samples [b0, b1): (Σ cols·K) + bias (bias may be null), then Math.max(·, 0) if relu.
void ConvForwardRange(const ConvShape &s, const double *x, const double *k, const double *bias,
                      double *y, bool relu, int64_t b0, int64_t b1);
void ConvForwardRange(const ConvShape &s, const float *x, const float *k, const float *bias, float *y,
                      bool relu, int64_t b0, int64_t b1);
// ∂K rows [p0, p1) of [kH·kW·channels, filters] += colsᵀ·∂Y over the whole batch.
void ConvFilterGradRange(const ConvShape &s, const double *x, const double *dy, double *dk, int64_t p0,
                         int64_t p1);
void ConvFilterGradRange(const ConvShape &s, const float *x, const float *dy, float *dk, int64_t p0,
                         int64_t p1);
// ∂X for the samples [b0, b1), overwritten.
void ConvInputGradRange(const ConvShape &s, const double *dy, const double *k, double *dx, int64_t b0,
                        int64_t b1);
void ConvInputGradRange(const ConvShape &s, const float *dy, const float *k, float *dx, int64_t b0,
                        int64_t b1);
