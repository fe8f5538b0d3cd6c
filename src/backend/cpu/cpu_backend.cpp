// CpuBackend: host memory, conversions, and the simple row-wise ops (embedding, silu_mul, gather).
// The heavier ops live in cpu_matmul.cpp, cpu_attention.cpp and cpu_norm_rope.cpp.
#include "backend/cpu/cpu_backend.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "backend/shape_string.h"
#include "core/byte_size.h"
#include "core/error.h"

namespace turbine {

namespace {

Tensor make_tensor(DType dtype, std::vector<int64_t> shape) {
  Tensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.device = Device::Cpu;
  for (int64_t d : t.shape)
    if (d < 0) fail("cpu: negative dimension in shape {}", shape_string(t.shape));
  return t;
}

// A non-owning I32 view of a host vector (the plan outlives the step that uses it).
Tensor wrap_i32(const std::vector<int32_t>& v) {
  Tensor t;
  static constexpr int32_t kEmpty = 0;  // a valid address for zero-length arrays; never written
  t.data = const_cast<int32_t*>(v.empty() ? &kEmpty : v.data());
  t.dtype = DType::I32;
  t.shape = {int64_t(v.size())};
  return t;
}

}  // namespace

// out[i] = x[rows[i]] into fp32 rows (the embedding lookup and gather_rows; x is fp32, or a 16-bit
// embedding table widened here); `index` names an entry of rows in the error for one outside x
// ("token id", "row"). The indices are checked here because this backend reads host memory with them
// directly (the CUDA kernel writes zero rows).
static void copy_rows(const Tensor& x, const Tensor& rows, Tensor& out, const char* op, const char* index,
                      const char* of) {
  const int64_t T = x.dim(0), C = x.dim(1), R = rows.numel();
  const int32_t* r = rows.ptr<int32_t>();
  for (int64_t i = 0; i < R; ++i)
    if (r[i] < 0 || r[i] >= T) fail("cpu {}: {} {} is outside {} (0..{})", op, index, r[i], of, T - 1);
  const size_t row_bytes = size_t(C) * dtype_size(x.dtype);
  for (int64_t i = 0; i < R; ++i)
    convert_to_f32(static_cast<const char*>(x.data) + size_t(r[i]) * row_bytes, x.dtype, out.ptr<float>() + i * C,
                   size_t(C));
}

CpuBackend::CpuBackend(const BackendOptions& options)
    : kernels_(&cpu::kernels_for(options.cpu.isa)),
      weights_(options.cpu.weights),
      pool_(std::make_unique<ThreadPool>(options.threads)),
      memory_budget_(options.memory_budget),
      kv_bytes_in_use_(std::make_shared<std::atomic<size_t>>(0)),
      buffers_(std::make_shared<HostBufferPool>()) {
  if (options.threads < 0) fail("cpu: thread count must be >= 0 (0 = all cores), got {}", options.threads);
}

DType CpuBackend::weight_dtype(DType checkpoint_dtype) const {
  const bool half = checkpoint_dtype == DType::BF16 || checkpoint_dtype == DType::F16;
  return weights_ == CpuWeights::Checkpoint && half ? checkpoint_dtype : DType::F32;
}

Tensor CpuBackend::empty(DType dtype, std::vector<int64_t> shape) {
  Tensor t = make_tensor(dtype, std::move(shape));
  t.storage = buffers_->allocate(t.bytes());
  t.data = t.storage.get();
  return t;
}

Tensor CpuBackend::upload(const void* src, DType src_dtype, std::vector<int64_t> shape, DType dtype) {
  Tensor t = empty(dtype, std::move(shape));
  const size_t n = size_t(t.numel());
  if (src_dtype == dtype) {
    std::memcpy(t.data, src, t.bytes());
  } else if (src_dtype == DType::I32 || dtype == DType::I32) {
    fail("cpu upload: cannot convert {} to {}", dtype_name(src_dtype), dtype_name(dtype));
  } else if (dtype == DType::F32) {
    convert_to_f32(src, src_dtype, t.ptr<float>(), n);
  } else {
    std::vector<float> tmp(n);
    convert_to_f32(src, src_dtype, tmp.data(), n);
    convert_from_f32(tmp.data(), dtype, t.data, n);
  }
  return t;
}

std::vector<float> CpuBackend::download_f32(const Tensor& t) {
  std::vector<float> out(size_t(t.numel()));
  if (t.dtype == DType::I32) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = float(t.ptr<int32_t>()[i]);
  } else {
    convert_to_f32(t.data, t.dtype, out.data(), out.size());
  }
  return out;
}

KvCache CpuBackend::do_allocate_kv_cache(const KvCacheSpec& spec) {
  const size_t bytes = spec.bytes();
  if (bytes > free_memory())
    fail(
        "cpu: a KV cache of {} exceeds the {} left of the memory budget (--cpu-memory, capped at the machine's "
        "memory)",
        format_byte_size(bytes), format_byte_size(free_memory()));
  KvCache cache;
  cache.spec = spec;
  // calloc: large blocks come as lazily zeroed pages, so an unused budget costs nothing.
  cache.data = make_tensor(DType::F32, {int64_t(bytes / 4)});
  void* p = std::calloc(bytes, 1);
  if (!p) fail("cpu: out of host memory allocating a KV cache of {}", format_byte_size(bytes));
  *kv_bytes_in_use_ += bytes;
  cache.data.storage = std::shared_ptr<void>(p, [counter = kv_bytes_in_use_, bytes](void* q) {
    *counter -= bytes;
    std::free(q);
  });
  cache.data.data = p;
  return cache;
}

BatchMeta CpuBackend::upload_batch(const BatchPlan& plan) {
  BatchMeta m;
  m.plan = &plan;
  m.token_ids = wrap_i32(plan.token_ids);
  m.positions = wrap_i32(plan.positions);
  m.slot_mapping = wrap_i32(plan.slot_mapping);
  m.query_start = wrap_i32(plan.query_start);
  m.context_lens = wrap_i32(plan.context_lens);
  m.block_tables = wrap_i32(plan.block_tables);
  m.logit_rows = wrap_i32(plan.logit_rows);
  return m;
}

size_t CpuBackend::free_memory() const {
  // A budget above the machine's memory could never be met: the machine's memory caps it.
  const size_t physical = physical_memory_bytes();
  const size_t budget = physical ? std::min(memory_budget_, physical) : memory_budget_;
  const size_t used = kv_bytes_in_use_->load();
  return used >= budget ? 0 : budget - used;
}

size_t CpuBackend::used_memory() const { return kv_bytes_in_use_->load(); }

void CpuBackend::do_embedding(const Tensor& table, const Tensor& ids, Tensor& out) {
  copy_rows(table, ids, out, "embedding", "token id", "the vocabulary");
}

void CpuBackend::do_silu_mul(const Tensor& gate_up, Tensor& out) {
  const int64_t T = gate_up.dim(0), I = gate_up.dim(1) / 2;
  const float* g = gate_up.ptr<float>();
  float* o = out.ptr<float>();
  const cpu::KernelTable& k = *kernels_;
  pool_->parallel_for(T, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) k.silu_mul(g + t * 2 * I, g + t * 2 * I + I, o + t * I, I);
  });
}

void CpuBackend::do_gather_rows(const Tensor& x, const Tensor& rows, Tensor& out) {
  copy_rows(x, rows, out, "gather_rows", "row", "the rows");
}

}  // namespace turbine
