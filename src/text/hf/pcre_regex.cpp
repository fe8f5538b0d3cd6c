#include "text/hf/pcre_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/error.h"
#include "core/utf8.h"

namespace turbine::hf {

struct PcreRegex::Compiled {
  pcre2_code* code = nullptr;
  std::string where;
  ~Compiled() {
    if (code) pcre2_code_free(code);
  }
};

PcreRegex::PcreRegex(const std::string& pattern, const std::string& where) : compiled_(std::make_unique<Compiled>()) {
  compiled_->where = where;
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP,
                                  &error_code, &error_offset, nullptr);
  if (!compiled_->code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof(message));
    fail("{}: bad regex at offset {}: {}", where, error_offset, reinterpret_cast<char*>(message));
  }
  // JIT is an optimisation only: without it (unsupported CPU) pcre2_match interprets.
  pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE);
}

PcreRegex PcreRegex::literal(std::string_view literal, const std::string& where) {
  std::string quoted;
  for (char c : literal) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) quoted.push_back('\\');
    quoted.push_back(c);
  }
  return PcreRegex(quoted, where);
}

PcreRegex::~PcreRegex() = default;
PcreRegex::PcreRegex(PcreRegex&&) noexcept = default;
PcreRegex& PcreRegex::operator=(PcreRegex&&) noexcept = default;

std::vector<TextSpan> PcreRegex::find_all(std::string_view text) const {
  std::vector<TextSpan> spans;
  for_each_match(text, [&](TextSpan span) { spans.push_back(span); });
  return spans;
}

void PcreRegex::for_each_match(std::string_view text, FunctionRef<void(TextSpan)> visit) const {
  // Match data per call keeps find_all safe to call from several threads at once.
  std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> owned(
      pcre2_match_data_create_from_pattern(compiled_->code, nullptr), pcre2_match_data_free);
  pcre2_match_data* data = owned.get();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;
  while (start <= text.size()) {
    const int rc = pcre2_match(compiled_->code, subject, text.size(), start, PCRE2_NO_UTF_CHECK, data, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      fail("{}: regex match failed: {}", compiled_->where, reinterpret_cast<char*>(message));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
    const TextSpan span{ovector[0], ovector[1]};
    if (span.end > span.begin) {
      visit(span);
      start = span.end;
    } else {
      if (span.begin >= text.size()) break;
      // Empty match: step over one character so the scan always moves forward.
      start = span.begin + utf8_sequence_length(static_cast<unsigned char>(text[span.begin]));
    }
  }
}

PcreRegex pattern_from_json(const nlohmann::json& pattern, const std::string& where) {
  if (pattern.is_object()) {
    if (auto it = pattern.find("Regex"); it != pattern.end() && it->is_string())
      return PcreRegex(it->get<std::string>(), where + ".Regex");
    if (auto it = pattern.find("String"); it != pattern.end() && it->is_string())
      return PcreRegex::literal(it->get<std::string>(), where + ".String");
  }
  fail("{}: expected {{\"Regex\": ...}} or {{\"String\": ...}}", where);
}

}  // namespace turbine::hf
