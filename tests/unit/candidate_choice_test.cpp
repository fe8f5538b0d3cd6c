// The rule by which a tuned cuBLASLt shape keeps a candidate (backend/cuda/candidate_choice.h).
#include "backend/cuda/gemm/candidate_choice.h"

#include <gtest/gtest.h>

#include <cmath>

namespace turbine::cuda {
namespace {

// The H100 timings of the 64-token gate_up (µs per call, the heuristic's order): candidate 4 is
// 9% faster than the first choice and 2.4% faster than the next best, so it is kept.
TEST(CandidateChoice, KeepsAClearlyFasterCandidate) {
  EXPECT_EQ(choose_candidate({73.4f, 69.8f, 72.3f, 68.5f, 66.9f, 71.5f, 69.0f, 71.1f}, 0.02f), 4);
}

// The 64-token qkv: the first choice is within noise of the fastest (39.7 against 39.6), so it stays.
TEST(CandidateChoice, KeepsTheEarlierOfCandidatesWithinTolerance) {
  EXPECT_EQ(choose_candidate({39.7f, 39.6f, 42.3f, 42.6f, 39.6f}, 0.02f), 0);
  EXPECT_EQ(choose_candidate({50.0f, 40.0f, 40.5f}, 0.02f), 1);
  // With no tolerance the fastest wins outright, ties to the earlier.
  EXPECT_EQ(choose_candidate({39.7f, 39.6f, 39.6f}, 0.0f), 1);
}

// A candidate that could not run (infinite time) is never kept; with none runnable, the first.
TEST(CandidateChoice, SkipsCandidatesThatCouldNotRun) {
  EXPECT_EQ(choose_candidate({INFINITY, 10.0f, 12.0f}, 0.02f), 1);
  EXPECT_EQ(choose_candidate({INFINITY, INFINITY}, 0.02f), 0);
  EXPECT_EQ(choose_candidate({}, 0.02f), 0);
  EXPECT_EQ(choose_candidate({5.0f}, 0.02f), 0);
}

}  // namespace
}  // namespace turbine::cuda
