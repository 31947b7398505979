// Leveled log lines for the coordinator daemon: "I 2026-03-14 18:20:01.123 text"
// on stderr ("I " info, "W " warning, "E " error), or into any sink (tests
// capture the lines and look for a reason).
//
// Thread-safety: a Logger may be used from any thread; the stderr sink
// writes each line with one call, so lines never interleave.
#pragma once

#include <functional>
#include <string>

namespace edgefl::coordinator {

enum class LogLevel : char { kInfo = 'I', kWarning = 'W', kError = 'E' };

class Logger {
 public:
  // Receives each line without its level prefix or time stamp.
  using Sink = std::function<void(LogLevel, const std::string&)>;

  // Logs to stderr with the level and the local time.
  Logger();
  explicit Logger(Sink sink) : sink_(std::move(sink)) {}

  void Info(const std::string& line) const { sink_(LogLevel::kInfo, line); }
  void Warn(const std::string& line) const { sink_(LogLevel::kWarning, line); }
  void Error(const std::string& line) const { sink_(LogLevel::kError, line); }

 private:
  Sink sink_;  // where lines go; never empty
};

// "I 2026-03-14 18:20:01.123 " + line, as the stderr sink writes it.
std::string FormatLogLine(LogLevel level, const std::string& line);

}  // namespace edgefl::coordinator
