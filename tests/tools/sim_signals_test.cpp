// Runs the real `edgefl sim` as a user would: stopped with SIGTERM or
// Ctrl-C it ends the run as interrupted and a later run resumes it; a
// second `edgefl sim` of a live run is refused, naming the first.
#include <chrono>
#include <signal.h>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/child_process.h"
#include "storage/experiment_log.h"
#include "storage/log_check.h"
#include "tests/storage/log_test_util.h"
#include "tests/test_util.h"

namespace edgefl::tools {
namespace {

using edgefl::testing::EdgeflTool;
using edgefl::testing::FashionMnistDir;
using edgefl::testing::ReadFile;
using edgefl::testing::RunCommand;
using edgefl::testing::Scaled;
using edgefl::testing::TempDir;
using storage::test::Violations;
using namespace std::chrono_literals;

// Many quick rounds, so the run is live when the test signals it.
std::vector<std::string> SimArgs(const TempDir& dir, const std::string& rounds) {
  return {EdgeflTool(), "sim",
          "--set",      "rounds=" + rounds,
          "--set",      "clients=4",
          "--set",      "clients_per_round=4",
          "--set",      "train_subset=800",
          "--set",      "test_subset=200",
          "--set",      "model=mlp:784-8-10",
          "--set",      "threads=1",
          "--set",      "run_name=live",
          "--set",      "data_path=" + FashionMnistDir().string(),
          "--set",      "db=" + (dir / "log.db").string()};
}

std::string Joined(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args)
    out += (out.empty() ? "" : " ") + a;
  return out;
}

bool OutputHas(const ChildProcess& p, const std::string& text) {
  return std::filesystem::exists(p.out()) && ReadFile(p.out()).find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("edgefl sim: SIGTERM and SIGINT end the run as interrupted, and it resumes") {
  for (const int signal : {SIGTERM, SIGINT}) {
    CAPTURE(signal);
    TempDir dir;
    ChildProcess sim("sim", SimArgs(dir, "100000"), dir / "out", dir / "err");
    REQUIRE_MESSAGE(PollUntil([&] { return OutputHas(sim, "round 2/"); }, Scaled(60s)),
                    sim.Describe());
    sim.Signal(signal);
    REQUIRE_MESSAGE(sim.Wait(Scaled(60s)), sim.Describe());
    CHECK_MESSAGE(sim.ExitedWith(0), sim.Describe());
    const std::string err = ReadFile(dir / "err");
    CHECK(err.find(signal == SIGINT ? "SIGINT" : "SIGTERM") != std::string::npos);
    CHECK(OutputHas(sim, "interrupted after round"));

    int64_t done = 0;
    {
      storage::ExperimentLog log(dir / "log.db");
      const storage::RunInfo run = *log.FindRun("live");
      CHECK(run.status == storage::RunStatus::kInterrupted);
      done = log.LastCompletedRound(run.id);
      CHECK(done >= 2);
    }
    CHECK(Violations(storage::CheckLog(dir / "log.db")) == "");

    // The same command, asked for one more round, resumes after them.
    std::string output;
    REQUIRE_MESSAGE(
        RunCommand(Joined(SimArgs(dir, std::to_string(done + 1))) + " 2>&1", &output) == 0, output);
    CHECK(output.find("resuming run 'live' after round " + std::to_string(done)) !=
          std::string::npos);
    storage::ExperimentLog log(dir / "log.db");
    CHECK(log.FindRun("live")->status == storage::RunStatus::kCompleted);
    CHECK(Violations(storage::CheckLog(dir / "log.db")) == "");
  }
}

TEST_CASE("edgefl sim: a second sim of a live run is refused, naming the process that runs it") {
  TempDir dir;
  ChildProcess first("first", SimArgs(dir, "100000"), dir / "out", dir / "err");
  REQUIRE_MESSAGE(PollUntil([&] { return OutputHas(first, "round 1/"); }, Scaled(60s)),
                  first.Describe());
  std::string output;
  CHECK(RunCommand(Joined(SimArgs(dir, "100000")) + " 2>&1", &output) == 2);
  CHECK(output.find("is being run by pid " + std::to_string(first.pid())) != std::string::npos);
  CHECK(first.Running());
  first.Signal(SIGTERM);
  REQUIRE(first.Wait(Scaled(60s)));
  CHECK(first.ExitedWith(0));
}

}  // namespace edgefl::tools
