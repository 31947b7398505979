// Runs the real `edgefl-coordinator` binary on start-up mistakes an operator
// makes, and checks what it says before it listens.
#include <string>

#include <doctest/doctest.h>

#include "common/error.h"
#include "tests/test_util.h"

namespace edgefl::coordinator {
namespace {

using edgefl::testing::RunCommand;
using edgefl::testing::TempDir;

const std::string kCoordinator = std::string(EDGEFL_BINARY_DIR) + "/coordinator/edgefl-coordinator";

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("edgefl-coordinator --config names what the path is when it is not a config file") {
  TempDir dir;
  std::string output;
  CHECK(RunCommand(kCoordinator + " --config " + dir.path().string(), &output) == kExitUsage);
  CHECK_MESSAGE(Contains(output, dir.path().string() + ": is a directory, not a config file"),
                output);
  CHECK_FALSE(Contains(output, "listening on"));
  CHECK(RunCommand(kCoordinator + " --config /dev/zero", &output) == kExitUsage);
  CHECK_MESSAGE(Contains(output, "config /dev/zero: is not a regular file"), output);
}

}  // namespace edgefl::coordinator
