// `turbine detokenize MODEL ID...`: the decoded text, special tokens written out.
#include <cstdio>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/error.h"
#include "pipeline/model_folder.h"

namespace turbine::cli {

namespace {

struct DetokenizeArgs {
  std::string model;
  std::vector<int64_t> ids;
};

void run(const DetokenizeArgs& args) {
  auto tok = load_folder_tokenizer(args.model);
  std::vector<int32_t> ids;
  for (int64_t id : args.ids) {
    if (id < 0 || id >= tok->vocab_size())
      fail("token id {} is outside the vocabulary (0..{})", id, tok->vocab_size() - 1);
    ids.push_back(int32_t(id));
  }
  write_stdout(tok->decode(ids) + '\n');
}

}  // namespace

void register_detokenize(CLI::App& app) {
  auto args = std::make_shared<DetokenizeArgs>();
  auto* cmd = app.add_subcommand("detokenize", "Print the text of token ids");
  cmd->add_option("MODEL", args->model, "model or tokenizer folder")->required();
  cmd->add_option("ID", args->ids, "token ids");
  cmd->callback([args] { run(*args); });
}

}  // namespace turbine::cli
