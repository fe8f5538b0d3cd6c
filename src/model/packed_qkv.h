// InternLM2 packs q, k and v into one `wqkv` tensor grouped per KV head: for KV head h, the rows of
// its G = heads / kv_heads query heads, then k_h, then v_h (head_dim rows each). The model's fused
// projection is q (all heads), then k, then v; this names, for each head-sized block of that
// layout, the block of the packed tensor it comes from.
#pragma once
#include <cstdint>
#include <vector>

namespace turbine {

// [heads + 2 * kv_heads] source block indices, destination order q_0.., k_0.., v_0...
std::vector<int64_t> unpack_qkv_blocks(int heads, int kv_heads);

}  // namespace turbine
