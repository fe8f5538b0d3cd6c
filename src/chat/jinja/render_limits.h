// What one render may cost. A chat template comes with a downloaded model and is untrusted input:
// every render ends, and ends within these bounds, whatever the template does.
#pragma once
#include <cstddef>
#include <cstdint>

namespace turbine::jinja {

// Bounds a caller sets per render; the defaults leave real templates (a long conversation through
// Qwen3's template takes a few thousand steps per message) far below them.
struct RenderLimits {
  // Evaluation steps: every expression evaluated, statement run, loop iteration and macro call is one.
  uint64_t max_steps = 10'000'000;
  // Bytes of rendered text, also for what a {% set %} block, a {% filter %} block or a macro captures.
  size_t max_output_bytes = size_t{64} << 20;
  // Nested macro calls (and caller() calls); recursion past it is an error, never a stack overflow.
  int max_call_depth = 100;
};

// Ceilings on a single value, checked where a string or list is built (an operator, a filter, a method,
// printing a value) before its memory is taken: one step can multiply sizes ('x' * n, join of a list
// that holds one long string many times), so counting steps alone cannot bound memory.
constexpr size_t kMaxValueBytes = size_t{64} << 20;
constexpr size_t kMaxSequenceItems = size_t{1} << 20;

// Throws Error("... exceeds the limit of N bytes for one value") when `bytes` is over kMaxValueBytes.
void check_value_bytes(size_t bytes, const char* what);
// The same for a list of `items` items.
void check_sequence_items(size_t items, const char* what);

}  // namespace turbine::jinja
