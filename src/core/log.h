// The one logger: one line per message on stderr, "[2026-12-04 14:20:01.123 warning] text".
// Results never go through it (they go to stdout); it is for what a person running the program or a
// server operator wants to know. `--log-level error|warning|info|debug` sets the level once at
// start-up, before any other thread exists; from then on it is only read (an atomic), so this is
// configuration, not shared mutable state.
#pragma once
#include <fmt/format.h>

#include <optional>
#include <string>
#include <string_view>

namespace turbine {

enum class LogLevel { Error = 0, Warning = 1, Info = 2, Debug = 3 };

void set_log_level(LogLevel level);
LogLevel log_level();
// "error", "warning", "info", "debug" -> the level; nullopt for anything else.
std::optional<LogLevel> parse_log_level(std::string_view name);
// Writes one line when `level` is enabled (whole lines: concurrent writers do not interleave).
void log_line(LogLevel level, std::string_view text);

template <typename... Args>
void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (level <= log_level()) log_line(level, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace turbine
