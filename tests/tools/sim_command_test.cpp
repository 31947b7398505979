// Runs the real `edgefl sim` binary on command lines a user gets wrong, and
// checks what they are told.
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "common/error.h"
#include "storage/experiment_log.h"
#include "tests/storage/log_test_util.h"
#include "tests/test_util.h"

namespace edgefl::tools {
namespace {

using edgefl::testing::EdgeflTool;
using edgefl::testing::RunCommand;
using edgefl::testing::TempDir;
using edgefl::testing::WriteFile;

using testing::HasSubstr;

}  // namespace

TEST_CASE("edgefl sim --config names what the path is when it is not a config file") {
  TempDir dir;
  std::string output;
  CHECK(RunCommand(EdgeflTool() + " sim --config " + dir.path().string(), &output) == kExitUsage);
  CHECK_MESSAGE(HasSubstr(output, dir.path().string() + ": is a directory, not a config file"),
                output);
  CHECK_FALSE(HasSubstr(output, "no such file"));

  CHECK(RunCommand(EdgeflTool() + " sim --config /dev/zero", &output) == kExitUsage);
  CHECK_MESSAGE(HasSubstr(output, "config /dev/zero: is not a regular file"), output);

  CHECK(RunCommand(EdgeflTool() + " sim --config " + (dir / "none.toml").string(), &output) ==
        kExitIoError);
  CHECK_MESSAGE(HasSubstr(output, "none.toml: no such file"), output);
}

TEST_CASE("edgefl sim --set with a misspelt key suggests the closest known key") {
  std::string output;
  CHECK(RunCommand(EdgeflTool() + " sim -q --set roundz=3", &output) == kExitUsage);
  CHECK_MESSAGE(HasSubstr(output,
                          "unknown key \"roundz\": not a key of the experiment config nor "
                          "of strategy fedavg; did you mean 'rounds'?"),
                output);
}

TEST_CASE("edgefl sim --set threads=40000 is refused with the range instead of aborting") {
  std::string output;
  CHECK(RunCommand(EdgeflTool() + " sim -q --set threads=40000", &output) == kExitUsage);
  CHECK_MESSAGE(HasSubstr(output, "threads must be in [0, 256] (0 = one per core), got 40000"),
                output);
  CHECK_FALSE(HasSubstr(output, "terminate called"));
}

TEST_CASE("edgefl sim stopped before any round says so instead of an empty round range") {
  TempDir dir;
  // Both clients go off-line before their first task can finish, for good.
  WriteFile(dir / "availability.csv", "0,0,0.001\n1,0,0.001\n");
  std::string output;
  REQUIRE_MESSAGE(
      RunCommand(EdgeflTool() +
                     " sim -q --set dataset=synthetic --set model=mlp:60-10 --set clients=2 "
                     "--set clients_per_round=2 --set rounds=3 --set mode=async --set "
                     "strategy=fedasync --set threads=1 --set availability=trace --set "
                     "availability_trace=" +
                     (dir / "availability.csv").string() + " --set db=" + (dir / "a.db").string(),
                 &output) == 0,
      output);
  CHECK_MESSAGE(HasSubstr(output, "stopped before any round was completed"), output);
  CHECK_FALSE(HasSubstr(output, "rounds 1-0"));
  CHECK_FALSE(HasSubstr(output, "final test accuracy"));
}

TEST_CASE("edgefl sim refuses a damaged log with exit 3 and writes nothing to it") {
  TempDir dir;
  const auto db = dir / "damaged.db";
  {
    storage::ExperimentLog log(db);
    storage::test::SampleRunWithRounds(log, "earlier", 2);
    storage::ClientRecord client;
    client.client_id = "c1";
    log.UpsertClient(client);
  }
  storage::test::DamageTablePage(db, "clients");
  const std::string before = storage::test::FileHash(db);

  std::string output;
  CHECK(RunCommand(EdgeflTool() +
                       " sim -q --set dataset=synthetic --set model=mlp:60-10 --set clients=2 "
                       "--set clients_per_round=2 --set rounds=1 --set threads=1 --set db=" +
                       db.string(),
                   &output) == kExitDataError);
  CHECK_MESSAGE(HasSubstr(output, "experiment log " + db.string() + ": the file is damaged"),
                output);
  CHECK_MESSAGE(HasSubstr(output, "quick_check"), output);
  CHECK_MESSAGE(HasSubstr(output, ".recover"), output);
  CHECK_MESSAGE(HasSubstr(output, "--db"), output);
  CHECK(storage::test::FileHash(db) == before);
  CHECK_FALSE(std::filesystem::exists(db.string() + "-wal"));
  CHECK_FALSE(std::filesystem::exists(db.string() + "-runs.lock"));

  // Readers open it read-only as before and list what they can read.
  CHECK(RunCommand(EdgeflTool() + " runs list --db " + db.string(), &output) == 0);
  CHECK_MESSAGE(HasSubstr(output, "earlier"), output);
  CHECK(storage::test::FileHash(db) == before);
}

}  // namespace edgefl::tools
