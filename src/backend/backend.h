// The op interface every backend implements. The CPU backend is the reference (fp32, obviously
// right); the CUDA backend is tested op by op against it. Backends know tensors, a KV cache and
// a BatchPlan; they never know about requests, sessions or tokenizers.
//
// Shapes use T = new tokens in the batch, H = hidden size, D = head_dim.
#pragma once
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backend/batch_input.h"
#include "backend/cpu_options.h"
#include "backend/cuda_options.h"
#include "backend/kv_format.h"
#include "backend/tensor.h"

namespace turbine {

// Rotary embedding for one step: the inverse frequencies already include the scaling type
// (linear, dynamic NTK, llama3, ...); `attention_factor` scales cos/sin (1 for the usual types).
struct RopeTable {
  std::vector<float> inv_freq;  // [rotary_dim / 2]
  float attention_factor = 1.0f;
  int rotary_dim = 0;  // rotate the first rotary_dim dims of each head (rotate_half / NeoX style)
};

struct AttentionShape {
  int num_heads = 0;
  int num_kv_heads = 0;  // GQA: num_heads % num_kv_heads == 0
  int head_dim = 0;
  float scale = 0.0f;      // usually 1/sqrt(head_dim)
  int sliding_window = 0;  // 0: full causal; else a query at p sees keys at positions > p - window
};

struct KvCacheSpec {
  int num_layers = 0;
  int num_blocks = 0;
  int block_len = 0;  // tokens per block (cache_block_seq_len)
  int num_kv_heads = 0;
  int head_dim = 0;
  DType dtype = DType::F32;           // the compute dtype (a Dense cache's element type)
  KvFormat format = KvFormat::Dense;  // how a row is stored (backend/kv_format.h)

  // Byte offset of the quantization parameters inside a block (the elements come first).
  size_t param_offset() const {
    return size_t(2) * num_kv_heads * block_len * kv_row_element_bytes(format, head_dim, dtype);
  }
  // Bytes of one block of one layer: the elements, then (quantized) the parameters, padded to 16.
  size_t block_bytes() const {
    const size_t raw = param_offset() + size_t(2) * num_kv_heads * block_len * kv_row_param_bytes(format);
    return format == KvFormat::Dense ? raw : (raw + 15) / 16 * 16;
  }
  size_t bytes() const { return size_t(num_layers) * num_blocks * block_bytes(); }
};

// Layout: [layer][block], each block [k=0|v=1][kv_head][block_len][head_dim] in the compute dtype
// (Dense) or as kv_format.h lays out a quantized block.
struct KvCache {
  KvCacheSpec spec;
  Tensor data;
  std::vector<KvCache> ranks;  // tensor parallel: the caches of ranks 1.., same block count (LlamaModel)
};

// The largest logits of some rows plus each row's softmax normaliser: enough for the host to
// sample with top-k / top-p / min-p without downloading whole rows.
struct TopCandidates {
  int64_t rows = 0;
  int64_t k = 0;               // candidates per row: min(requested k, vocab)
  std::vector<int32_t> ids;    // [rows * k] by value descending (NaN below -inf), ties: lower id first
  std::vector<float> values;   // [rows * k] the logits at those ids, unscaled
  std::vector<float> row_max;  // [rows] largest non-NaN logit of the row (-inf when there is none)
  // [rows] sum over the row's non-NaN logits x of exp((x - row_max) / temperature); 0 when row_max
  // is -inf, not finite when row_max is +inf.
  std::vector<float> sum_exp;
};

// A group-quantized 4-bit matrix on the host, unpacked (AWQ W4A16): logical [n, k] like a dense
// linear weight, w[r][c] = (q[r][c] - zeros[r][c / group_size]) * scales[r][c / group_size].
// Backends pack it into their own layout (Backend::pack_int4).
struct HostInt4Matrix {
  int64_t n = 0, k = 0;
  int group_size = 0;            // divides k
  std::vector<uint8_t> q;        // [n][k], values 0..15
  std::vector<uint8_t> zeros;    // [n][k / group_size], values 0..15
  std::vector<uint16_t> scales;  // [n][k / group_size], fp16 bits
};

// A 4-bit matrix on a backend, in the layout that backend's kernels read (shapes and dtypes of the
// three tensors are the backend's business); logically [n, k].
struct Int4Weight {
  Tensor packed, scales, zeros;
  int64_t n = 0, k = 0;
  int group_size = 0;
};

// The weight of a linear layer: a dense [N, K] tensor (a Tensor converts implicitly, so dense
// callers read as before) or a 4-bit matrix.
struct LinearWeight {
  Tensor dense;
  Int4Weight int4;

  LinearWeight() = default;
  LinearWeight(const Tensor& t) : dense(t) {}  // NOLINT(google-explicit-constructor): dense is the usual case
  LinearWeight(Int4Weight q) : int4(std::move(q)) {}  // NOLINT(google-explicit-constructor)
  bool quantized() const { return int4.packed.defined(); }
  int64_t rows() const { return quantized() ? int4.n : dense.dim(0); }
  int64_t cols() const { return quantized() ? int4.k : dense.dim(1); }
};

// Most candidates top_candidates hands out per row.
constexpr int kMaxTopCandidates = 1024;

// What a backend derives from a BatchPlan for its own kernels and keeps with the uploaded batch
// (cuda: the attention work lists). Backends that need nothing leave BatchMeta::backend_data null.
struct BackendBatchData {
  virtual ~BackendBatchData() = default;
};

// Device-resident copy of a BatchPlan's index arrays (for cpu, views of the host vectors).
struct BatchMeta {
  const BatchPlan* plan = nullptr;  // host copy, always valid during the step
  Tensor token_ids, positions, slot_mapping, query_start, context_lens, block_tables, logit_rows;
  Tensor packed;  // cuda: the one device buffer the arrays above are views of
  std::shared_ptr<BackendBatchData> backend_data;
};

// The decoder's residual stream in two buffers of one shape ([T, H]). A fused op that reads the
// stream in many blocks writes the updated stream into `spare` and swaps the two, so no block reads
// a value another block already updated.
struct ResidualStream {
  Tensor current, spare;
};

// The pre-norm in front of a projection: residual += delta (none in the first layer), then RMSNorm
// of the updated residual with `weight`. `normed` [T, H] is scratch for backends that run the steps
// apart (the fused ones leave it untouched; a backend may also write it in the order its linear
// kernel reads, as the CUDA one does for its 4-bit GEMM's 64-token tiles).
struct PreNorm {
  ResidualStream& residual;
  const Tensor* delta;
  const Tensor& weight;
  float eps;
  Tensor& normed;
};

// What qkv_rope_store needs besides the projection (see there).
struct QkvRopeStore {
  const Tensor* q_norm;
  const Tensor* k_norm;
  float norm_eps;
  const RopeTable& rope;
  const AttentionShape& shape;
  KvCache& cache;
  int layer;
  const BatchMeta& meta;
};

// A recorded sequence of backend ops replayed as one unit with the same buffers and shapes (a CUDA
// graph): a decode step's ~300 kernel launches cost one launch.
class StepGraph {
 public:
  virtual ~StepGraph() = default;
  virtual void replay() = 0;
};

// The op contract. Each public op checks its arguments once, here in the base class
// (backend/op_checks.cpp: defined tensors on this backend's device, dtypes, ranks and shapes, the
// KV cache geometry against the heads and the batch plan), naming the op in the Error it throws,
// and then calls the backend's implementation (the protected do_* of the same name), which may
// take the arguments as valid. Memory and graph functions are plain virtuals.
class Backend {
 public:
  virtual ~Backend() = default;

  virtual Device device() const = 0;
  virtual std::string name() const = 0;
  // Element type of weights and activations (fp32 on cpu; fp16/bf16 on cuda).
  virtual DType compute_dtype() const = 0;
  // The element type this backend keeps a matrix weight (linear, embedding, lm_head) in when the
  // checkpoint stores it as `checkpoint_dtype`; linear and embedding accept weights of that type
  // besides the compute dtype. The compute dtype unless a backend says otherwise (the cpu backend keeps
  // bf16/fp16 checkpoints 16-bit and widens them to fp32 inside its GEMM).
  virtual DType weight_dtype(DType checkpoint_dtype) const {
    (void)checkpoint_dtype;
    return compute_dtype();
  }

  // ---- memory ----
  virtual Tensor empty(DType dtype, std::vector<int64_t> shape) = 0;
  // Copies host data of type `src_dtype` into a new tensor of type `dtype`, converting as needed.
  virtual Tensor upload(const void* src, DType src_dtype, std::vector<int64_t> shape, DType dtype) = 0;
  // Copies a tensor to host memory as fp32.
  virtual std::vector<float> download_f32(const Tensor& t) = 0;
  // Packs a host 4-bit matrix into this backend's layout; Error on backends without 4-bit weights.
  virtual Int4Weight pack_int4(const HostInt4Matrix& m);
  // A zeroed cache of this geometry; its dtype must be the compute dtype. A quantized format needs a
  // head_dim that is a multiple of kv_head_dim_multiple; the data tensor is then opaque bytes (typed
  // as the compute dtype, numel = bytes() / its size).
  KvCache allocate_kv_cache(const KvCacheSpec& spec);
  virtual BatchMeta upload_batch(const BatchPlan& plan) = 0;
  // Copies the plan's arrays into the device buffers of `meta` (made by upload_batch for a plan with
  // the same array sizes), so that recorded graphs see the new step's values at the same addresses.
  // meta.plan keeps pointing at the plan it was made for. Only backends that can_capture() have it.
  virtual void upload_batch_into(const BatchPlan& plan, BatchMeta& meta) {
    (void)plan, (void)meta;
    fail("{}: no recorded graphs on this backend", name());
  }
  // Bytes the backend can still allocate (device memory for cuda, a budget for cpu).
  virtual size_t free_memory() const = 0;
  // Bytes in use now: for cuda the whole device as nvidia-smi counts it (the pool keeps freed
  // blocks, so after a run this is that run's high-water mark); for cpu the KV caches it holds.
  virtual size_t used_memory() const = 0;
  virtual void synchronize() {}
  // Makes this backend's device the calling thread's (cuda); a tensor-parallel rank's thread calls
  // it before running the rank's share of a step.
  virtual void make_current() const {}
  // Whether capture() records graphs here.
  virtual bool can_capture() const { return false; }
  // Records the ops `body` issues, without running them, into a graph; tensors allocated inside
  // `body` live as long as the graph. Null when the backend has no graphs (cpu, or disabled).
  virtual std::unique_ptr<StepGraph> capture(const std::function<void()>& body) {
    (void)body;
    return nullptr;
  }

  // ---- ops ----
  // out[t] = table[ids[t]]  (table [V, H], ids [T] int32, out [T, H])
  void embedding(const Tensor& table, const Tensor& ids, Tensor& out);
  // out = x / rms(x) * weight, row-wise over the last dim (x, out [R, C]; weight [C])
  void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out);
  // residual += x; out = rms_norm(residual)   (the fused pre-norm of the next sub-layer)
  void add_rms_norm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps, Tensor& out);
  // out = x @ weight^T (+ bias); x [T, K], weight [N, K] (dense or 4-bit), bias [N] or undefined,
  // out [T, N]. out may be fp32 while x/weight are fp16/bf16 (logits). Whatever the compute dtype, a
  // full-precision product (x, a dense weight, out and any bias all fp32) is taken too, summed in fp32
  // (quantize's searches run theirs on a GPU backend this way).
  void linear(const Tensor& x, const LinearWeight& weight, const Tensor* bias, Tensor& out);
  // gate_up [T, 2I] = [gate | up] per row; out [T, I] = silu(gate) * up
  void silu_mul(const Tensor& gate_up, Tensor& out);
  // From the fused projection qkv [T, (Hq + 2 Hkv) D]: optional per-head RMSNorm of q and k
  // (q_norm/k_norm weights [D], undefined when the model has none), RoPE at each token's
  // position, K and V written into the cache at the plan's slots, rotated q written to q_out [T, Hq D].
  void qkv_rope_store(const Tensor& qkv, const Tensor* q_norm, const Tensor* k_norm, float norm_eps,
                      const RopeTable& rope, const AttentionShape& shape, KvCache& cache, int layer,
                      const BatchMeta& meta, Tensor& q_out);
  // Causal attention of each new token over its sequence's cached keys/values (positions
  // 0..its own, sliding window applied). q, out [T, Hq D].
  void attention(const Tensor& q, const KvCache& cache, int layer, const BatchMeta& meta, const AttentionShape& shape,
                 Tensor& out);

  // ---- fused ops: each is defined as the ops named in its comment, run in order, and that is what
  // the base class's do_* does (backend/fused_ops.cpp); a backend overrides one where fusing pays ----
  // PreNorm, then linear(normed, weight, bias, out).
  void norm_linear(const PreNorm& pre, const LinearWeight& weight, const Tensor* bias, Tensor& out);
  // PreNorm, linear(normed, weight, bias, qkv) and qkv_rope_store(qkv, ..., q_out): the attention
  // input of a decoder layer. `qkv` [T, (Hq + 2 Hkv) D] is scratch for backends that run it apart.
  void norm_qkv_rope_store(const PreNorm& pre, const LinearWeight& weight, const Tensor* bias, Tensor& qkv,
                           const QkvRopeStore& rope, Tensor& q_out);
  // PreNorm, linear(normed, weight, bias, gate_up) and silu_mul(gate_up, out): the SwiGLU input of a
  // decoder layer's MLP. `gate_up` [T, 2I] is scratch for backends that run it apart.
  void norm_linear_silu_mul(const PreNorm& pre, const LinearWeight& weight, const Tensor* bias, Tensor& gate_up,
                            Tensor& out);
  // norm_linear_silu_mul(pre, gate_up, gate_up_bias, gate_up_out, mlp) and linear(mlp, down, down_bias,
  // out): a decoder layer's dense MLP. `gate_up_out` [T, 2I] and `mlp` [T, I] are scratch (a backend may
  // write `mlp` in the order its down projection reads, as the CUDA one does for its 4-bit GEMM's
  // 64-token tiles).
  void norm_mlp(const PreNorm& pre, const LinearWeight& gate_up, const Tensor* gate_up_bias, const LinearWeight& down,
                const Tensor* down_bias, Tensor& gate_up_out, Tensor& mlp, Tensor& out);

  // ---- mixture of experts ----
  // Per row of router logits [T, E] (fp32): softmax over the E experts, the k largest probabilities
  // (1 <= k <= E; ties: the lower expert first) as ids [T, k] (int32) and weights [T, k] (fp32), the
  // k weights rescaled to sum to 1 when `normalize`.
  void moe_route(const Tensor& logits, int k, bool normalize, Tensor& ids, Tensor& weights);
  // The routed SwiGLU experts: out[t] = sum_j weights[t, j] * down[e] · silu(gate[e] · x[t]) * (up[e] · x[t])
  // with e = ids[t, j]. x, out [T, H]; gate_up [E, 2I, H] (each expert's gate rows, then its up rows);
  // down [E, H, I]; ids, weights [T, k] as moe_route writes them. An id outside 0..E-1 is an Error on
  // the cpu; the cuda kernels cannot see it without a sync and skip that expert.
  void moe_experts(const Tensor& x, const Tensor& gate_up, const Tensor& down, const Tensor& ids,
                   const Tensor& weights, Tensor& out);

  // out[r] = x[rows[r]]   (x [T, C], rows [R] int32, out [R, C])
  void gather_rows(const Tensor& x, const Tensor& rows, Tensor& out);

  // ---- sampling: only ids and candidates cross to the host ----
  // Per row of fp32 logits [R, V]: the index of the first maximum (NaN skipped; 0 for a row of NaN).
  std::vector<int32_t> argmax_rows(const Tensor& logits);
  // For logits rows `rows` (fp32 [R, V]) with per-row temperatures (> 0): the k largest logits
  // (1 <= k <= kMaxTopCandidates; k > V gives V) and the row's normaliser, see TopCandidates.
  TopCandidates top_candidates(const Tensor& logits, std::span<const int32_t> rows, std::span<const float> temperatures,
                               int k);
  // HF's repetition penalty in place, for each i: x = logits[rows[i], ids[i]] becomes
  // x / penalties[i] when x > 0, else x * penalties[i]. Each (row, id) pair at most once.
  void repetition_penalty(Tensor& logits, std::span<const int32_t> rows, std::span<const int32_t> ids,
                          std::span<const float> penalties);

 protected:
  // The implementations, called with arguments the public op of the same name has checked.
  virtual KvCache do_allocate_kv_cache(const KvCacheSpec& spec) = 0;
  virtual void do_embedding(const Tensor& table, const Tensor& ids, Tensor& out) = 0;
  virtual void do_rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) = 0;
  virtual void do_add_rms_norm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps, Tensor& out) = 0;
  virtual void do_linear(const Tensor& x, const Tensor& weight, const Tensor* bias, Tensor& out) = 0;
  // linear with a 4-bit weight (made by this backend's pack_int4). Default: Error.
  virtual void do_linear_int4(const Tensor& x, const Int4Weight& weight, const Tensor* bias, Tensor& out);
  virtual void do_silu_mul(const Tensor& gate_up, Tensor& out) = 0;
  virtual void do_qkv_rope_store(const Tensor& qkv, const Tensor* q_norm, const Tensor* k_norm, float norm_eps,
                                 const RopeTable& rope, const AttentionShape& shape, KvCache& cache, int layer,
                                 const BatchMeta& meta, Tensor& q_out) = 0;
  virtual void do_attention(const Tensor& q, const KvCache& cache, int layer, const BatchMeta& meta,
                            const AttentionShape& shape, Tensor& out) = 0;
  virtual void do_norm_linear(const PreNorm& pre, const LinearWeight& weight, const Tensor* bias, Tensor& out);
  virtual void do_norm_qkv_rope_store(const PreNorm& pre, const LinearWeight& weight, const Tensor* bias, Tensor& qkv,
                                      const QkvRopeStore& rope, Tensor& q_out);
  virtual void do_norm_linear_silu_mul(const PreNorm& pre, const LinearWeight& weight, const Tensor* bias,
                                       Tensor& gate_up, Tensor& out);
  virtual void do_norm_mlp(const PreNorm& pre, const LinearWeight& gate_up, const Tensor* gate_up_bias,
                           const LinearWeight& down, const Tensor* down_bias, Tensor& gate_up_out, Tensor& mlp,
                           Tensor& out);
  virtual void do_gather_rows(const Tensor& x, const Tensor& rows, Tensor& out) = 0;
  virtual void do_moe_route(const Tensor& logits, int k, bool normalize, Tensor& ids, Tensor& weights) = 0;
  virtual void do_moe_experts(const Tensor& x, const Tensor& gate_up, const Tensor& down, const Tensor& ids,
                              const Tensor& weights, Tensor& out) = 0;
  virtual std::vector<int32_t> do_argmax_rows(const Tensor& logits) = 0;
  virtual TopCandidates do_top_candidates(const Tensor& logits, std::span<const int32_t> rows,
                                          std::span<const float> temperatures, int k) = 0;
  virtual void do_repetition_penalty(Tensor& logits, std::span<const int32_t> rows, std::span<const int32_t> ids,
                                     std::span<const float> penalties) = 0;
};

struct BackendOptions {
  std::string device = "cpu";              // "cpu", "cuda", "cuda:N"
  int threads = 0;                         // cpu worker threads (0 = all cores)
  DType dtype = DType::F32;                // compute dtype on cuda
  size_t memory_budget = size_t(4) << 30;  // cpu: bytes the KV cache may take in total (--cpu-memory)
  CudaOptions cuda;                        // cuda only (the cpu backend has none of these switches)
  CpuOptions cpu;                          // cpu only: kernel instruction set, weight storage
  bool lm_head_int4 = false;               // load the lm_head as 4-bit groups (LlamaModel::quantize_lm_head)
  // Tensor parallelism (pipeline/model_folder.h makes one backend per rank; 0: a workspace's tp,
  // else 1): cpu ranks split `threads`; cuda ranks run on `devices` (empty: the first `tp` GPUs).
  int tp = 0;
  std::vector<int> devices;
};

// Creates the backend named by options.device; throws Error for an unknown or unavailable device.
std::unique_ptr<Backend> make_backend(const BackendOptions& options);
// True when this build has the CUDA backend and a GPU is present.
bool cuda_available();
// GPUs this process sees (0 without the CUDA backend or a driver).
int cuda_device_count();

}  // namespace turbine
