// The CUDA backend: fp16/bf16 weights and activations, fp32 accumulation, paged KV cache in the
// compute dtype, one stream for all work. Each op is a kernel in its own .cu (see kernels.h,
// qkv_rope_store.h, paged_attention.h) or a cuBLASLt GEMM.
#pragma once
#include <cuda_runtime.h>

#include <memory>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda/cublaslt_gemm.h"
#include "backend/cuda/device_memory_pool.h"
#include "backend/cuda/kernels.h"
#include "backend/cuda/qkv_rope_store.h"

namespace turbine::cuda {

class CudaBackend : public Backend {
 public:
  // dtype: F16 or BF16. Throws Error when the device is missing or the dtype unsupported.
  CudaBackend(int device_index, DType dtype);
  ~CudaBackend() override;

  Device device() const override { return Device::Cuda; }
  std::string name() const override;
  DType compute_dtype() const override { return dtype_; }

  Tensor empty(DType dtype, std::vector<int64_t> shape) override;
  Tensor upload(const void* src, DType src_dtype, std::vector<int64_t> shape, DType dtype) override;
  std::vector<float> download_f32(const Tensor& t) override;
  KvCache allocate_kv_cache(const KvCacheSpec& spec) override;
  BatchMeta upload_batch(const BatchPlan& plan) override;
  void upload_batch_into(const BatchPlan& plan, BatchMeta& meta) override;
  size_t free_memory() const override;
  void synchronize() override;
  bool can_capture() const override { return use_graphs_; }
  std::unique_ptr<StepGraph> capture(const std::function<void()>& body) override;

  void embedding(const Tensor& table, const Tensor& ids, Tensor& out) override;
  void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) override;
  void add_rms_norm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps, Tensor& out) override;
  void linear(const Tensor& x, const Tensor& weight, const Tensor* bias, Tensor& out) override;
  void silu_mul(const Tensor& gate_up, Tensor& out) override;
  void qkv_rope_store(const Tensor& qkv, const Tensor* q_norm, const Tensor* k_norm, float norm_eps,
                      const RopeTable& rope, const AttentionShape& shape, KvCache& cache, int layer,
                      const BatchMeta& meta, Tensor& q_out) override;
  void attention(const Tensor& q, const KvCache& cache, int layer, const BatchMeta& meta,
                 const AttentionShape& shape, Tensor& out) override;
  // At one token: one skinny GEMM each (cuda_fused_ops.cpp); else the parts apart.
  void norm_linear(const PreNorm& pre, const Tensor& weight, const Tensor* bias, Tensor& out) override;
  void norm_qkv_rope_store(const PreNorm& pre, const Tensor& weight, const Tensor* bias, Tensor& qkv,
                           const QkvRopeStore& rope, Tensor& q_out) override;
  void gather_rows(const Tensor& x, const Tensor& rows, Tensor& out) override;
  std::vector<int32_t> argmax_rows(const Tensor& logits) override;
  TopCandidates top_candidates(const Tensor& logits, std::span<const int32_t> rows,
                               std::span<const float> temperatures, int k) override;
  void repetition_penalty(Tensor& logits, std::span<const int32_t> rows, std::span<const int32_t> ids,
                          std::span<const float> penalties) override;

  // Device memory in use now (the whole device, as nvidia-smi counts it). The pool keeps freed
  // blocks, so after a run this is that run's high-water mark.
  size_t used_memory() const;
  cudaStream_t stream() const { return stream_; }

 private:
  void activate() const;
  void copy_to_device(void* dst, const void* src, size_t bytes);
  // Packs the plan's index arrays into pinned memory and copies them to `device`; expect_total
  // (int32 elements, 0 = any) guards a reused buffer.
  void send_meta(const BatchPlan& plan, void* device, size_t expect_total);
  const float* rope_table(const RopeTable& rope);
  // qkv_rope_store's arguments checked and in kernel form.
  QkvRopeParams qkv_rope_params(const Tensor& qkv, const Tensor* q_norm, const Tensor* k_norm, float norm_eps,
                                const RopeTable& rope, const AttentionShape& shape, KvCache& cache, int layer,
                                const BatchMeta& meta, Tensor& q_out);
  // The skinny GEMM with `input` fused in front of it (and RoPE behind it): false when fusion is off
  // or the shape is not taken, and nothing ran.
  bool fused_skinny(const Tensor& x, SkinnyInput input, const PreNorm* pre, const Tensor& weight,
                    const Tensor* bias, Tensor& out, const QkvRopeParams* rope);
  // `count` zeroed counters for split-K decode attention (allocated once; the kernel leaves them zero).
  unsigned* split_counters(size_t count);
  // The Hopper GEMM when it takes the shape; false leaves the GEMM to the caller.
  bool wgmma_linear(const Tensor& x, const Tensor& weight, Tensor& out, int tokens, int n, int k);
  int sms() const { return props_.multiProcessorCount; }

  int device_ = 0;
  DType dtype_;
  // GEMMs of up to this many tokens run the skinny GEMM, then up to wgmma_gemm_max_tokens_ the
  // Hopper GEMM (0 where the device cannot), the rest cuBLASLt.
  int skinny_gemm_max_tokens_ = kSkinnyGemmMaxTokens;
  int wgmma_gemm_max_tokens_ = kWgmmaGemmMaxTokens;
  bool fuse_skinny_ = true;
  bool use_graphs_ = true;
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
  // One per 128-row output tile of the Hopper GEMM (outputs up to 1M wide), zero between launches.
  static constexpr int64_t kGemmTileCounters = 8192;
  Tensor gemm_tile_counters_;
  Tensor gemm_workspace_;  // its partial sums
};

}  // namespace turbine::cuda
