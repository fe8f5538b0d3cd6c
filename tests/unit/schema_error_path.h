// What compiling a JSON Schema reports, as "path | reason" (or "no error"): the form the schema
// tests compare their expected errors with.
#pragma once
#include <string>
#include <string_view>

#include "guided/json_schema.h"

namespace turbine::test {

inline std::string schema_error_path(std::string_view schema) {
  try {
    compile_json_schema(schema);
  } catch (const JsonSchemaError& e) {
    return e.path() + " | " + e.reason();
  }
  return "no error";
}

}  // namespace turbine::test
