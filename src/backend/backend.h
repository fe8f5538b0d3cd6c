// The op interface every backend implements. The CPU backend is the reference (fp32, obviously
// right); the CUDA backend is tested op by op against it. Backends know tensors, a KV cache and
// a BatchPlan; they never know about requests, sessions or tokenizers.
//
// Shapes use T = new tokens in the batch, H = hidden size, D = head_dim.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "backend/batch_input.h"
#include "backend/tensor.h"

namespace turbine {

// Rotary embedding for one step: the inverse frequencies already include the scaling type
// (linear, dynamic NTK, llama3, ...); `attention_factor` scales cos/sin (1 for the usual types).
struct RopeTable {
  std::vector<float> inv_freq;  // [rotary_dim / 2]
  float attention_factor = 1.0f;
  int rotary_dim = 0;           // rotate the first rotary_dim dims of each head (rotate_half / NeoX style)
};

struct AttentionShape {
  int num_heads = 0;
  int num_kv_heads = 0;  // GQA: num_heads % num_kv_heads == 0
  int head_dim = 0;
  float scale = 0.0f;    // usually 1/sqrt(head_dim)
  int sliding_window = 0;  // 0: full causal; else a query at p sees keys at positions > p - window
};

struct KvCacheSpec {
  int num_layers = 0;
  int num_blocks = 0;
  int block_len = 0;     // tokens per block (cache_block_seq_len)
  int num_kv_heads = 0;
  int head_dim = 0;
  DType dtype = DType::F32;
  size_t bytes() const {
    return size_t(num_layers) * num_blocks * 2 * num_kv_heads * block_len * head_dim * dtype_size(dtype);
  }
};

// Layout: [layer][block][k=0|v=1][kv_head][block_len][head_dim].
struct KvCache {
  KvCacheSpec spec;
  Tensor data;
};

// Device-resident copy of a BatchPlan's index arrays (for cpu, views of the host vectors).
struct BatchMeta {
  const BatchPlan* plan = nullptr;  // host copy, always valid during the step
  Tensor token_ids, positions, slot_mapping, query_start, context_lens, block_tables, logit_rows;
  Tensor decode_seqs, prefill_tiles;  // attention work lists (the cpu backend does not need them)
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual Device device() const = 0;
  virtual std::string name() const = 0;
  // Element type of weights and activations (fp32 on cpu; fp16/bf16 on cuda).
  virtual DType compute_dtype() const = 0;

  // ---- memory ----
  virtual Tensor empty(DType dtype, std::vector<int64_t> shape) = 0;
  // Copies host data of type `src_dtype` into a new tensor of type `dtype`, converting as needed.
  virtual Tensor upload(const void* src, DType src_dtype, std::vector<int64_t> shape, DType dtype) = 0;
  // Copies a tensor to host memory as fp32.
  virtual std::vector<float> download_f32(const Tensor& t) = 0;
  virtual KvCache allocate_kv_cache(const KvCacheSpec& spec) = 0;
  virtual BatchMeta upload_batch(const BatchPlan& plan) = 0;
  // Bytes the backend can still allocate (device memory for cuda, a budget for cpu).
  virtual size_t free_memory() const = 0;
  virtual void synchronize() {}

  // ---- ops ----
  // out[t] = table[ids[t]]  (table [V, H], out [T, H])
  virtual void embedding(const Tensor& table, const Tensor& ids, Tensor& out) = 0;
  // out = x / rms(x) * weight, row-wise over the last dim (x, out [R, C]; weight [C])
  virtual void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) = 0;
  // residual += x; out = rms_norm(residual)   (the fused pre-norm of the next sub-layer)
  virtual void add_rms_norm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps, Tensor& out) = 0;
  // out = x @ weight^T (+ bias); x [T, K], weight [N, K], bias [N] or undefined, out [T, N].
  // out may be fp32 while x/weight are fp16/bf16 (logits).
  virtual void linear(const Tensor& x, const Tensor& weight, const Tensor* bias, Tensor& out) = 0;
  // gate_up [T, 2I] = [gate | up] per row; out [T, I] = silu(gate) * up
  virtual void silu_mul(const Tensor& gate_up, Tensor& out) = 0;
  // From the fused projection qkv [T, (Hq + 2 Hkv) D]: optional per-head RMSNorm of q and k
  // (q_norm/k_norm weights [D], undefined when the model has none), RoPE at each token's
  // position, K and V written into the cache at the plan's slots, rotated q written to q_out [T, Hq D].
  virtual void qkv_rope_store(const Tensor& qkv, const Tensor* q_norm, const Tensor* k_norm, float norm_eps,
                              const RopeTable& rope, const AttentionShape& shape, KvCache& cache, int layer,
                              const BatchMeta& meta, Tensor& q_out) = 0;
  // Causal attention of each new token over its sequence's cached keys/values (positions
  // 0..its own, sliding window applied). q, out [T, Hq D].
  virtual void attention(const Tensor& q, const KvCache& cache, int layer, const BatchMeta& meta,
                         const AttentionShape& shape, Tensor& out) = 0;
  // out[r] = x[rows[r]]   (x [T, C], rows [R] int32, out [R, C])
  virtual void gather_rows(const Tensor& x, const Tensor& rows, Tensor& out) = 0;
};

struct BackendOptions {
  std::string device = "cpu";  // "cpu", "cuda", "cuda:N"
  int threads = 0;             // cpu worker threads (0 = all cores)
  DType dtype = DType::F32;    // compute dtype on cuda
  size_t memory_budget = size_t(4) << 30;  // cpu: bytes the KV cache may take in total (--cpu-memory)
};

// Creates the backend named by options.device; throws Error for an unknown or unavailable device.
std::unique_ptr<Backend> make_backend(const BackendOptions& options);
// True when this build has the CUDA backend and a GPU is present.
bool cuda_available();

}  // namespace turbine
