// The performance mode of the op table (tests/op_cases): times each case of op_bench_cases() (the
// Llama-2-7B GEMM shapes at decode-sized token counts, norms, decode and prefill attention) on one
// backend, as microseconds per call and bytes of weights (or KV cache) read per second. Linear cases
// cycle through 4 copies of their weights so that none is served from L2, and calls run back to
// back, so a kernel that overlaps its neighbours (PDL) gains here as in a decode step.
// --baseline-cublaslt also times each linear case on a second CUDA backend whose skinny and wgmma
// limits are 0 (cuBLASLt alone) and prints the speedup.
// The CUDA switches come from the environment (TURBINE_CUDA_*, as for the CLI without flags).
// Usage: backend_ops_bench [--device cuda] [--dtype float16] [--filter linear] [--iterations 100]
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda_options.h"
#include "core/dtype.h"
#include "op_cases.h"

namespace {

using namespace turbine;
using namespace turbine::test;

constexpr int kWeightCopies = 4;

struct Timing {
  double us = 0;     // microseconds per call over `iterations` calls after a warm-up
  double bytes = 0;  // weights (or KV cache) one call reads
};

// One preparation per case and backend (a batch-128 cache fill takes seconds of set-up).
Timing time_case(Backend& backend, const OpCase& c, int iterations) {
  PreparedOp op = prepare_op(backend, c, 1, backend.compute_dtype(), c.op == Op::Linear ? kWeightCopies : 1);
  for (int i = 0; i < 2 * kWeightCopies; ++i) op.run();
  backend.synchronize();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) op.run();
  backend.synchronize();
  const std::chrono::duration<double, std::micro> elapsed = std::chrono::steady_clock::now() - start;
  return Timing{elapsed.count() / iterations, op.bytes};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Times the op table's cases on one backend"};
  std::string device = cuda_available() ? "cuda" : "cpu", dtype_text, filter;
  int iterations = 100, threads = 0;
  bool baseline = false;
  app.add_option("--device", device, "cpu, cuda or cuda:N")->capture_default_str();
  app.add_option("--dtype", dtype_text, "compute dtype on cuda (default float16)");
  app.add_option("--threads", threads, "cpu worker threads (0 = all cores)");
  app.add_option("--filter", filter, "only cases whose name contains this text");
  app.add_option("--iterations", iterations, "timed calls per case")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_flag("--baseline-cublaslt", baseline, "also time linear cases on cuBLASLt alone (cuda)");
  CLI11_PARSE(app, argc, argv);
  try {
    BackendOptions o;
    o.device = device;
    o.threads = threads;
    // The CUDA switches come from the environment, as the CLI's do where no flag is given
    // (TURBINE_CUDA_KV_DECODE_WIDE_LANES=0, ...): the A/B runs of one kernel against another.
    std::vector<std::string> applied;
    o.cuda = resolve_cuda_options({}, [](const char* name) { return std::getenv(name); }, &applied);
    o.dtype = dtype_text.empty() ? (device == "cpu" ? DType::F32 : DType::F16) : parse_dtype(dtype_text);
    auto backend = make_backend(o);
    std::unique_ptr<Backend> cublaslt;
    if (baseline && device != "cpu") {
      o.cuda.skinny_gemm_max_tokens = o.cuda.wgmma_gemm_max_tokens = 0;
      cublaslt = make_backend(o);
    }
    fmt::print("# {} ({}), {} iterations{}{}\n", backend->name(), dtype_name(backend->compute_dtype()), iterations,
               applied.empty() ? "" : ", ", fmt::join(applied, " "));
    fmt::print("{:<64} {:>10} {:>8}{}\n", "case", "us", "GB/s", cublaslt ? "  cublas_us  speedup" : "");
    for (const auto& c : op_bench_cases()) {
      const std::string name = c.name();
      if (!filter.empty() && name.find(filter) == std::string::npos) continue;
      const Timing t = time_case(*backend, c, iterations);
      const double us = t.us, bytes = t.bytes;
      std::string extra;
      if (cublaslt && c.op == Op::Linear) {
        const double theirs = time_case(*cublaslt, c, iterations).us;
        extra = fmt::format(" {:>10.1f} {:>8.3f}", theirs, theirs / us);
      }
      const std::string rate = bytes > 0 ? fmt::format("{:.0f}", bytes / us / 1e3) : "-";
      fmt::print("{:<64} {:>10.1f} {:>8}{}\n", name, us, rate, extra);
      std::fflush(stdout);  // each line as it comes, so that a run cut short by a time limit still shows it
    }
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "backend_ops_bench: {}\n", e.what());
    return 1;
  }
}
