#include "backend/cuda/cuda_backend.h"

#include <algorithm>
#include <cstring>

#include "backend/cuda/common/convert.h"
#include "backend/cuda/common/cuda_check.h"
#include "backend/cuda/gemm/int4_tiled_gemm.h"
#include "backend/cuda/gemm/int4_wgmma_gemm.h"
#include "backend/cuda/gemm/wgmma_gemm.h"

namespace turbine::cuda {
namespace {

void expect(bool ok, const char* op, const char* what) {
  if (!ok) fail("cuda {}: {}", op, what);
}

void expect_device(const Tensor& t, const char* op) {
  expect(t.defined() && t.device == Device::Cuda, op, "a tensor is not on the GPU");
}

}  // namespace

CudaBackend::CudaBackend(int device_index, DType dtype, const CudaOptions& options)
    : device_(device_index), dtype_(dtype), options_(options) {
  // The kernels' limits are the options' ranges (cuda_options.h); the CLI checked them.
  options_.skinny_gemm_max_tokens = std::clamp(options_.skinny_gemm_max_tokens, 0, kSkinnyGemmMaxTokens);
  options_.wgmma_gemm_max_tokens = std::clamp(options_.wgmma_gemm_max_tokens, 0, kWgmmaGemmMaxTokens);
  options_.int4_gemv_max_tokens = std::clamp(options_.int4_gemv_max_tokens, 0, kInt4GemvMaxTokens);
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
  // Programmatic dependent launch needs compute capability 9.0 (pdl.cuh).
  launch_ = KernelLaunch{stream_, options_.pdl && props_.major >= 9};
  pool_ = std::make_unique<DeviceMemoryPool>(device_);
  // Split-K decode attention runs only while sequences x KV heads < 2 x SMs (paged_decode_splits),
  // and the tiled 4-bit GEMM splits K only while its output tiles are fewer than its resident blocks
  // (plan_int4_tiled_gemm; the most: mma.sync's 64-token tiles), so this many counters always
  // suffice. Zeroed once, outside any graph capture (a recorded memset would not run before an
  // op-by-op step); the kernels leave them zero.
  const int counters_per_sm = kInt4TiledMostBlocksPerSm;
  split_counters_ = empty(DType::I32, {int64_t(counters_per_sm) * props_.multiProcessorCount});
  TURBINE_CUDA_CHECK(cudaMemsetAsync(split_counters_.data, 0, split_counters_.bytes(), stream_));
  if (!init_wgmma_gemm(device_)) options_.wgmma_gemm_max_tokens = 0;
  if (!init_int4_wgmma_gemm(device_, int4_clusters_)) options_.int4_wgmma = false;  // sm_90a only
  if (options_.wgmma_gemm_max_tokens > 0) {
    // One workspace for every launch (they run in stream order), sized for the most tokens.
    gemm_workspace_ = empty(DType::F32, {int64_t(wgmma_gemm_max_workspace_bytes(sms()) / sizeof(float))});
    gemm_tile_counters_ = empty(DType::I32, {kGemmTileCounters});
    TURBINE_CUDA_CHECK(cudaMemsetAsync(gemm_tile_counters_.data, 0, gemm_tile_counters_.bytes(), stream_));
  }
  // Without tuning, cuBLASLt's first choice serves every shape.
  gemm_ = std::make_unique<CublasLtGemm>(options_.cublaslt_tune ? CublasLtGemm::kDefaultTuneMaxTokens : 0);
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

KvCache CudaBackend::do_allocate_kv_cache(const KvCacheSpec& spec) {
  // The general and decode attention kernels read a quantized cache, instantiated for these head dims.
  if (spec.format != KvFormat::Dense && spec.head_dim != 64 && spec.head_dim != 128)
    fail("cuda: --kv-quant {} needs head_dim 64 or 128, the model's is {}", kv_format_name(spec.format),
         spec.head_dim);
  activate();
  KvCache cache;
  cache.spec = spec;
  cache.data.dtype = spec.dtype;
  cache.data.device = Device::Cuda;
  if (spec.format == KvFormat::Dense)
    cache.data.shape = {spec.num_layers, spec.num_blocks, 2, spec.num_kv_heads, spec.block_len, spec.head_dim};
  else  // opaque bytes (backend/kv_format.h)
    cache.data.shape = {int64_t(spec.bytes() / dtype_size(spec.dtype))};
  void* ptr = nullptr;
  cudaError_t status = cudaMalloc(&ptr, spec.bytes());
  if (status == cudaErrorMemoryAllocation) {
    // free_memory() counts the pool's cached blocks (a weight replaced after loading, such as the
    // 16-bit lm_head --lm-head-quant int4 drops): give them back to the driver and retry once.
    cudaGetLastError();
    pool_->release_cached();
    status = cudaMalloc(&ptr, spec.bytes());
  }
  if (status != cudaSuccess) {
    cudaGetLastError();
    fail("cuda kv cache: cannot allocate {:.2f} GiB: {}", spec.bytes() / double(1 << 30), cudaGetErrorString(status));
  }
  cache.data.storage = std::shared_ptr<void>(ptr, [](void* p) { cudaFree(p); });
  cache.data.data = ptr;
  TURBINE_CUDA_CHECK(cudaMemsetAsync(ptr, 0, spec.bytes(), stream_));
  return cache;
}

namespace {

// The plan's index arrays in the order BatchMeta views them, then the attention work lists, each
// at a 128-byte aligned offset of one buffer.
struct MetaLayout {
  std::vector<const std::vector<int32_t>*> arrays;
  std::vector<size_t> offsets;  // in int32 elements
  size_t total = 0;
};

MetaLayout meta_layout(const BatchPlan& plan, const AttentionWork& work) {
  MetaLayout m;
  m.arrays = {&plan.token_ids,    &plan.positions,  &plan.slot_mapping, &plan.query_start,  &plan.context_lens,
              &plan.block_tables, &plan.logit_rows, &work.decode_seqs,  &work.prefill_tiles};
  for (const auto* a : m.arrays) {
    m.offsets.push_back(m.total);
    m.total += (a->size() + 31) / 32 * 32;
  }
  m.total = std::max<size_t>(m.total, 1);
  return m;
}

}  // namespace

// Fills the pinned staging copy of the plan's arrays and sends it to `device` in one copy.
void CudaBackend::send_meta(const BatchPlan& plan, const AttentionWork& work, void* device, size_t expect_total) {
  const MetaLayout layout = meta_layout(plan, work);
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
  auto data = std::make_shared<CudaBatchData>();
  data->work = plan_attention_work(plan);
  const MetaLayout layout = meta_layout(plan, data->work);
  Tensor all = empty(DType::I32, {int64_t(layout.total)});
  send_meta(plan, data->work, all.data, 0);
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
  meta.packed = all;
  data->decode_seqs = view(7, {int64_t(data->work.decode_seqs.size())});
  data->prefill_tiles = view(8, {data->work.num_prefill_tiles(), 2});
  meta.backend_data = std::move(data);
  return meta;
}

void CudaBackend::upload_batch_into(const BatchPlan& plan, BatchMeta& meta) {
  activate();
  expect(meta.packed.defined() && meta.backend_data, "upload_batch_into", "the meta was not made by upload_batch");
  auto& data = static_cast<CudaBatchData&>(*meta.backend_data);
  AttentionWork work = plan_attention_work(plan);
  send_meta(plan, work, meta.packed.data, size_t(meta.packed.numel()));
  data.work = std::move(work);
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
  if (!options_.graphs) return nullptr;
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

}  // namespace turbine::cuda
