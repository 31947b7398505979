// Runs the real `edgefl report` binary and checks what it leaves on disk.
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "common/error.h"
#include "tests/test_util.h"

namespace edgefl::tools {
namespace {

using edgefl::testing::EdgeflTool;
using edgefl::testing::RunCommand;
using edgefl::testing::TempDir;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The files in `dir`, sorted, one per line.
std::string Listing(const std::filesystem::path& dir) {
  std::string out;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    out += entry.path().filename().string() + "\n";
  return out;
}

// A one-round synthetic run in `db`.
void SmallRun(const std::filesystem::path& db) {
  std::string output;
  REQUIRE_MESSAGE(RunCommand(EdgeflTool() +
                                 " sim -q --set dataset=synthetic --set model=mlp:60-10 "
                                 "--set clients=2 --set clients_per_round=2 --set rounds=1 "
                                 "--set threads=1 --set db=" +
                                 db.string(),
                             &output) == 0,
                  output);
}

}  // namespace

TEST_CASE("edgefl report leaves no temporary file behind, on success or failure") {
  TempDir dir;
  const std::filesystem::path db = dir / "log.db";
  SmallRun(db);
  const std::string report = EdgeflTool() + " report --db " + db.string() + " -o ";
  std::string output;

  // -o naming a directory: refused before anything is written.
  std::filesystem::create_directory(dir / "out");
  CHECK(RunCommand(report + (dir / "out").string(), &output) == kExitUsage);
  CHECK_MESSAGE(Contains(output, (dir / "out").string() + " is a directory"), output);
  CHECK_FALSE(std::filesystem::exists(dir / "out.tmp"));
  CHECK(std::filesystem::is_empty(dir / "out"));

  // A directory that does not exist.
  CHECK(RunCommand(report + (dir / "missing" / "r.html").string(), &output) == kExitIoError);
  CHECK_FALSE(std::filesystem::exists(dir / "missing"));

  // Success: the report and nothing else.
  REQUIRE_MESSAGE(RunCommand(report + (dir / "out" / "r.html").string(), &output) == 0, output);
  CHECK(Listing(dir / "out") == "r.html\n");
  CHECK_FALSE(Contains(Listing(dir.path()), ".tmp"));
}

}  // namespace edgefl::tools
