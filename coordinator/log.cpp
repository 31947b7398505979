#include "coordinator/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace edgefl::coordinator {

std::string FormatLogLine(LogLevel level, const std::string& line) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm local{};
  localtime_r(&seconds, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &local);
  char prefix[48];
  std::snprintf(prefix, sizeof prefix, "%c %s.%03d ", static_cast<char>(level), stamp,
                static_cast<int>(millis));
  return prefix + line;
}

Logger::Logger()
    : sink_([](LogLevel level, const std::string& line) {
        const std::string text = FormatLogLine(level, line) + "\n";
        std::fwrite(text.data(), 1, text.size(), stderr);
        std::fflush(stderr);
      }) {}

}  // namespace edgefl::coordinator
