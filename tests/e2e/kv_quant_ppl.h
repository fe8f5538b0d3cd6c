// kjv-llama's held-out perplexity (golden.json's kjv-llama-ppl rule) with each KV cache format on one
// loaded model, the CPU's or the GPU's, against that model's own Dense cache: int8 within +-0.05%, int4
// and fp8 within +-0.5%, and int4 not equal to it (an fp32 reference outside the project measures
// +0.002% for int8, +0.08% for int4). Shared by the CPU (e2e) and GPU suites.
#pragma once
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "e2e/e2e_util.h"
#include "engine/perplexity.h"
#include "engine/perplexity_stream.h"
#include "text/tokenizer.h"

namespace turbine::test {

class KvQuantPplRun {
 public:
  // `model` loaded from `dir` (kjv-llama); `where` names the device in the printed figures.
  KvQuantPplRun(LoadedModel& model, const std::filesystem::path& dir, std::string where)
      : model_(model), where_(std::move(where)) {
    std::ifstream in(dir / "kjv_eval.txt", std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    stream_ = perplexity_stream(text.str(), *load_tokenizer(dir), model.config.bos_token_id);
  }

  const std::vector<int32_t>& stream() const { return stream_; }

  // The perplexity with format f, computed once.
  double ppl(KvFormat f) {
    if (auto it = done_.find(f); it != done_.end()) return it->second;
    const int window = golden().at("kjv-llama-ppl").at("window").get<int>();
    KvCache cache = model_.backend->allocate_kv_cache(model_.model->kv_cache_spec(window / 16, 16, f));
    const double p = perplexity(*model_.model, cache, stream_, window);
    std::printf("kjv-llama perplexity on the %s, kv %s: %.4f\n", where_.c_str(), std::string(kv_format_name(f)).c_str(),
                p);
    return done_[f] = p;
  }

  // Format f's perplexity against Dense under the bounds above.
  void expect_bounds(KvFormat f) {
    const double dense = ppl(KvFormat::Dense), q = ppl(f);
    const double tol = f == KvFormat::Int8 ? 0.0005 : 0.005;
    EXPECT_LE(q, dense * (1 + tol)) << kv_format_name(f) << ", dense " << dense;
    EXPECT_GE(q, dense * (1 - tol)) << kv_format_name(f) << ", dense " << dense;
    if (f == KvFormat::Int4) {
      EXPECT_NE(q, dense);
    }
  }

 private:
  LoadedModel& model_;
  std::string where_;
  std::vector<int32_t> stream_;
  std::map<KvFormat, double> done_;
};

}  // namespace turbine::test
