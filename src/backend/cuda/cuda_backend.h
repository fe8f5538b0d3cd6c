// The CUDA backend: fp16/bf16 weights and activations, fp32 accumulation, paged KV cache in the
// compute dtype, one stream for all work. Each op is a kernel in its own .cu with its own launcher
// header, in families (attention/, gemm/, elementwise/, sampling/, common/); which kernel takes
// which shape is decided in one file per family (gemm/gemm_dispatch.cpp,
// attention/attention_dispatch.cpp). This file's .cpp holds memory, batches and graphs.
#pragma once
#include <cuda_runtime.h>

#include <memory>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda/attention/attention_work.h"
#include "backend/cuda/attention/qkv_rope_store.h"
#include "backend/cuda/common/device_memory_pool.h"
#include "backend/cuda/common/kernel_launch.h"
#include "backend/cuda/gemm/cublaslt_gemm.h"
#include "backend/cuda/gemm/int4_gemm.h"
#include "backend/cuda/gemm/int4_gemv.h"
#include "backend/cuda/gemm/int4_tiled_gemm.h"
#include "backend/cuda/gemm/skinny_gemm.h"

namespace turbine::cuda {

// What upload_batch keeps with a batch (BatchMeta::backend_data) for the attention kernels: the
// work lists on the host (their sizes shape the launches) and as views of the batch's device buffer.
struct CudaBatchData : BackendBatchData {
  AttentionWork work;
  Tensor decode_seqs, prefill_tiles;
};

class CudaBackend : public Backend {
 public:
  // dtype: F16 or BF16. Throws Error when the device is missing or the dtype unsupported.
  CudaBackend(int device_index, DType dtype, const CudaOptions& options);
  ~CudaBackend() override;

  Device device() const override { return Device::Cuda; }
  std::string name() const override;
  DType compute_dtype() const override { return dtype_; }

  Tensor empty(DType dtype, std::vector<int64_t> shape) override;
  Tensor upload(const void* src, DType src_dtype, std::vector<int64_t> shape, DType dtype) override;
  std::vector<float> download_f32(const Tensor& t) override;
  // Also derives the attention work lists (attention/attention_work.h) and sends them along.
  BatchMeta upload_batch(const BatchPlan& plan) override;
  void upload_batch_into(const BatchPlan& plan, BatchMeta& meta) override;
  size_t free_memory() const override;
  size_t used_memory() const override;
  void synchronize() override;
  bool can_capture() const override { return options_.graphs; }
  std::unique_ptr<StepGraph> capture(const std::function<void()>& body) override;

  cudaStream_t stream() const { return stream_; }
  int device_index() const { return device_; }
  void make_current() const override { activate(); }
  // The layout of gemm/int4_gemm.h, scales in the compute dtype; zeros stays undefined (the zero
  // points are folded into the scale words). Group sizes must be multiples of 32.
  Int4Weight pack_int4(const HostInt4Matrix& m) override;

 protected:
  KvCache do_allocate_kv_cache(const KvCacheSpec& spec) override;
  void do_embedding(const Tensor& table, const Tensor& ids, Tensor& out) override;
  void do_rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) override;
  void do_add_rms_norm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps, Tensor& out) override;
  void do_linear(const Tensor& x, const Tensor& weight, const Tensor* bias, Tensor& out) override;
  // Every token count runs gemm/int4_gemm.cu (tensor cores, weights dequantized in registers).
  void do_linear_int4(const Tensor& x, const Int4Weight& w, const Tensor* bias, Tensor& out) override;
  void do_silu_mul(const Tensor& gate_up, Tensor& out) override;
  void do_qkv_rope_store(const Tensor& qkv, const Tensor* q_norm, const Tensor* k_norm, float norm_eps,
                         const RopeTable& rope, const AttentionShape& shape, KvCache& cache, int layer,
                         const BatchMeta& meta, Tensor& q_out) override;
  void do_attention(const Tensor& q, const KvCache& cache, int layer, const BatchMeta& meta,
                    const AttentionShape& shape, Tensor& out) override;
  // At one token: one skinny GEMM each, or with a 4-bit weight one 4-bit GEMV each
  // (gemm/gemm_dispatch.cpp); else the parts apart.
  void do_norm_linear(const PreNorm& pre, const LinearWeight& weight, const Tensor* bias, Tensor& out) override;
  void do_norm_linear_silu_mul(const PreNorm& pre, const LinearWeight& weight, const Tensor* bias, Tensor& gate_up,
                               Tensor& out) override;
  void do_norm_mlp(const PreNorm& pre, const LinearWeight& gate_up, const Tensor* gate_up_bias,
                   const LinearWeight& down, const Tensor* down_bias, Tensor& gate_up_out, Tensor& mlp,
                   Tensor& out) override;
  void do_norm_qkv_rope_store(const PreNorm& pre, const LinearWeight& weight, const Tensor* bias, Tensor& qkv,
                              const QkvRopeStore& rope, Tensor& q_out) override;
  void do_gather_rows(const Tensor& x, const Tensor& rows, Tensor& out) override;
  // moe/moe_ops.cpp
  void do_moe_route(const Tensor& logits, int k, bool normalize, Tensor& ids, Tensor& weights) override;
  void do_moe_experts(const Tensor& x, const Tensor& gate_up, const Tensor& down, const Tensor& ids,
                      const Tensor& weights, Tensor& out) override;
  std::vector<int32_t> do_argmax_rows(const Tensor& logits) override;
  TopCandidates do_top_candidates(const Tensor& logits, std::span<const int32_t> rows,
                                  std::span<const float> temperatures, int k) override;
  void do_repetition_penalty(Tensor& logits, std::span<const int32_t> rows, std::span<const int32_t> ids,
                             std::span<const float> penalties) override;

 private:
  void activate() const;
  void copy_to_device(void* dst, const void* src, size_t bytes);
  // Packs the plan's index arrays and the work lists into pinned memory and copies them to
  // `device`; expect_total (int32 elements, 0 = any) guards a reused buffer.
  void send_meta(const BatchPlan& plan, const AttentionWork& work, void* device, size_t expect_total);
  const float* rope_table(const RopeTable& rope);
  // qkv_rope_store's arguments (checked by the base class) in kernel form.
  QkvRopeParams qkv_rope_params(const Tensor& qkv, const Tensor* q_norm, const Tensor* k_norm, float norm_eps,
                                const RopeTable& rope, const AttentionShape& shape, KvCache& cache, int layer,
                                const BatchMeta& meta, Tensor& q_out);
  // The skinny GEMM with `input` fused in front of it (and RoPE behind it): false when fusion is off
  // or the shape is not taken, and nothing ran.
  bool fused_skinny(const Tensor& x, SkinnyInput input, const PreNorm* pre, const Tensor& weight, const Tensor* bias,
                    Tensor& out, const QkvRopeParams* rope);
  // The 4-bit GEMV with the pre-norm in its prologue and `epilogue` (one token; `rope` for
  // RopeStore): false when fusion is off or the shape is not taken, and nothing ran.
  bool fused_int4_norm_linear(const PreNorm& pre, const Int4Weight& w, const Tensor* bias, Tensor& out,
                              Int4GemvEpilogue epilogue = Int4GemvEpilogue::Store, const QkvRopeParams* rope = nullptr);
  // `count` zeroed counters for split-K decode attention and the split-K tiled 4-bit GEMM (allocated
  // once; the kernels leave them zero).
  unsigned* split_counters(size_t count);
  // The Hopper GEMM when it takes the shape; false leaves the GEMM to the caller.
  bool wgmma_linear(const Tensor& x, const Tensor& weight, Tensor& out, int tokens, int n, int k);
  // The tiled 4-bit GEMM's plan where linear runs it for these args (else one of no blocks), and the
  // GEMM on that plan with its split-K scratch; false (nothing ran) when it does not take the args.
  Int4TiledPlan int4_tiled_plan(const Int4GemmArgs& a);
  bool int4_tiled_linear(const Int4GemmArgs& a, const Int4TiledPlan& plan);
  // norm_linear with a 4-bit weight where the projection runs on the wgmma GEMM's 64-token tiles: the
  // norm writes `normed` in their B order (gemm/int4_b_order.h); false (nothing ran) elsewhere.
  bool int4_norm_linear_b_order(const PreNorm& pre, const Int4Weight& w, const Tensor* bias, Tensor& out);
  // The tiled plan of a 4-bit linear that would read its input in B order (--int4-b-order, the route
  // do_linear_int4 takes ending on the wgmma GEMM's 64-token tiles, K whole chunks); else one of no blocks.
  Int4TiledPlan int4_b_order_plan(const Int4GemmArgs& a);
  int sms() const { return props_.multiProcessorCount; }

  int device_ = 0;
  DType dtype_;
  // As given, except wgmma_gemm_max_tokens (0) and int4_wgmma (off) where the device cannot run the
  // Hopper kernels. GEMMs of up to skinny_gemm_max_tokens tokens run the skinny GEMM, then up to
  // wgmma_gemm_max_tokens the Hopper GEMM, the rest cuBLASLt.
  CudaOptions options_;
  // stream_, and PDL where options_.pdl and the device has compute capability 9.0+.
  KernelLaunch launch_;
  // While capture() records, every allocation is kept alive for the graph.
  bool capturing_ = false;
  std::vector<std::shared_ptr<void>> capture_keep_;
  cudaDeviceProp props_{};
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<DeviceMemoryPool> pool_;
  std::unique_ptr<CublasLtGemm> gemm_;
  // Pinned host staging for uploads, two buffers so a copy overlaps the next fill.
  static constexpr size_t kStagingBytes = size_t(32) << 20;
  void* staging_[2] = {nullptr, nullptr};
  cudaEvent_t staging_done_[2] = {nullptr, nullptr};
  // Pinned host copy of the batch's index arrays; reused once the previous copy finished.
  void* meta_host_ = nullptr;
  size_t meta_host_bytes_ = 0;
  cudaEvent_t meta_done_ = nullptr;
  // The RoPE inverse frequencies last uploaded (they change only with the model).
  std::vector<float> rope_host_;
  Tensor rope_device_;
  Tensor split_counters_;
  Int4WgmmaClusters int4_clusters_;  // the wgmma tiles' clusters that fit at once (the 4-bit plan's waves)
  // One per 128-row output tile of the Hopper GEMM (outputs up to 1M wide), zero between launches.
  static constexpr int64_t kGemmTileCounters = 8192;
  Tensor gemm_tile_counters_;
  Tensor gemm_workspace_;  // its partial sums
};

}  // namespace turbine::cuda
