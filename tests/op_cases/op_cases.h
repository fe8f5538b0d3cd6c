// One table of op cases (op, shapes, options) that runs on any backend, like llama.cpp's
// test-backend-ops: tests/ops/backend_ops_test.cpp runs every case on every available backend
// against the cpu backend (the fp32 reference), and bench/backend_ops_bench.cpp times them.
// Inputs come from a seed and are rounded to one dtype on the host, so that a backend and the
// reference see the same values.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backend/backend.h"

namespace turbine::test {

enum class Op {
  Linear,
  RmsNorm,
  AddRmsNorm,
  SiluMul,
  Embedding,
  GatherRows,
  QkvRopeStore,
  Attention,
  NormLinear,
  ArgmaxRows,
  Moe  // moe_route (normalized top-k) then moe_experts
};

struct OpCase {
  Op op = Op::Linear;
  int64_t rows = 1;  // T: tokens or rows (attention-side ops: from `seqs`)
  // linear / norm_linear: out features; norms: width; silu_mul: intermediate width; embedding: vocab;
  // gather_rows: width; argmax_rows: vocab
  int64_t n = 0;
  int64_t k = 0;         // linear / norm_linear: in features; embedding: hidden; gather_rows: source rows
  bool bias = false;     // linear / norm_linear
  bool f32_out = false;  // linear: fp32 output (logits)
  // qkv_rope_store / attention: sequences as (context already cached, new tokens)
  std::vector<std::pair<int, int>> seqs;
  int heads = 0, kv_heads = 0, head_dim = 0, block_len = 16, window = 0;
  bool qk_norm = false;  // qkv_rope_store: per-head q/k RMSNorm
  // attention: the cache's format. A quantized cache starts zeroed and its context is written by
  // qkv_rope_store (every position of every sequence, in the set-up), so the case covers both ops.
  KvFormat kv = KvFormat::Dense;
  int experts = 0, top_k = 0;  // moe (n: hidden, k: expert intermediate width)

  std::string name() const;  // "linear rows=3 n=96 k=64 bias f32-out", unique within a table
};

// The correctness table: small, awkward shapes that reach every kernel path (odd widths, GQA,
// split contexts, mixed prefill and decode, sliding window).
std::vector<OpCase> op_test_cases();
// The timing table: the Llama-2-7B shapes at decode-sized token counts (and a 2048-token prefill).
std::vector<OpCase> op_bench_cases();

// A case set up on one backend: run() issues the op once (repeatable: it reads the same inputs
// and overwrites the same outputs), outputs() returns what it wrote, as fp32, concatenated.
struct PreparedOp {
  std::function<void()> run;
  std::function<std::vector<float>()> outputs;
  double bytes = 0;                  // bytes of weights (or KV cache) one run reads, for bandwidth
  std::shared_ptr<void> keep_alive;  // the tensors the closures use
};

// Inputs from `seed`, rounded to `round_to` (the dtype of the backend under test, for both it and
// the reference). `weight_copies` > 1 cycles linear's weights through that many copies, so that
// timed runs read them from memory, not from L2.
PreparedOp prepare_op(Backend& backend, const OpCase& c, uint32_t seed, DType round_to, int weight_copies = 1);

}  // namespace turbine::test
