// The mixture-of-experts ops on the CPU (moe_route, moe_experts) against the double-precision
// references, and their argument checks.
#include <gtest/gtest.h>

#include "core/dtype.h"
#include "ops/cpu_test_util.h"

namespace turbine::test {
namespace {

TEST(CpuMoe, RouteMatchesReference) {
  auto be = make_cpu();
  std::mt19937 rng(31);
  for (const bool normalize : {false, true}) {
    for (const auto& [T, E, k] : {std::tuple{1, 4, 2}, {7, 8, 2}, {5, 128, 8}, {3, 3, 3}, {2, 5, 1}}) {
      const Vec logits = random_vec(rng, size_t(T * E), -4, 4);
      Tensor tl = upload_vec(*be, logits, {T, E});
      Tensor ids = be->empty(DType::I32, {T, k}), w = be->empty(DType::F32, {T, k});
      be->moe_route(tl, k, normalize, ids, w);
      const RefRoute want = ref_moe_route(logits, T, E, k, normalize);
      const std::vector<int32_t> got_ids(ids.ptr<int32_t>(), ids.ptr<int32_t>() + T * k);
      EXPECT_EQ(got_ids, want.ids) << T << "x" << E << " k " << k;
      EXPECT_LE(tolerance_ratio(be->download_f32(w), want.weights, 1e-6, 1e-5), 1.0);
    }
  }
}

TEST(CpuMoe, RouteBreaksTiesTowardTheLowerExpert) {
  auto be = make_cpu();
  const Vec logits = {1, 3, 3, 0, 3};
  Tensor tl = upload_vec(*be, logits, {1, 5});
  Tensor ids = be->empty(DType::I32, {1, 2}), w = be->empty(DType::F32, {1, 2});
  be->moe_route(tl, 2, true, ids, w);
  EXPECT_EQ(ids.ptr<int32_t>()[0], 1);
  EXPECT_EQ(ids.ptr<int32_t>()[1], 2);
  EXPECT_FLOAT_EQ(w.ptr<float>()[0], 0.5f);
}

// Weights in fp32 and kept as bf16 (the CPU default for bf16 checkpoints), tokens both below and
// above the many-token GEMM form, experts some tokens never reach.
TEST(CpuMoe, ExpertsMatchReference) {
  auto be = make_cpu();
  std::mt19937 rng(32);
  for (const DType wt : {DType::F32, DType::BF16}) {
    for (const auto& [T, H, I, E, k] : {std::tuple{1, 16, 8, 4, 2}, {3, 24, 40, 8, 2}, {21, 32, 24, 6, 3}}) {
      const Vec x = random_vec(rng, size_t(T * H));
      Vec gate_up = random_vec(rng, size_t(E * 2 * I * H), -0.5, 0.5), down = random_vec(rng, size_t(E * H * I), -0.5, 0.5);
      if (wt == DType::BF16) {  // the reference sees the rounded weights the backend keeps
        for (Vec* v : {&gate_up, &down}) {
          std::vector<float> f = to_float(*v);
          std::vector<uint16_t> h(f.size());
          convert_from_f32(f.data(), DType::BF16, h.data(), f.size());
          convert_to_f32(h.data(), DType::BF16, f.data(), f.size());
          *v = to_double(f);
        }
      }
      const Vec logits = random_vec(rng, size_t(T * E), -2, 2);
      const RefRoute route = ref_moe_route(logits, T, E, k, false);
      const auto gu_f = to_float(gate_up), dn_f = to_float(down);
      Tensor tx = upload_vec(*be, x, {T, H});
      Tensor tgu = be->upload(gu_f.data(), DType::F32, {E, 2 * I, H}, wt);
      Tensor tdn = be->upload(dn_f.data(), DType::F32, {E, H, I}, wt);
      Tensor ids = be->upload(route.ids.data(), DType::I32, {T, k}, DType::I32);
      const auto wf = to_float(route.weights);
      Tensor tw = be->upload(wf.data(), DType::F32, {T, k}, DType::F32);
      Tensor out = be->empty(DType::F32, {T, H});
      be->moe_experts(tx, tgu, tdn, ids, tw, out);
      const Vec want = ref_moe_experts(x, gate_up, down, route.ids, route.weights, T, H, I, k);
      EXPECT_LE(tolerance_ratio(be->download_f32(out), want, 1e-5, 1e-4), 1.0)
          << dtype_name(wt) << " T " << T << " H " << H << " I " << I << " E " << E;
    }
  }
}

// Ids repeated within a token (every pair on one expert: T * k rows for it, more than T): the op
// takes any ids, and its gathered rows must not be sized by the token count.
TEST(CpuMoe, ExpertsTakeRepeatedIds) {
  auto be = make_cpu();
  std::mt19937 rng(33);
  const int64_t T = 9, H = 24, I = 16, E = 3, k = 3;
  const Vec x = random_vec(rng, size_t(T * H));
  const Vec gate_up = random_vec(rng, size_t(E * 2 * I * H), -0.5, 0.5), down = random_vec(rng, size_t(E * H * I), -0.5, 0.5);
  const std::vector<int32_t> ids(size_t(T * k), int32_t(E - 1));
  const Vec weights = random_vec(rng, size_t(T * k), 0.1, 1.0);
  const auto gu_f = to_float(gate_up), dn_f = to_float(down), w_f = to_float(weights);
  Tensor out = be->empty(DType::F32, {T, H});
  be->moe_experts(upload_vec(*be, x, {T, H}), be->upload(gu_f.data(), DType::F32, {E, 2 * I, H}, DType::F32),
                  be->upload(dn_f.data(), DType::F32, {E, H, I}, DType::F32),
                  be->upload(ids.data(), DType::I32, {T, k}, DType::I32),
                  be->upload(w_f.data(), DType::F32, {T, k}, DType::F32), out);
  const Vec want = ref_moe_experts(x, gate_up, down, ids, weights, T, H, I, k);
  EXPECT_LE(tolerance_ratio(be->download_f32(out), want, 1e-5, 1e-4), 1.0);
}

TEST(CpuMoe, ChecksArguments) {
  auto be = make_cpu();
  const int64_t T = 2, H = 8, I = 4, E = 3;
  Tensor logits = be->empty(DType::F32, {T, E});
  Tensor ids = be->empty(DType::I32, {T, 2}), w = be->empty(DType::F32, {T, 2});
  EXPECT_THROW(be->moe_route(logits, 0, false, ids, w), Error);
  EXPECT_THROW(be->moe_route(logits, 4, false, ids, w), Error);
  Tensor ids1 = be->empty(DType::I32, {T, 1});
  EXPECT_THROW(be->moe_route(logits, 2, false, ids1, w), Error);  // ids narrower than k
  Tensor x = be->empty(DType::F32, {T, H}), out = be->empty(DType::F32, {T, H});
  Tensor gu = be->empty(DType::F32, {E, 2 * I, H}), dn = be->empty(DType::F32, {E, H, I});
  Tensor bad_dn = be->empty(DType::F32, {E, H, I + 1}), odd_gu = be->empty(DType::F32, {E, 2 * I + 1, H});
  std::fill_n(x.ptr<float>(), T * H, 0.0f);
  std::fill_n(gu.ptr<float>(), E * 2 * I * H, 0.0f);
  std::fill_n(dn.ptr<float>(), E * H * I, 0.0f);
  std::fill_n(w.ptr<float>(), T * 2, 0.5f);
  const std::vector<int32_t> good = {0, 2, 1, 0}, bad = {0, 3, 1, 0};
  std::copy(good.begin(), good.end(), ids.ptr<int32_t>());
  EXPECT_THROW(be->moe_experts(x, gu, bad_dn, ids, w, out), Error);
  EXPECT_THROW(be->moe_experts(x, odd_gu, dn, ids, w, out), Error);
  EXPECT_THROW(be->moe_experts(x, gu, dn, ids1, w, out), Error);  // weights and ids differ
  be->moe_experts(x, gu, dn, ids, w, out);
  std::copy(bad.begin(), bad.end(), ids.ptr<int32_t>());
  try {
    be->moe_experts(x, gu, dn, ids, w, out);
    FAIL() << "expert id 3 of 3 experts was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expert id 3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace turbine::test
