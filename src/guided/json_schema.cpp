#include "guided/json_schema.h"

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "guided/string_schema.h"

namespace turbine {
namespace {

// Ordered, so that properties keep the order the schema wrote them in.
using json = nlohmann::ordered_json;

constexpr int kMaxSchemaDepth = 64;
constexpr size_t kMaxNodes = 100000;

const std::set<std::string, std::less<>> kAnnotations = {"title",    "description", "default",
                                                         "examples", "$schema",     "$comment"};
const std::set<std::string, std::less<>> kKeywords = {
    "type",  "properties", "required", "additionalProperties", "items",    "enum",    "const", "anyOf",
    "oneOf", "$ref",       "$defs",    "definitions",          "minItems", "maxItems"};

std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

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
      if (!kKeywords.contains(key) && !StringSchemaCompiler::is_string_keyword(key))
        fail_at(join(path, key), fmt::format("unsupported keyword \"{}\"", key));
      if (key == "$defs" || key == "definitions") {
        if (!value.is_object()) fail_at(join(path, key), "expected an object of schemas");
        continue;
      }
      constraining.push_back(key);
    }
    auto alone = [&](const char* keyword) {
      for (const std::string& key : constraining)
        if (key != keyword)
          fail_at(join(path, keyword), fmt::format("{} together with \"{}\" is not supported", keyword, key));
    };
    if (schema.contains("$ref")) {
      alone("$ref");
      return resolve_ref(schema["$ref"], join(path, "$ref"));
    }
    if (schema.contains("anyOf") || schema.contains("oneOf")) {
      const char* keyword = schema.contains("anyOf") ? "anyOf" : "oneOf";
      alone(keyword);
      const json& list = schema[keyword];
      const std::string where = join(path, keyword);
      if (!list.is_array() || list.empty()) fail_at(where, "expected a non-empty array of schemas");
      std::vector<int32_t> alternatives;
      for (size_t i = 0; i < list.size(); ++i)
        alternatives.push_back(compile(list[i], fmt::format("{}[{}]", where, i)));
      return add_alias(std::move(alternatives), where);
    }
    if (schema.contains("const")) return add_literals({schema["const"].dump()});
    if (schema.contains("enum")) {
      const json& list = schema["enum"];
      if (!list.is_array() || list.empty()) fail_at(join(path, "enum"), "expected a non-empty array of values");
      std::vector<std::string> texts;
      for (const json& value : list) texts.push_back(value.dump());
      return add_literals(std::move(texts));
    }
    if (!schema.contains("type")) {
      // No type: what the other keywords describe, or any value.
      if (schema.contains("properties") || schema.contains("required") || schema.contains("additionalProperties"))
        return compile_type(schema, "object", path, path);
      if (schema.contains("items") || schema.contains("minItems") || schema.contains("maxItems"))
        return compile_type(schema, "array", path, path);
      if (StringSchemaCompiler::has_string_keywords(schema)) return compile_type(schema, "string", path, path);
      return JsonGrammar::kAny;
    }
    const json& type = schema["type"];
    const std::string where = join(path, "type");
    if (type.is_string()) return compile_type(schema, type.get<std::string>(), path, where);
    if (!type.is_array() || type.empty()) fail_at(where, "expected a type name or a non-empty array of them");
    std::vector<int32_t> alternatives;
    std::set<std::string> names;
    for (size_t i = 0; i < type.size(); ++i) {
      const std::string at = fmt::format("{}[{}]", where, i);
      if (!type[i].is_string()) fail_at(at, "expected a type name");
      if (!names.insert(type[i].get<std::string>()).second) fail_at(at, "repeats a type");
      alternatives.push_back(compile_type(schema, type[i].get<std::string>(), path, at));
    }
    if (alternatives.size() == 1) return alternatives[0];
    return add_alias(std::move(alternatives), where);
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
    if (type == "number") return JsonGrammar::kNumber;
    if (type == "integer") return JsonGrammar::kInteger;
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
      const std::string where = join(path, "properties");
      if (!properties.is_object()) fail_at(where, "expected an object of schemas");
      for (const auto& [name, sub] : properties.items()) {
        JsonProperty p;
        p.key = json(name).dump();
        p.value = compile(sub, join(where, name));
        index[name] = n.properties.size();
        n.properties.push_back(std::move(p));
      }
    }
    if (schema.contains("required")) {
      const json& required = schema["required"];
      const std::string where = join(path, "required");
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
      const std::string where = join(path, "additionalProperties");
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

  int32_t compile_array(const json& schema, const std::string& path) {
    JsonNode n;
    n.kind = JsonNodeKind::Array;
    n.items = JsonGrammar::kAny;
    if (schema.contains("items")) {
      const json& items = schema["items"];
      if (items.is_array()) fail_at(join(path, "items"), "an array of schemas (tuple form) is not supported");
      n.items = compile(items, join(path, "items"));
    }
    auto count = [&](const char* key, int64_t fallback) {
      if (!schema.contains(key)) return fallback;
      const json& v = schema[key];
      if (!v.is_number_integer() || v.get<int64_t>() < 0) fail_at(join(path, key), "expected a non-negative integer");
      return v.get<int64_t>();
    };
    n.min_items = count("minItems", 0);
    n.max_items = count("maxItems", std::numeric_limits<int64_t>::max());
    if (n.min_items > n.max_items) fail_at(join(path, "maxItems"), "is less than minItems");
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
