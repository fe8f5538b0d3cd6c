// GPU linear (GEMM) speed on the Llama-2-7B projection shapes, for decode-sized token counts: the
// path the backend dispatches to (the skinny GEMM for the fewest tokens, then the wgmma GEMM on
// Hopper, as TURBINE_CUDA_SKINNY_GEMM and TURBINE_CUDA_WGMMA_GEMM set them) against cuBLASLt alone,
// as time and as weight bytes read per second. Each shape cycles through 4 copies of its weights so
// that none of them is served from L2 (the 4096 x 4096 one alone would fit). Calls run back to
// back, so a kernel that overlaps its neighbours (PDL) gains here as in a decode step.
// Usage: gpu_linear_bench [tokens,... = 1,2,4,8,16,32,64] [iterations = 100]
#include <fmt/format.h>

#include <cstdlib>
#include <exception>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "backend/backend.h"
#ifdef TURBINE_WITH_CUDA
#include <cuda_runtime.h>

#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/cuda_check.h"
#endif

namespace {

using namespace turbine;

struct Shape {
  const char* name;
  int n, k;
  DType out;
};

constexpr Shape kShapes[] = {{"qkv", 12288, 4096, DType::F16},
                             {"o", 4096, 4096, DType::F16},
                             {"gate_up", 22016, 4096, DType::F16},
                             {"down", 4096, 11008, DType::F16},
                             {"lm_head", 32000, 4096, DType::F32}};
constexpr int kCopies = 4;

constexpr int kMaxTokens = 4096;

// Positive integers separated by commas, each at most `max`; empty on anything else.
std::vector<int> parse_list(const char* text, int max) {
  std::vector<int> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 1 || v > max) return {};
    out.push_back(int(v));
  }
  return out;
}

#ifdef TURBINE_WITH_CUDA
// Sets an environment variable for the scope, restoring the old value (or its absence) after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (had_)
      setenv(name_, old_.c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

std::unique_ptr<Backend> make_cuda(bool cublaslt_only) {
  BackendOptions o;
  o.device = "cuda";
  o.dtype = DType::F16;
  if (!cublaslt_only) return make_backend(o);
  // The backend reads its GEMM switches when it is made.
  const ScopedEnv no_skinny("TURBINE_CUDA_SKINNY_GEMM", "0"), no_wgmma("TURBINE_CUDA_WGMMA_GEMM", "0");
  return make_backend(o);
}

// Microseconds per call, averaged over `iterations` calls cycling through the weight copies.
double time_linear(Backend& backend, const Shape& s, int tokens, int iterations) {
  auto& cuda = static_cast<cuda::CudaBackend&>(backend);
  std::vector<Tensor> weights;
  for (int c = 0; c < kCopies; ++c) weights.push_back(backend.empty(DType::F16, {s.n, s.k}));
  Tensor x = backend.empty(DType::F16, {tokens, s.k});
  Tensor out = backend.empty(s.out, {tokens, s.n});
  for (auto& w : weights) TURBINE_CUDA_CHECK(cudaMemsetAsync(w.data, 0, w.bytes(), cuda.stream()));
  TURBINE_CUDA_CHECK(cudaMemsetAsync(x.data, 0, x.bytes(), cuda.stream()));
  for (int i = 0; i < 2 * kCopies; ++i) backend.linear(x, weights[i % kCopies], nullptr, out);
  cudaEvent_t start, stop;
  TURBINE_CUDA_CHECK(cudaEventCreate(&start));
  TURBINE_CUDA_CHECK(cudaEventCreate(&stop));
  TURBINE_CUDA_CHECK(cudaEventRecord(start, cuda.stream()));
  for (int i = 0; i < iterations; ++i) backend.linear(x, weights[i % kCopies], nullptr, out);
  TURBINE_CUDA_CHECK(cudaEventRecord(stop, cuda.stream()));
  TURBINE_CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  TURBINE_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return 1000.0 * ms / iterations;
}
#endif

}  // namespace

int main(int argc, char** argv) {
#ifndef TURBINE_WITH_CUDA
  (void)argc;
  (void)argv;
  fmt::print(stderr, "gpu_linear_bench: built without CUDA\n");
  return 1;
#else
  try {
    const auto token_counts = parse_list(argc > 1 ? argv[1] : "1,2,4,8,16,32,64", kMaxTokens);
    const auto iterations = parse_list(argc > 2 ? argv[2] : "100", 1000000);
    if (argc > 3 || token_counts.empty() || iterations.size() != 1) {
      fmt::print(stderr, "usage: gpu_linear_bench [tokens,... (1..{}) = 1,2,4,8,16,32,64] [iterations = 100]\n",
                 kMaxTokens);
      return 2;
    }
    auto turbine = make_cuda(false);
    auto cublaslt = make_cuda(true);
    fmt::print("{:>8} {:>6} {:>10} {:>10} {:>10} {:>10} {:>7}\n", "shape", "tokens", "us", "GB/s", "cublas_us",
               "cublas_GB/s", "speedup");
    for (const auto& s : kShapes)
      for (int t : token_counts) {
        const double ours = time_linear(*turbine, s, t, iterations[0]);
        const double theirs = time_linear(*cublaslt, s, t, iterations[0]);
        const double bytes = 2.0 * s.n * s.k;
        fmt::print("{:>8} {:>6} {:>10.1f} {:>10.0f} {:>10.1f} {:>10.0f} {:>7.3f}\n", s.name, t, ours,
                   bytes / ours / 1e3, theirs, bytes / theirs / 1e3, theirs / ours);
      }
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "gpu_linear_bench: {}\n", e.what());
    return 1;
  }
#endif
}
