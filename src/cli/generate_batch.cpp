#include "cli/generate_batch.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>

#include "cli/engine_setup.h"
#include "core/error.h"
#include "engine/engine.h"
#include "pipeline/model_folder.h"

namespace turbine::cli {

namespace {
std::vector<std::string> read_prompts(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("--prompts-file: cannot open '{}'", path);
  std::vector<std::string> prompts;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos) prompts.push_back(line);
  }
  if (prompts.empty()) fail("--prompts-file: '{}' has no prompts (no non-empty line)", path);
  return prompts;
}
}  // namespace

void generate_prompts_file(const std::string& model_dir, const std::string& prompts_file, bool print_ids,
                           const DeviceOptions& device, const EngineOptions& engine, const SamplingOptions& sampling) {
  const std::vector<std::string> prompts = read_prompts(prompts_file);
  LoadedModel m = open_model_folder(model_dir);
  const SamplingParams params = resolve_sampling(sampling, m.generation, m.config, *m.tokenizer);
  const int context = resolve_session_len(engine, m.config);
  std::vector<std::vector<int32_t>> ids;
  for (size_t i = 0; i < prompts.size(); ++i) {
    ids.push_back(encode_prompt(*m.tokenizer, prompts[i]));
    if (int64_t(ids.back().size()) >= context)
      fail("--prompts-file: prompt on line {} has {} tokens; the context holds {} (--session-len)", i + 1,
           ids.back().size(), context);
  }
  load_model_weights(m, resolve_backend(device, engine));
  Engine eng(*m.model, *m.tokenizer, make_engine_options(engine));
  std::vector<RequestHandle> handles;
  for (auto& p : ids) handles.push_back(eng.submit({std::move(p), params, {}, {}}));
  for (auto& h : handles) {
    const RequestResult r = h.wait();
    if (!r.error.empty()) fail("{}", r.error);
    std::string line;
    if (print_ids) {
      for (size_t i = 0; i < r.ids.size(); ++i) line += (i ? " " : "") + std::to_string(r.ids[i]);
    } else {
      line = nlohmann::json(r.text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
  }
}

}  // namespace turbine::cli
