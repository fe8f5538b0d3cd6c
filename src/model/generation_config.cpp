#include "model/generation_config.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"

namespace turbine {

GenerationConfig load_generation_config(const std::filesystem::path& model_dir) {
  GenerationConfig g;
  const auto path = model_dir / "generation_config.json";
  if (!std::filesystem::exists(path)) return g;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(path));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed JSON: {}", path.string(), e.what());
  }
  if (!j.is_object()) fail("{}: not a JSON object", path.string());
  auto present = [&](const char* key) { return j.contains(key) && !j[key].is_null(); };
  auto number = [&](const char* key) -> double {
    if (!j[key].is_number()) fail("{}: field '{}' must be a number, got {}", path.string(), key, j[key].dump());
    return j[key].get<double>();
  };
  if (present("eos_token_id")) {
    const auto& v = j["eos_token_id"];
    auto add = [&](const nlohmann::json& x) {
      if (!x.is_number_integer() || x.get<int64_t>() < 0)
        fail("{}: field 'eos_token_id' must hold token ids, got {}", path.string(), v.dump());
      g.eos_token_ids.push_back(int(x.get<int64_t>()));
    };
    if (v.is_array())
      for (const auto& x : v) add(x);
    else
      add(v);
  }
  if (present("do_sample")) {
    if (!j["do_sample"].is_boolean()) fail("{}: field 'do_sample' must be true or false", path.string());
    g.do_sample = j["do_sample"].get<bool>();
  }
  if (present("temperature")) g.temperature = number("temperature");
  if (present("top_k")) g.top_k = int(number("top_k"));
  if (present("top_p")) g.top_p = number("top_p");
  if (present("min_p")) g.min_p = number("min_p");
  if (present("repetition_penalty")) g.repetition_penalty = number("repetition_penalty");
  if (present("max_new_tokens")) g.max_new_tokens = int(number("max_new_tokens"));
  return g;
}

}  // namespace turbine
