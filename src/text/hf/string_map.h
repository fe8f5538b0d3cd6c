// unordered_map keyed by std::string that can be probed with a std::string_view (no allocation).
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace turbine::hf {

struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

template <typename Value>
using StringMap = std::unordered_map<std::string, Value, StringViewHash, std::equal_to<>>;

}  // namespace turbine::hf
