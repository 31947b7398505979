// One log line of an edgefl program (edgefl-coordinator, edgefl-client) in
// the format the operator chose: text for people, or one JSON object per
// line for a log pipeline (journald, Loki, jq):
//
//   {"time":"2026-12-06T12:20:01.123Z","level":"warning","component":"coordinator","msg":"..."}
//
// `level` is the programs' one-letter level: 'I' info, 'W' warning, 'E'
// error ("info", "warning", "error" in JSON; anything else is "info").
// Strings are escaped as JSON requires (", \, control characters); other
// bytes are copied, so a UTF-8 message stays UTF-8.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace edgefl {

enum class LogFormat { kText, kJson };

// "text" or "json"; throws ConfigError naming `where` for anything else.
LogFormat ParseLogFormat(std::string_view text, std::string_view where);

// The JSON line (no trailing newline) at time `now` (UTC, milliseconds).
std::string FormatJsonLogLine(char level, std::string_view component, std::string_view message,
                              std::chrono::system_clock::time_point now);

// `text` as a JSON string literal, quotes included.
std::string JsonQuoted(std::string_view text);

}  // namespace edgefl
