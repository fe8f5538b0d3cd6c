// W4A16 against the 16-bit linear on one backend: the Llama-2-7B projection shapes (qkv 12288 x 4096,
// o 4096 x 4096, gate_up 22016 x 4096, down 4096 x 11008) at decode token counts, as microseconds
// per call, bytes of weights (4-bit values, scales and zero points, or 16-bit values) read per
// second, TFLOP/s and the 4-bit speedup. Each case cycles through 4 copies of its weights so that
// none is served from L2, and calls run back to back (so PDL overlap counts, as in a decode step).
// The 4-bit linear runs with the backend's default options, as gemm_dispatch.cpp dispatches it. On
// cuda a second backend dequantizes the weight and runs the 16-bit GEMM at every token count
// (int4_dequant_min_tokens = 1): dequant_us says where that path (long prefills) starts to win.
// --shapes NxK,... times other shapes instead (the "layer" line then sums those), e.g. outputs a few
// strips either side of a whole wave of blocks.
// Usage: int4_linear_bench [--device cuda] [--dtype float16] [--tokens 1,16,32,64] [--group-size 128]
//                          [--shapes 22016x4096,21120x4096]
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda_options.h"
#include "core/dtype.h"

namespace {

using namespace turbine;

constexpr int kCopies = 4;
// Llama-2-7B's projections (N, K): qkv, o, gate_up, down.
const std::vector<std::pair<int64_t, int64_t>> kLlama7bShapes = {
    {12288, 4096}, {4096, 4096}, {22016, 4096}, {4096, 11008}};

// "NxK" as (N, K), both positive.
std::pair<int64_t, int64_t> parse_shape(const std::string& text) {
  const size_t x = text.find('x');
  size_t end_n = 0, end_k = 0;
  int64_t n = 0, k = 0;
  try {
    if (x != std::string::npos) {
      n = std::stoll(text.substr(0, x), &end_n);
      k = std::stoll(text.substr(x + 1), &end_k);
    }
  } catch (const std::exception&) {
    n = k = 0;
  }
  if (x == std::string::npos || end_n != x || end_k != text.size() - x - 1 || n < 1 || k < 1)
    throw std::invalid_argument(fmt::format("--shapes: '{}' is not NxK with N and K positive", text));
  return {n, k};
}

// A cheap generator: the bench needs plausible values, not good randomness, for a 90M-weight matrix.
struct Lcg {
  uint64_t s;
  uint32_t next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return uint32_t(s >> 33);
  }
  float uniform(float lo, float hi) { return lo + (hi - lo) * float(next() & 0xffffff) / float(0x1000000); }
};

std::vector<uint16_t> random_half(Lcg& rng, size_t n, DType dtype, float lo, float hi) {
  std::vector<float> f(n);
  for (auto& v : f) v = rng.uniform(lo, hi);
  std::vector<uint16_t> h(n);
  convert_from_f32(f.data(), dtype, h.data(), n);
  return h;
}

HostInt4Matrix random_int4(Lcg& rng, int64_t n, int64_t k, int group) {
  HostInt4Matrix m;
  m.n = n;
  m.k = k;
  m.group_size = group;
  m.q.resize(size_t(n * k));
  for (auto& v : m.q) v = uint8_t(rng.next() & 15);
  m.zeros.resize(size_t(n * (k / group)));
  for (auto& v : m.zeros) v = uint8_t(rng.next() & 15);
  const auto s = random_half(rng, m.zeros.size(), DType::F16, 0.001f, 0.01f);
  m.scales.assign(s.begin(), s.end());
  return m;
}

// Microseconds per call of `run(copy)` over `iterations` calls after a warm-up.
template <typename Run>
double time_calls(Backend& backend, int iterations, Run run) {
  for (int i = 0; i < 2 * kCopies; ++i) run(i % kCopies);
  backend.synchronize();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) run(i % kCopies);
  backend.synchronize();
  const std::chrono::duration<double, std::micro> elapsed = std::chrono::steady_clock::now() - start;
  return elapsed.count() / iterations;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Times the 4-bit (W4A16) linear against the 16-bit one on the 7B shapes"};
  std::string device = cuda_available() ? "cuda" : "cpu", dtype_text = "float16";
  std::vector<int> token_counts{1, 16, 32, 64};
  std::vector<std::string> shape_texts;
  int iterations = 100, group = 128;
  app.add_option("--device", device, "cpu, cuda or cuda:N")->capture_default_str();
  app.add_option("--dtype", dtype_text, "compute dtype on cuda")->capture_default_str();
  app.add_option("--tokens", token_counts, "token counts")->delimiter(',')->capture_default_str();
  app.add_option("--shapes", shape_texts, "NxK weight shapes instead of Llama-2-7B's four")->delimiter(',');
  app.add_option("--group-size", group, "4-bit group size")->capture_default_str();
  app.add_option("--iterations", iterations, "timed calls per case")->capture_default_str()->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  try {
    std::vector<std::pair<int64_t, int64_t>> shapes = kLlama7bShapes;
    if (!shape_texts.empty()) {
      shapes.clear();
      for (const auto& t : shape_texts) shapes.push_back(parse_shape(t));
    }
    BackendOptions o;
    o.device = device;
    o.dtype = device == "cpu" ? DType::F32 : parse_dtype(dtype_text);
    // The CUDA switches come from the environment, as the CLI's do where no flag is given
    // (TURBINE_CUDA_INT4_TILED=1, TURBINE_CUDA_INT4_GEMV=8, ...): the A/B runs of the 4-bit kernels.
    std::vector<std::string> applied;
    o.cuda = resolve_cuda_options({}, [](const char* name) { return std::getenv(name); }, &applied);
    auto backend = make_backend(o);
    const DType dtype = backend->compute_dtype();
    // The same device with the dequantized 16-bit path at every token count (cuda only: the cpu has
    // one 4-bit path).
    std::unique_ptr<Backend> dequant_backend;
    if (device != "cpu") {
      BackendOptions g = o;
      g.cuda.int4_gemv_max_tokens = 0;
      g.cuda.int4_tiled_gemm = false;
      g.cuda.int4_dequant_min_tokens = 1;
      dequant_backend = make_backend(g);
    }
    fmt::print("# {} ({}), group {}, {} iterations{}{}\n", backend->name(), dtype_name(dtype), group, iterations,
               applied.empty() ? "" : ", ", fmt::join(applied, " "));
    fmt::print("{:<22} {:>9} {:>7} {:>7} {:>9} {:>7} {:>7} {:>8} {:>10}\n", "case", "16bit_us", "GB/s", "TFLOP/s",
               "4bit_us", "GB/s", "TFLOP/s", "speedup", "dequant_us");
    Lcg rng{42};
    // Per token count, the four shapes summed (one layer): 16-bit, 4-bit as dispatched, dequantized.
    std::vector<std::array<double, 3>> layer(token_counts.size(), {0.0, 0.0, 0.0});
    for (const auto& [n, k] : shapes) {
      std::vector<Tensor> dense;
      std::vector<Int4Weight> quant, dequant_quant;
      for (int c = 0; c < kCopies; ++c) {
        const auto w = random_half(rng, size_t(n * k), DType::F16, -0.05f, 0.05f);
        dense.push_back(backend->upload(w.data(), DType::F16, {n, k}, dtype));
        const HostInt4Matrix m = random_int4(rng, n, k, group);
        quant.push_back(backend->pack_int4(m));
        if (dequant_backend) dequant_quant.push_back(dequant_backend->pack_int4(m));
      }
      const double dense_bytes = double(n) * k * 2;
      const double quant_bytes = double(n) * k / 2 + double(n) * (k / group) * 3;  // values, fp16 scale, zero
      for (size_t ti = 0; ti < token_counts.size(); ++ti) {
        const int tokens = token_counts[ti];
        std::vector<float> xv(size_t(tokens) * k);
        for (auto& v : xv) v = rng.uniform(-1.0f, 1.0f);
        Tensor x = backend->upload(xv.data(), DType::F32, {tokens, k}, dtype);
        Tensor out = backend->empty(dtype, {tokens, n});
        const double us16 =
            time_calls(*backend, iterations, [&](int c) { backend->linear(x, dense[size_t(c)], nullptr, out); });
        const double us4 = time_calls(*backend, iterations,
                                      [&](int c) { backend->linear(x, LinearWeight(quant[size_t(c)]), nullptr, out); });
        // The 4-bit linear on another backend with its own copies of the packed weights (0 without one).
        auto time_on = [&](Backend* other, const std::vector<Int4Weight>& weights) {
          if (!other) return 0.0;
          Tensor ox = other->upload(xv.data(), DType::F32, {tokens, k}, dtype);
          Tensor oout = other->empty(dtype, {tokens, n});
          return time_calls(*other, iterations,
                            [&](int c) { other->linear(ox, LinearWeight(weights[size_t(c)]), nullptr, oout); });
        };
        const double us_dequant = time_on(dequant_backend.get(), dequant_quant);
        layer[ti][0] += us16;
        layer[ti][1] += us4;
        layer[ti][2] += us_dequant;
        const double flops = 2.0 * tokens * double(n) * k;
        fmt::print("{:<22} {:>9.1f} {:>7.0f} {:>7.1f} {:>9.1f} {:>7.0f} {:>7.1f} {:>8.2f} {:>10.1f}\n",
                   fmt::format("N{} K{} T{}", n, k, tokens), us16, dense_bytes / us16 / 1e3, flops / us16 / 1e6, us4,
                   quant_bytes / us4 / 1e3, flops / us4 / 1e6, us16 / us4, us_dequant);
      }
    }
    for (size_t ti = 0; ti < token_counts.size(); ++ti)
      fmt::print("layer T{}: 16-bit {:.1f} us, 4-bit {:.1f} us ({:.2f}x), dequantized {:.1f} us\n", token_counts[ti],
                 layer[ti][0], layer[ti][1], layer[ti][0] / layer[ti][1], layer[ti][2]);
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "int4_linear_bench: {}\n", e.what());
    return 1;
  }
}
