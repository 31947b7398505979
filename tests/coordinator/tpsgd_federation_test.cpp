// tpSGD over TLS: an edgefl-coordinator and real edgefl-client processes,
// synchronous FedAvg and asynchronous FedBuff, every client training
// forward-only with the projections made from the seed the strategy sent
// (never the projections themselves).
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "storage/experiment_log.h"
#include "tests/coordinator/federation_util.h"

namespace edgefl::coordinator {
namespace {

using edgefl::testing::Federation;
using edgefl::testing::Process;
using edgefl::testing::ReadIfExists;

constexpr int kTpsgdFederationClients = 3;

std::vector<std::string> TpsgdFederationSettings(const std::string& run, int rounds,
                                                 std::vector<std::string> more) {
  std::vector<std::string> s = {"port=0",
                                "run_name=" + run,
                                "rounds=" + std::to_string(rounds),
                                "model=mlp:784-64-10",
                                "local_objective=tpsgd",
                                "local_steps=60",
                                "batch_size=32",
                                "lr=0.02",
                                "momentum=0",
                                "test_subset=2000",
                                "min_clients=3",
                                "clients_per_round=3",
                                "heartbeat=1"};
  s.insert(s.end(), more.begin(), more.end());
  return s;
}

void CheckRun(const Federation& fed, const std::string& run_name) {
  storage::ExperimentLog log(fed.db());
  const auto run = log.FindRun(run_name);
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  const auto evals = log.Evaluations(run->id);
  REQUIRE(evals.size() >= 2);
  CHECK(evals.back().accuracy > evals.front().accuracy + 0.2);
  for (int k = 0; k < kTpsgdFederationClients; ++k) {
    CAPTURE(k);
    // The device said what it trained with.
    CHECK(ReadIfExists(fed.ClientLog(k)).find(", tpsgd)") != std::string::npos);
  }
}

}  // namespace

TEST_CASE("tpsgd federation: fedavg over TLS with 3 edgefl-client processes") {
  Federation fed(kTpsgdFederationClients);
  INFO(fed.Logs());
  Process& coordinator =
      fed.StartCoordinator("coordinator", TpsgdFederationSettings("tpsgd-fedavg", 4, {}));
  const int port = fed.WaitListening(coordinator);
  fed.StartClients(kTpsgdFederationClients, port);
  fed.RequireRunCompleted(coordinator);
  CheckRun(fed, "tpsgd-fedavg");
}

TEST_CASE("tpsgd federation: fedbuff over TLS with 3 edgefl-client processes") {
  Federation fed(kTpsgdFederationClients);
  INFO(fed.Logs());
  Process& coordinator = fed.StartCoordinator(
      "coordinator",
      TpsgdFederationSettings("tpsgd-fedbuff", 8,
                              {"mode=async", "strategy=fedbuff", "buffer_size=2", "eval_every=4"}));
  const int port = fed.WaitListening(coordinator);
  fed.StartClients(kTpsgdFederationClients, port);
  fed.RequireRunCompleted(coordinator);
  CheckRun(fed, "tpsgd-fedbuff");
}

}  // namespace edgefl::coordinator
