// The systemd units in deploy/systemd/ pass `systemd-analyze verify` with
// the built binaries in place of /usr/local/bin (skipped, with a message,
// where systemd-analyze is not installed), and keep the hardening
// docs/operations.md promises.
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "tests/test_util.h"

namespace edgefl::testing {
namespace {

namespace fs = std::filesystem;

// The unit's text with /usr/local/bin/NAME replaced by the built binary.
std::string WithBuiltBinary(const std::string& unit, const std::string& name,
                            const std::string& built) {
  std::string text = ReadFile(fs::path(edgefl::testing::SourceDir()) / "deploy/systemd" / unit);
  const std::string installed = "/usr/local/bin/" + name;
  const size_t at = text.find(installed);
  REQUIRE(at != std::string::npos);
  text.replace(at, installed.size(), edgefl::testing::BinaryDir() + "/" + built);
  return text;
}

}  // namespace

TEST_CASE("deploy: the systemd units verify and keep their hardening") {
  const std::string coordinator = WithBuiltBinary(
      "edgefl-coordinator.service", "edgefl-coordinator", "coordinator/edgefl-coordinator");
  const std::string client =
      WithBuiltBinary("edgefl-client@.service", "edgefl-client", "client/edgefl-client");
  for (const std::string* unit : {&coordinator, &client}) {
    for (const char* line :
         {"\nNoNewPrivileges=yes\n", "\nProtectSystem=strict\n", "\nProtectHome=yes\n",
          "\nPrivateTmp=yes\n", "\nCapabilityBoundingSet=\n",
          "\nLimitNOFILE=", "\nRestart=on-failure\n"}) {
      CHECK_MESSAGE(unit->find(line) != std::string::npos, line);
    }
  }
  CHECK(coordinator.find("\nStateDirectory=edgefl\n") != std::string::npos);
  CHECK(coordinator.find("\nExecReload=/bin/kill -HUP $MAINPID\n") != std::string::npos);
  CHECK(coordinator.find("\nUser=edgefl\n") != std::string::npos);
  CHECK(client.find("\nDynamicUser=yes\n") != std::string::npos);

  std::string output;
  if (RunCommand("command -v systemd-analyze", &output) != 0) {
    MESSAGE("systemd-analyze is not installed: the units were not verified");
    return;
  }
  TempDir dir;
  WriteFile(dir / "edgefl-coordinator.service", coordinator);
  WriteFile(dir / "edgefl-client@client-1.service", client);
  const int status =
      RunCommand("systemd-analyze verify " + (dir / "edgefl-coordinator.service").string() + " " +
                     (dir / "edgefl-client@client-1.service").string(),
                 &output);
  CHECK_MESSAGE(status == 0, output);
  CHECK_MESSAGE(output.empty(), output);
}

}  // namespace edgefl::testing
