// Where a quantized cache keeps each row of one layer (the layout in backend/kv_format.h), for the CPU
// backend's qkv_rope_store and attention.
#pragma once
#include <cstdint>

#include "backend/backend.h"

namespace turbine::cpu {

class QuantizedKvLayer {
 public:
  QuantizedKvLayer(const KvCache& cache, int layer)
      : spec_(cache.spec),
        base_(static_cast<uint8_t*>(cache.data.data) + size_t(layer) * spec_.num_blocks * spec_.block_bytes()),
        block_bytes_(spec_.block_bytes()),
        param_offset_(spec_.param_offset()),
        element_bytes_(kv_row_element_bytes(spec_.format, spec_.head_dim, spec_.dtype)),
        param_bytes_(kv_row_param_bytes(spec_.format)) {}

  // The row of token `slot` (block * block_len + offset) of kv head h; kv: 0 = key, 1 = value.
  uint8_t* elements(int64_t slot, int kv, int h) const { return block(slot) + row_index(slot, kv, h) * element_bytes_; }
  uint16_t* params(int64_t slot, int kv, int h) const {
    return reinterpret_cast<uint16_t*>(block(slot) + param_offset_ + row_index(slot, kv, h) * param_bytes_);
  }

 private:
  uint8_t* block(int64_t slot) const { return base_ + size_t(slot / spec_.block_len) * block_bytes_; }
  size_t row_index(int64_t slot, int kv, int h) const {
    return (size_t(kv) * spec_.num_kv_heads + h) * spec_.block_len + size_t(slot % spec_.block_len);
  }

  const KvCacheSpec& spec_;
  uint8_t* base_;
  size_t block_bytes_, param_offset_, element_bytes_, param_bytes_;
};

}  // namespace turbine::cpu
