// The searches of activation-aware weight quantization (AWQ, Lin et al. 2023, as AutoAWQ and
// LMDeploy's lite/auto_awq run them) for one group of linear layers that share an input x [tokens, k]:
//  - scales: s = mean|x|^alpha per input channel (normalized), alpha on a grid over [0, 1); the weights
//    become W * s (and the input x / s, folded into the op before), and the alpha whose 4-bit
//    Q(W * s) / s gives the smallest output error wins;
//  - clipping: per (row, group), the largest |w| the group keeps, shrunk on a grid (up to half), the
//    one with the smallest error of that group's share of the output.
// The output error of a weight change D over the calibration tokens is mean_t |x_t D^T|^2 =
// sum_rows d M d^T with M = mean_t x_t^T x_t, so the searches need only the input's second moment M
// [k, k] and mean |x|, not the tokens: each grid point costs one [n, k] x [k, k] product.
#pragma once
#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "core/thread_pool.h"

namespace turbine {

// What the searches need to know of a layer input.
struct ChannelStats {
  int64_t k = 0;
  std::vector<float> mean_abs;  // [k] mean |x| per channel
  std::vector<float> moment;    // [k][k] mean over tokens of x x^T
};

// Where the searches' fp32 products run (Backend::linear's full-precision product): the weight-sized
// ones (moments, output errors) on `products`, a GPU backend where asked; the clipping search's many
// small ones, whose inputs are made on the CPU, on `clipping`, a CPU backend (copying them to a GPU
// would cost more than their arithmetic).
struct SearchBackends {
  Backend& products;
  Backend& clipping;
};

// The statistics of x [tokens][k] (fp32, row-major); the product runs on `backend`.
ChannelStats channel_stats(Backend& backend, const std::vector<float>& x, int64_t tokens, int64_t k);

// The statistics of x / s (each channel divided by its scale).
ChannelStats scaled_stats(const ChannelStats& st, const std::vector<float>& s);

// sum over rows r of d_r M d_r^T for d [n][k]: the summed mean squared output error of the change d.
double output_error(Backend& backend, const ChannelStats& st, const std::vector<float>& d, int64_t n);

struct ScaleSearch {
  std::vector<float> scales;  // [k], all ones when no alpha beats plain quantization
  std::vector<float> clip;    // [n][k / group] the clipping limits of the scaled rows (infinite: not clipped)
  double alpha = 0.0;
  double error = 0.0, plain_error = 0.0;  // the best grid point's output error and alpha 0's
};

// The AWQ scale search for w [n][k] (the layers sharing the input, rows stacked), group size `group`.
// Each candidate's scaled rows are clipped (search_awq_clip, rows where `clipped` is non-zero) before
// they are rounded, so that a scale is judged with the clipping it will get.
ScaleSearch search_awq_scales(const SearchBackends& backends, const ChannelStats& st, const std::vector<float>& w,
                              int64_t n, int group, const std::vector<uint8_t>& clipped, ThreadPool& pool,
                              int grid = 20);

// The clipping search for w [n][k] (already scaled, `st` of the scaled input): the limit per (row,
// group), [n][k / group], for quantize_int4's `clip`; rows where `clipped` is zero keep an infinite limit.
// Each group's candidates (every row, every limit) meet the group's block of the moment in one product
// on `backend`.
std::vector<float> search_awq_clip(Backend& backend, const ChannelStats& st, const std::vector<float>& w, int64_t n,
                                   int group, const std::vector<uint8_t>& clipped, ThreadPool& pool, int grid = 20,
                                   double max_shrink = 0.5);

}  // namespace turbine
