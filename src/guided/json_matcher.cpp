#include "guided/json_matcher.h"

#include <algorithm>
#include <span>
#include <string_view>

#include "guided/constrained_string.h"
#include "guided/json_number_frame.h"

namespace turbine {
namespace {

enum FrameKind : uint8_t { kHeader, kValue, kObject, kArray, kString, kNumber, kLiteral, kKey, kConstrainedString };
// Header: a = whitespace bytes in a row just taken, b = line-break bytes among them (1 = '\n',
// 2 = '\r'). Value: node = what comes. Object: a = first
// property still possible, b = the property being written. Array: a = items begun. String: phase,
// a = hex digits or UTF-8 continuation bytes left, b = the next continuation byte's range.
// Number: node (Integer or not), phase (kStart only before its first byte), and for a ranged node
// the value so far (json_number_frame.cpp). Literal: a = which literal, b = bytes matched.
// Key: a = property, b = bytes matched. ConstrainedString: node, and phase, spare (the automaton's
// state), a, b as constrained_string.cpp has them.
enum ObjectPhase : uint8_t { kAfterOpen, kExpectKey, kExpectColon, kAfterMember };
enum ArrayPhase : uint8_t { kArrayOpen, kAfterItem };
enum StringPhase : uint8_t { kChars, kEscape, kHex, kUtf8 };

bool is_whitespace(uint8_t c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
bool is_hex(uint8_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

MatcherFrame frame(uint8_t kind, int32_t node, uint8_t phase = 0, int32_t a = 0, int32_t b = 0) {
  MatcherFrame f;
  f.kind = kind;
  f.node = node;
  f.phase = phase;
  f.a = a;
  f.b = b;
  return f;
}

StringStep string_byte(MatcherFrame& f, uint8_t c) {
  switch (f.phase) {
    case kChars:
      if (c == '"') return StringStep::Close;
      if (c == '\\') {
        f.phase = kEscape;
        return StringStep::Take;
      }
      if (c < 0x20) return StringStep::Reject;  // control characters must be escaped
      if (c < 0x80) return StringStep::Take;
      // The lead byte of a UTF-8 sequence: how many continuation bytes follow and the range of the
      // first (no overlong forms, no surrogates, nothing past U+10FFFF).
      f.phase = kUtf8;
      if (c >= 0xC2 && c <= 0xDF)
        f.a = 1, f.b = 0x80BF;
      else if (c == 0xE0)
        f.a = 2, f.b = 0xA0BF;
      else if (c == 0xED)
        f.a = 2, f.b = 0x809F;
      else if (c >= 0xE1 && c <= 0xEF)
        f.a = 2, f.b = 0x80BF;
      else if (c == 0xF0)
        f.a = 3, f.b = 0x90BF;
      else if (c >= 0xF1 && c <= 0xF3)
        f.a = 3, f.b = 0x80BF;
      else if (c == 0xF4)
        f.a = 3, f.b = 0x808F;
      else
        return StringStep::Reject;
      return StringStep::Take;
    case kEscape:
      if (c == 'u') {
        f.phase = kHex;
        f.a = 4;
        return StringStep::Take;
      }
      if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') {
        f.phase = kChars;
        return StringStep::Take;
      }
      return StringStep::Reject;
    case kHex:
      if (!is_hex(c)) return StringStep::Reject;
      if (--f.a == 0) f.phase = kChars;
      return StringStep::Take;
    case kUtf8:
      if (c < (f.b >> 8) || c > (f.b & 0xFF)) return StringStep::Reject;
      f.b = 0x80BF;
      if (--f.a == 0) f.phase = kChars, f.b = 0;
      return StringStep::Take;
  }
  return StringStep::Reject;
}

bool required_left(const JsonNode& n, int32_t from) {
  for (size_t k = size_t(from); k < n.properties.size(); ++k)
    if (n.properties[k].required) return true;
  return false;
}

// [begin, end) of each stack in `frames`.
template <typename Visit>
void for_each_stack(std::span<const MatcherFrame> frames, Visit visit) {
  size_t begin = 0;
  while (begin < frames.size()) {
    size_t end = begin + 1;
    while (end < frames.size() && frames[end].kind != kHeader) ++end;
    visit(begin, end);
    begin = end;
  }
}

}  // namespace

MatcherState JsonMatcher::start() const {
  MatcherState s;
  s.frames = {frame(kHeader, 0), frame(kValue, grammar_.root())};
  return s;
}

bool JsonMatcher::advance(const MatcherState& from, uint8_t byte, MatcherState& to) const {
  std::vector<MatcherFrame>& out = to.frames;
  out.clear();
  size_t stacks = 0;
  for_each_stack(from.frames, [&](size_t begin, size_t end) {
    const size_t base = out.size();
    out.insert(out.end(), from.frames.begin() + std::ptrdiff_t(begin), from.frames.begin() + std::ptrdiff_t(end));
    // Whitespace between the JSON's tokens (not inside a string, key or literal) is counted.
    const uint8_t top = out.back().kind;
    const bool structural_ws =
        is_whitespace(byte) && (top == kValue || top == kObject || top == kArray || top == kNumber);
    if (structural_ws) {
      const int32_t breaks = out[base].b;
      const bool too_long = out[base].a >= kMaxWhitespaceRun;
      const bool second_break = (byte == '\n' && (breaks & 1)) || (byte == '\r' && breaks != 0);
      if (too_long || second_break) {
        out.resize(base);
        return;
      }
    }
    if (!feed(out, base, byte)) {
      out.resize(base);
      return;
    }
    for_each_stack(std::span(out).subspan(base), [&](size_t b, size_t) {
      MatcherFrame& header = out[base + b];
      header.a = structural_ws ? header.a + 1 : 0;
      header.b = !structural_ws ? 0 : byte == '\n' ? header.b | 1 : byte == '\r' ? header.b | 2 : header.b;
      ++stacks;
    });
  });
  if (stacks > 1) {
    // Alternatives that met again (an anyOf whose branches agree so far) are kept once.
    std::vector<std::pair<size_t, size_t>> kept;
    std::vector<MatcherFrame> unique;
    for_each_stack(out, [&](size_t begin, size_t end) {
      const std::span<const MatcherFrame> s(out.data() + begin, end - begin);
      for (const auto& [kb, ke] : kept)
        if (ke - kb == s.size() && std::equal(s.begin(), s.end(), unique.begin() + std::ptrdiff_t(kb))) return;
      kept.emplace_back(unique.size(), unique.size() + s.size());
      unique.insert(unique.end(), s.begin(), s.end());
    });
    out.swap(unique);
  }
  return !out.empty();
}

bool JsonMatcher::advance(MatcherState& state, std::string_view bytes) const {
  MatcherState next;
  for (char c : bytes) {
    if (!advance(state, uint8_t(c), next)) {
      state.frames.clear();
      return false;
    }
    std::swap(state, next);
  }
  return !state.dead();
}

bool JsonMatcher::can_end(const MatcherState& state) const {
  bool result = false;
  for_each_stack(state.frames, [&](size_t begin, size_t end) {
    const size_t depth = end - begin - 1;
    const MatcherFrame& top = state.frames[end - 1];
    if (depth == 0 || (depth == 1 && top.kind == kNumber && number_may_end(grammar_.node(top.node), top)))
      result = true;
  });
  return result;
}

bool JsonMatcher::without_distant_counts(const MatcherState& state, int64_t span, MatcherState& out) const {
  bool changed = false;
  for (size_t i = 0; i < state.frames.size(); ++i) {
    const MatcherFrame& f = state.frames[i];
    if (f.kind != kConstrainedString || f.a == 0) continue;
    const JsonNode& n = grammar_.node(f.node);
    if (int64_t(f.a) + span + grammar_.dfa(n.dfa).farthest() > int64_t(n.max_length)) continue;
    if (!changed) out = state, changed = true;
    out.frames[i].a = 0;
  }
  return changed;
}

bool JsonMatcher::can_continue(const MatcherState& state) const {
  bool result = false;
  for_each_stack(state.frames, [&](size_t begin, size_t end) {
    const size_t depth = end - begin - 1;
    const MatcherFrame& top = state.frames[end - 1];
    // A number at the top level grows only by its own bytes (nothing may follow the value).
    if (depth == 1 && top.kind == kNumber)
      result = result || number_may_grow(grammar_.node(top.node), top);
    else
      result = result || depth > 0;
  });
  return result;
}

template <typename Choose>
bool JsonMatcher::fork(std::vector<MatcherFrame>& out, size_t base, size_t choices, uint8_t byte, Choose choose) const {
  const std::vector<MatcherFrame> original(out.begin() + std::ptrdiff_t(base), out.end());
  out.resize(base);
  bool any = false;
  for (size_t i = 0; i < choices; ++i) {
    const size_t at = out.size();
    out.insert(out.end(), original.begin(), original.end());
    choose(out, i);
    if (feed(out, at, byte))
      any = true;
    else
      out.resize(at);
  }
  return any;
}

bool JsonMatcher::feed(std::vector<MatcherFrame>& out, size_t base, uint8_t byte) const {
  for (;;) {
    if (out.size() == base + 1) return false;  // the value is complete: nothing more may come
    MatcherFrame& f = out.back();
    switch (f.kind) {
      case kValue: return feed_value(out, base, byte);
      case kObject: return feed_object(out, base, byte);
      case kArray: return feed_array(out, base, byte);
      case kString:
        switch (string_byte(f, byte)) {
          case StringStep::Reject: return false;
          case StringStep::Take: return true;
          case StringStep::Close: out.pop_back(); return true;
        }
        return false;
      case kConstrainedString:
        switch (constrained_string_byte(grammar_, f, byte)) {
          case StringStep::Reject: return false;
          case StringStep::Take: return true;
          case StringStep::Close: out.pop_back(); return true;
        }
        return false;
      case kKey:
      case kLiteral: {
        const JsonNode& n = grammar_.node(f.node);
        const std::string& text = f.kind == kKey ? n.properties[size_t(f.a)].key : n.literals[size_t(f.a)];
        if (uint8_t(text[size_t(f.b)]) != byte) return false;
        if (size_t(++f.b) == text.size()) out.pop_back();
        return true;
      }
      case kNumber: {
        const JsonNode& n = grammar_.node(f.node);
        if (number_byte(n, f, byte)) return true;
        if (!number_may_end(n, f)) return false;
        out.pop_back();  // the number ended just before this byte, which belongs to what follows
        continue;
      }
      default: return false;
    }
  }
}

bool JsonMatcher::feed_value(std::vector<MatcherFrame>& out, size_t base, uint8_t byte) const {
  if (is_whitespace(byte)) return true;
  MatcherFrame& f = out.back();
  const JsonNode& n = grammar_.node(f.node);
  const bool may_nest = out.size() - base - 1 < size_t(kMaxNesting);
  switch (n.kind) {
    case JsonNodeKind::Any: {
      int32_t kind_node = -1;
      if (byte == '{')
        kind_node = JsonGrammar::kAnyObject;
      else if (byte == '[')
        kind_node = JsonGrammar::kAnyArray;
      else if (byte == '"')
        kind_node = JsonGrammar::kString;
      else if (byte == '-' || is_digit(byte))
        kind_node = JsonGrammar::kNumber;
      else if (byte == 't')
        kind_node = JsonGrammar::kTrue;
      else if (byte == 'f')
        kind_node = JsonGrammar::kFalse;
      else if (byte == 'n')
        kind_node = JsonGrammar::kNull;
      if (kind_node < 0) return false;
      f.node = kind_node;
      return feed_value(out, base, byte);
    }
    case JsonNodeKind::AnyOf:
      return fork(out, base, n.alternatives.size(), byte,
                  [&](std::vector<MatcherFrame>& o, size_t i) { o.back().node = n.alternatives[i]; });
    case JsonNodeKind::String:
      if (byte != '"') return false;
      f = frame(kString, f.node, kChars);
      return true;
    case JsonNodeKind::ConstrainedString:
      if (byte != '"') return false;
      f = frame(kConstrainedString, f.node);
      return open_constrained_string(grammar_, f);
    case JsonNodeKind::Number:
    case JsonNodeKind::Integer: {
      MatcherFrame number = frame(kNumber, f.node, kStart);
      if (!number_byte(n, number, byte)) return false;
      f = number;
      return true;
    }
    case JsonNodeKind::Literals: {
      std::vector<int32_t> matching;
      for (size_t i = 0; i < n.literals.size(); ++i)
        if (uint8_t(n.literals[i][0]) == byte) matching.push_back(int32_t(i));
      if (matching.empty()) return false;
      const int32_t node = f.node;
      return fork(out, base, matching.size(), byte,
                  [&](std::vector<MatcherFrame>& o, size_t i) { o.back() = frame(kLiteral, node, 0, matching[i]); });
    }
    case JsonNodeKind::Object:
      if (byte != '{' || !may_nest) return false;
      f = frame(kObject, f.node, kAfterOpen);
      return true;
    case JsonNodeKind::Array:
      if (byte != '[' || !may_nest) return false;
      f = frame(kArray, f.node, kArrayOpen);
      return true;
  }
  return false;
}

bool JsonMatcher::feed_object(std::vector<MatcherFrame>& out, size_t base, uint8_t byte) const {
  if (is_whitespace(byte)) return true;
  MatcherFrame& f = out.back();
  const int32_t node = f.node;
  const JsonNode& n = grammar_.node(node);
  const bool free_keys = n.properties.empty() && n.extra_values >= 0;
  auto close = [&] {
    if (!free_keys && required_left(n, f.a)) return false;
    out.pop_back();
    return true;
  };
  auto key = [&] {
    if (free_keys) {
      f.phase = kExpectColon;
      out.push_back(frame(kString, JsonGrammar::kString, kChars));
      return true;
    }
    // The next key is any property from f.a up to the first required one (which cannot be skipped).
    const int32_t first = f.a;
    int32_t last = first;
    while (size_t(last) < n.properties.size() && !n.properties[size_t(last)].required) ++last;
    last = std::min<int32_t>(last, int32_t(n.properties.size()) - 1);
    if (first > last) return false;
    return fork(out, base, size_t(last - first + 1), byte, [&](std::vector<MatcherFrame>& o, size_t i) {
      const int32_t property = first + int32_t(i);
      o.back().phase = kExpectColon;
      o.back().a = property + 1;
      o.back().b = property;
      o.push_back(frame(kKey, node, 0, property));
    });
  };
  switch (f.phase) {
    case kAfterOpen:
      if (byte == '}') return close();
      return byte == '"' && key();
    case kExpectKey: return byte == '"' && key();
    case kExpectColon: {
      if (byte != ':') return false;
      f.phase = kAfterMember;
      const int32_t value = free_keys ? n.extra_values : n.properties[size_t(f.b)].value;
      out.push_back(frame(kValue, value));
      return true;
    }
    case kAfterMember:
      if (byte == '}') return close();
      if (byte != ',' || (!free_keys && size_t(f.a) >= n.properties.size())) return false;
      f.phase = kExpectKey;
      return true;
  }
  return false;
}

bool JsonMatcher::feed_array(std::vector<MatcherFrame>& out, size_t base, uint8_t byte) const {
  if (is_whitespace(byte)) return true;
  MatcherFrame& f = out.back();
  const JsonNode& n = grammar_.node(f.node);
  // The node of the item at `index` (-1: no item may stand there).
  auto item = [&](int32_t index) {
    if (index >= n.max_items) return -1;
    return size_t(index) < n.prefix_items.size() ? n.prefix_items[size_t(index)] : n.items;
  };
  if (f.phase == kArrayOpen) {
    if (byte == ']') {
      if (n.min_items > 0) return false;
      out.pop_back();
      return true;
    }
    const int32_t first = item(0);
    if (first < 0) return false;
    f.phase = kAfterItem;
    f.a = 1;
    out.push_back(frame(kValue, first));
    return feed(out, base, byte);
  }
  if (byte == ']') {
    if (f.a < n.min_items) return false;
    out.pop_back();
    return true;
  }
  const int32_t next = item(f.a);
  if (byte != ',' || next < 0) return false;
  ++f.a;
  out.push_back(frame(kValue, next));
  return true;
}

}  // namespace turbine
