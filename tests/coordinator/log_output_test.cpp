// The coordinator's log output: text and JSON lines into a file, and
// Reopen after the file was moved away (what SIGHUP does for logrotate).
#include "coordinator/log_output.h"

#include <filesystem>
#include <memory>
#include <string>

#include <doctest/doctest.h>

#include "common/error.h"
#include "tests/coordinator/json_line.h"
#include "tests/test_util.h"

namespace edgefl::coordinator {

TEST_CASE("log output: text lines carry the level and time, reopen follows a moved file") {
  edgefl::testing::TempDir dir;
  const auto output = std::make_shared<LogOutput>(LogFormat::kText, dir / "c.log");
  const Logger logger = LogOutput::MakeLogger(output);
  logger.Warn("first");
  std::filesystem::rename(dir / "c.log", dir / "c.log.1");
  logger.Info("second");  // still the moved file, until reopened
  CHECK(output->Reopen().empty());
  logger.Error("third");
  const std::string moved = edgefl::testing::ReadFile(dir / "c.log.1");
  REQUIRE(moved.size() > 2);
  CHECK(moved.rfind("W 20", 0) == 0);
  CHECK(moved.find(" first\nI 20") != std::string::npos);
  CHECK(moved.find(" second\n") != std::string::npos);
  const std::string now = edgefl::testing::ReadFile(dir / "c.log");
  CHECK(now.rfind("E 20", 0) == 0);
  CHECK(now.size() == std::string("E 2026-12-06 12:20:01.123 third\n").size());
}

TEST_CASE("log output: JSON lines parse and a file that cannot be opened is refused") {
  edgefl::testing::TempDir dir;
  const auto output = std::make_shared<LogOutput>(LogFormat::kJson, dir / "c.jsonl");
  LogOutput::MakeLogger(output).Info("round 3: waiting for clients (1 of \"2\")");
  std::string line = edgefl::testing::ReadFile(dir / "c.jsonl");
  REQUIRE(line.back() == '\n');
  line.pop_back();
  const auto fields = edgefl::testing::ParseFlatJsonObject(line);
  CHECK(fields.at("level") == "info");
  CHECK(fields.at("component") == "coordinator");
  CHECK(fields.at("msg") == "round 3: waiting for clients (1 of \"2\")");
  CHECK_THROWS_AS(LogOutput(LogFormat::kText, dir / "missing" / "c.log"), IoError);
  // A reopen that fails keeps the file it had.
  std::filesystem::create_directory(dir / "d");
  const auto in_dir = std::make_shared<LogOutput>(LogFormat::kText, dir / "d" / "c.log");
  std::filesystem::rename(dir / "d", dir / "e");
  CHECK(in_dir->Reopen().find("log_file") != std::string::npos);
  LogOutput::MakeLogger(in_dir).Info("still here");
  CHECK(edgefl::testing::ReadFile(dir / "e" / "c.log").find("still here") != std::string::npos);
}

}  // namespace edgefl::coordinator
