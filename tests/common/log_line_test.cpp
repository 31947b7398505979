// Log lines in JSON: exact text for a fixed time, escaping, levels.
#include "common/log_line.h"

#include <chrono>
#include <string>

#include <doctest/doctest.h>

#include "common/error.h"

namespace edgefl {

TEST_CASE("FormatJsonLogLine writes time level component and msg as one JSON object") {
  // 2026-12-06T12:20:01.123Z
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1796559601123));
  CHECK(FormatJsonLogLine('W', "coordinator", "client 1.2.3.4:5 refused: no certificate", t) ==
        "{\"time\":\"2026-12-06T12:20:01.123Z\",\"level\":\"warning\",\"component\":"
        "\"coordinator\",\"msg\":\"client 1.2.3.4:5 refused: no certificate\"}");
  CHECK(FormatJsonLogLine('E', "client-3", "x", t).find("\"level\":\"error\"") !=
        std::string::npos);
  CHECK(FormatJsonLogLine('I', "c", "x", t).find("\"level\":\"info\"") != std::string::npos);
}

TEST_CASE("JsonQuoted escapes quotes backslashes and control characters and keeps UTF-8") {
  CHECK(JsonQuoted("say \"hi\"\\n") == "\"say \\\"hi\\\"\\\\n\"");
  CHECK(JsonQuoted("a\nb\tc\x01") == "\"a\\nb\\tc\\u0001\"");
  CHECK(JsonQuoted("δ = 1e-5") == "\"δ = 1e-5\"");
}

TEST_CASE("ParseLogFormat takes text or json and names the option otherwise") {
  CHECK(ParseLogFormat("text", "--log-format") == LogFormat::kText);
  CHECK(ParseLogFormat("json", "--log-format") == LogFormat::kJson);
  CHECK_THROWS_WITH_AS(ParseLogFormat("xml", "--log-format"),
                       "--log-format: 'xml' is not a log format (expected text or json)",
                       ConfigError);
}

}  // namespace edgefl
