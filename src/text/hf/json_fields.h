// Field access for tokenizer.json with errors that name the file and the field path.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "core/error.h"

namespace turbine::hf {

using nlohmann::json;

// `where` is "<file>: <field path>", e.g. "/m/tokenizer.json: model.merges[3]".
inline const json& require_field(const json& object, const char* key, const std::string& where) {
  if (!object.is_object()) fail("{}: expected an object", where);
  auto it = object.find(key);
  if (it == object.end()) fail("{}.{}: missing", where, key);
  return *it;
}

inline std::string require_string(const json& object, const char* key, const std::string& where) {
  const json& value = require_field(object, key, where);
  if (!value.is_string()) fail("{}.{}: expected a string", where, key);
  return value.get<std::string>();
}

// A bool field that may be absent or null (then `fallback`).
inline bool optional_bool(const json& object, const char* key, bool fallback, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) fail("{}.{}: expected true or false", where, key);
  return it->get<bool>();
}

// A string field that may be absent or null (then "").
inline std::string optional_string(const json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return {};
  if (!it->is_string()) fail("{}.{}: expected a string", where, key);
  return it->get<std::string>();
}

}  // namespace turbine::hf
