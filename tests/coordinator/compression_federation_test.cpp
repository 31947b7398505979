// Compressed updates between real processes: edgefl-coordinator and
// edgefl-client over mutual TLS with top-k both ways; a client killed
// mid-run and started again keeps its top-k residual (its state file), and
// the log records the smaller frames per client and round.
#include <csignal>
#include <string>

#include <doctest/doctest.h>

#include "storage/experiment_log.h"
#include "tests/coordinator/federation_util.h"

namespace edgefl::coordinator {
namespace {

using edgefl::testing::Contains;
using edgefl::testing::Federation;
using edgefl::testing::kRunTimeout;
using edgefl::testing::PollUntil;
using edgefl::testing::Process;
using edgefl::testing::ReadIfExists;

constexpr int64_t kP = 25'450;  // mlp:784-32-10

// The L1 norm in the last "top-k residual (L1 norm X) saved" line of `log`.
std::string LastSavedNorm(const std::string& log) {
  const std::string marker = "top-k residual (L1 norm ";
  const size_t at = log.rfind(marker);
  if (at == std::string::npos) return "";
  const size_t begin = at + marker.size();
  return log.substr(begin, log.find(')', begin) - begin);
}

}  // namespace

TEST_CASE("compression federation: top-k over TLS and a restarted client keeps its residual") {
  Federation fed(2);
  INFO(fed.Logs());
  Process& coordinator = fed.StartCoordinator(
      "coordinator",
      {"port=0", "run_name=topk", "rounds=4", "model=mlp:784-32-10", "local_steps=10",
       "batch_size=32", "lr=0.05", "test_subset=500", "min_clients=2", "clients_per_round=2",
       "quorum=0.5", "heartbeat=1", "compression=topk", "compression_topk_fraction=0.05"});
  const int port = fed.WaitListening(coordinator);
  Process& first = fed.StartClientAs(0, port, "client-0-first");
  fed.StartClient(1, port);
  const auto first_log = fed.dir() / "client-0-first.log";
  REQUIRE_MESSAGE(
      PollUntil([&] { return Contains(first_log, "round 1: top-k residual"); }, kRunTimeout),
      "client 0 did not save its residual after round 1");
  first.Signal(SIGKILL);
  REQUIRE(first.Wait(std::chrono::seconds(10)));
  const std::string saved = LastSavedNorm(ReadIfExists(first_log));
  REQUIRE_FALSE(saved.empty());
  CHECK(saved != "0");
  CHECK(std::filesystem::exists(fed.dir() / "certs" / "client-0.state"));  // by client-0.crt

  Process& again = fed.StartClientAs(0, port, "client-0-again");
  REQUIRE(coordinator.Wait(kRunTimeout));
  CHECK(coordinator.ExitedWith(0));
  REQUIRE(again.Wait(std::chrono::seconds(30)));
  CHECK(again.ExitedWith(0));
  const std::string again_log = ReadIfExists(fed.dir() / "client-0-again.log");
  // The restarted process read the residual the killed one saved last, and
  // trained with it again.
  CHECK(again_log.find("run topk, top-k residual of " + std::to_string(kP) +
                       " coordinates (L1 norm " + saved + ") kept") != std::string::npos);
  CHECK(again_log.find("update sent as topk, 10192 bytes") != std::string::npos);

  storage::ExperimentLog log(fed.db());
  const auto run = log.FindRun("topk");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  CHECK(run->spec.config.find("compression = 'topk'") != std::string::npos);
  int accepted = 0;
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(run->id)) {
    if (u.status != storage::UpdateStatus::kAccepted) continue;
    ++accepted;
    // An update of 8 + 8k = 10,192 bytes (k = 1,273) in its frames, not 4P.
    CHECK(u.bytes_in > 10'192);
    CHECK(u.bytes_in < 4 * kP / 5);
    // The full model on a connection's first task, a top-k delta after it.
    CHECK(u.bytes_out > 10'192);
  }
  CHECK(accepted >= 6);
  const auto evals = log.Evaluations(run->id);
  REQUIRE(evals.size() >= 2);
  CHECK(evals.back().accuracy > evals.front().accuracy + 0.2);
}

}  // namespace edgefl::coordinator
