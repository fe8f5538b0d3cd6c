// Single-thread tokenizer.json throughput: load time, encode MB/s of English (the KJV eval text
// repeated to ~4 MB), decode MB/s, and 1 MB of one repeated character (the no-quadratic check).
// Usage: tokenizer_bench [shared_dir [tokenizer_name]]   (default ../shared, all three tokenizers)
#include <time.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "text/hf_tokenizer.h"

using namespace turbine;
using Clock = std::chrono::steady_clock;

// Thread CPU time: the figure that matters on a shared machine, where wall time includes waiting.
struct Stopwatch {
  Clock::time_point wall = Clock::now();
  double cpu = thread_cpu_seconds();
  static double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
  }
  double wall_s() const { return std::chrono::duration<double>(Clock::now() - wall).count(); }
  double cpu_s() const { return thread_cpu_seconds() - cpu; }
};

static void bench_folder(const std::filesystem::path& dir, const std::string& english) {
  Stopwatch load;
  const auto tok = load_hf_tokenizer(dir);
  std::printf("%s\n  load: %.3f s cpu (%.3f s wall)\n", dir.filename().c_str(), load.cpu_s(), load.wall_s());

  // First pass fills the word cache; the second is the steady state a server sees.
  for (const char* pass : {"cold", "warm"}) {
    Stopwatch watch;
    const auto ids = tok->encode(english);
    const double t = watch.cpu_s(), wall = watch.wall_s();
    std::printf("  encode %s: %.2f MB in %.3f s cpu = %.1f MB/s (wall %.3f s; %zu ids)\n", pass, english.size() / 1e6,
                t, english.size() / 1e6 / t, wall, ids.size());
  }
  const auto ids = tok->encode(english);
  Stopwatch watch;
  const std::string text = tok->decode(ids);
  const double t = watch.cpu_s();
  std::printf("  decode: %.1f MB/s (round trip %s)\n", text.size() / 1e6 / t, text == english ? "exact" : "DIFFERS");

  for (const char* one : {"a", " ", "7", "\xE4\xB8\xAD"}) {
    std::string repeated;
    while (repeated.size() < (1 << 20)) repeated += one;
    Stopwatch once;
    const auto n = tok->encode(repeated).size();
    std::printf("  1 MB of \"%s\": %.3f s cpu (%zu ids)\n", one, once.cpu_s(), n);
  }
}

int main(int argc, char** argv) {
  const std::filesystem::path shared = argc > 1 ? argv[1] : "../shared";
  std::ifstream in(shared / "models" / "kjv-llama" / "kjv_eval.txt", std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "error: cannot read %s\n", (shared / "models/kjv-llama/kjv_eval.txt").c_str());
    return 1;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string english;
  while (english.size() < 4'000'000) english += buffer.str();
  try {
    for (const char* name : {"llama3", "qwen3", "spm-bpe-32k"})
      if (argc <= 2 || std::string(argv[2]) == name) bench_folder(shared / "tokenizers" / name, english);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
