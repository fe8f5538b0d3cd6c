#include "model/packed_qkv.h"

#include <cstddef>

namespace turbine {

std::vector<int64_t> unpack_qkv_blocks(int heads, int kv_heads) {
  const int group = heads / kv_heads, stride = group + 2;  // blocks per KV head in the packed tensor
  std::vector<int64_t> order;
  order.reserve(std::size_t(heads + 2 * kv_heads));
  for (int q = 0; q < heads; ++q) order.push_back(int64_t(q / group) * stride + q % group);
  for (int h = 0; h < kv_heads; ++h) order.push_back(int64_t(h) * stride + group);
  for (int h = 0; h < kv_heads; ++h) order.push_back(int64_t(h) * stride + group + 1);
  return order;
}

}  // namespace turbine
