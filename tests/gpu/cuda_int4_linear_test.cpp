// The 4-bit (W4A16) linear against the CPU backend's 16-bit linear over the same weights dequantized
// on the host, w = (q - zero) * scale (the format's definition), and against the CPU backend's 4-bit
// linear (the reference path) in builds whose CPU backend has one: awkward shapes for int4_gemm.cu's
// tiles (rows not a multiple of its 16-row strips or of the 2-strip blocks, columns not a multiple of
// its 64-column chunks, token counts around each token tile 8/16/32/64 and beyond), group sizes
// 128/64/32, bias, fp32 output, bit-identical repeats, graph capture, and the group sizes it refuses.
// Up to kInt4GemvMaxTokens (16) tokens with a power-of-two group size the decode GEMV (int4_gemv.cu)
// runs instead: the same cases reach it at 1..16 tokens, a group of 96 at one token takes the GEMM, and
// the GEMM switched on for every token count (--int4-gemv-max-tokens 0) agrees with the GEMV. Above 16
// tokens the cases run the tiled GEMM (int4_tiled_gemm.cu, --int4-tiled-gemm on), which is also
// compared with int4_gemm.cu directly (from 9 tokens, the GEMV off), with and without K split over
// blocks; so is the long-prefill
// path (--int4-dequant-min-tokens: the weight dequantized into scratch, then the 16-bit GEMM).
// norm_linear with a 4-bit weight runs the pre-norm inside the GEMV at one token (group sizes of 128
// and more, K up to kInt4GemvPreNormMaxK), else the parts apart (rms_norm, then the 4-bit linear).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "gpu_test_util.h"
#include "int4_test_util.h"

namespace turbine::test {
namespace {

struct Int4Case {
  int T, K, N, group;
  bool bias;
  DType out;
};

class CudaInt4Linear : public CpuVsGpu {
 protected:
  CudaInt4Linear() : CpuVsGpu(19) {}

  void SetUp() override {
    CpuVsGpu::SetUp();
    if (IsSkipped()) return;
    // The cases cover the decode GEMV and the tiled GEMM too, whatever the defaults route.
    CudaOptions with_gemv;
    with_gemv.int4_gemv_max_tokens = kInt4GemvMaxTokens;
    with_gemv.int4_tiled_gemm = true;
    with_gemv.int4_tiled_min_tokens = 9;
    with_gemv.int4_tiled_max_tokens = kInt4TiledTokensLimit;
    gpu = make_gpu(dtype, with_gemv);
    // Whether the CPU backend packs 4-bit weights at all (the base class refuses them with an Error);
    // its own generator, so the cases see the same values either way.
    std::mt19937 probe(1);
    try {
      cpu->pack_int4(random_int4(probe, 8, 128, 128));
      cpu_int4 = true;
    } catch (const Error&) {
      cpu_int4 = false;
    }
  }
  bool cpu_int4 = false;

  void check(const Int4Case& c) { check_on(*gpu, c); }
  void check_on(Backend& on, const Int4Case& c) {
    SCOPED_TRACE(testing::Message() << "T=" << c.T << " K=" << c.K << " N=" << c.N << " group=" << c.group
                                    << " bias=" << c.bias << " out=" << dtype_name(c.out));
    const HostInt4Matrix m = random_int4(rng, c.N, c.K, c.group);
    const auto x = random_values(rng, size_t(c.T) * c.K, dtype);
    const auto b = random_values(rng, c.N, dtype);
    const Int4Weight w = on.pack_int4(m);
    Tensor gb = put(on, b, {c.N}, dtype);
    Tensor gout = on.empty(c.out, {c.T, c.N});
    on.linear(put(on, x, {c.T, c.K}, dtype), LinearWeight(w), c.bias ? &gb : nullptr, gout);
    Tensor cb = put(*cpu, b, {c.N}, DType::F32);
    Tensor cx = put(*cpu, x, {c.T, c.K}, DType::F32);
    Tensor cdense = cpu->empty(DType::F32, {c.T, c.N});
    cpu->linear(cx, put(*cpu, dequantize(m), {c.N, c.K}, DType::F32), c.bias ? &cb : nullptr, cdense);
    // The GPU rounds each dequantized weight to the compute dtype before the multiply (the scale too
    // in bf16), the rest is as the 16-bit linear.
    const auto got = on.download_f32(gout);
    {
      SCOPED_TRACE("against the dequantized weights");
      TURBINE_EXPECT_CLOSE(got, cpu->download_f32(cdense), relative_tolerance(dtype));
    }
    if (cpu_int4) {
      SCOPED_TRACE("against the cpu 4-bit linear");
      Tensor cout = cpu->empty(DType::F32, {c.T, c.N});
      cpu->linear(cx, LinearWeight(cpu->pack_int4(m)), c.bias ? &cb : nullptr, cout);
      TURBINE_EXPECT_CLOSE(got, cpu->download_f32(cout), relative_tolerance(dtype));
    }
  }
};

// Awkward shapes for the kernels' tiles, strips, chunks, groups and token tiles.
std::vector<Int4Case> awkward_cases(DType dtype) {
  return {
      {1, 11008, 4096, 128, false, dtype},      // the 7B down projection at batch 1
      {16, 4096, 12288, 128, false, dtype},     // qkv at batch 16
      {8, 256, 77, 64, true, dtype},            // rows not a multiple of 16
      {9, 384, 4097, 32, false, DType::F32},    // group 32, one row past a strip
      {24, 512, 33, 64, true, DType::F32},      // 3 strips: a 2-strip block with a repeated strip
      {40, 128, 17, 128, false, dtype},         // K one chunk pair; 2 strips, mostly padding
      {5, 96, 300, 32, false, dtype},           // K not a multiple of 64: a padded half chunk
      {64, 160, 130, 32, true, dtype},          // same at the 64-token tile
      {130, 1024, 200, 128, false, dtype},      // three 64-token tiles, the last of 2 tokens
      {2, 2048, 64, 64, true, DType::F32},      // bias with fp32 output
      {4, 11008, 1000, 64, true, dtype},        // GEMV: K of 172 chunks (the ring wraps 2.7 times), bias
      {3, 4096, 300, 32, false, dtype},         // GEMV: group 32, two scale words per chunk
      {1, 96, 33, 32, true, dtype},             // GEMV: one chunk and a padded half chunk
      {1, 192, 50, 96, false, dtype},           // a group of 96 (not a power of two): the GEMM at one token
      {6, 2048, 200, 256, true, DType::F32},    // GEMV: group 256 (a group spans 4 chunks), bias, fp32 output
      {8, 1280, 45, 256, false, dtype},         // GEMV: 20 chunks (warps with 2 and 3 chunks), a partial strip
      {8, 3104, 61, 32, true, dtype},           // GEMV: group 32, 49 chunks (the ring wraps once into one chunk)
      {7, 32, 20, 32, false, DType::F32},       // GEMV: K of one half chunk, 7 warps without a chunk
      {3, 4224, 130, 128, true, dtype},         // GEMV: 66 chunks, a four-chunk stage half past K
  };
}

TEST_P(CudaInt4Linear, MatchesDequantizedCpu) {
  // 1-8 tokens the GEMV; the GEMM's token tiles: 9-16 two, 17-32 four (2-strip blocks), then 64-token
  // tiles side by side.
  for (int T : {1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 33, 64, 100}) check({T, 4096, 1000, 128, false, dtype});
  for (const auto& c : awkward_cases(dtype)) check(c);
}

// norm_linear with a 4-bit weight against the CPU running the parts over the dequantized weight: with
// and without the residual's delta, bias, K from three half chunks to the 7B down projection's width,
// awkward N, one and two token tiles; the updated residual wherever the residual stream keeps it.
// Where the GEMV takes the pre-norm (one token, group >= 128, K <= kInt4GemvPreNormMaxK: K from six
// chunks, a stage half past K, to the limit) the normed row stays unwritten, and the output agrees
// with the parts run apart on the GPU (fusion off); elsewhere the parts run apart and write it.
TEST_P(CudaInt4Linear, NormLinearMatchesCpu) {
  struct Case {
    int T, K, N, group;
    bool delta, bias;
  };
  // 12 and 16 tokens: the GEMV's two token tiles right after the norm kernel that writes its input
  // (it must not read the activations before the PDL wait; kjv-llama's shapes, where that showed).
  CudaOptions apart;
  apart.fused = false;
  auto unfused = make_gpu(dtype, apart);
  const Case cases[] = {{1, 4096, 12288, 128, true, false}, {1, 4096, 1000, 128, false, true},
                        {1, 384, 17, 128, true, true},      {1, 4224, 130, 128, true, true},
                        {1, 8192, 100, 128, true, true},    {1, 8320, 40, 128, true, false},
                        {1, 96, 33, 32, true, true},        {1, 11008, 300, 64, true, false},
                        {1, 2080, 4097, 32, false, false},  {2, 4096, 700, 128, true, true},
                        {12, 256, 512, 128, true, false},   {16, 768, 256, 128, false, false},
                        {16, 4096, 1536, 32, true, true}};
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "T=" << c.T << " K=" << c.K << " N=" << c.N << " group=" << c.group
                                    << " delta=" << c.delta << " bias=" << c.bias);
    const auto [m, h, d, g, b] = random_norm_linear_inputs(rng, c.T, c.K, c.N, c.group, dtype);
    auto run = [&](Backend& be, DType dt, const LinearWeight& w) {
      ResidualStream res{put(be, h, {c.T, c.K}, dt), put(be, std::vector<float>(h.size(), 7.0f), {c.T, c.K}, dt)};
      Tensor delta = put(be, d, {c.T, c.K}, dt), gw = put(be, g, {c.K}, dt), bias = put(be, b, {c.N}, dt);
      Tensor normed = put(be, std::vector<float>(h.size(), std::nanf("")), {c.T, c.K}, dt);
      Tensor out = be.empty(dt, {c.T, c.N});
      be.norm_linear(PreNorm{res, c.delta ? &delta : nullptr, gw, 1e-5f, normed}, w, c.bias ? &bias : nullptr, out);
      return NormLinearResult{be.download_f32(out), be.download_f32(res.current), be.download_f32(normed)};
    };
    const NormLinearResult got = run(*gpu, dtype, LinearWeight(gpu->pack_int4(m)));
    const NormLinearResult want = run(*cpu, DType::F32, put(*cpu, dequantize(m), {c.N, c.K}, DType::F32));
    TURBINE_EXPECT_CLOSE(got.out, want.out, relative_tolerance(dtype));
    TURBINE_EXPECT_CLOSE(got.residual, want.residual, relative_tolerance(dtype));
    const bool fused = c.T == 1 && c.group >= 128 && c.K <= kInt4GemvPreNormMaxK;
    const auto is_nan = [](float v) { return std::isnan(v); };
    if (fused) {
      EXPECT_TRUE(std::all_of(got.normed.begin(), got.normed.end(), is_nan)) << "the GEMV took the pre-norm";
      const NormLinearResult apart = run(*unfused, dtype, LinearWeight(unfused->pack_int4(m)));
      TURBINE_EXPECT_CLOSE(got.out, apart.out, relative_tolerance(dtype));
      EXPECT_EQ(got.residual, apart.residual);
    } else {
      EXPECT_TRUE(std::none_of(got.normed.begin(), got.normed.end(), is_nan)) << "the parts ran apart";
    }
  }
}

// The GEMM at every token count (the switch back from the GEMV) against the GEMV dispatch, at the
// GEMV's token counts and group sizes.
TEST_P(CudaInt4Linear, GemvAgreesWithGemm) {
  CudaOptions gemm_only;
  gemm_only.int4_gemv_max_tokens = 0;
  auto gemm = make_gpu(dtype, gemm_only);
  for (int T : {1, 2, 3, 5, 8, 9, 12, 16})
    for (int group : {32, 64, 128, 256}) {
      SCOPED_TRACE(testing::Message() << "T=" << T << " group=" << group);
      // 80 chunks: both rings (48 and 64 chunks a round) wrap. 9000 rows are more strips than the
      // persistent grid's blocks, so a block's ring runs on from one strip into the next; 700 rows
      // (44 strips, at most two an SM) take the two-block instance at group sizes of 128 and more at
      // 1, 3 and 5 tokens (one token tile), and every output does at 9-16 tokens (two token tiles: 700
      // rows at 9, 9000 at 12 and 16).
      const int K = 5120, N = T % 2 ? 700 : 9000;
      const HostInt4Matrix m = random_int4(rng, N, K, group);
      const auto xv = random_values(rng, size_t(T) * K, dtype);
      Tensor out = gpu->empty(DType::F32, {T, N});
      gpu->linear(put(*gpu, xv, {T, K}, dtype), LinearWeight(gpu->pack_int4(m)), nullptr, out);
      Tensor want = gemm->empty(DType::F32, {T, N});
      gemm->linear(put(*gemm, xv, {T, K}, dtype), LinearWeight(gemm->pack_int4(m)), nullptr, want);
      TURBINE_EXPECT_CLOSE(gpu->download_f32(out), gemm->download_f32(want), relative_tolerance(dtype));
    }
}

// The tiled GEMM against int4_gemm.cu (the tiled one off) on the same packed weights, its 64-token
// tiles on wgmma (where the device has it) and on mma.sync: token counts at and around its
// 16/32/64-token tiles and beyond one tile, group sizes 32/64/96/128/256 (one or two scale words per
// chunk; wgmma takes the powers of two from 64), N from one strip to many 128-row blocks, K from one
// chunk to the 7B down projection. Small N x few tiles split K over blocks (the split-K partials and
// the last block's sum); N = 16400's last block holds one strip.
TEST_P(CudaInt4Linear, TiledAgreesWithGemm) {
  CudaOptions gemm_only, tiled_only;
  gemm_only.int4_tiled_gemm = false;
  gemm_only.int4_gemv_max_tokens = tiled_only.int4_gemv_max_tokens = 0;
  tiled_only.int4_tiled_gemm = true;
  tiled_only.int4_tiled_min_tokens = 9;
  tiled_only.int4_tiled_max_tokens = kInt4TiledTokensLimit;
  CudaOptions tiled_mma = tiled_only;
  tiled_mma.int4_wgmma = false;
  auto gemm = make_gpu(dtype, gemm_only);
  auto tiled_wgmma = make_gpu(dtype, tiled_only);
  auto tiled_mma_sync = make_gpu(dtype, tiled_mma);
  struct Shape {
    int T, K, N, group;
    bool bias;
  };
  // On 132 SMs, {64, 4096, 12288} takes 3 K splits on wgmma (a cluster of 3), {64, 4096, 22016} 2 and
  // {64, 11008, 4096} 8.
  const Shape shapes[] = {
      {9, 4096, 4096, 128, false},   {16, 4096, 12288, 128, true}, {17, 11008, 4096, 128, false},
      {32, 4096, 1000, 64, false},   {33, 4096, 4096, 128, true},  {64, 4096, 22016, 128, false},
      {64, 11008, 4096, 128, false}, {65, 1024, 300, 32, true},    {100, 2048, 700, 256, false},
      {130, 512, 129, 64, false},    {12, 64, 16, 64, false},      {24, 96, 33, 32, true},
      {40, 192, 2000, 96, false},    {48, 4096, 15, 128, false},   {11, 2080, 130, 32, false},
      {64, 1024, 16400, 128, true},  {64, 4096, 12288, 128, true},
  };
  for (const Shape& c : shapes)
    for (DType out : {dtype, DType::F32}) {
      SCOPED_TRACE(testing::Message() << "T=" << c.T << " K=" << c.K << " N=" << c.N << " group=" << c.group
                                      << " bias=" << c.bias << " out=" << dtype_name(out));
      const HostInt4Matrix m = random_int4(rng, c.N, c.K, c.group);
      const auto xv = random_values(rng, size_t(c.T) * c.K, dtype);
      const auto bv = random_values(rng, c.N, dtype);
      Tensor eb = put(*gemm, bv, {c.N}, dtype);
      Tensor want = gemm->empty(out, {c.T, c.N});
      gemm->linear(put(*gemm, xv, {c.T, c.K}, dtype), LinearWeight(gemm->pack_int4(m)), c.bias ? &eb : nullptr, want);
      const auto want_values = gemm->download_f32(want);
      for (Backend* tiled : {tiled_wgmma.get(), tiled_mma_sync.get()}) {
        SCOPED_TRACE(tiled == tiled_wgmma.get() ? "wgmma" : "mma.sync");
        Tensor gb = put(*tiled, bv, {c.N}, dtype);
        Tensor got = tiled->empty(out, {c.T, c.N});
        tiled->linear(put(*tiled, xv, {c.T, c.K}, dtype), LinearWeight(tiled->pack_int4(m)), c.bias ? &gb : nullptr,
                      got);
        // The same products in another summation order: fp32 rounding apart, plus the output rounding.
        TURBINE_EXPECT_CLOSE(tiled->download_f32(got), want_values, relative_tolerance(dtype));
      }
    }
}

// Long prefills: the weight dequantized into scratch and the 16-bit GEMM on it, against int4_gemm.cu,
// at and past the switch-over token count, with awkward N and K, group sizes, bias and fp32 output.
TEST_P(CudaInt4Linear, DequantizedGemmAgreesWithGemm) {
  CudaOptions dequant, gemm_only;
  dequant.int4_dequant_min_tokens = 64;
  auto dq = make_gpu(dtype, dequant);
  auto gemm = make_gpu(dtype, gemm_only);
  struct Shape {
    int T, K, N, group;
    bool bias;
    DType out;
  };
  const Shape shapes[] = {
      {64, 4096, 1000, 128, false, dtype}, {65, 96, 33, 32, true, DType::F32}, {300, 2048, 4097, 64, true, dtype},
      {512, 11008, 512, 128, false, DType::F32}, {200, 192, 17, 96, false, dtype},
  };
  for (const Shape& c : shapes) {
    SCOPED_TRACE(testing::Message() << "T=" << c.T << " K=" << c.K << " N=" << c.N << " group=" << c.group
                                    << " bias=" << c.bias << " out=" << dtype_name(c.out));
    const HostInt4Matrix m = random_int4(rng, c.N, c.K, c.group);
    const auto xv = random_values(rng, size_t(c.T) * c.K, dtype);
    const auto bv = random_values(rng, c.N, dtype);
    Tensor db = put(*dq, bv, {c.N}, dtype);
    Tensor got = dq->empty(c.out, {c.T, c.N});
    dq->linear(put(*dq, xv, {c.T, c.K}, dtype), LinearWeight(dq->pack_int4(m)), c.bias ? &db : nullptr, got);
    Tensor eb = put(*gemm, bv, {c.N}, dtype);
    Tensor want = gemm->empty(c.out, {c.T, c.N});
    gemm->linear(put(*gemm, xv, {c.T, c.K}, dtype), LinearWeight(gemm->pack_int4(m)), c.bias ? &eb : nullptr, want);
    TURBINE_EXPECT_CLOSE(dq->download_f32(got), gemm->download_f32(want), relative_tolerance(dtype));
  }
}

// The warps' partial sums meet in a fixed order: repeated launches into a poisoned output give the
// same bits (1 and 12 tokens: the GEMV, 20: the tiled GEMM with K split over blocks, 200: without).
TEST_P(CudaInt4Linear, RepeatsBitIdentically) {
  for (int T : {1, 12, 20, 200}) {
    SCOPED_TRACE(testing::Message() << "T=" << T);
    const int K = 4096, N = T == 12 ? 9000 : 1500;  // 9000 rows: a block's ring runs across strips
    const Int4Weight w = gpu->pack_int4(random_int4(rng, N, K, 128));
    Tensor x = put(*gpu, random_values(rng, size_t(T) * K, dtype), {T, K}, dtype);
    const std::vector<float> poison(size_t(T) * N, std::nanf(""));
    std::vector<float> first;
    for (int run = 0; run < 3; ++run) {
      Tensor out = put(*gpu, poison, {T, N}, DType::F32);
      gpu->linear(x, LinearWeight(w), nullptr, out);
      const auto got = gpu->download_f32(out);
      if (run == 0)
        first = got;
      else
        ASSERT_EQ(std::memcmp(got.data(), first.data(), got.size() * sizeof(float)), 0) << "run " << run;
    }
    for (float v : first) ASSERT_FALSE(std::isnan(v));
  }
}

// Decode steps are recorded as graphs: the 4-bit linear records and replays like the 16-bit one
// (1 and 16 tokens: the GEMV's one and two token tiles, 20: the GEMM).
TEST_P(CudaInt4Linear, RecordsInGraphs) {
  ASSERT_TRUE(gpu->can_capture());
  for (int T : {1, 16, 20}) {
    SCOPED_TRACE(testing::Message() << "T=" << T);
    const int K = 1024, N = 3000;
    const HostInt4Matrix m = random_int4(rng, N, K, 128);
    const auto xv = random_values(rng, size_t(T) * K, dtype);
    const Int4Weight w = gpu->pack_int4(m);
    Tensor x = put(*gpu, xv, {T, K}, dtype);
    Tensor out = gpu->empty(DType::F32, {T, N});
    auto graph = gpu->capture([&] { gpu->linear(x, LinearWeight(w), nullptr, out); });
    ASSERT_TRUE(graph);
    graph->replay();
    Tensor want = cpu->empty(DType::F32, {T, N});
    cpu->linear(put(*cpu, xv, {T, K}, DType::F32), put(*cpu, dequantize(m), {N, K}, DType::F32), nullptr, want);
    TURBINE_EXPECT_CLOSE(gpu->download_f32(out), cpu->download_f32(want), relative_tolerance(dtype));
  }
}

// The kernel reads a group's scale once per 32-column half chunk: other group sizes are refused at
// pack time, naming the size.
TEST_P(CudaInt4Linear, RefusesGroupSizesItCannotRead) {
  for (int group : {16, 48}) {
    SCOPED_TRACE(group);
    const HostInt4Matrix m = random_int4(rng, 32, 96 * 2, group);
    try {
      gpu->pack_int4(m);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::to_string(group)), std::string::npos) << e.what();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaInt4Linear, ::testing::Values(DType::BF16, DType::F16),
                         [](const auto& info) { return std::string(info.param == DType::BF16 ? "bf16" : "fp16"); });

}  // namespace
}  // namespace turbine::test
