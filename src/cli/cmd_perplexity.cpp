// `turbine perplexity MODEL FILE`: held-out perplexity by the rule of golden.json
// (kjv-llama-ppl.rule), printed as `ppl = X.XXXX`.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "model/model_folder.h"

namespace turbine {
// Declared in engine/perplexity.h (another change); repeated here until that header lands.
double perplexity(LlamaModel& model, KvCache& cache, std::span<const int32_t> stream, int window);
}  // namespace turbine

namespace turbine::cli {

namespace {

constexpr int kWindow = 512;

struct PerplexityArgs {
  std::string model;
  std::string file;
  DeviceOptions device;
};

std::string strip(const std::string& s) {
  const char* space = " \t\n\r\f\v";
  const size_t begin = s.find_first_not_of(space);
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(space) - begin + 1);
}

// BOS + ids of each chapter (text stripped, chapters split on "\n\n").
std::vector<int32_t> build_stream(const std::string& raw, const Tokenizer& tok, int32_t bos) {
  const std::string text = strip(raw);
  std::vector<int32_t> stream;
  size_t start = 0;
  while (true) {
    const size_t end = text.find("\n\n", start);
    stream.push_back(bos);
    const auto ids = tok.encode(std::string_view(text).substr(start, end == std::string::npos ? end : end - start));
    stream.insert(stream.end(), ids.begin(), ids.end());
    if (end == std::string::npos) break;
    start = end + 2;
  }
  return stream;
}

void run(const PerplexityArgs& args) {
  if (std::filesystem::is_directory(args.file)) fail("{}: is a folder, not a text file", args.file);
  std::ifstream in(args.file, std::ios::binary);
  if (!in) fail("{}: cannot open", args.file);
  std::stringstream buffer;
  buffer << in.rdbuf();

  LoadedModel m = open_model_folder(args.model);
  const auto bos = m.tokenizer->bos_id ? *m.tokenizer->bos_id : m.config.bos_token_id;
  if (bos < 0) fail("{}: the model has no BOS token (tokenizer_config.json bos_token, config.json bos_token_id)",
                    args.model);
  const auto stream = build_stream(buffer.str(), *m.tokenizer, bos);
  if (stream.size() < 2) fail("{}: too little text to score", args.file);

  load_model_weights(m, resolve_backend(args.device, EngineOptions{}));
  constexpr int kBlockLen = 64;
  KvCache cache = m.backend->allocate_kv_cache(m.model->kv_cache_spec((kWindow + kBlockLen - 1) / kBlockLen, kBlockLen));
  const double ppl = perplexity(*m.model, cache, stream, kWindow);
  std::printf("ppl = %.4f\n", ppl);
}

}  // namespace

void register_perplexity(CLI::App& app) {
  auto args = std::make_shared<PerplexityArgs>();
  auto* cmd = app.add_subcommand("perplexity", "Perplexity of a text file (windows of 512 tokens)");
  cmd->add_option("MODEL", args->model, "model folder")->required();
  cmd->add_option("FILE", args->file, "text file")->required();
  add_device_options(*cmd, args->device);
  cmd->callback([args] { run(*args); });
}

}  // namespace turbine::cli
