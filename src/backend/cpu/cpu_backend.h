// The reference backend: every op in fp32 on the host, multi-threaded over a ThreadPool.
// It is the oracle the CUDA backend is tested against, so each op is written to be obviously
// right first. Activations, the KV cache and all accumulation are fp32; matrix weights stay in the
// checkpoint's bf16/fp16 (CpuWeights::Checkpoint, the default: half the bytes to stream) or are
// converted to fp32 (CpuWeights::F32, the reference). The hot inner loops come from a kernel table
// compiled per instruction set and chosen at construction (cpu_kernel_table.h).
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/cpu_kernel_table.h"
#include "backend/cpu/host_buffer_pool.h"
#include "core/thread_pool.h"

namespace turbine {

// Consecutive new rows of one sequence that attention processes together (cpu_attention.cpp): its work
// items are first_item.. first_item + (query heads / heads_per_item) - 1, each heads_per_item query heads
// of one kv head (more than one only for a single row under GQA).
struct AttentionRowGroup {
  int32_t seq, first_row, rows;
  int heads_per_item;
  int64_t first_item;
};

class CpuBackend : public Backend {
 public:
  explicit CpuBackend(const BackendOptions& options);

  Device device() const override { return Device::Cpu; }
  std::string name() const override { return "cpu"; }
  DType compute_dtype() const override { return DType::F32; }
  DType weight_dtype(DType checkpoint_dtype) const override;
  int threads() const { return pool_->size(); }
  // The instruction set of the kernels in use (never Auto).
  CpuIsa isa() const { return kernels_->isa; }

  Tensor empty(DType dtype, std::vector<int64_t> shape) override;
  Tensor upload(const void* src, DType src_dtype, std::vector<int64_t> shape, DType dtype) override;
  std::vector<float> download_f32(const Tensor& t) override;
  BatchMeta upload_batch(const BatchPlan& plan) override;
  size_t free_memory() const override;
  // Layout: packed I32 [n, k / 8] (column 8j+i of a row in bits 4i..4i+3 of its word j), scales and
  // zeros F32 [n, k / group] with zeros holding -scale * zero (the offset). group_size a multiple of 8.
  Int4Weight pack_int4(const HostInt4Matrix& m) override;
  // The bytes of the KV caches it holds (other buffers come and go with the step).
  size_t used_memory() const override;

 protected:
  KvCache do_allocate_kv_cache(const KvCacheSpec& spec) override;
  void do_embedding(const Tensor& table, const Tensor& ids, Tensor& out) override;
  void do_rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) override;
  void do_add_rms_norm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps, Tensor& out) override;
  void do_linear(const Tensor& x, const Tensor& weight, const Tensor* bias, Tensor& out) override;
  // 4-bit weights (cpu_int4_linear.cpp).
  void do_linear_int4(const Tensor& x, const Int4Weight& w, const Tensor* bias, Tensor& out) override;
  void do_silu_mul(const Tensor& gate_up, Tensor& out) override;
  void do_qkv_rope_store(const Tensor& qkv, const Tensor* q_norm, const Tensor* k_norm, float norm_eps,
                         const RopeTable& rope, const AttentionShape& shape, KvCache& cache, int layer,
                         const BatchMeta& meta, Tensor& q_out) override;
  void do_attention(const Tensor& q, const KvCache& cache, int layer, const BatchMeta& meta,
                    const AttentionShape& shape, Tensor& out) override;
  void do_gather_rows(const Tensor& x, const Tensor& rows, Tensor& out) override;
  void do_moe_route(const Tensor& logits, int k, bool normalize, Tensor& ids, Tensor& weights) override;
  void do_moe_experts(const Tensor& x, const Tensor& gate_up, const Tensor& down, const Tensor& ids,
                      const Tensor& weights, Tensor& out) override;
  std::vector<int32_t> do_argmax_rows(const Tensor& logits) override;
  TopCandidates do_top_candidates(const Tensor& logits, std::span<const int32_t> rows,
                                  std::span<const float> temperatures, int k) override;
  void do_repetition_penalty(Tensor& logits, std::span<const int32_t> rows, std::span<const int32_t> ids,
                             std::span<const float> penalties) override;

 private:
  // cos and sin of each position's RoPE angles ([positions][half], attention_factor applied), kept
  // across steps for the table they were made from: a step computes only positions it has not seen.
  struct RopeRows {
    std::vector<float> inv_freq;
    float attention_factor = 0.0f;
    size_t half = 0;
    int32_t positions = 0;
    std::vector<float> cos, sin;
  };
  // rope_rows_ for `rope`, covering positions 0..max_position (cpu_norm_rope.cpp).
  const RopeRows& rope_rows(const RopeTable& rope, int32_t max_position);

  // Widens weight rows [n0, n0 + rows) to fp32 in `scratch` (room for one block) and returns where
  // they are (scratch, or the weights themselves where they are fp32 already).
  using WidenRows = std::function<const float*(float* scratch, int64_t n0, int64_t rows)>;
  // linear() from kTokenForm tokens (cpu_matmul.cpp) for a weight of N rows, in blocks of `block` rows.
  void linear_many_tokens(const Tensor& x, int64_t N, int64_t block, const WidenRows& widen_rows, const Tensor* bias,
                          Tensor& out);

  const cpu::KernelTable* kernels_;
  CpuWeights weights_;
  std::unique_ptr<ThreadPool> pool_;
  size_t memory_budget_;
  // Bytes held by live KV caches; shared with each cache's deleter so freeing one gives them back.
  std::shared_ptr<std::atomic<size_t>> kv_bytes_in_use_;
  std::shared_ptr<HostBufferPool> buffers_;
  // linear_many_tokens' scratch: x transposed, and one block of widened weights per pool thread.
  std::vector<float> linear_xt_, linear_w_;
  // linear_int4's per-token sums of x over each group.
  std::vector<float> int4_xsum_;
  std::vector<float> int4_xperm_;  // x permuted for the masked 4-bit kernel
  std::vector<float> kv_row_scratch_;  // the quantized KV store's key row per thread (cpu_norm_rope.cpp)
  // argmax_rows' per-(row, part) maxima and their first indices (cpu_sampling.cpp).
  std::vector<float> argmax_values_;
  std::vector<int32_t> argmax_ids_;
  // attention's per-thread scores and its row groups (cpu_attention.cpp).
  std::vector<float> attention_scratch_;
  std::vector<AttentionRowGroup> attention_groups_;
  RopeRows rope_rows_;
};

}  // namespace turbine
