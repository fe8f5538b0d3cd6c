#include "core/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace turbine {

namespace {
std::atomic<int> g_level{int(LogLevel::Warning)};
constexpr const char* kNames[] = {"error", "warning", "info", "debug"};
}  // namespace

void set_log_level(LogLevel level) { g_level.store(int(level), std::memory_order_relaxed); }

LogLevel log_level() { return LogLevel(g_level.load(std::memory_order_relaxed)); }

std::optional<LogLevel> parse_log_level(std::string_view name) {
  for (int i = 0; i < 4; ++i)
    if (name == kNames[i]) return LogLevel(i);
  return std::nullopt;
}

void log_line(LogLevel level, std::string_view text) {
  if (level > log_level()) return;
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const int millis = int(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &local);
  const std::string line = fmt::format("[{}.{:03d} {}] {}\n", stamp, millis, kNames[int(level)], text);
  std::fwrite(line.data(), 1, line.size(), stderr);  // one call: stderr is unbuffered, lines stay whole
}

}  // namespace turbine
