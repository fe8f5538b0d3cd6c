#include "guided/string_schema.h"

#include <fmt/format.h>

#include "guided/json_schema.h"
#include "guided/regex_compile.h"
#include "guided/regex_syntax.h"
#include "guided/string_formats.h"

namespace turbine {
namespace {

using json = nlohmann::ordered_json;

// A length keyword's value; `fallback` when absent.
int64_t length_keyword(const json& schema, const char* key, const std::string& path, int64_t fallback) {
  if (!schema.contains(key)) return fallback;
  const json& v = schema[key];
  if (!v.is_number_integer() || v.get<int64_t>() < 0)
    throw JsonSchemaError(join_schema_path(path, key), "expected a non-negative integer");
  return v.get<int64_t>();
}

}  // namespace

bool StringSchemaCompiler::is_string_keyword(std::string_view key) {
  return key == "minLength" || key == "maxLength" || key == "pattern" || key == "format";
}

bool StringSchemaCompiler::has_string_keywords(const json& schema) {
  for (const auto& [key, value] : schema.items())
    if (is_string_keyword(key)) return true;
  return false;
}

const RegexDfa& StringSchemaCompiler::pattern_dfa(const std::string& pattern, const std::string& path) {
  if (const auto it = compiled_.find(pattern); it != compiled_.end()) return it->second;
  try {
    RegexDfa dfa = compile_regex(pattern);
    if (dfa.empty()) throw JsonSchemaError(path, "the pattern matches no string");
    return compiled_.emplace(pattern, std::move(dfa)).first->second;
  } catch (const RegexError& e) {
    throw JsonSchemaError(path, e.what());
  }
}

std::optional<JsonNode> StringSchemaCompiler::compile(const json& schema, const std::string& path) {
  const int64_t min_length = length_keyword(schema, "minLength", path, 0);
  const int64_t max_length = length_keyword(schema, "maxLength", path, JsonNode::kUnboundedLength);
  if (min_length > max_length) throw JsonSchemaError(join_schema_path(path, "maxLength"), "is less than minLength");
  // What the text must be, as words for the errors below.
  std::string what;
  std::optional<RegexDfa> dfa;
  if (schema.contains("pattern")) {
    const std::string where = join_schema_path(path, "pattern");
    if (!schema["pattern"].is_string()) throw JsonSchemaError(where, "expected a string (a regular expression)");
    dfa = pattern_dfa(schema["pattern"].get<std::string>(), where);
    what = "the pattern";
  }
  if (schema.contains("format")) {
    const std::string where = join_schema_path(path, "format");
    if (!schema["format"].is_string()) throw JsonSchemaError(where, "expected a string");
    const std::string format = schema["format"].get<std::string>();
    const std::string_view pattern = format_pattern(format);
    if (pattern.empty())
      throw JsonSchemaError(where, fmt::format("unknown format \"{}\" (supported: {})", format, supported_formats()));
    const RegexDfa& format_dfa = pattern_dfa(std::string(pattern), where);
    try {
      dfa = dfa ? intersect(*dfa, format_dfa) : format_dfa;
    } catch (const RegexError& e) {
      throw JsonSchemaError(where, fmt::format("the pattern and the format together: {}", e.what()));
    }
    if (dfa->empty()) throw JsonSchemaError(where, "no string matches both the pattern and the format");
    what = what.empty() ? "the format" : "the pattern and the format";
  }
  if (!dfa && min_length == 0 && max_length >= JsonNode::kUnboundedLength) return std::nullopt;

  // minLength goes into the automaton, maxLength stays a bound the matcher counts up to: both
  // exact, with the automaton's shortest() telling the matcher how far acceptance is.
  if (min_length > 0) {
    const std::string where = join_schema_path(path, "minLength");
    try {
      const RegexDfa long_enough = RegexDfa::at_least(int32_t(std::min<int64_t>(min_length, kMaxDfaStates)));
      dfa = dfa ? intersect(*dfa, long_enough) : long_enough;
    } catch (const RegexError& e) {
      throw JsonSchemaError(where, fmt::format("too large: {}", e.what()));
    }
    if (dfa->empty())
      throw JsonSchemaError(where, fmt::format("no string of at least {} characters matches {}", min_length, what));
  }
  if (!dfa) dfa = RegexDfa::at_least(0);
  JsonNode n;
  n.kind = JsonNodeKind::ConstrainedString;
  n.max_length = int32_t(std::min<int64_t>(max_length, JsonNode::kUnboundedLength));
  if (dfa->shortest(RegexDfa::kStart) > n.max_length)
    throw JsonSchemaError(join_schema_path(path, "maxLength"),
                          fmt::format("no string of at most {} characters matches {}", max_length, what));
  n.dfa = grammar_.add_dfa(std::move(*dfa));
  return n;
}

}  // namespace turbine
