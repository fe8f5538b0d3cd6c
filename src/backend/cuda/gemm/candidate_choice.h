// Which of cuBLASLt's candidates a tuned shape keeps (cublaslt_gemm.cpp), apart from the CUDA code
// so that the rule is tested on any machine.
#pragma once
#include <cmath>
#include <vector>

namespace turbine::cuda {

// times[c]: candidate c's time (its median over the tuning rounds; infinite if it could not run),
// candidates in the heuristic's order. Keeps the first candidate within `tolerance` (relative) of
// the fastest: repeats of one candidate spread by about 2% on an H100, and taking the earlier of
// two that differ by less keeps the choice, and so the results' last bits, the same from one
// process to the next. 0 when none could run.
inline int choose_candidate(const std::vector<float>& times, float tolerance) {
  float fastest = INFINITY;
  for (const float t : times) fastest = std::fmin(fastest, t);
  if (!std::isfinite(fastest)) return 0;
  for (size_t c = 0; c < times.size(); ++c)
    if (times[c] <= fastest * (1.0f + tolerance)) return int(c);
  return 0;
}

}  // namespace turbine::cuda
