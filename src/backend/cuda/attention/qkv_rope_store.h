// Launcher of the fused qkv split + per-head q/k RMSNorm + RoPE + paged KV store (qkv_rope_store.cu).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "backend/cuda/common/kernel_launch.h"
#include "backend/kv_format.h"
#include "core/dtype.h"

namespace turbine::cuda {

struct QkvRopeParams {
  const void* qkv = nullptr;     // [T, (Hq + 2 Hkv) D]
  const void* q_norm = nullptr;  // [D] or null
  const void* k_norm = nullptr;  // [D] or null
  float norm_eps = 1e-6f;
  const float* inv_freq = nullptr;  // [rotary_dim / 2], device
  float attention_factor = 1.0f;
  int rotary_dim = 0;
  const int32_t* positions = nullptr;     // [T]
  const int32_t* slot_mapping = nullptr;  // [T]
  void* cache_layer = nullptr;            // this layer's [block][k|v][kv_head][block_len][D]
  void* q_out = nullptr;                  // [T, Hq D]
  int tokens = 0, num_heads = 0, num_kv_heads = 0, head_dim = 0, block_len = 0;
  DType dtype = DType::BF16;
  // A quantized cache (backend/kv_format.h): k and v are quantized per (token, kv head) at the write.
  KvFormat kv_format = KvFormat::Dense;
  size_t kv_block_bytes = 0, kv_param_offset = 0;
};

void launch_qkv_rope_store(const QkvRopeParams& p, const KernelLaunch& launch);

}  // namespace turbine::cuda
