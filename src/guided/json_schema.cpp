#include "guided/json_schema.h"

#include <algorithm>
#include <charconv>
#include <string_view>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "guided/json_matcher.h"
#include "guided/string_schema.h"

namespace turbine {
namespace {

// Ordered, so that properties keep the order the schema wrote them in.
using json = nlohmann::ordered_json;

constexpr int kMaxSchemaDepth = 64;
constexpr size_t kMaxNodes = 100000;

const std::set<std::string, std::less<>> kAnnotations = {"title",    "description", "default",  "examples", "$schema",
                                                         "$comment", "deprecated",  "readOnly", "writeOnly"};
// clang-format off
const std::set<std::string, std::less<>> kKeywords = {
    "type", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "$defs", "definitions", "nullable",  // any value
    "properties", "required", "additionalProperties",                                              // objects
    "items", "prefixItems", "additionalItems", "minItems", "maxItems"};                            // arrays
// clang-format on
// The numbers' keywords, which constrain only the number branch of a type list (and the string
// keywords: StringSchemaCompiler).
const char* const kNumberKeywords[] = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"};

bool is_number_keyword(std::string_view key) {
  return std::ranges::any_of(kNumberKeywords, [&](const char* keyword) { return key == keyword; });
}
// The first of kNumberKeywords (in their order) that `schema` holds, or null.
const char* number_keyword_in(const json& schema) {
  for (const char* keyword : kNumberKeywords)
    if (schema.contains(keyword)) return keyword;
  return nullptr;
}

using Int128 = JsonNode::Int128;
constexpr Int128 kNoBound = JsonNode::kNoBound;

// A JSON number exactly: (negative ? -1 : 1) * digits * 10^exponent. A float is taken as the
// shortest decimal that reads back as the same double (what the schema's text meant, as far as a
// double can tell).
struct Decimal {
  bool negative = false;
  std::string digits;
  int exponent = 0;
};

Decimal to_decimal(const json& value) {
  Decimal d;
  if (value.is_number_unsigned()) {
    d.digits = std::to_string(value.get<uint64_t>());
  } else if (value.is_number_integer()) {
    const int64_t v = value.get<int64_t>();
    d.negative = v < 0;
    d.digits = std::to_string(v);
    if (d.negative) d.digits.erase(0, 1);
  } else {
    char text[64];
    const auto end = std::to_chars(text, text + sizeof text, value.get<double>(), std::chars_format::scientific).ptr;
    const std::string_view t(text, size_t(end - text));  // "-1.2345e-07"
    const size_t e = t.find('e');
    for (const char c : t.substr(0, e)) {
      if (c == '-') d.negative = true;
      if (c >= '0' && c <= '9') d.digits += c;
    }
    const size_t point = t.find('.');
    const int fraction = point == std::string_view::npos ? 0 : int(e - point - 1);
    int exponent = 0;
    std::from_chars(t.data() + e + 1 + (t[e + 1] == '+'), t.data() + t.size(), exponent);
    d.exponent = exponent - fraction;
  }
  return d;
}

// |d| * 10^scale as its whole part (at most kNoBound) and whether a fraction is left over.
std::pair<Int128, bool> scaled_magnitude(const Decimal& d, int scale) {
  const int whole_digits = int(d.digits.size()) + d.exponent + scale;
  if (whole_digits > 37) return {kNoBound, false};
  Int128 whole = 0;
  bool fraction = false;
  for (int i = 0; i < int(d.digits.size()); ++i) {
    if (i < whole_digits)
      whole = whole * 10 + (d.digits[size_t(i)] - '0');
    else if (d.digits[size_t(i)] != '0')
      fraction = true;
  }
  for (int i = int(d.digits.size()); i < whole_digits; ++i) whole *= 10;
  return {std::min(whole, kNoBound), fraction};
}

// floor and ceil of d * 10^scale, within [-kNoBound, kNoBound].
Int128 scaled_floor(const Decimal& d, int scale) {
  const auto [whole, fraction] = scaled_magnitude(d, scale);
  return d.negative ? -std::min(whole + fraction, kNoBound) : whole;
}
Int128 scaled_ceil(const Decimal& d, int scale) {
  const auto [whole, fraction] = scaled_magnitude(d, scale);
  return d.negative ? -whole : std::min(whole + fraction, kNoBound);
}

class SchemaCompiler {
 public:
  SchemaCompiler(const json& root, JsonGrammar& grammar) : root_(root), grammar_(grammar), strings_(grammar) {}

  int32_t compile(const json& schema, const std::string& path) {
    if (++depth_ > kMaxSchemaDepth) fail_at(path, fmt::format("nested more than {} schemas deep", kMaxSchemaDepth));
    const int32_t node = compile_schema(schema, path);
    --depth_;
    return node;
  }

  // An anyOf/$ref cycle that returns to a node without a byte in between would never end.
  void check_cycles() const {
    for (const auto& [node, path] : alias_paths_) {
      std::set<int32_t> seen;
      std::vector<int32_t> todo = grammar_.node(node).alternatives;
      while (!todo.empty()) {
        const int32_t next = todo.back();
        todo.pop_back();
        if (next == node) fail_at(path, "refers back to itself before any value begins (a cycle of $ref/anyOf)");
        if (!seen.insert(next).second || grammar_.node(next).kind != JsonNodeKind::AnyOf) continue;
        const auto& alts = grammar_.node(next).alternatives;
        todo.insert(todo.end(), alts.begin(), alts.end());
      }
    }
  }

 private:
  [[noreturn]] static void fail_at(const std::string& path, const std::string& reason) {
    throw JsonSchemaError(path, reason);
  }

  int32_t add(JsonNode node) {
    if (grammar_.size() >= kMaxNodes) fail_at("", fmt::format("the schema is too large (over {} nodes)", kMaxNodes));
    return grammar_.add(std::move(node));
  }

  int32_t add_alias(std::vector<int32_t> alternatives, const std::string& path) {
    JsonNode n;
    n.kind = JsonNodeKind::AnyOf;
    n.alternatives = std::move(alternatives);
    const int32_t node = add(std::move(n));
    alias_paths_[node] = path;
    return node;
  }

  int32_t compile_schema(const json& schema, const std::string& path) {
    if (schema.is_boolean()) {
      if (schema.get<bool>()) return JsonGrammar::kAny;
      fail_at(path, "the schema false allows no value");
    }
    if (!schema.is_object()) fail_at(path, "expected a schema (a JSON object)");
    std::vector<std::string> constraining;
    for (const auto& [key, value] : schema.items()) {
      if (kAnnotations.contains(key)) continue;
      // The root's own $id names the document; $refs still resolve within it ("#...").
      if (key == "$id") {
        if (!path.empty()) fail_at(join_schema_path(path, key), "\"$id\" is supported only on the root schema");
        if (!value.is_string()) fail_at(join_schema_path(path, key), "expected a string");
        continue;
      }
      if (!kKeywords.contains(key) && !is_number_keyword(key) && !StringSchemaCompiler::is_string_keyword(key))
        fail_at(join_schema_path(path, key), fmt::format("unsupported keyword \"{}\"", key));
      if (key == "$defs" || key == "definitions") {
        if (!value.is_object()) fail_at(join_schema_path(path, key), "expected an object of schemas");
        continue;
      }
      constraining.push_back(key);
    }
    auto alone = [&](const char* keyword) {
      for (const std::string& key : constraining)
        if (key != keyword)
          fail_at(join_schema_path(path, keyword),
                  fmt::format("{} together with \"{}\" is not supported", keyword, key));
    };
    if (schema.contains("$ref")) {
      alone("$ref");
      return resolve_ref(schema["$ref"], join_schema_path(path, "$ref"));
    }
    if (schema.contains("allOf")) {
      // One subschema is that schema (generators wrap a $ref in allOf to give it a description);
      // several would have to be merged.
      alone("allOf");
      const json& list = schema["allOf"];
      const std::string where = join_schema_path(path, "allOf");
      if (!list.is_array() || list.empty()) fail_at(where, "expected a non-empty array of schemas");
      if (list.size() > 1) fail_at(where, "allOf with more than one schema is not supported");
      return compile(list[0], where + "[0]");
    }
    if (schema.contains("anyOf") || schema.contains("oneOf")) {
      const char* keyword = schema.contains("anyOf") ? "anyOf" : "oneOf";
      alone(keyword);
      const json& list = schema[keyword];
      const std::string where = join_schema_path(path, keyword);
      if (!list.is_array() || list.empty()) fail_at(where, "expected a non-empty array of schemas");
      std::vector<int32_t> alternatives;
      for (size_t i = 0; i < list.size(); ++i)
        alternatives.push_back(compile(list[i], fmt::format("{}[{}]", where, i)));
      return add_alias(std::move(alternatives), where);
    }
    if (schema.contains("const")) return add_literals(allowed_literals(schema, {schema["const"]}, path, "const"));
    if (schema.contains("enum")) {
      const json& list = schema["enum"];
      if (!list.is_array() || list.empty())
        fail_at(join_schema_path(path, "enum"), "expected a non-empty array of values");
      return add_literals(allowed_literals(schema, std::vector<json>(list.begin(), list.end()), path, "enum"));
    }
    // nullable (OpenAPI 3.0): the type also allows null.
    bool nullable = false;
    if (schema.contains("nullable")) {
      if (!schema["nullable"].is_boolean()) fail_at(join_schema_path(path, "nullable"), "expected a boolean");
      nullable = schema["nullable"].get<bool>();
    }
    auto or_null = [&](int32_t node) {
      return nullable ? add_alias({node, JsonGrammar::kNull}, join_schema_path(path, "nullable")) : node;
    };
    if (!schema.contains("type")) {
      // No type: what the other keywords describe, or any value.
      if (schema.contains("properties") || schema.contains("required") || schema.contains("additionalProperties"))
        return or_null(compile_type(schema, "object", path, path));
      if (schema.contains("items") || schema.contains("prefixItems") || schema.contains("additionalItems") ||
          schema.contains("minItems") || schema.contains("maxItems"))
        return or_null(compile_type(schema, "array", path, path));
      if (number_keyword_in(schema)) return or_null(compile_type(schema, "number", path, path));
      if (StringSchemaCompiler::has_string_keywords(schema)) return or_null(compile_type(schema, "string", path, path));
      return JsonGrammar::kAny;
    }
    const json& type = schema["type"];
    const std::string where = join_schema_path(path, "type");
    if (type.is_string()) {
      const int32_t node = compile_type(schema, type.get<std::string>(), path, where);
      return type.get<std::string>() == "null" ? node : or_null(node);
    }
    if (!type.is_array() || type.empty()) fail_at(where, "expected a type name or a non-empty array of them");
    std::vector<int32_t> alternatives;
    std::set<std::string> names;
    for (size_t i = 0; i < type.size(); ++i) {
      const std::string at = fmt::format("{}[{}]", where, i);
      if (!type[i].is_string()) fail_at(at, "expected a type name");
      if (!names.insert(type[i].get<std::string>()).second) fail_at(at, "repeats a type");
      alternatives.push_back(compile_type(schema, type[i].get<std::string>(), path, at));
    }
    if (nullable && !names.contains("null")) alternatives.push_back(JsonGrammar::kNull);
    if (alternatives.size() == 1) return alternatives[0];
    return add_alias(std::move(alternatives), where);
  }

  // The texts of `values` (const's one or enum's) that the schema's other keywords allow, as JSON Schema
  // applies them all: its type (and nullable), and the numeric and string keywords, each on its own
  // kind of value (without a type, on any value); the keywords of objects and arrays are not applied.
  // Each text runs through a grammar of those keywords alone, so it is held to what that grammar
  // writes (a bounded number, for one, without an exponent). An error at `keyword` where none is left.
  std::vector<std::string> allowed_literals(const json& schema, const std::vector<json>& values,
                                            const std::string& path, const char* keyword) {
    std::vector<std::string> texts;
    for (const json& value : values) texts.push_back(value.dump());
    json others = json::object();
    for (const auto& [key, value] : schema.items())
      if (key == "type" || is_number_keyword(key) || StringSchemaCompiler::is_string_keyword(key)) others[key] = value;
    if (others.empty()) return texts;
    if (schema.contains("nullable")) others["nullable"] = schema["nullable"];
    if (!others.contains("type"))
      others["type"] = json::array({"null", "boolean", "object", "array", "number", "string"});
    JsonGrammar single;
    SchemaCompiler check(root_, single);
    single.set_root(check.compile(others, path));
    const JsonMatcher matcher(single);
    std::vector<std::string> allowed;
    for (std::string& text : texts) {
      MatcherState state = matcher.start();
      if (matcher.advance(state, text) && matcher.can_end(state)) allowed.push_back(std::move(text));
    }
    if (allowed.empty())
      fail_at(join_schema_path(path, keyword),
              fmt::format("no value of {} satisfies the schema's other keywords", keyword));
    return allowed;
  }

  int32_t add_literals(std::vector<std::string> texts) {
    JsonNode n;
    n.kind = JsonNodeKind::Literals;
    n.literals = std::move(texts);
    return add(std::move(n));
  }

  // The other keywords are found beside the type in `schema` (at `path`); `type_path` names the type.
  int32_t compile_type(const json& schema, const std::string& type, const std::string& path,
                       const std::string& type_path) {
    if (type == "string") {
      std::optional<JsonNode> constrained = strings_.compile(schema, path);
      return constrained ? add(std::move(*constrained)) : JsonGrammar::kString;
    }
    if (type == "number") return compile_number(schema, false, path);
    if (type == "integer") return compile_number(schema, true, path);
    if (type == "boolean") return JsonGrammar::kBoolean;
    if (type == "null") return JsonGrammar::kNull;
    if (type == "object") return compile_object(schema, path);
    if (type == "array") return compile_array(schema, path);
    fail_at(
        type_path,
        fmt::format("unknown type \"{}\" (expected string, number, integer, boolean, null, object or array)", type));
  }

  int32_t compile_object(const json& schema, const std::string& path) {
    JsonNode n;
    n.kind = JsonNodeKind::Object;
    std::map<std::string, size_t> index;
    if (schema.contains("properties")) {
      const json& properties = schema["properties"];
      const std::string where = join_schema_path(path, "properties");
      if (!properties.is_object()) fail_at(where, "expected an object of schemas");
      for (const auto& [name, sub] : properties.items()) {
        JsonProperty p;
        p.key = json(name).dump();
        p.value = compile(sub, join_schema_path(where, name));
        index[name] = n.properties.size();
        n.properties.push_back(std::move(p));
      }
    }
    if (schema.contains("required")) {
      const json& required = schema["required"];
      const std::string where = join_schema_path(path, "required");
      if (!required.is_array()) fail_at(where, "expected an array of property names");
      for (size_t i = 0; i < required.size(); ++i) {
        const std::string at = fmt::format("{}[{}]", where, i);
        if (!required[i].is_string()) fail_at(at, "expected a property name");
        const auto it = index.find(required[i].get<std::string>());
        if (it == index.end())
          fail_at(at, fmt::format("\"{}\" is not one of the properties", required[i].get<std::string>()));
        n.properties[it->second].required = true;
      }
    }
    int32_t extra = JsonGrammar::kAny;
    if (schema.contains("additionalProperties")) {
      const json& additional = schema["additionalProperties"];
      const std::string where = join_schema_path(path, "additionalProperties");
      if (additional.is_boolean())
        extra = additional.get<bool>() ? JsonGrammar::kAny : -1;
      else if (additional.is_object())
        extra = compile(additional, where);
      else
        fail_at(where, "expected a boolean or a schema");
    }
    if (n.properties.empty()) n.extra_values = extra;
    return add(std::move(n));
  }

  // Integer or Number, with the bounds (and, for an Integer, multipleOf) beside the type.
  int32_t compile_number(const json& schema, bool integer, const std::string& path) {
    if (!number_keyword_in(schema)) return integer ? JsonGrammar::kInteger : JsonGrammar::kNumber;
    JsonNode n;
    n.kind = integer ? JsonNodeKind::Integer : JsonNodeKind::Number;
    n.ranged = true;
    // Bounds in the node's units; the keyword that set each (for errors).
    const int scale = integer ? 0 : kRangedNumberScale;
    std::string low_key, high_key;
    auto number_at = [&](const char* key) {
      if (!schema[key].is_number()) fail_at(join_schema_path(path, key), "expected a number");
      return to_decimal(schema[key]);
    };
    // Draft 4 writes exclusiveMinimum/exclusiveMaximum as a boolean beside minimum/maximum.
    auto draft4_exclusive = [&](const char* key, const char* bound) {
      if (!schema.contains(key) || !schema[key].is_boolean()) return false;
      if (schema[key].get<bool>() && !schema.contains(bound))
        fail_at(join_schema_path(path, key), fmt::format("{} true needs {} beside it", key, bound));
      return schema[key].get<bool>();
    };
    auto raise_low = [&](Int128 low, const char* key) {
      if (low > n.low || low_key.empty()) n.low = std::max(n.low, low), low_key = key;
    };
    auto lower_high = [&](Int128 high, const char* key) {
      if (high < n.high || high_key.empty()) n.high = std::min(n.high, high), high_key = key;
    };
    const bool exclusive_minimum = draft4_exclusive("exclusiveMinimum", "minimum");
    const bool exclusive_maximum = draft4_exclusive("exclusiveMaximum", "maximum");
    if (schema.contains("minimum")) {
      const Decimal d = number_at("minimum");
      raise_low(exclusive_minimum ? scaled_floor(d, scale) + 1 : scaled_ceil(d, scale), "minimum");
    }
    if (schema.contains("exclusiveMinimum") && !schema["exclusiveMinimum"].is_boolean())
      raise_low(scaled_floor(number_at("exclusiveMinimum"), scale) + 1, "exclusiveMinimum");
    if (schema.contains("maximum")) {
      const Decimal d = number_at("maximum");
      lower_high(exclusive_maximum ? scaled_ceil(d, scale) - 1 : scaled_floor(d, scale), "maximum");
    }
    if (schema.contains("exclusiveMaximum") && !schema["exclusiveMaximum"].is_boolean())
      lower_high(scaled_ceil(number_at("exclusiveMaximum"), scale) - 1, "exclusiveMaximum");
    // Past +-kNoBound (an excluded end of it) is still no bound.
    n.low = std::clamp(n.low, -kNoBound, kNoBound);
    n.high = std::clamp(n.high, -kNoBound, kNoBound);
    if (schema.contains("multipleOf")) {
      const std::string where = join_schema_path(path, "multipleOf");
      if (!integer) fail_at(where, "multipleOf is supported on integers only");
      const Decimal d = number_at("multipleOf");
      const Int128 m = scaled_floor(d, 0);
      if (d.negative || m < 1 || m != scaled_ceil(d, 0))
        fail_at(where, "expected a positive integer (on an integer, only a multiple of an integer is supported)");
      if (m > std::numeric_limits<int32_t>::max())
        fail_at(where, fmt::format("a multipleOf above {} is not supported", std::numeric_limits<int32_t>::max()));
      n.multiple_of = int64_t(m);
    }
    // Only draft 4's exclusive flags set to false: nothing is bounded.
    if (low_key.empty() && high_key.empty() && n.multiple_of == 1)
      return integer ? JsonGrammar::kInteger : JsonGrammar::kNumber;
    if (integer) {
      // The matcher holds an integer's magnitude in 64 bits; bounds beyond them could not be kept exactly.
      const Int128 limit = std::numeric_limits<uint64_t>::max();
      if (!low_key.empty() && (n.low > limit || n.low < -limit))
        fail_at(join_schema_path(path, low_key),
                fmt::format("integer bounds beyond +-{} are not supported", limit_text()));
      if (!high_key.empty() && (n.high > limit || n.high < -limit))
        fail_at(join_schema_path(path, high_key),
                fmt::format("integer bounds beyond +-{} are not supported", limit_text()));
    }
    const char* what = integer ? "integer" : "number";
    if (n.low > n.high)
      fail_at(join_schema_path(path, high_key),
              fmt::format("leaves no {} within the bounds{}", what, number_restriction(integer)));
    // Whether some number can be written at all (an integer multiple, a number of few enough digits).
    {
      JsonGrammar single;
      single.set_root(single.add(n));
      const JsonMatcher matcher(single);
      const MatcherState start = matcher.start();
      MatcherState next;
      bool some = false;
      for (const char c : std::string_view("-0123456789")) some = some || matcher.advance(start, uint8_t(c), next);
      if (!some) {
        if (integer) fail_at(join_schema_path(path, "multipleOf"), "no multiple of it lies within the bounds");
        fail_at(join_schema_path(path, low_key.empty() ? high_key : low_key),
                fmt::format("leaves no number within the bounds{}", number_restriction(false)));
      }
    }
    return add(std::move(n));
  }

  static std::string limit_text() { return std::to_string(std::numeric_limits<uint64_t>::max()); }
  static std::string number_restriction(bool integer) {
    return integer ? ""
                   : fmt::format(" (a bounded number is written without an exponent, with at most {} digits)",
                                 kRangedNumberDigits);
  }

  int32_t compile_array(const json& schema, const std::string& path) {
    JsonNode n;
    n.kind = JsonNodeKind::Array;
    n.items = JsonGrammar::kAny;
    // items (and before it prefixItems): a schema, true (any value) or false (no more items).
    auto rest = [&](const char* key) {
      const json& items = schema[key];
      if (items.is_boolean()) return items.get<bool>() ? JsonGrammar::kAny : -1;
      return compile(items, join_schema_path(path, key));
    };
    auto tuple = [&](const char* key) {
      const json& list = schema[key];
      if (!list.is_array() || list.empty())
        fail_at(join_schema_path(path, key), "expected a non-empty array of schemas");
      for (size_t i = 0; i < list.size(); ++i)
        n.prefix_items.push_back(compile(list[i], fmt::format("{}[{}]", join_schema_path(path, key), i)));
    };
    const bool items_tuple = schema.contains("items") && schema["items"].is_array();
    if (items_tuple) {
      // The tuple form before draft 2020-12: items is the array, additionalItems the rest.
      if (schema.contains("prefixItems"))
        fail_at(join_schema_path(path, "items"),
                "an array of schemas beside prefixItems (write the rest as one schema)");
      tuple("items");
      if (schema.contains("additionalItems")) n.items = rest("additionalItems");
    } else {
      if (schema.contains("additionalItems"))
        fail_at(join_schema_path(path, "additionalItems"),
                "additionalItems applies only beside items as an array (after prefixItems, write the rest as items)");
      if (schema.contains("prefixItems")) tuple("prefixItems");
      if (schema.contains("items")) n.items = rest("items");
    }
    auto count = [&](const char* key, int64_t fallback) {
      if (!schema.contains(key)) return fallback;
      const json& v = schema[key];
      if (!v.is_number_integer() || v.get<int64_t>() < 0)
        fail_at(join_schema_path(path, key), "expected a non-negative integer");
      return v.get<int64_t>();
    };
    n.min_items = count("minItems", 0);
    n.max_items = count("maxItems", std::numeric_limits<int64_t>::max());
    if (n.min_items > n.max_items) fail_at(join_schema_path(path, "maxItems"), "is less than minItems");
    if (n.items < 0) {
      const int64_t most = int64_t(n.prefix_items.size());
      n.max_items = std::min(n.max_items, most);
      if (n.min_items > most)
        fail_at(join_schema_path(path, "minItems"), fmt::format("is more than the {} items the array may hold", most));
    }
    return add(std::move(n));
  }

  int32_t resolve_ref(const json& ref, const std::string& path) {
    if (!ref.is_string()) fail_at(path, "expected a string");
    const std::string text = ref.get<std::string>();
    if (const auto it = refs_.find(text); it != refs_.end()) return it->second;
    if (text != "#" && !text.starts_with("#/"))
      fail_at(path, fmt::format("\"{}\" is not a reference inside this schema (\"#\" or \"#/...\")", text));
    const json* target = nullptr;
    std::string target_path;
    try {
      const json::json_pointer pointer(text.substr(1));
      if (root_.contains(pointer)) target = &root_.at(pointer);
      target_path = text.size() > 2 ? text.substr(2) : "";
      for (char& c : target_path)
        if (c == '/') c = '.';
    } catch (const json::exception&) {
    }
    if (!target) fail_at(path, fmt::format("\"{}\" does not resolve", text));
    // Reserved before the target is compiled, so that a recursive reference finds it.
    const int32_t node = add_alias({}, path);
    refs_[text] = node;
    const int32_t resolved = compile(*target, target_path);
    grammar_.mutable_node(node).alternatives = {resolved};
    return node;
  }

  const json& root_;
  JsonGrammar& grammar_;
  StringSchemaCompiler strings_;
  std::map<std::string, int32_t> refs_;
  std::map<int32_t, std::string> alias_paths_;
  int depth_ = 0;
};

}  // namespace

std::shared_ptr<const JsonGrammar> compile_json_schema(std::string_view schema_json) {
  json root;
  try {
    root = json::parse(schema_json);
  } catch (const json::exception& e) {
    throw JsonSchemaError("", fmt::format("not valid JSON ({})", e.what()));
  }
  auto grammar = std::make_shared<JsonGrammar>();
  SchemaCompiler compiler(root, *grammar);
  grammar->set_root(compiler.compile(root, ""));
  compiler.check_cycles();
  return grammar;
}

}  // namespace turbine
