// Runs the real `edgefl sim` binary on command lines a user gets wrong, and
// checks what they are told.
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

}  // namespace

TEST_CASE("edgefl sim --config names what the path is when it is not a config file") {
  TempDir dir;
  std::string output;
  CHECK(RunCommand(EdgeflTool() + " sim --config " + dir.path().string(), &output) == kExitUsage);
  CHECK_MESSAGE(Contains(output, dir.path().string() + ": is a directory, not a config file"),
                output);
  CHECK_FALSE(Contains(output, "no such file"));

  CHECK(RunCommand(EdgeflTool() + " sim --config /dev/zero", &output) == kExitUsage);
  CHECK_MESSAGE(Contains(output, "config /dev/zero: is not a regular file"), output);

  CHECK(RunCommand(EdgeflTool() + " sim --config " + (dir / "none.toml").string(), &output) ==
        kExitIoError);
  CHECK_MESSAGE(Contains(output, "none.toml: no such file"), output);
}

TEST_CASE("edgefl sim --set with a misspelt key suggests the closest known key") {
  std::string output;
  CHECK(RunCommand(EdgeflTool() + " sim -q --set roundz=3", &output) == kExitUsage);
  CHECK_MESSAGE(Contains(output,
                         "unknown key \"roundz\": not a key of the experiment config nor "
                         "of strategy fedavg; did you mean 'rounds'?"),
                output);
}

TEST_CASE("edgefl sim --set threads=40000 is refused with the range instead of aborting") {
  std::string output;
  CHECK(RunCommand(EdgeflTool() + " sim -q --set threads=40000", &output) == kExitUsage);
  CHECK_MESSAGE(Contains(output, "threads must be in [0, 256] (0 = one per core), got 40000"),
                output);
  CHECK_FALSE(Contains(output, "terminate called"));
}

}  // namespace edgefl::tools
