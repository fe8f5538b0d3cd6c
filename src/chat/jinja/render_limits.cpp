#include "chat/jinja/render_limits.h"

#include "core/error.h"

namespace turbine::jinja {

void check_value_bytes(size_t bytes, const char* what) {
  if (bytes > kMaxValueBytes) fail("{} would exceed the limit of {} bytes for one value", what, kMaxValueBytes);
}

void check_sequence_items(size_t items, const char* what) {
  if (items > kMaxSequenceItems) fail("{} would exceed the limit of {} items for one list", what, kMaxSequenceItems);
}

}  // namespace turbine::jinja
