// jinja2's built-in filters (the ones chat templates use), plus transformers' tojson.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "core/error.h"
#include "chat/jinja/builtins.h"
#include "chat/jinja/render_limits.h"
#include "core/unicode.h"
#include "core/utf8.h"

namespace turbine::jinja {
namespace {

// Argument i (after the filtered value) by position or keyword; `dflt` when absent.
Value param(const ValueList& args, const KeywordArgs& kw, size_t i, const char* name, Value dflt = Value()) {
  if (i < args.size()) return args[i];
  if (const Value* v = kw.find(name)) return *v;
  return dflt;
}

std::string lowered(const std::string& s) { return lower_string(s); }

// jinja2's ignore_case: strings compare lowercased unless case_sensitive.
Value sort_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value(lowered(v.as_string()));
  return v;
}

// jinja2's attribute getter: "a.b.0" walks items (then attributes).
Value get_path(const Value& obj, const Value& attribute) {
  if (attribute.is_int()) return get_item(obj, attribute);
  Value cur = obj;
  const std::string path = attribute.str();
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    cur = get_item(cur, numeric ? Value(static_cast<int64_t>(std::stoll(part))) : Value(part));
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> lines;
  std::string line;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' || s[i] == '\r') {
      lines.push_back(line);
      line.clear();
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      line.push_back(s[i]);
    }
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

std::string indent(const std::string& text, const Value& width, bool first, bool blank) {
  if (!width.is_string()) check_value_bytes(static_cast<size_t>(std::max<int64_t>(0, width.as_int())), "indent");
  std::string pad = width.is_string() ? width.as_string()
                                      : std::string(static_cast<size_t>(std::max<int64_t>(0, width.as_int())), ' ');
  std::vector<std::string> lines = split_lines(text + "\n");
  check_value_bytes(text.size() + pad.size() * lines.size(), "indent");
  std::string out;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) out += (i ? "\n" + pad : "") + lines[i];
  } else if (!lines.empty()) {
    out = lines[0];
    for (size_t i = 1; i < lines.size(); ++i) {
      out += '\n';
      if (!lines[i].empty()) out.append(pad).append(lines[i]);
    }
  }
  return first ? pad + out : out;
}

ValueList sorted_values(ValueList items, bool reverse, bool case_sensitive, const Value& attribute) {
  auto key = [&](const Value& v) {
    return sort_key(attribute.is_undefined() || attribute.is_none() ? v : get_path(v, attribute), case_sensitive);
  };
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    return reverse ? compare_values(key(b), key(a)) < 0 : compare_values(key(a), key(b)) < 0;
  });
  return items;
}

// select/reject/selectattr/rejectattr: `select_attr` picks an attribute first; no test = truthiness.
Value select_items(const Value& seq, const ValueList& args, bool select_attr, bool keep_matching) {
  size_t next = 0;
  Value attribute;
  if (select_attr) {
    if (args.empty()) fail("selectattr/rejectattr need an attribute name");
    attribute = args[next++];
  }
  std::string test;
  if (next < args.size()) test = args[next++].str();
  ValueList test_args(args.begin() + static_cast<long>(std::min(next, args.size())), args.end());
  ValueList out;
  for (const auto& item : iterate(seq)) {
    Value subject = select_attr ? get_path(item, attribute) : item;
    bool ok = test.empty() ? subject.truthy() : apply_test(test, subject, test_args);
    if (ok == keep_matching) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value map_items(const Value& seq, const ValueList& args, const KeywordArgs& kw) {
  ValueList out;
  if (const Value* attribute = kw.find("attribute")) {
    const Value* dflt = kw.find("default");
    for (const auto& item : iterate(seq)) {
      Value v = get_path(item, *attribute);
      out.push_back(v.is_undefined() && dflt ? *dflt : v);
    }
    return Value::list(std::move(out));
  }
  if (args.empty()) fail("map requires a filter name or attribute=");
  std::string filter = args[0].str();
  ValueList rest(args.begin() + 1, args.end());
  for (const auto& item : iterate(seq)) out.push_back(apply_filter(filter, item, rest, kw));
  return Value::list(std::move(out));
}

Value min_max(const Value& seq, const ValueList& args, const KeywordArgs& kw, bool want_max) {
  bool case_sensitive = param(args, kw, 0, "case_sensitive", Value(false)).truthy();
  Value attribute = param(args, kw, 1, "attribute");
  ValueList items = iterate(seq);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  const Value* best = &items[0];
  auto key = [&](const Value& v) {
    return sort_key(attribute.is_undefined() ? v : get_path(v, attribute), case_sensitive);
  };
  for (const auto& item : items) {
    int c = compare_values(key(item), key(*best));
    if (want_max ? c > 0 : c < 0) best = &item;
  }
  return *best;
}

using FilterFn = Value (*)(const Value&, const ValueList&, const KeywordArgs&);

struct FilterEntry {
  const char* name;
  FilterFn fn;
};

const FilterEntry kFilters[] = {
    {"abs",
     [](const Value& v, const ValueList&, const KeywordArgs&) {
       if (v.is_float()) return Value(std::fabs(v.as_float()));
       if (v.is_int() || v.is_bool()) return Value(static_cast<int64_t>(std::llabs(v.as_int())));
       fail("bad operand type for abs(): '{}'", v.type_name());
     }},
    {"attr", [](const Value& v, const ValueList& a,
                const KeywordArgs& k) { return get_attribute(v, param(a, k, 0, "name").str()); }},
    {"batch",
     [](const Value& v, const ValueList& a, const KeywordArgs& k) {
       Value count = param(a, k, 0, "linecount");
       if (!count.is_int() || count.as_int() <= 0) fail("batch: linecount must be a positive integer");
       Value fill = param(a, k, 1, "fill_with");
       size_t n = static_cast<size_t>(count.as_int());
       ValueList rows, row;
       for (const auto& item : iterate(v)) {
         row.push_back(item);
         if (row.size() == n) {
           rows.push_back(Value::list(std::move(row)));
           row.clear();
         }
       }
       if (!row.empty()) {
         if (!fill.is_undefined() && !fill.is_none()) {
           check_sequence_items(n, "batch");
           while (row.size() < n) row.push_back(fill);
         }
         rows.push_back(Value::list(std::move(row)));
       }
       return Value::list(std::move(rows));
     }},
    {"capitalize",
     [](const Value& v, const ValueList&, const KeywordArgs&) {
       std::u32string u = utf8_decode(v.str());
       for (size_t i = 0; i < u.size(); ++i) u[i] = i == 0 ? to_upper(u[i]) : to_lower(u[i]);
       return Value(utf8_encode(u));
     }},
    {"center",
     [](const Value& v, const ValueList& a, const KeywordArgs& k) {
       // Python's str.center: the odd extra space goes left when the width is odd.
       std::string text = v.str();
       int64_t width = param(a, k, 0, "width", Value(80)).as_int();
       int64_t len = static_cast<int64_t>(utf8_decode(text).size());
       if (width <= len) return Value(text);
       check_value_bytes(text.size() + static_cast<size_t>(width - len), "center");
       int64_t margin = width - len;
       int64_t left = margin / 2 + (margin & width & 1);
       return Value(std::string(static_cast<size_t>(left), ' ') + text +
                    std::string(static_cast<size_t>(margin - left), ' '));
     }},
    {"count", [](const Value& v, const ValueList&, const KeywordArgs&) { return Value(length_of(v)); }},
    {"default",
     [](const Value& v, const ValueList& a, const KeywordArgs& k) {
       bool boolean = param(a, k, 1, "boolean", Value(false)).truthy();
       if (v.is_undefined() || (boolean && !v.truthy())) return param(a, k, 0, "default_value", Value(""));
       return v;
     }},
    {"dictsort",
     [](const Value& v, const ValueList& a, const KeywordArgs& k) {
       if (!v.is_dict()) fail("You can only sort by either \"key\" or \"value\"");
       bool case_sensitive = param(a, k, 0, "case_sensitive", Value(false)).truthy();
       std::string by = param(a, k, 1, "by", Value("key")).str();
       bool reverse = param(a, k, 2, "reverse", Value(false)).truthy();
       if (by != "key" && by != "value") fail("You can only sort by either \"key\" or \"value\"");
       ValueList pairs;
       for (const auto& [key, val] : v.as_dict().items) pairs.push_back(Value::list({Value(key), val}, true));
       return Value::list(sorted_values(pairs, reverse, case_sensitive, Value(by == "key" ? int64_t{0} : int64_t{1})));
     }},
    {"escape", [](const Value& v, const ValueList&, const KeywordArgs&) { return Value(html_escape(v.str())); }},
    {"first",
     [](const Value& v, const ValueList&, const KeywordArgs&) {
       ValueList items = iterate(v);
       return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
     }},
    {"float", [](const Value& v, const ValueList& a,
                 const KeywordArgs& k) { return to_float(v, param(a, k, 0, "default", Value(0.0))); }},
    {"format",
     [](const Value& v, const ValueList& a, const KeywordArgs& k) {
       if (!a.empty() && !k.items.empty()) fail("can't handle positional and keyword arguments at the same time");
       if (!k.items.empty()) {
         ValueDict d;
         for (const auto& [name, val] : k.items) d.set(name, val);
         return Value(printf_format(v.str(), Value::dict(std::move(d))));
       }
       return Value(printf_format(v.str(), Value::list(a, true)));
     }},
    {"indent",
     [](const Value& v, const ValueList& a, const KeywordArgs& k) {
       return Value(indent(v.str(), param(a, k, 0, "width", Value(4)), param(a, k, 1, "first", Value(false)).truthy(),
                           param(a, k, 2, "blank", Value(false)).truthy()));
     }},
    {"int", [](const Value& v, const ValueList& a,
               const KeywordArgs& k) { return to_int(v, param(a, k, 0, "default", Value(0))); }},
    {"items",
     [](const Value& v, const ValueList&, const KeywordArgs&) {
       if (v.is_undefined()) return Value::list({});
       if (!v.is_dict()) fail("Can only get item pairs from a mapping.");
       ValueList pairs;
       for (const auto& [key, val] : v.as_dict().items) pairs.push_back(Value::list({Value(key), val}, true));
       return Value::list(std::move(pairs));
     }},
    {"join",
     [](const Value& v, const ValueList& a, const KeywordArgs& k) {
       std::string sep = param(a, k, 0, "d", Value("")).str();
       Value attribute = param(a, k, 1, "attribute");
       std::string out;
       bool first = true;
       for (const auto& item : iterate(v)) {
         if (!first) out += sep;
         first = false;
         out += (attribute.is_undefined() || attribute.is_none() ? item : get_path(item, attribute)).str();
         check_value_bytes(out.size(), "join");
       }
       return Value(out);
     }},
    {"last",
     [](const Value& v, const ValueList&, const KeywordArgs&) {
       ValueList items = iterate(v);
       return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
     }},
    {"length", [](const Value& v, const ValueList&, const KeywordArgs&) { return Value(length_of(v)); }},
    {"list", [](const Value& v, const ValueList&, const KeywordArgs&) { return Value::list(iterate(v)); }},
    {"lower", [](const Value& v, const ValueList&, const KeywordArgs&) { return Value(lowered(v.str())); }},
    {"map", [](const Value& v, const ValueList& a, const KeywordArgs& k) { return map_items(v, a, k); }},
    {"max", [](const Value& v, const ValueList& a, const KeywordArgs& k) { return min_max(v, a, k, true); }},
    {"min", [](const Value& v, const ValueList& a, const KeywordArgs& k) { return min_max(v, a, k, false); }},
    {"reject", [](const Value& v, const ValueList& a, const KeywordArgs&) { return select_items(v, a, false, false); }},
    {"rejectattr",
     [](const Value& v, const ValueList& a, const KeywordArgs&) { return select_items(v, a, true, false); }},
    {"replace",
     [](const Value& v, const ValueList& a, const KeywordArgs& k) {
       Value count = param(a, k, 2, "count");
       ValueList args{param(a, k, 0, "old"), param(a, k, 1, "new")};
       if (!count.is_undefined() && !count.is_none()) args.push_back(count);
       return get_attribute(Value(v.str()), "replace").call(args, {});
     }},
    {"reverse",
     [](const Value& v, const ValueList&, const KeywordArgs&) {
       if (v.is_string()) {
         std::u32string u = utf8_decode(v.as_string());
         std::reverse(u.begin(), u.end());
         return Value(utf8_encode(u));
       }
       ValueList items = iterate(v);
       std::reverse(items.begin(), items.end());
       return Value::list(std::move(items));
     }},
    {"round",
     [](const Value& v, const ValueList& a, const KeywordArgs& k) {
       return round_value(v, param(a, k, 0, "precision", Value(0)).as_int(),
                          param(a, k, 1, "method", Value("common")).str());
     }},
    {"safe", [](const Value& v, const ValueList&, const KeywordArgs&) { return v.is_string() ? v : Value(v.str()); }},
    {"select", [](const Value& v, const ValueList& a, const KeywordArgs&) { return select_items(v, a, false, true); }},
    {"selectattr",
     [](const Value& v, const ValueList& a, const KeywordArgs&) { return select_items(v, a, true, true); }},
    {"sort",
     [](const Value& v, const ValueList& a, const KeywordArgs& k) {
       return Value::list(sorted_values(iterate(v), param(a, k, 0, "reverse", Value(false)).truthy(),
                                        param(a, k, 1, "case_sensitive", Value(false)).truthy(),
                                        param(a, k, 2, "attribute")));
     }},
    {"string", [](const Value& v, const ValueList&, const KeywordArgs&) { return Value(v.str()); }},
    {"sum",
     [](const Value& v, const ValueList& a, const KeywordArgs& k) {
       Value attribute = param(a, k, 0, "attribute");
       Value total = param(a, k, 1, "start", Value(0));
       for (const auto& item : iterate(v)) {
         Value x = attribute.is_undefined() || attribute.is_none() ? item : get_path(item, attribute);
         if (!x.is_number() || !total.is_number())
           fail("unsupported operand type(s) for +: '{}' and '{}'", total.type_name(), x.type_name());
         total = (x.is_float() || total.is_float()) ? Value(total.as_float() + x.as_float())
                                                    : Value(total.as_int() + x.as_int());
       }
       return total;
     }},
    {"title",
     [](const Value& v, const ValueList&, const KeywordArgs&) {
       // jinja2's do_title: words begin after spaces, '-', '(', '{', '[', '<'.
       std::u32string u = utf8_decode(v.str());
       bool at_start = true;
       for (auto& c : u) {
         bool boundary = is_python_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
         if (boundary) {
           at_start = true;
           continue;
         }
         c = at_start ? to_upper(c) : to_lower(c);
         at_start = false;
       }
       return Value(utf8_encode(u));
     }},
    {"tojson",
     [](const Value& v, const ValueList& a, const KeywordArgs& k) {
       return Value(to_json(v, param(a, k, 0, "ensure_ascii", Value(false)).truthy(), param(a, k, 1, "indent"),
                            param(a, k, 2, "separators"), param(a, k, 3, "sort_keys", Value(false)).truthy()));
     }},
    {"trim", [](const Value& v, const ValueList& a,
                const KeywordArgs& k) { return Value(python_strip(v.str(), param(a, k, 0, "chars"), true, true)); }},
    {"unique",
     [](const Value& v, const ValueList& a, const KeywordArgs& k) {
       bool case_sensitive = param(a, k, 0, "case_sensitive", Value(false)).truthy();
       Value attribute = param(a, k, 1, "attribute");
       ValueList out, seen;
       for (const auto& item : iterate(v)) {
         Value key = sort_key(attribute.is_undefined() || attribute.is_none() ? item : get_path(item, attribute),
                              case_sensitive);
         bool dup = false;
         for (const auto& s : seen) dup = dup || values_equal(s, key);
         if (dup) continue;
         seen.push_back(key);
         out.push_back(item);
       }
       return Value::list(std::move(out));
     }},
    {"upper", [](const Value& v, const ValueList&, const KeywordArgs&) { return Value(upper_string(v.str())); }},
    {"wordcount",
     [](const Value& v, const ValueList&, const KeywordArgs&) {
       int64_t n = 0;
       bool in_word = false;
       for (char32_t c : utf8_decode(v.str())) {
         bool word = is_alpha(c) || is_digit(c) || c == '_';
         if (word && !in_word) ++n;
         in_word = word;
       }
       return Value(n);
     }},
};

const FilterEntry* find_filter(const std::string& name) {
  std::string canonical = name == "d" ? "default" : name == "e" ? "escape" : name;
  for (const auto& f : kFilters)
    if (canonical == f.name) return &f;
  return nullptr;
}

// Each filter's parameters after the value, as jinja2 (and transformers' tojson) declare them;
// "*" takes any arguments. Unknown keywords and surplus positionals are errors, as in Python.
struct FilterSignature {
  const char* name;
  std::vector<std::string> params;
};

const std::vector<FilterSignature>& signatures() {
  static const std::vector<FilterSignature> kSignatures = {
      {"attr", {"name"}},
      {"batch", {"linecount", "fill_with"}},
      {"center", {"width"}},
      {"default", {"default_value", "boolean"}},
      {"dictsort", {"case_sensitive", "by", "reverse"}},
      {"float", {"default"}},
      {"indent", {"width", "first", "blank"}},
      {"int", {"default"}},
      {"join", {"d", "attribute"}},
      {"max", {"case_sensitive", "attribute"}},
      {"min", {"case_sensitive", "attribute"}},
      {"replace", {"old", "new", "count"}},
      {"round", {"precision", "method"}},
      {"sort", {"reverse", "case_sensitive", "attribute"}},
      {"sum", {"attribute", "start"}},
      {"tojson", {"ensure_ascii", "indent", "separators", "sort_keys"}},
      {"trim", {"chars"}},
      {"unique", {"case_sensitive", "attribute"}},
      {"map", {"*"}},
      {"select", {"*"}},
      {"reject", {"*"}},
      {"selectattr", {"*"}},
      {"rejectattr", {"*"}},
      {"format", {"*"}}};
  return kSignatures;
}

void check_arguments(const char* filter, const ValueList& args, const KeywordArgs& kwargs) {
  static const std::vector<std::string> kNone;
  const std::vector<std::string>* params = &kNone;
  for (const auto& sig : signatures())
    if (std::string(filter) == sig.name) params = &sig.params;
  if (params->size() == 1 && (*params)[0] == "*") return;
  if (args.size() > params->size())
    fail("filter '{}' takes at most {} argument(s) ({} given)", filter, params->size(), args.size());
  for (const auto& [name, value] : kwargs.items) {
    auto it = std::find(params->begin(), params->end(), name);
    if (it == params->end()) fail("filter '{}' got an unexpected keyword argument '{}'", filter, name);
    if (static_cast<size_t>(it - params->begin()) < args.size())
      fail("filter '{}' got multiple values for argument '{}'", filter, name);
  }
}

}  // namespace

bool has_filter(const std::string& name) { return find_filter(name) != nullptr; }

Value apply_filter(const std::string& name, const Value& input, const ValueList& args, const KeywordArgs& kwargs) {
  const FilterEntry* f = find_filter(name);
  if (!f) fail("No filter named '{}'", name);
  check_arguments(f->name, args, kwargs);
  // Filters that treat their input as a string accept undefined as ""; the rest need a value.
  static const char* const kUndefinedOk[] = {"default",    "length",  "count", "string", "list",    "join",
                                             "items",      "trim",    "upper", "lower",  "title",   "capitalize",
                                             "escape",     "safe",    "first", "last",   "reverse", "wordcount",
                                             "indent",     "replace", "map",   "select", "reject",  "selectattr",
                                             "rejectattr", "unique",  "sort",  "sum",    "min",     "max"};
  if (input.is_undefined()) {
    bool ok = false;
    for (const char* n : kUndefinedOk) ok = ok || std::string(f->name) == n;
    if (!ok) require_defined(input);
  }
  return f->fn(input, args, kwargs);
}

}  // namespace turbine::jinja
