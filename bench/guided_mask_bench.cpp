// What guided decoding costs per step: the vocabulary trie's build time, the trie walk that finds
// a state's allowed tokens (the cost of a state seen for the first time), and mask() on a state
// already cached (the cost of every other step: one pass over the logits row).
// Usage: guided_mask_bench [shared_dir]   (kjv-llama's 32k SentencePiece, Qwen3's 151k byte-level BPE)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "guided/guided_decoder.h"
#include "guided/json_schema.h"
#include "text/tokenizer.h"

using namespace turbine;
using Clock = std::chrono::steady_clock;

static double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

static void bench(const std::filesystem::path& dir) {
  const auto tok = load_tokenizer(dir);
  auto t = Clock::now();
  const auto trie = std::make_shared<const TokenTrie>(*tok);
  std::printf("%s: vocabulary %d, trie of %zu nodes built in %.1f ms\n", dir.filename().c_str(), tok->vocab_size(),
              trie->nodes().size(), ms_since(t));
  const auto object = json_object_grammar();
  const auto schema = compile_json_schema(R"({"type": "object", "properties": {"name": {"type": "string"},
    "age": {"type": "integer"}, "tags": {"type": "array", "items": {"enum": ["a", "b"]}}}, "required": ["name", "age"]})");
  const auto bounded = compile_json_schema(R"({"type": "object", "properties": {
    "n": {"type": "integer", "minimum": -40, "maximum": 1000, "multipleOf": 3},
    "x": {"type": "number", "exclusiveMinimum": -1.5, "maximum": 250.75}}, "required": ["n", "x"]})");
  const auto strings = compile_json_schema(R"({"type": "object", "properties": {
    "code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$"}, "note": {"type": "string", "maxLength": 200},
    "line": {"type": "string", "pattern": "^[^\\n]*$"}}, "required": ["code", "note", "line"]})");
  const std::vector<std::pair<std::string, std::pair<std::shared_ptr<const JsonGrammar>, std::string>>> states = {
      {"json_object, start", {object, ""}},
      {"json_object, after '{'", {object, "{"}},
      {"json_object, inside a key", {object, "{\"ab"}},
      {"json_object, value start", {object, "{\"a\": "}},
      {"json_object, inside a string value", {object, "{\"a\": \"text"}},
      {"json_object, inside a number", {object, "{\"a\": 12"}},
      {"schema, key position", {schema, "{"}},
      {"schema, inside a string value", {schema, "{\"name\": \"An"}},
      {"schema, integer value", {schema, "{\"name\": \"Ann\", \"age\": 4"}},
      {"bounds, integer value", {bounded, "{\"n\": 4"}},
      {"bounds, number value", {bounded, "{\"n\": 42, \"x\": 12.3"}},
      {"strings, inside a pattern", {strings, "{\"code\": \"AB"}},
      {"strings, inside a maxLength string", {strings, "{\"code\": \"ABC-12\", \"note\": \"text"}},
      {"strings, inside a free pattern", {strings, "{\"code\": \"ABC-12\", \"note\": \"\", \"line\": \"text"}},
  };
  std::vector<float> logits(size_t(tok->vocab_size()), 0.5f);
  for (const auto& [label, plan] : states) {
    const auto& [grammar, prefix] = plan;
    constexpr int kRounds = 5;
    double walk = 0, cached = 0;
    size_t allowed = 0;
    for (int r = 0; r < kRounds; ++r) {
      GuidedDecoder d(grammar, trie, {*tok->eos_id});
      const JsonMatcher m(*grammar);
      // Reach the state through single-byte tokens.
      for (char c : prefix)
        for (int32_t id = 0; id < trie->vocab_size(); ++id)
          if (trie->bytes(id) == std::string(1, c)) {
            d.accept(id);
            break;
          }
      t = Clock::now();
      const std::vector<bool> ids = d.allowed_ids();  // the walk (nothing cached yet)
      walk += ms_since(t);
      allowed = size_t(std::count(ids.begin(), ids.end(), true));
      t = Clock::now();
      d.mask(logits);  // cached: one pass over the row
      cached += ms_since(t);
    }
    std::printf("  %-36s walk %7.2f ms   cached mask %6.3f ms   %6zu tokens allowed\n", label.c_str(), walk / kRounds,
                cached / kRounds, allowed);
  }
}

int main(int argc, char** argv) {
  const std::filesystem::path shared = argc > 1 ? argv[1] : "../shared";
  bench(shared / "models" / "kjv-llama");
  bench(shared / "tokenizers" / "qwen3");
  return 0;
}
