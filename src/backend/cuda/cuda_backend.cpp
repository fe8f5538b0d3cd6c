#include "backend/cuda/cuda_backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/flash_prefill.h"
#include "backend/cuda/kernels.h"
#include "backend/cuda/paged_attention.h"
#include "backend/cuda/paged_decode.h"
#include "backend/cuda/qkv_rope_store.h"

namespace turbine::cuda {
namespace {

void expect(bool ok, const char* op, const char* what) {
  if (!ok) fail("cuda {}: {}", op, what);
}

void expect_device(const Tensor& t, const char* op) {
  expect(t.defined() && t.device == Device::Cuda, op, "a tensor is not on the GPU");
}

}  // namespace

CudaBackend::CudaBackend(int device_index, DType dtype) : device_(device_index), dtype_(dtype) {
  // TURBINE_CUDA_SKINNY_GEMM=n sends GEMMs of more than n tokens to cuBLASLt (0: all of them), for
  // profiling comparisons.
  if (const char* env = std::getenv("TURBINE_CUDA_SKINNY_GEMM"); env && *env)
    skinny_gemm_max_tokens_ = std::clamp(std::atoi(env), 0, kSkinnyGemmMaxTokens);
  // TURBINE_CUDA_WGMMA_GEMM=n: the same for the Hopper GEMM (0: cuBLASLt from the skinny limit on).
  if (const char* env = std::getenv("TURBINE_CUDA_WGMMA_GEMM"); env && *env)
    wgmma_gemm_max_tokens_ = std::clamp(std::atoi(env), 0, kWgmmaGemmMaxTokens);
  // TURBINE_CUDA_FUSED=0 runs the fused ops' parts apart at one token too (comparisons, debugging).
  if (const char* env = std::getenv("TURBINE_CUDA_FUSED"); env && std::string(env) == "0") fuse_skinny_ = false;
  // TURBINE_CUDA_GRAPHS=0 runs decode steps op by op (for comparisons and debugging).
  if (const char* env = std::getenv("TURBINE_CUDA_GRAPHS"); env && std::string(env) == "0") use_graphs_ = false;
  if (dtype != DType::F16 && dtype != DType::BF16)
    fail("--dtype: the cuda backend computes in float16 or bfloat16, not {}", dtype_name(dtype));
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    count = 0;
  }
  if (device_index < 0 || device_index >= count)
    fail("--device: cuda:{} is not available ({} GPU(s) found)", device_index, count);
  activate();
  TURBINE_CUDA_CHECK(cudaGetDeviceProperties(&props_, device_));
  TURBINE_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  pool_ = std::make_unique<DeviceMemoryPool>(device_);
  // Split-K decode attention runs only while sequences x KV heads < 2 x SMs (paged_decode_splits),
  // so this many counters always suffice. Zeroed once, outside any graph capture (a recorded memset
  // would not run before an op-by-op step); the kernels leave them zero.
  split_counters_ = empty(DType::I32, {int64_t(2) * props_.multiProcessorCount});
  TURBINE_CUDA_CHECK(cudaMemsetAsync(split_counters_.data, 0, split_counters_.bytes(), stream_));
  if (!init_wgmma_gemm(device_)) wgmma_gemm_max_tokens_ = 0;
  if (wgmma_gemm_max_tokens_ > 0) {
    // One workspace for every launch (they run in stream order), sized for the most tokens.
    gemm_workspace_ = empty(DType::F32, {int64_t(wgmma_gemm_max_workspace_bytes(sms()) / sizeof(float))});
    gemm_tile_counters_ = empty(DType::I32, {kGemmTileCounters});
    TURBINE_CUDA_CHECK(cudaMemsetAsync(gemm_tile_counters_.data, 0, gemm_tile_counters_.bytes(), stream_));
  }
  // TURBINE_CUBLASLT_TUNE=0 keeps cuBLASLt's first choice for every shape (comparisons).
  const char* tune = std::getenv("TURBINE_CUBLASLT_TUNE");
  gemm_ = std::make_unique<CublasLtGemm>(tune && std::string(tune) == "0" ? 0 : CublasLtGemm::kDefaultTuneMaxTokens);
  for (int i = 0; i < 2; ++i) {
    TURBINE_CUDA_CHECK(cudaMallocHost(&staging_[i], kStagingBytes));
    TURBINE_CUDA_CHECK(cudaEventCreateWithFlags(&staging_done_[i], cudaEventDisableTiming));
  }
  TURBINE_CUDA_CHECK(cudaEventCreateWithFlags(&meta_done_, cudaEventDisableTiming));
}

CudaBackend::~CudaBackend() {
  cudaSetDevice(device_);
  cudaStreamSynchronize(stream_);
  rope_device_ = Tensor{};
  split_counters_ = Tensor{};
  gemm_tile_counters_ = Tensor{};
  gemm_workspace_ = Tensor{};
  gemm_.reset();
  pool_.reset();
  for (int i = 0; i < 2; ++i) {
    cudaFreeHost(staging_[i]);
    cudaEventDestroy(staging_done_[i]);
  }
  if (meta_host_) cudaFreeHost(meta_host_);
  cudaEventDestroy(meta_done_);
  cudaStreamDestroy(stream_);
}

void CudaBackend::activate() const { TURBINE_CUDA_CHECK(cudaSetDevice(device_)); }

std::string CudaBackend::name() const { return fmt::format("cuda:{} ({})", device_, props_.name); }

Tensor CudaBackend::empty(DType dtype, std::vector<int64_t> shape) {
  activate();
  Tensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.device = Device::Cuda;
  t.storage = pool_->allocate(t.bytes());
  t.data = t.storage.get();
  if (capturing_) capture_keep_.push_back(t.storage);
  return t;
}

// Host -> device through the pinned staging buffers: memcpy into one while the other's DMA runs.
void CudaBackend::copy_to_device(void* dst, const void* src, size_t bytes) {
  const auto* in = static_cast<const char*>(src);
  auto* out = static_cast<char*>(dst);
  for (size_t done = 0, i = 0; done < bytes; ++i) {
    const size_t n = std::min(kStagingBytes, bytes - done);
    const int b = int(i % 2);
    TURBINE_CUDA_CHECK(cudaEventSynchronize(staging_done_[b]));
    std::memcpy(staging_[b], in + done, n);
    TURBINE_CUDA_CHECK(cudaMemcpyAsync(out + done, staging_[b], n, cudaMemcpyHostToDevice, stream_));
    TURBINE_CUDA_CHECK(cudaEventRecord(staging_done_[b], stream_));
    done += n;
  }
}

Tensor CudaBackend::upload(const void* src, DType src_dtype, std::vector<int64_t> shape, DType dtype) {
  activate();
  Tensor t = empty(dtype, std::move(shape));
  const size_t n = size_t(t.numel());
  if (n == 0) return t;
  if (src_dtype == dtype) {
    copy_to_device(t.data, src, t.bytes());
  } else {
    if (src_dtype == DType::I32 || dtype == DType::I32)
      fail("cuda upload: cannot convert {} to {}", dtype_name(src_dtype), dtype_name(dtype));
    // Raw copy in slices through a device scratch buffer, converted on the GPU into place.
    const size_t in_size = dtype_size(src_dtype), out_size = dtype_size(dtype);
    const size_t slice = kStagingBytes / in_size;
    Tensor scratch = empty(src_dtype, {int64_t(std::min(n, slice))});
    for (size_t done = 0; done < n; done += slice) {
      const size_t m = std::min(slice, n - done);
      copy_to_device(scratch.data, static_cast<const char*>(src) + done * in_size, m * in_size);
      launch_convert(scratch.data, src_dtype, static_cast<char*>(t.data) + done * out_size, dtype, m, stream_);
    }
  }
  // The caller may free `src` and reuse staging as soon as we return.
  TURBINE_CUDA_CHECK(cudaStreamSynchronize(stream_));
  return t;
}

std::vector<float> CudaBackend::download_f32(const Tensor& t) {
  activate();
  expect_device(t, "download");
  std::vector<float> host(size_t(t.numel()));
  if (host.empty()) return host;
  if (t.dtype == DType::F32) {
    TURBINE_CUDA_CHECK(cudaMemcpyAsync(host.data(), t.data, t.bytes(), cudaMemcpyDeviceToHost, stream_));
  } else if (t.dtype == DType::I32) {
    std::vector<int32_t> ints(host.size());
    TURBINE_CUDA_CHECK(cudaMemcpyAsync(ints.data(), t.data, t.bytes(), cudaMemcpyDeviceToHost, stream_));
    TURBINE_CUDA_CHECK(cudaStreamSynchronize(stream_));
    for (size_t i = 0; i < ints.size(); ++i) host[i] = float(ints[i]);
    return host;
  } else {
    Tensor f = empty(DType::F32, t.shape);
    launch_convert(t.data, t.dtype, f.data, DType::F32, host.size(), stream_);
    TURBINE_CUDA_CHECK(cudaMemcpyAsync(host.data(), f.data, f.bytes(), cudaMemcpyDeviceToHost, stream_));
  }
  TURBINE_CUDA_CHECK(cudaStreamSynchronize(stream_));
  return host;
}

KvCache CudaBackend::allocate_kv_cache(const KvCacheSpec& spec) {
  activate();
  if (spec.dtype != dtype_)
    fail("cuda kv cache: dtype {} differs from the compute dtype {}", dtype_name(spec.dtype), dtype_name(dtype_));
  KvCache cache;
  cache.spec = spec;
  cache.data.dtype = spec.dtype;
  cache.data.device = Device::Cuda;
  cache.data.shape = {spec.num_layers, spec.num_blocks, 2, spec.num_kv_heads, spec.block_len, spec.head_dim};
  void* ptr = nullptr;
  const cudaError_t status = cudaMalloc(&ptr, spec.bytes());
  if (status != cudaSuccess) {
    cudaGetLastError();
    fail("cuda kv cache: cannot allocate {:.2f} GiB: {}", spec.bytes() / double(1 << 30),
         cudaGetErrorString(status));
  }
  cache.data.storage = std::shared_ptr<void>(ptr, [](void* p) { cudaFree(p); });
  cache.data.data = ptr;
  TURBINE_CUDA_CHECK(cudaMemsetAsync(ptr, 0, spec.bytes(), stream_));
  return cache;
}

namespace {

// The plan's index arrays in the order BatchMeta views them, each at a 128-byte aligned offset of
// one buffer.
struct MetaLayout {
  std::vector<const std::vector<int32_t>*> arrays;
  std::vector<size_t> offsets;  // in int32 elements
  size_t total = 0;
};

MetaLayout meta_layout(const BatchPlan& plan) {
  MetaLayout m;
  m.arrays = {&plan.token_ids,    &plan.positions,    &plan.slot_mapping, &plan.query_start,
              &plan.context_lens, &plan.block_tables, &plan.logit_rows,  &plan.decode_seqs,
              &plan.prefill_tiles};
  for (const auto* a : m.arrays) {
    m.offsets.push_back(m.total);
    m.total += (a->size() + 31) / 32 * 32;
  }
  m.total = std::max<size_t>(m.total, 1);
  return m;
}

}  // namespace

// Fills the pinned staging copy of the plan's arrays and sends it to `device` in one copy.
void CudaBackend::send_meta(const BatchPlan& plan, void* device, size_t expect_total) {
  const MetaLayout layout = meta_layout(plan);
  if (expect_total && layout.total != expect_total)
    fail("cuda upload_batch_into: the plan's arrays differ in size from the recorded ones");
  const size_t bytes = layout.total * sizeof(int32_t);
  TURBINE_CUDA_CHECK(cudaEventSynchronize(meta_done_));
  if (bytes > meta_host_bytes_) {
    if (meta_host_) TURBINE_CUDA_CHECK(cudaFreeHost(meta_host_));
    meta_host_bytes_ = std::max(bytes, meta_host_bytes_ * 2);
    TURBINE_CUDA_CHECK(cudaMallocHost(&meta_host_, meta_host_bytes_));
  }
  auto* host = static_cast<int32_t*>(meta_host_);
  for (size_t i = 0; i < layout.arrays.size(); ++i)
    std::copy(layout.arrays[i]->begin(), layout.arrays[i]->end(), host + layout.offsets[i]);
  TURBINE_CUDA_CHECK(cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, stream_));
  TURBINE_CUDA_CHECK(cudaEventRecord(meta_done_, stream_));
}

// All index arrays travel in one pinned buffer and one copy; the tensors are views into it.
BatchMeta CudaBackend::upload_batch(const BatchPlan& plan) {
  activate();
  const MetaLayout layout = meta_layout(plan);
  Tensor all = empty(DType::I32, {int64_t(layout.total)});
  send_meta(plan, all.data, 0);
  auto view = [&](int i, std::vector<int64_t> shape) {
    Tensor t = all;
    t.data = all.ptr<int32_t>() + layout.offsets[i];
    t.shape = std::move(shape);
    return t;
  };
  BatchMeta meta;
  meta.plan = &plan;
  meta.token_ids = view(0, {plan.num_tokens});
  meta.positions = view(1, {plan.num_tokens});
  meta.slot_mapping = view(2, {plan.num_tokens});
  meta.query_start = view(3, {plan.num_sequences + 1});
  meta.context_lens = view(4, {plan.num_sequences});
  meta.block_tables = view(5, {plan.num_sequences, plan.max_blocks});
  meta.logit_rows = view(6, {int64_t(plan.logit_rows.size())});
  meta.decode_seqs = view(7, {int64_t(plan.decode_seqs.size())});
  meta.prefill_tiles = view(8, {plan.num_prefill_tiles(), 2});
  meta.packed = all;
  return meta;
}

void CudaBackend::upload_batch_into(const BatchPlan& plan, BatchMeta& meta) {
  activate();
  expect(meta.packed.defined(), "upload_batch_into", "the meta was not made by upload_batch");
  send_meta(plan, meta.packed.data, size_t(meta.packed.numel()));
}

namespace {

class CudaStepGraph : public StepGraph {
 public:
  CudaStepGraph(cudaGraphExec_t exec, cudaStream_t stream, std::vector<std::shared_ptr<void>> keep)
      : exec_(exec), stream_(stream), keep_(std::move(keep)) {}
  ~CudaStepGraph() override { cudaGraphExecDestroy(exec_); }
  void replay() override { TURBINE_CUDA_CHECK(cudaGraphLaunch(exec_, stream_)); }

 private:
  cudaGraphExec_t exec_;
  cudaStream_t stream_;
  std::vector<std::shared_ptr<void>> keep_;  // buffers the recorded kernels use
};

}  // namespace

std::unique_ptr<StepGraph> CudaBackend::capture(const std::function<void()>& body) {
  if (!use_graphs_) return nullptr;
  activate();
  capture_keep_.clear();
  capturing_ = true;
  // Relaxed: the pool may still cudaMalloc while recording.
  TURBINE_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeRelaxed));
  cudaGraph_t graph = nullptr;
  try {
    body();
  } catch (...) {
    capturing_ = false;
    cudaStreamEndCapture(stream_, &graph);
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();
    throw;
  }
  capturing_ = false;
  TURBINE_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
  cudaGraphExec_t exec = nullptr;
  const cudaError_t status = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  TURBINE_CUDA_CHECK(status);
  return std::make_unique<CudaStepGraph>(exec, stream_, std::move(capture_keep_));
}

size_t CudaBackend::free_memory() const {
  activate();
  size_t free = 0, total = 0;
  TURBINE_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return free + pool_->cached_bytes();
}

size_t CudaBackend::used_memory() const {
  activate();
  size_t free = 0, total = 0;
  TURBINE_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return total - free;
}

void CudaBackend::synchronize() {
  activate();
  TURBINE_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::embedding(const Tensor& table, const Tensor& ids, Tensor& out) {
  activate();
  expect_device(table, "embedding");
  expect(ids.dtype == DType::I32 && out.dtype == table.dtype && out.dim(-1) == table.dim(1) &&
             out.numel() == ids.numel() * table.dim(1),
         "embedding", "shape or dtype mismatch");
  launch_gather_rows(table.data, ids.ptr<int32_t>(), out.data, int(ids.numel()), size_t(table.dim(1)) *
                     dtype_size(table.dtype), int(table.dim(0)), stream_);
}

void CudaBackend::rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  activate();
  expect(x.dtype == dtype_ && weight.dtype == dtype_ && out.dtype == dtype_ && x.numel() == out.numel() &&
             x.dim(-1) == weight.numel(),
         "rms_norm", "shape or dtype mismatch");
  const int cols = int(x.dim(-1));
  launch_rms_norm(x.data, weight.data, out.data, int(x.numel() / cols), cols, eps, dtype_, stream_);
}

void CudaBackend::add_rms_norm(Tensor& residual, const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  activate();
  expect(residual.dtype == dtype_ && x.dtype == dtype_ && weight.dtype == dtype_ && out.dtype == dtype_ &&
             x.numel() == residual.numel() && out.numel() == x.numel() && x.dim(-1) == weight.numel(),
         "add_rms_norm", "shape or dtype mismatch");
  const int cols = int(x.dim(-1));
  launch_add_rms_norm(residual.data, x.data, weight.data, out.data, int(x.numel() / cols), cols, eps, dtype_,
                      stream_);
}

void CudaBackend::linear(const Tensor& x, const Tensor& weight, const Tensor* bias, Tensor& out) {
  activate();
  expect(weight.rank() == 2 && x.dim(-1) == weight.dim(1) && x.dtype == weight.dtype && out.dim(-1) == weight.dim(0) &&
             out.numel() / out.dim(-1) == x.numel() / x.dim(-1),
         "linear", "shape or dtype mismatch");
  const int tokens = int(x.numel() / x.dim(-1)), n = int(weight.dim(0)), k = int(weight.dim(1));
  SkinnyGemmArgs a;
  a.x = x.data;
  a.w = weight.data;
  a.out = out.data;
  a.in_dtype = x.dtype;
  a.out_dtype = out.dtype;
  a.tokens = tokens;
  a.n = n;
  a.k = k;
  const bool skinny = tokens <= skinny_gemm_max_tokens_ && launch_skinny_gemm(a, nullptr, stream_);
  if (!skinny && !wgmma_linear(x, weight, out, tokens, n, k))
    gemm_->matmul(x.data, weight.data, x.dtype, out.data, out.dtype, tokens, n, k, stream_);
  if (bias && bias->defined()) {
    expect(bias->numel() == n, "linear", "bias length differs from the output width");
    launch_bias_add(out.data, out.dtype, bias->data, bias->dtype, tokens, n, stream_);
  }
}

bool CudaBackend::wgmma_linear(const Tensor& x, const Tensor& weight, Tensor& out, int tokens, int n, int k) {
  if (tokens > wgmma_gemm_max_tokens_) return false;
  const WgmmaGemmPlan plan = plan_wgmma_gemm(tokens, n, k, sms());
  if (plan.grid == 0 || plan.tiles > gemm_tile_counters_.numel() || plan.workspace_bytes > gemm_workspace_.bytes())
    return false;
  return launch_wgmma_gemm(x.data, weight.data, x.dtype, out.data, out.dtype, tokens, n, k, plan,
                           gemm_workspace_.ptr<float>(), static_cast<unsigned*>(gemm_tile_counters_.data), stream_);
}

void CudaBackend::silu_mul(const Tensor& gate_up, Tensor& out) {
  activate();
  const int inter = int(out.dim(-1));
  expect(gate_up.dtype == dtype_ && out.dtype == dtype_ && gate_up.dim(-1) == 2 * inter &&
             gate_up.numel() == 2 * out.numel(),
         "silu_mul", "shape or dtype mismatch");
  launch_silu_mul(gate_up.data, out.data, int(out.numel() / inter), inter, dtype_, stream_);
}

const float* CudaBackend::rope_table(const RopeTable& rope) {
  if (!rope_device_.defined() || rope.inv_freq != rope_host_) {
    rope_host_ = rope.inv_freq;
    rope_device_ = upload(rope_host_.data(), DType::F32, {int64_t(std::max<size_t>(rope_host_.size(), 1))},
                          DType::F32);
  }
  return rope_device_.ptr<float>();
}

QkvRopeParams CudaBackend::qkv_rope_params(const Tensor& qkv, const Tensor* q_norm, const Tensor* k_norm,
                                           float norm_eps, const RopeTable& rope, const AttentionShape& shape,
                                           KvCache& cache, int layer, const BatchMeta& meta, Tensor& q_out) {
  const int T = meta.plan->num_tokens, D = shape.head_dim;
  expect(qkv.dtype == dtype_ && q_out.dtype == dtype_ && cache.spec.dtype == dtype_, "qkv_rope_store",
         "dtype mismatch");
  expect(qkv.numel() == int64_t(T) * (shape.num_heads + 2 * shape.num_kv_heads) * D &&
             q_out.numel() == int64_t(T) * shape.num_heads * D && cache.spec.head_dim == D &&
             cache.spec.num_kv_heads == shape.num_kv_heads && layer >= 0 && layer < cache.spec.num_layers,
         "qkv_rope_store", "shape mismatch");
  expect(rope.rotary_dim % 2 == 0 && rope.rotary_dim <= D && int(rope.inv_freq.size()) >= rope.rotary_dim / 2,
         "qkv_rope_store", "rotary_dim must be even, at most head_dim, with rotary_dim/2 frequencies");
  QkvRopeParams p;
  p.qkv = qkv.data;
  p.q_norm = q_norm && q_norm->defined() ? q_norm->data : nullptr;
  p.k_norm = k_norm && k_norm->defined() ? k_norm->data : nullptr;
  p.norm_eps = norm_eps;
  p.inv_freq = rope_table(rope);
  p.attention_factor = rope.attention_factor;
  p.rotary_dim = rope.rotary_dim;
  p.positions = meta.positions.ptr<int32_t>();
  p.slot_mapping = meta.slot_mapping.ptr<int32_t>();
  const size_t layer_elems = cache.spec.bytes() / cache.spec.num_layers / dtype_size(dtype_);
  p.cache_layer = static_cast<char*>(cache.data.data) + layer * layer_elems * dtype_size(dtype_);
  p.q_out = q_out.data;
  p.tokens = T;
  p.num_heads = shape.num_heads;
  p.num_kv_heads = shape.num_kv_heads;
  p.head_dim = D;
  p.block_len = cache.spec.block_len;
  p.dtype = dtype_;
  return p;
}

void CudaBackend::qkv_rope_store(const Tensor& qkv, const Tensor* q_norm, const Tensor* k_norm, float norm_eps,
                                 const RopeTable& rope, const AttentionShape& shape, KvCache& cache, int layer,
                                 const BatchMeta& meta, Tensor& q_out) {
  activate();
  launch_qkv_rope_store(qkv_rope_params(qkv, q_norm, k_norm, norm_eps, rope, shape, cache, layer, meta, q_out),
                        stream_);
}

void CudaBackend::attention(const Tensor& q, const KvCache& cache, int layer, const BatchMeta& meta,
                            const AttentionShape& shape, Tensor& out) {
  activate();
  const BatchPlan& plan = *meta.plan;
  expect(q.dtype == dtype_ && out.dtype == dtype_ && cache.spec.dtype == dtype_, "attention", "dtype mismatch");
  expect(q.numel() == int64_t(plan.num_tokens) * shape.num_heads * shape.head_dim && out.numel() == q.numel() &&
             cache.spec.head_dim == shape.head_dim && cache.spec.num_kv_heads == shape.num_kv_heads &&
             layer >= 0 && layer < cache.spec.num_layers,
         "attention", "shape mismatch");
  PagedAttentionParams p;
  p.q = q.data;
  p.out = out.data;
  const size_t layer_bytes = cache.spec.bytes() / cache.spec.num_layers;
  p.cache_layer = static_cast<const char*>(cache.data.data) + layer * layer_bytes;
  p.query_start = meta.query_start.ptr<int32_t>();
  p.context_lens = meta.context_lens.ptr<int32_t>();
  p.block_tables = meta.block_tables.ptr<int32_t>();
  p.decode_seqs = meta.decode_seqs.ptr<int32_t>();
  p.num_decode = int(plan.decode_seqs.size());
  p.prefill_tiles = meta.prefill_tiles.ptr<int32_t>();
  p.num_prefill_tiles = plan.num_prefill_tiles();
  p.max_blocks = plan.max_blocks;
  p.num_sequences = plan.num_sequences;
  p.num_tokens = plan.num_tokens;
  p.max_new_tokens = plan.max_new_tokens;
  p.max_context = plan.max_context;
  p.num_heads = shape.num_heads;
  p.num_kv_heads = shape.num_kv_heads;
  p.head_dim = shape.head_dim;
  p.block_len = cache.spec.block_len;
  p.scale = shape.scale;
  p.sliding_window = shape.sliding_window;
  p.dtype = dtype_;
  p.max_smem_per_block = props_.sharedMemPerBlockOptin;
  // Head dims 64/128: prefill tiles on the flash kernel and decode tokens on the decode kernel,
  // two launches for a mixed step; otherwise the general kernel for every sequence.
  // Split-K scratch; the pool hands it out again only in stream order, after the kernel.
  Tensor workspace;
  auto scratch = [&](size_t bytes) -> float* {
    if (bytes == 0) return nullptr;
    workspace = empty(DType::F32, {int64_t(bytes / sizeof(float))});
    return workspace.ptr<float>();
  };
  if (attention_fast_paths(p)) {
    if (p.num_prefill_tiles > 0) launch_flash_prefill(p, stream_);
    if (p.num_decode > 0) {
      const int splits = paged_decode_splits(p, props_.multiProcessorCount);
      launch_paged_decode(p, splits, scratch(paged_decode_workspace_bytes(p, splits)),
                          split_counters(paged_decode_counter_count(p, splits)), stream_);
    }
    return;
  }
  const int splits = paged_attention_splits(p, props_.multiProcessorCount);
  launch_paged_attention(p, splits, scratch(paged_attention_workspace_bytes(p, splits)), stream_);
}

unsigned* CudaBackend::split_counters(size_t count) {
  if (count == 0) return nullptr;
  expect(count <= size_t(split_counters_.numel()), "attention", "more split-K counters needed than allocated");
  return static_cast<unsigned*>(split_counters_.data);
}

void CudaBackend::gather_rows(const Tensor& x, const Tensor& rows, Tensor& out) {
  activate();
  expect(rows.dtype == DType::I32 && out.dtype == x.dtype && out.dim(-1) == x.dim(-1) &&
             out.numel() == rows.numel() * x.dim(-1),
         "gather_rows", "shape or dtype mismatch");
  const int64_t cols = x.dim(-1);
  launch_gather_rows(x.data, rows.ptr<int32_t>(), out.data, int(rows.numel()), size_t(cols) * dtype_size(x.dtype),
                     int(x.numel() / cols), stream_);
}

std::vector<int32_t> CudaBackend::argmax_rows(const Tensor& logits) {
  activate();
  expect(logits.dtype == DType::F32 && logits.rank() == 2, "argmax", "expects fp32 logits [rows, vocab]");
  const int rows = int(logits.dim(0));
  std::vector<int32_t> ids(rows);
  if (rows == 0) return ids;
  Tensor out = empty(DType::I32, {rows});
  launch_argmax_rows(logits.ptr<float>(), rows, int(logits.dim(1)), out.ptr<int32_t>(), stream_);
  TURBINE_CUDA_CHECK(cudaMemcpyAsync(ids.data(), out.data, rows * sizeof(int32_t), cudaMemcpyDeviceToHost, stream_));
  TURBINE_CUDA_CHECK(cudaStreamSynchronize(stream_));
  return ids;
}

void CudaBackend::repetition_penalty(Tensor& logits, std::span<const int32_t> rows, std::span<const int32_t> ids,
                                     std::span<const float> penalties) {
  activate();
  expect_device(logits, "repetition_penalty");
  expect(logits.dtype == DType::F32 && logits.rank() == 2, "repetition_penalty", "expects fp32 logits [rows, vocab]");
  expect(rows.size() == ids.size() && rows.size() == penalties.size(), "repetition_penalty",
         "rows, ids and penalties differ in length");
  const size_t n = rows.size();
  if (n == 0) return;
  // One upload: rows, ids, penalties as bits.
  std::vector<int32_t> pairs(3 * n);
  for (size_t i = 0; i < n; ++i) {
    expect(rows[i] >= 0 && rows[i] < logits.dim(0) && ids[i] >= 0 && ids[i] < logits.dim(1), "repetition_penalty",
           "a (row, id) pair lies outside the logits");
    pairs[i] = rows[i];
    pairs[n + i] = ids[i];
    std::memcpy(&pairs[2 * n + i], &penalties[i], sizeof(float));
  }
  const Tensor dev = upload(pairs.data(), DType::I32, {int64_t(3 * n)}, DType::I32);
  launch_repetition_penalty(logits.ptr<float>(), logits.dim(1), dev.ptr<int32_t>(), int(n), stream_);
}

TopCandidates CudaBackend::top_candidates(const Tensor& logits, std::span<const int32_t> rows,
                                          std::span<const float> temperatures, int k) {
  activate();
  expect(logits.dtype == DType::F32 && logits.rank() == 2, "top_candidates", "expects fp32 logits [rows, vocab]");
  expect(rows.size() == temperatures.size(), "top_candidates", "needs one temperature per row");
  static_assert(kMaxTopCandidates <= kMaxCandidatesPow2, "the kernel sorts at most kMaxCandidatesPow2");
  expect(k >= 1 && k <= kMaxTopCandidates, "top_candidates", "k outside 1..kMaxTopCandidates");
  const int64_t R = int64_t(rows.size()), V = logits.dim(1);
  TopCandidates out;
  out.rows = R;
  out.k = std::min<int64_t>(k, V);
  if (R == 0 || V == 0) return out;
  // One upload (row ids, then temperatures as bits) and one download (ids, values, max, sum).
  std::vector<int32_t> params(2 * R);
  for (int64_t r = 0; r < R; ++r) {
    expect(rows[r] >= 0 && rows[r] < logits.dim(0), "top_candidates", "row outside the logits");
    expect(temperatures[r] > 0, "top_candidates", "temperature must be > 0");
    params[r] = rows[r];
    std::memcpy(&params[R + r], &temperatures[r], sizeof(float));
  }
  const Tensor dev_params = upload(params.data(), DType::I32, {2 * R}, DType::I32);
  const int64_t n = R * out.k;
  Tensor result = empty(DType::I32, {2 * n + 2 * R});
  int32_t* res = result.ptr<int32_t>();
  launch_top_candidates(logits.ptr<float>(), int(V), dev_params.ptr<int32_t>(), dev_params.ptr<float>() + R, int(R),
                        int(out.k), res, reinterpret_cast<float*>(res + n), reinterpret_cast<float*>(res + 2 * n),
                        reinterpret_cast<float*>(res + 2 * n + R), stream_);
  std::vector<int32_t> host(size_t(2 * n + 2 * R));
  TURBINE_CUDA_CHECK(cudaMemcpyAsync(host.data(), res, host.size() * sizeof(int32_t), cudaMemcpyDeviceToHost, stream_));
  TURBINE_CUDA_CHECK(cudaStreamSynchronize(stream_));
  out.ids.assign(host.begin(), host.begin() + n);
  out.values.resize(n);
  std::memcpy(out.values.data(), host.data() + n, n * sizeof(float));
  out.row_max.resize(R);
  std::memcpy(out.row_max.data(), host.data() + 2 * n, R * sizeof(float));
  out.sum_exp.resize(R);
  std::memcpy(out.sum_exp.data(), host.data() + 2 * n + R, R * sizeof(float));
  return out;
}

}  // namespace turbine::cuda
