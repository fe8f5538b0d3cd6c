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
  static_assert(kBoolean + 1 == kFixedNodes);
}

int32_t JsonGrammar::add(JsonNode node) {
  nodes_.push_back(std::move(node));
  return int32_t(nodes_.size() - 1);
}

int32_t JsonGrammar::add_dfa(RegexDfa dfa) {
  for (size_t i = 0; i < dfas_.size(); ++i)
    if (dfas_[i] == dfa) return int32_t(i);
  dfas_.push_back(std::move(dfa));
  return int32_t(dfas_.size() - 1);
}

int32_t JsonGrammar::embed(const JsonGrammar& other) {
  std::vector<int32_t> dfa_index;
  for (const RegexDfa& dfa : other.dfas_) dfa_index.push_back(add_dfa(dfa));
  const int32_t offset = int32_t(nodes_.size()) - kFixedNodes;
  // Fixed nodes and -1 ("none") stay; the other's own nodes move by the offset.
  auto moved = [offset](int32_t index) { return index < kFixedNodes ? index : index + offset; };
  nodes_.reserve(nodes_.size() + other.nodes_.size() - kFixedNodes);
  for (size_t i = kFixedNodes; i < other.nodes_.size(); ++i) {
    JsonNode n = other.nodes_[i];
    for (JsonProperty& p : n.properties) p.value = moved(p.value);
    n.extra_values = moved(n.extra_values);
    for (int32_t& item : n.prefix_items) item = moved(item);
    n.items = moved(n.items);
    for (int32_t& a : n.alternatives) a = moved(a);
    if (n.dfa >= 0) n.dfa = dfa_index[size_t(n.dfa)];
    nodes_.push_back(std::move(n));
  }
  return moved(other.root_);
}

std::shared_ptr<const JsonGrammar> json_object_grammar() {
  auto grammar = std::make_shared<JsonGrammar>();
  grammar->set_root(JsonGrammar::kAnyObject);
  return grammar;
}

}  // namespace turbine
