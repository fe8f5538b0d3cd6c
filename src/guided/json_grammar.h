// The constraint a guided request's output follows: a graph of JSON value kinds compiled once per
// request (from response_format) and shared, immutable, by every sequence of the request. The
// JsonMatcher walks it byte by byte.
#pragma once
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "guided/regex_dfa.h"

namespace turbine {

enum class JsonNodeKind : uint8_t {
  Any,       // any JSON value (its objects and arrays are free-form)
  String,    // any string
  Number,    // any number (RFC 8259 grammar), or a bounded one (see JsonNode::ranged)
  Integer,   // a number without fraction or exponent, within bounds and a multiple where ranged
  Literals,  // one of a fixed set of JSON texts, byte for byte (true/false/null, enum, const)
  Object,    // '{' ... '}' (see JsonNode::properties / extra_values)
  Array,     // '[' ... ']' of `prefix_items` then `items`, min_items..max_items of them
  AnyOf,     // one of `alternatives` (anyOf, a type list, a $ref)
  // A string whose decoded text follows `dfa` and `max_length` (see JsonNode).
  ConstrainedString,
};

struct JsonProperty {
  std::string key;  // the key as written in the output: JSON-encoded, quotes included
  int32_t value = -1;
  bool required = false;
  bool operator==(const JsonProperty&) const = default;
};

// A bounded Number is written without an exponent and with at most this many digits in all
// (integer and fraction digits together, leading zeros included), so that it is exact: a decimal
// of at most 15 significant digits is also a distinct double (DBL_DIG), on either side of a bound.
constexpr int kRangedNumberDigits = 15;
// The unit a bounded Number's bounds are counted in: 10^-(kRangedNumberDigits - 1), the finest step
// such a number has ("0.00000000000001").
constexpr int kRangedNumberScale = kRangedNumberDigits - 1;

struct JsonNode {
  using Int128 = __int128;
  // Beyond every bound a Number or Integer can have (10^36): "no bound" on that side.
  static constexpr Int128 kNoBound = Int128(1000000000000000000) * 1000000000000000000;

  JsonNodeKind kind = JsonNodeKind::Any;
  // Object: properties in the order they are generated; a required one cannot be skipped.
  std::vector<JsonProperty> properties;
  // Object without properties: any string keys with values of this node; -1 = no keys but those
  // of `properties` (an object with properties never takes other keys).
  int32_t extra_values = -1;
  // Array: the items at positions 0, 1, ... (prefixItems), then `items` for the rest (-1: no more).
  std::vector<int32_t> prefix_items;
  int32_t items = -1;
  int64_t min_items = 0, max_items = std::numeric_limits<int64_t>::max();
  // Integer and Number: `ranged` = the value lies in [low, high] (inclusive, -kNoBound/kNoBound for
  // none) and, for an Integer, is a multiple of `multiple_of`. An Integer's bounds count units of 1
  // (within +-(2^64 - 1)); a Number's count units of 10^-kRangedNumberScale, and a ranged Number is
  // written as kRangedNumberDigits says. Not ranged: any value of the kind, these fields unused.
  bool ranged = false;
  Int128 low = -kNoBound, high = kNoBound;
  int64_t multiple_of = 1;
  std::vector<std::string> literals;  // Literals, each non-empty
  std::vector<int32_t> alternatives;  // AnyOf
  // ConstrainedString: the decoded text (code points, after JSON unescaping) is a string that
  // JsonGrammar::dfa(dfa) accepts (a pattern, a format, minLength, or all of them intersected) of at
  // most max_length code points.
  static constexpr int32_t kUnboundedLength = std::numeric_limits<int32_t>::max();
  int32_t dfa = -1;
  int32_t max_length = kUnboundedLength;
  bool operator==(const JsonNode&) const = default;
};

class JsonGrammar {
 public:
  // The fixed nodes every grammar starts with.
  static constexpr int32_t kAny = 0, kAnyObject = 1, kAnyArray = 2, kString = 3, kNumber = 4, kInteger = 5, kTrue = 6,
                           kFalse = 7, kNull = 8, kBoolean = 9;
  static constexpr int32_t kFixedNodes = 10;

  JsonGrammar();
  const JsonNode& node(int32_t index) const { return nodes_[size_t(index)]; }
  const RegexDfa& dfa(int32_t index) const { return dfas_[size_t(index)]; }
  int32_t root() const { return root_; }
  size_t size() const { return nodes_.size(); }
  // Equal grammars accept the same texts through the same matcher states (guided_mask_cache.h).
  bool operator==(const JsonGrammar&) const = default;

  // Building (the schema compiler); a grammar is not changed once shared.
  int32_t add(JsonNode node);
  JsonNode& mutable_node(int32_t index) { return nodes_[size_t(index)]; }
  // The index of `dfa` among the grammar's automata (an equal one already there is shared).
  int32_t add_dfa(RegexDfa dfa);
  void set_root(int32_t root) { root_ = root; }
  // Copies `other`'s own nodes (those after the fixed ones, which every grammar shares) and its
  // automata into this grammar, their links moved with them, and returns the index `other`'s root
  // now has here. Lets separately compiled schemas (each with its $refs resolved against its own
  // root) become parts of one grammar.
  int32_t embed(const JsonGrammar& other);

 private:
  std::vector<JsonNode> nodes_;
  std::vector<RegexDfa> dfas_;
  int32_t root_ = kAny;
};

// response_format {"type": "json_object"}: one JSON object, any keys and values.
std::shared_ptr<const JsonGrammar> json_object_grammar();

}  // namespace turbine
