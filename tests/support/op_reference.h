// Naive double-precision references for the backend ops, written independently of the
// backends (straight from the definitions). CPU op tests and GPU op tests both compare to these.
// Matrices are row-major std::vector<double>.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace turbine::test {

using Vec = std::vector<double>;

// Uniform random values in [lo, hi) from a fixed-seed generator.
Vec random_vec(std::mt19937& rng, size_t n, double lo = -1.0, double hi = 1.0);
std::vector<float> to_float(const Vec& v);
Vec to_double(const std::vector<float>& v);

// out [T, N] = x [T, K] @ w [N, K]^T + bias [N] (bias may be empty)
Vec ref_linear(const Vec& x, const Vec& w, const Vec& bias, int64_t T, int64_t K, int64_t N);
// Row-wise x / sqrt(mean(x^2) + eps) * weight; x [R, C]
Vec ref_rms_norm(const Vec& x, const Vec& weight, double eps, int64_t R, int64_t C);
// gate_up [T, 2I] -> silu(gate) * up [T, I]
Vec ref_silu_mul(const Vec& gate_up, int64_t T, int64_t I);
// Rotates one head vector x [D] in place: pairs (i, i + rotary_dim/2) for i < rotary_dim/2 by
// angle pos * inv_freq[i]; cos/sin scaled by attention_factor.
void ref_rope(double* x, int64_t pos, const std::vector<double>& inv_freq, int rotary_dim,
              double attention_factor = 1.0);

// One sequence's attention inputs: keys/values of every position 0..total-1 (post-RoPE), and the
// queries of its new tokens (the last num_tokens positions).
struct RefAttentionSeq {
  int32_t context_len = 0;
  int32_t num_tokens = 0;
  Vec k, v;  // [context_len + num_tokens][num_kv_heads][head_dim]
  Vec q;     // [num_tokens][num_heads][head_dim]
};
// Causal softmax(q k^T * scale) v for every new token of every sequence, keys at positions
// p' with p' <= p and (window == 0 or p - p' < window). Returns [sum num_tokens][num_heads * head_dim].
Vec ref_attention(const std::vector<RefAttentionSeq>& seqs, int num_heads, int num_kv_heads, int head_dim, double scale,
                  int window);

// Element offset of (layer, block, k=0|v=1, kv_head, offset-in-block, 0) in the paged cache layout
// [layer][block][k|v][kv_head][block_len][head_dim].
int64_t kv_cache_offset(int num_blocks, int block_len, int num_kv_heads, int head_dim, int layer, int block, int kv,
                        int kv_head, int offset);

// Mixture-of-experts routing of router logits [T, E]: softmax per row, the k largest (ties: lower
// expert first) into ids [T, k] and weights [T, k], rescaled to sum to 1 when `normalize`.
struct RefRoute {
  std::vector<int32_t> ids;
  Vec weights;
};
RefRoute ref_moe_route(const Vec& logits, int64_t T, int64_t E, int k, bool normalize);
// out [T, H] = sum_j weights[t, j] * down[e] (silu(gate[e] x[t]) * up[e] x[t]), e = ids[t, j];
// gate_up [E, 2I, H] (gate rows, then up rows), down [E, H, I].
Vec ref_moe_experts(const Vec& x, const Vec& gate_up, const Vec& down, const std::vector<int32_t>& ids,
                    const Vec& weights, int64_t T, int64_t H, int64_t I, int k);

// max over i of |got - want| / (atol + rtol * |want|); <= 1 means every element is within tolerance.
double tolerance_ratio(const std::vector<float>& got, const Vec& want, double atol, double rtol);

}  // namespace turbine::test
