// Which CUDA attention kernels take a batch (attention_route.h, plain C++): the decode kernel takes
// decode tokens in every KV format; prefill tiles go to the flash kernel only with a dense cache whose
// tiles fit, else to the general kernel, which then skips the decode tokens; shapes the decode kernel
// does not serve, and a forced general path, put every sequence on the general kernel.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "backend/cuda/attention/attention_route.h"

using namespace turbine;
using turbine::cuda::AttentionBatchFacts;
using turbine::cuda::AttentionRoute;
using turbine::cuda::route_attention;

namespace {

// A Llama-2-7B-like shape (32 heads of 128, MHA) on a GPU where the flash kernel's tiles fit.
AttentionBatchFacts facts(int num_decode, int num_prefill_tiles, KvFormat format = KvFormat::Dense) {
  AttentionBatchFacts f;
  f.head_dim = 128;
  f.num_heads = 32;
  f.num_kv_heads = 32;
  f.num_decode = num_decode;
  f.num_prefill_tiles = num_prefill_tiles;
  f.kv_format = format;
  f.flash_fits = true;
  return f;
}

struct Expect {
  bool decode, flash, general, skips;
};

void expect_route(const AttentionBatchFacts& f, Expect e) {
  const AttentionRoute r = route_attention(f);
  EXPECT_EQ(r.decode, e.decode);
  EXPECT_EQ(r.flash, e.flash);
  EXPECT_EQ(r.general, e.general);
  EXPECT_EQ(r.general_skips_decode(), e.skips);
}

TEST(AttentionRoute, DenseCacheTakesTheDecodeAndFlashKernels) {
  expect_route(facts(5, 0), {true, false, false, false});
  expect_route(facts(0, 3), {false, true, false, false});
  expect_route(facts(5, 3), {true, true, false, false});
}

TEST(AttentionRoute, QuantizedDecodeTokensTakeTheDecodeKernel) {
  for (KvFormat f : {KvFormat::Int8, KvFormat::Int4, KvFormat::Fp8}) {
    SCOPED_TRACE(std::string(kv_format_name(f)));
    expect_route(facts(7, 0, f), {true, false, false, false});
  }
}

TEST(AttentionRoute, QuantizedPrefillTakesTheGeneralKernelBesideTheDecodeKernel) {
  for (KvFormat f : {KvFormat::Int8, KvFormat::Int4, KvFormat::Fp8}) {
    SCOPED_TRACE(std::string(kv_format_name(f)));
    expect_route(facts(0, 4, f), {false, false, true, false});  // every sequence is a prefill one
    expect_route(facts(2, 4, f), {true, false, true, true});    // the general kernel skips the decodes
  }
}

// With CudaOptions::flash_quantized_kv the flash kernel takes a quantized cache's prefill tiles too,
// where they fit; the general kernel keeps what does not fit, and a forced general route wins.
TEST(AttentionRoute, AskedForQuantizedPrefillTakesTheFlashKernel) {
  for (KvFormat format : {KvFormat::Int8, KvFormat::Int4, KvFormat::Fp8}) {
    SCOPED_TRACE(std::string(kv_format_name(format)));
    AttentionBatchFacts f = facts(2, 4, format);
    f.flash_quantized = true;
    expect_route(f, {true, true, false, false});
    f.flash_fits = false;
    expect_route(f, {true, false, true, true});
    f.flash_fits = true;
    f.force_general = true;
    expect_route(f, {false, false, true, false});
  }
}

TEST(AttentionRoute, FlashTilesThatDoNotFitTakeTheGeneralKernelForPrefillOnly) {
  AttentionBatchFacts f = facts(2, 4);
  f.flash_fits = false;
  expect_route(f, {true, false, true, true});
}

TEST(AttentionRoute, ShapesBeyondTheDecodeKernelRunEverythingOnTheGeneralKernel) {
  for (KvFormat format : {KvFormat::Dense, KvFormat::Int8}) {
    SCOPED_TRACE(std::string(kv_format_name(format)));
    AttentionBatchFacts gqa16 = facts(3, 2, format);
    gqa16.num_kv_heads = 2;  // 16 query heads per KV head
    expect_route(gqa16, {false, false, true, false});
    AttentionBatchFacts d96 = facts(3, 0, format);
    d96.head_dim = 96;
    d96.flash_fits = false;
    expect_route(d96, {false, false, true, false});
  }
  // Up to 8 query heads per KV head, and group 3 (not a power of two), stay on the decode kernel.
  AttentionBatchFacts gqa8 = facts(3, 0, KvFormat::Int4);
  gqa8.num_kv_heads = 4;
  expect_route(gqa8, {true, false, false, false});
  AttentionBatchFacts gqa3 = facts(3, 0);
  gqa3.num_heads = 6;
  gqa3.num_kv_heads = 2;
  expect_route(gqa3, {true, false, false, false});
  // Without decode tokens the flash kernel takes 16 query heads per KV head.
  AttentionBatchFacts prefill16 = facts(0, 2);
  prefill16.num_kv_heads = 2;
  expect_route(prefill16, {false, true, false, false});
}

TEST(AttentionRoute, ForcedGeneralTakesEverything) {
  for (KvFormat format : {KvFormat::Dense, KvFormat::Fp8}) {
    SCOPED_TRACE(std::string(kv_format_name(format)));
    for (auto [decode, tiles] : {std::pair{4, 0}, std::pair{0, 4}, std::pair{4, 4}}) {
      AttentionBatchFacts f = facts(decode, tiles, format);
      f.force_general = true;
      expect_route(f, {false, false, true, false});
    }
  }
}

TEST(AttentionRoute, AnEmptyBatchLaunchesNothing) { expect_route(facts(0, 0), {false, false, false, false}); }

}  // namespace
