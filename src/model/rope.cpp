#include "model/rope.h"

#include <cmath>
#include <numbers>
#include <vector>

#include "core/error.h"

namespace turbine {

namespace {

// inv_freq[i] = 1 / base^(2i / dim), i < dim/2
std::vector<double> default_inv_freq(double base, int dim) {
  std::vector<double> f(size_t(dim / 2));
  for (int i = 0; i < dim / 2; ++i) f[i] = 1.0 / std::pow(base, double(2 * i) / dim);
  return f;
}

// Llama 3.1: long wavelengths (beyond original_max / low_freq_factor) are slowed by `factor`,
// short ones (below original_max / high_freq_factor) kept, and the band between interpolated.
void apply_llama3(std::vector<double>& freqs, const RopeConfig& r) {
  const double old_len = r.original_max_position;
  const double low_wavelen = old_len / r.low_freq_factor;
  const double high_wavelen = old_len / r.high_freq_factor;
  for (double& f : freqs) {
    const double wavelen = 2.0 * std::numbers::pi / f;
    if (wavelen < high_wavelen) continue;
    if (wavelen > low_wavelen) {
      f /= r.factor;
      continue;
    }
    const double smooth = (old_len / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
    f = (1.0 - smooth) * f / r.factor + smooth * f;
  }
}

}  // namespace

RopeTable make_rope_table(const ModelConfig& config, int32_t seq_len) {
  const RopeConfig& r = config.rope;
  const int dim = int(config.head_dim * r.partial_rotary_factor);
  if (dim < 2 || dim > config.head_dim || dim % 2)
    fail("rope: rotary dimension {} (head_dim {} x partial_rotary_factor {}) must be even and within head_dim", dim,
         config.head_dim, r.partial_rotary_factor);
  if (r.theta <= 0) fail("rope: rope_theta must be positive, got {}", r.theta);
  if (r.type != RopeType::Default && r.factor <= 0) fail("rope: scaling factor must be positive, got {}", r.factor);

  double base = r.theta;
  if (r.type == RopeType::DynamicNtk && seq_len > config.max_position_embeddings) {
    const double ratio = r.factor * seq_len / config.max_position_embeddings - (r.factor - 1.0);
    base = r.theta * std::pow(ratio, double(dim) / (dim - 2));
  }
  std::vector<double> freqs = default_inv_freq(base, dim);
  if (r.type == RopeType::Linear)
    for (double& f : freqs) f /= r.factor;
  if (r.type == RopeType::Llama3) {
    if (r.high_freq_factor == r.low_freq_factor) fail("rope: llama3 scaling needs high_freq_factor != low_freq_factor");
    apply_llama3(freqs, r);
  }

  RopeTable table;
  table.rotary_dim = dim;
  table.attention_factor = 1.0f;
  table.inv_freq.assign(freqs.begin(), freqs.end());
  return table;
}

}  // namespace turbine
