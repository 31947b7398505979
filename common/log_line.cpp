#include "common/log_line.h"

#include <cstdio>
#include <ctime>

#include "common/error.h"

namespace edgefl {

LogFormat ParseLogFormat(std::string_view text, std::string_view where) {
  if (text == "text") return LogFormat::kText;
  if (text == "json") return LogFormat::kJson;
  throw ConfigError(std::string(where) + ": '" + std::string(text) +
                    "' is not a log format (expected text or json)");
}

std::string JsonQuoted(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string FormatJsonLogLine(char level, std::string_view component, std::string_view message,
                              std::chrono::system_clock::time_point now) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[40];
  const size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(millis));
  const char* name = level == 'W' ? "warning" : level == 'E' ? "error" : "info";
  std::string out = "{\"time\":\"";
  out.append(stamp).append("\",\"level\":\"").append(name).append("\",\"component\":");
  out.append(JsonQuoted(component)).append(",\"msg\":").append(JsonQuoted(message)).append("}");
  return out;
}

}  // namespace edgefl
