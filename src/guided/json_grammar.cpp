#include "guided/json_grammar.h"

namespace turbine {

JsonGrammar::JsonGrammar() {
  auto literal = [](std::vector<std::string> texts) {
    JsonNode n;
    n.kind = JsonNodeKind::Literals;
    n.literals = std::move(texts);
    return n;
  };
  JsonNode any;
  any.kind = JsonNodeKind::Any;
  JsonNode object;
  object.kind = JsonNodeKind::Object;
  object.extra_values = kAny;
  JsonNode array;
  array.kind = JsonNodeKind::Array;
  array.items = kAny;
  JsonNode string, number, integer;
  string.kind = JsonNodeKind::String;
  number.kind = JsonNodeKind::Number;
  integer.kind = JsonNodeKind::Integer;
  nodes_ = {any,
            object,
            array,
            string,
            number,
            integer,
            literal({"true"}),
            literal({"false"}),
            literal({"null"}),
            literal({"true", "false"})};
}

int32_t JsonGrammar::add(JsonNode node) {
  nodes_.push_back(std::move(node));
  return int32_t(nodes_.size() - 1);
}

std::shared_ptr<const JsonGrammar> json_object_grammar() {
  auto grammar = std::make_shared<JsonGrammar>();
  grammar->set_root(JsonGrammar::kAnyObject);
  return grammar;
}

}  // namespace turbine
