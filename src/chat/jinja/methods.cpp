#include "chat/jinja/methods.h"

#include <algorithm>

#include "core/error.h"
#include "chat/jinja/builtins.h"
#include "chat/jinja/render_limits.h"
#include "core/unicode.h"
#include "core/utf8.h"

namespace turbine::jinja {
namespace {

const Value& arg(const ValueList& args, const KeywordArgs& kwargs, size_t i, const char* name) {
  static const Value kMissing;
  if (i < args.size()) return args[i];
  if (const Value* v = kwargs.find(name)) return *v;
  return kMissing;
}

const std::string& string_arg(const Value& v, const char* method) {
  if (!v.is_string()) fail("{}() argument must be str, not {}", method, v.type_name());
  return v.as_string();
}

int64_t int_arg(const Value& v, int64_t dflt) {
  if (v.is_undefined() || v.is_none()) return dflt;
  if (!v.is_int() && !v.is_bool()) fail("an integer is required, not '{}'", v.type_name());
  return v.as_int();
}

size_t codepoints_before(const std::string& s, size_t byte_pos) {
  size_t n = 0;
  for (size_t i = 0; i < byte_pos && i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++n;
  return n;
}

bool affix_match(const std::string& s, const Value& affix, bool prefix, const char* method) {
  auto one = [&](const Value& a) {
    const std::string& p = string_arg(a, method);
    if (p.size() > s.size()) return false;
    return prefix ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0;
  };
  if (affix.is_list()) {
    for (const auto& a : affix.as_list())
      if (one(a)) return true;
    return false;
  }
  return one(affix);
}

std::string replace_all(const std::string& s, const std::string& old, const std::string& repl, int64_t count) {
  if (count < 0) count = INT64_MAX;
  std::string out;
  if (old.empty()) {
    std::u32string u = utf8_decode(s);
    int64_t done = 0;
    for (char32_t c : u) {
      if (done < count) {
        out += repl;
        check_value_bytes(out.size(), "str.replace");
        ++done;
      }
      append_utf8(out, c);
    }
    if (done < count) out += repl;
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (done < count) {
    size_t hit = s.find(old, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out += repl;
    check_value_bytes(out.size(), "str.replace");
    pos = hit + old.size();
    ++done;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

// str.format with {} / {0} / {name} fields; format specs are not supported.
std::string python_format(const std::string& fmt_str, const ValueList& args, const KeywordArgs& kwargs) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt_str.size(); ++i) {
    char c = fmt_str[i];
    if (c == '{' && i + 1 < fmt_str.size() && fmt_str[i + 1] == '{') {
      out.push_back('{');
      ++i;
    } else if (c == '}' && i + 1 < fmt_str.size() && fmt_str[i + 1] == '}') {
      out.push_back('}');
      ++i;
    } else if (c == '{') {
      size_t end = fmt_str.find('}', i);
      if (end == std::string::npos) fail("{}", "Single '{' encountered in format string");
      std::string field = fmt_str.substr(i + 1, end - i - 1);
      if (field.find_first_of(":!") != std::string::npos) fail("format specs are not supported in str.format");
      const Value* v = nullptr;
      if (field.empty()) {
        if (auto_index >= args.size()) fail("Replacement index {} out of range for positional args tuple", auto_index);
        v = &args[auto_index++];
      } else if (std::all_of(field.begin(), field.end(), ::isdigit)) {
        size_t idx = std::stoul(field);
        if (idx >= args.size()) fail("Replacement index {} out of range for positional args tuple", idx);
        v = &args[idx];
      } else {
        v = kwargs.find(field);
        if (!v) fail("'{}'", field);
      }
      out += v->str();
      check_value_bytes(out.size(), "str.format");
      i = end;
    } else if (c == '}') {
      fail("{}", "Single '}' encountered in format string");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Value string_method(const std::string& s, const std::string& name, const ValueList& args, const KeywordArgs& kw) {
  auto a0 = [&](const char* n) -> const Value& { return arg(args, kw, 0, n); };
  auto a1 = [&](const char* n) -> const Value& { return arg(args, kw, 1, n); };
  if (name == "strip") return Value(python_strip(s, a0("chars"), true, true));
  if (name == "lstrip") return Value(python_strip(s, a0("chars"), true, false));
  if (name == "rstrip") return Value(python_strip(s, a0("chars"), false, true));
  if (name == "upper") return Value(upper_string(s));
  if (name == "lower") return Value(lower_string(s));
  if (name == "title") return Value(python_title(s));
  if (name == "capitalize") {
    std::u32string u = utf8_decode(s);
    for (size_t i = 0; i < u.size(); ++i) u[i] = i == 0 ? to_upper(u[i]) : to_lower(u[i]);
    return Value(utf8_encode(u));
  }
  if (name == "startswith" || name == "endswith") {
    const Value& affix = a0("prefix");
    if (affix.is_undefined()) fail("{}() takes at least 1 argument (0 given)", name);
    return Value(affix_match(s, affix, name == "startswith", name.c_str()));
  }
  if (name == "split") return Value::list(python_split(s, a0("sep"), int_arg(a1("maxsplit"), -1)));
  if (name == "rsplit") {
    // rsplit == split when maxsplit is unlimited; otherwise split the reversed problem.
    int64_t maxsplit = int_arg(a1("maxsplit"), -1);
    if (maxsplit < 0) return Value::list(python_split(s, a0("sep"), -1));
    ValueList all = python_split(s, a0("sep"), -1);
    if (static_cast<int64_t>(all.size()) <= maxsplit + 1) return Value::list(all);
    const Value& sep = a0("sep");
    size_t keep_from = all.size() - static_cast<size_t>(maxsplit);
    if (sep.is_string()) {
      std::string head;
      for (size_t i = 0; i < keep_from; ++i) head += (i ? sep.as_string() : "") + all[i].as_string();
      ValueList out{Value(head)};
      out.insert(out.end(), all.begin() + static_cast<long>(keep_from), all.end());
      return Value::list(out);
    }
    // whitespace: the head keeps its original inner spacing
    std::string trimmed = python_strip(s, Value::none(), false, true);
    size_t pos = trimmed.size();
    ValueList tail;
    for (int64_t k = 0; k < maxsplit; ++k) {
      size_t end = pos;
      size_t start = trimmed.find_last_of(" \t\n\r\f\v", end - 1);
      start = start == std::string::npos ? 0 : start + 1;
      tail.insert(tail.begin(), Value(trimmed.substr(start, end - start)));
      pos = trimmed.find_last_not_of(" \t\n\r\f\v", start == 0 ? 0 : start - 1);
      pos = pos == std::string::npos ? 0 : pos + 1;
    }
    ValueList out{Value(trimmed.substr(0, pos))};
    out.insert(out.end(), tail.begin(), tail.end());
    return Value::list(out);
  }
  if (name == "splitlines") {
    ValueList out;
    std::string line;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\n' || s[i] == '\r') {
        out.emplace_back(line);
        line.clear();
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      } else {
        line.push_back(s[i]);
      }
    }
    if (!line.empty()) out.emplace_back(line);
    return Value::list(out);
  }
  if (name == "replace") {
    return Value(replace_all(s, string_arg(a0("old"), "replace"), string_arg(a1("new"), "replace"),
                             int_arg(arg(args, kw, 2, "count"), -1)));
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
    const std::string& sub = string_arg(a0("sub"), name.c_str());
    size_t hit = (name == "find" || name == "index") ? s.find(sub) : s.rfind(sub);
    if (hit == std::string::npos) {
      if (name == "index" || name == "rindex") fail("substring not found");
      return Value(int64_t{-1});
    }
    return Value(static_cast<int64_t>(codepoints_before(s, hit)));
  }
  if (name == "count") {
    const std::string& sub = string_arg(a0("sub"), "count");
    if (sub.empty()) return Value(static_cast<int64_t>(utf8_decode(s).size() + 1));
    int64_t n = 0;
    for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
    return Value(n);
  }
  if (name == "join") {
    std::string out;
    bool first = true;
    for (const auto& item : iterate(a0("iterable"))) {
      if (!item.is_string()) fail("sequence item: expected str instance, {} found", item.type_name());
      if (!first) out += s;
      first = false;
      out += item.as_string();
      check_value_bytes(out.size(), "str.join");
    }
    return Value(out);
  }
  if (name == "format") return Value(python_format(s, args, kw));
  if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" || name == "isupper" ||
      name == "islower") {
    std::u32string u = utf8_decode(s);
    if (u.empty()) return Value(false);
    if (name == "isupper" || name == "islower") {
      bool any_cased = false;
      for (char32_t c : u) {
        if (is_cased_upper(c) || is_cased_lower(c)) any_cased = true;
        if (name == "isupper" ? is_cased_lower(c) : is_cased_upper(c)) return Value(false);
      }
      return Value(any_cased);
    }
    for (char32_t c : u) {
      bool ok = name == "isdigit"   ? is_digit(c)
                : name == "isalpha" ? is_alpha(c)
                : name == "isalnum" ? (is_alpha(c) || is_digit(c))
                                    : is_python_space(c);
      if (!ok) return Value(false);
    }
    return Value(true);
  }
  fail("'str' object has no attribute '{}'", name);
}

const char* const kStringMethods[] = {
    "strip", "lstrip", "rstrip",     "upper",   "lower",   "title",   "capitalize", "startswith", "endswith",
    "split", "rsplit", "splitlines", "replace", "find",    "rfind",   "index",      "rindex",     "count",
    "join",  "format", "isdigit",    "isalpha", "isalnum", "isspace", "isupper",    "islower"};
const char* const kMutatingMethods[] = {"append",  "extend", "insert",     "pop",     "remove", "clear",  "sort",
                                        "reverse", "update", "setdefault", "popitem", "add",    "discard"};

}  // namespace

Value bind_method(const Value& obj, const std::string& name) {
  for (const char* m : kMutatingMethods)
    if (name == m && (obj.is_list() || obj.is_dict()))
      return Value::undefined(fmt::format("access to attribute '{}' of '{}' object is unsafe.", name, obj.type_name()));
  if (obj.is_string()) {
    for (const char* m : kStringMethods)
      if (name == m) {
        return Value::function("str." + name, [obj, name](const ValueList& args, const KeywordArgs& kw) {
          return string_method(obj.as_string(), name, args, kw);
        });
      }
    return Value();
  }
  if (obj.is_dict()) {
    if (name == "items" || name == "keys" || name == "values") {
      return Value::function("dict." + name, [obj, name](const ValueList&, const KeywordArgs&) {
        ValueList out;
        for (const auto& [k, v] : obj.as_dict().items) {
          if (name == "items")
            out.push_back(Value::list({Value(k), v}, true));
          else if (name == "keys")
            out.emplace_back(k);
          else
            out.push_back(v);
        }
        return Value::list(std::move(out));
      });
    }
    if (name == "get") {
      return Value::function("dict.get", [obj](const ValueList& args, const KeywordArgs& kw) {
        if (args.empty()) fail("get expected at least 1 argument, got 0");
        const Value* v = args[0].is_string() ? obj.as_dict().find(args[0].as_string()) : nullptr;
        if (v) return *v;
        return args.size() > 1 ? args[1] : Value::none();
      });
    }
    return Value();
  }
  if (obj.is_list()) {
    if (name == "index" || name == "count") {
      return Value::function("list." + name, [obj, name](const ValueList& args, const KeywordArgs&) {
        if (args.empty()) fail("{} expected 1 argument, got 0", name);
        int64_t n = 0;
        const auto& items = obj.as_list();
        for (size_t i = 0; i < items.size(); ++i) {
          if (!values_equal(items[i], args[0])) continue;
          if (name == "index") return Value(static_cast<int64_t>(i));
          ++n;
        }
        if (name == "index") fail("{} is not in list", args[0].repr());
        return Value(n);
      });
    }
  }
  return Value();
}

}  // namespace turbine::jinja
