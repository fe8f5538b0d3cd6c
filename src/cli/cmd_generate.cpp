// `turbine generate MODEL --prompt TEXT | --prompt-ids IDS | --prompts-file FILE [opts]`: every
// prompt runs through the engine (one request, or one per line of the file, all at once). One
// prompt streams its text (or ids with --ids); a file prints one line per prompt, in order.
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/engine_setup.h"
#include "cli/options.h"
#include "cli/output.h"
#include "core/error.h"
#include "engine/engine.h"
#include "engine/request_validation.h"
#include "guided/json_schema.h"
#include "pipeline/model_folder.h"

namespace turbine::cli {

namespace {

struct GenerateArgs {
  std::string model;
  std::optional<std::string> prompt;
  std::optional<std::string> prompt_ids;
  std::optional<std::string> prompts_file;
  bool ids = false;
  bool echo = false;
  bool json_object = false;                // the output is one JSON object (guided decoding)
  std::optional<std::string> json_schema;  // a file holding the JSON Schema the output follows
  DeviceOptions device;
  EngineOptions engine;
  SamplingOptions sampling;
};

// One prompt and where it came from (named in errors).
struct Prompt {
  std::string source;  // "--prompt", "--prompt-ids" or "--prompts-file line N"
  std::string text;    // as given (for --echo); for --prompt-ids, their decoding (made when echoed)
  std::vector<int32_t> ids;
};

std::vector<int32_t> parse_ids(const std::string& text, const char* flag) {
  std::vector<int32_t> ids;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    size_t used = 0;
    long long id = -1;
    try {
      id = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size() || id < 0 || id > INT32_MAX) fail("{}: '{}' is not a token id", flag, word);
    ids.push_back(int32_t(id));
  }
  return ids;
}

// Every non-blank line of the file, numbered as an editor numbers lines (blank ones count).
std::vector<Prompt> read_prompts_file(const std::string& path, const Tokenizer& tokenizer) {
  // Not require_regular_file: a FIFO is fine here (process substitution, <(...)), a folder is not.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail("--prompts-file {}: is a folder, not a file", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("--prompts-file: cannot open '{}'", path);
  std::vector<Prompt> prompts;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    prompts.push_back({"--prompts-file line " + std::to_string(number), line, tokenizer.encode_prompt(line)});
  }
  if (prompts.empty()) fail("--prompts-file: '{}' has no prompts (every line is blank)", path);
  return prompts;
}

std::vector<Prompt> read_prompts(const GenerateArgs& args, const Tokenizer& tokenizer) {
  if (args.prompts_file) return read_prompts_file(*args.prompts_file, tokenizer);
  if (args.prompt_ids) return {{"--prompt-ids", "", parse_ids(*args.prompt_ids, "--prompt-ids")}};
  return {{"--prompt", *args.prompt, tokenizer.encode_prompt(*args.prompt)}};
}

// What --echo prints of a prompt given as text: the text; given as ids: what they decode to.
std::string echo_text(const Prompt& prompt, const Tokenizer& tokenizer) {
  return prompt.source == "--prompt-ids" ? tokenizer.decode(prompt.ids) : prompt.text;
}

std::string join_ids(const std::vector<int32_t>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) out += (i ? " " : "") + std::to_string(ids[i]);
  return out;
}

// One prompt: the text (or ids) streamed as the engine produces it. A failed write (a closed pipe,
// a full disk) throws, and the engine's destructor cancels the request: generation stops there.
void stream_one(Engine& engine, const Tokenizer& tokenizer, const Prompt& prompt, const SamplingParams& params,
                const GenerateArgs& args) {
  if (args.echo) write_stdout(args.ids ? join_ids(prompt.ids) : echo_text(prompt, tokenizer));
  bool first_id = !args.echo || prompt.ids.empty();
  RequestHandle handle = engine.submit({prompt.ids, params, {}, {}});
  while (auto out = handle.next()) {
    if (!out->error.empty()) fail("{}", out->error);
    if (!args.ids) {
      write_stdout(out->text);
    } else if (out->token && out->show_id) {
      write_stdout((first_id ? "" : " ") + std::to_string(*out->token));
      first_id = false;
    }
  }
  write_stdout("\n");
}

// Many prompts at once; each line is printed when it and every line before it are done.
void run_all(Engine& engine, const std::vector<Prompt>& prompts, const SamplingParams& params,
             const GenerateArgs& args) {  // prompts from a file: their echo is their text
  std::vector<RequestHandle> handles;
  for (const Prompt& p : prompts) handles.push_back(engine.submit({p.ids, params, {}, {}}));
  for (size_t i = 0; i < handles.size(); ++i) {
    const RequestResult r = handles[i].wait();
    if (!r.error.empty()) fail("{}: {}", prompts[i].source, r.error);
    std::string line;
    if (args.ids) {
      std::vector<int32_t> ids = args.echo ? prompts[i].ids : std::vector<int32_t>{};
      ids.insert(ids.end(), r.ids.begin(), r.ids.end());
      line = join_ids(ids);
    } else {
      const std::string text = (args.echo ? prompts[i].text : "") + r.text;
      line = nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    write_stdout(line + "\n");
  }
}

// --json-object / --json-schema FILE as the grammar every prompt's output follows (none without them).
std::shared_ptr<const JsonGrammar> guided_grammar(const GenerateArgs& args) {
  if (args.json_object && args.json_schema) fail("give --json-object or --json-schema, not both");
  if (args.json_object) return json_object_grammar();
  if (!args.json_schema) return nullptr;
  const std::string& path = *args.json_schema;
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("--json-schema: cannot read {}", path);
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return compile_json_schema(text.str());
  } catch (const JsonSchemaError& e) {
    fail("--json-schema {}: {}", path, e.what());
  }
}

void run(const GenerateArgs& args) {
  const int sources = int(bool(args.prompt)) + int(bool(args.prompt_ids)) + int(bool(args.prompts_file));
  if (sources > 1) fail("give one of --prompt, --prompt-ids and --prompts-file");
  if (sources == 0) fail("give --prompt TEXT (or --prompt-ids \"1 2 3\", or --prompts-file FILE)");

  const std::shared_ptr<const JsonGrammar> guided = guided_grammar(args);
  LoadedModel m = open_model_folder(args.model);
  const EngineOptions engine_flags = with_workspace_tunables(args.engine, m);
  const std::vector<Prompt> prompts = read_prompts(args, *m.tokenizer);
  SamplingParams params = resolve_sampling(args.sampling, m.generation, m.config, *m.tokenizer);
  params.guided = guided;
  // Every request is checked before the (slow) weight upload, by the rule the engine applies.
  RequestLimits limits{m.config.vocab_size, resolve_session_len(engine_flags, m.config)};
  for (const Prompt& p : prompts) {
    try {
      validate_request(p.ids, params, limits);
    } catch (const Error& e) {
      fail("{}: {}", p.source, e.what());
    }
  }
  load_model_weights(m, resolve_backend(args.device, engine_flags));
  Engine engine(*m.model, *m.tokenizer, make_engine_options(engine_flags));
  if (args.prompts_file) return run_all(engine, prompts, params, args);
  stream_one(engine, *m.tokenizer, prompts[0], params, args);
}

}  // namespace

void register_generate(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand("generate", "Generate text from a prompt");
  cmd->add_option("MODEL", args->model, "model folder")->required();
  cmd->add_option("--prompt", args->prompt, "prompt text (BOS is added when the tokenizer says so)");
  cmd->add_option("--prompt-ids", args->prompt_ids, "prompt as token ids, e.g. \"1 512 278\" (used as given)");
  cmd->add_option("--prompts-file", args->prompts_file,
                  "one prompt per non-blank line, all run concurrently; one output line each, in order");
  cmd->add_flag("--ids", args->ids, "print the generated token ids instead of text");
  cmd->add_flag("--echo", args->echo, "print the prompt (text, or ids with --ids) before what is generated");
  cmd->add_flag("--json-object", args->json_object,
                "the output is one JSON object (guided decoding, as response_format json_object)");
  cmd->add_option("--json-schema", args->json_schema,
                  "a file holding a JSON Schema that the output follows (the subset of docs/server.md)");
  add_sampling_options(*cmd, args->sampling);
  add_device_options(*cmd, args->device);
  add_engine_options(*cmd, args->engine);
  cmd->callback([args] { run(*args); });
}

}  // namespace turbine::cli
