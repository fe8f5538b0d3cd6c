// How a pattern's matches cut a string (HF SplitDelimiterBehavior), shared by the pre-tokenizers.
// Spans stream through a SpanGrouper so a megabyte of text never becomes a megabyte of vectors.
#pragma once
#include <optional>
#include <string>

#include "text/hf/function_ref.h"
#include "text/hf/pcre_regex.h"

namespace turbine::hf {

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// Parses "Removed", "Isolated", ... (throws Error naming `where`).
SplitBehavior parse_split_behavior(const std::string& name, const std::string& where);

// Receives the spans covering a text in order (matches and the gaps between them) and emits the
// pieces HF's NormalizedString::split would make; empty pieces are never emitted.
class SpanGrouper {
 public:
  SpanGrouper(SplitBehavior behavior, FunctionRef<void(TextSpan)> emit) : behavior_(behavior), emit_(emit) {}
  void feed(TextSpan span, bool is_match);
  void finish();

 private:
  void flush();
  SplitBehavior behavior_;
  FunctionRef<void(TextSpan)> emit_;
  std::optional<TextSpan> pending_;
  bool pending_is_match_ = false;
  bool previous_match_ = false;
};

// Feeds every match of `regex` in `text` and the gaps between them to a grouper (`invert` swaps
// which spans count as matches), emitting pieces in order.
void split_text(const PcreRegex& regex, std::string_view text, SplitBehavior behavior, bool invert,
                FunctionRef<void(TextSpan)> emit);

}  // namespace turbine::hf
