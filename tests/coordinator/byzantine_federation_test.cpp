// A Byzantine device in the real deployment: edgefl-client --byzantine nan
// next to honest clients, over mutual TLS on loopback. The coordinator
// rejects its updates with a recorded reason and the run completes on the
// honest ones.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "storage/experiment_log.h"
#include "tests/coordinator/federation_util.h"

namespace edgefl::coordinator {
namespace {

using edgefl::testing::Contains;
using edgefl::testing::Federation;
using edgefl::testing::kRunTimeout;
using edgefl::testing::Process;

TEST_CASE("byzantine federation: edgefl-client --byzantine nan is rejected with a logged reason") {
  constexpr int kClients = 3;
  constexpr int kRounds = 2;
  constexpr int kByzantine = 2;
  Federation fed(kClients);
  INFO(fed.Logs());
  // quorum 0.6: the two honest clients are enough; a rejected update counts
  // against the quorum, so at 1.0 no round would aggregate.
  Process& coordinator = fed.StartCoordinator(
      "coordinator",
      {"port=0", "run_name=byzantine", "rounds=" + std::to_string(kRounds), "clients_per_round=3",
       "min_clients=3", "quorum=0.6", "heartbeat=1", "model=mlp:784-64-10", "test_subset=1000"});
  const int port = fed.WaitListening(coordinator);
  for (int k = 0; k < kClients; ++k) {
    fed.StartClient(k, port,
                    k == kByzantine ? std::vector<std::string>{"--byzantine", "nan"}
                                    : std::vector<std::string>{});
  }
  fed.RequireRunCompleted(coordinator);
  CHECK(Contains(fed.ClientLog(kByzantine), "sending a Byzantine update (nan)"));

  const std::string byzantine_id = Federation::ClientName(kByzantine);
  storage::ExperimentLog log(fed.db());
  const auto run = log.FindRun("byzantine");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == static_cast<size_t>(kRounds));
  for (const storage::RoundRecord& r : rounds) {
    CAPTURE(r.round);
    CHECK(r.selected == kClients);
    CHECK(r.rejected == 1);
    CHECK(r.model_version == r.round);  // aggregated from the two honest clients
  }
  int rejected = 0;
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(run->id)) {
    CAPTURE(u.round);
    CAPTURE(u.client_id);
    CAPTURE(u.reason);
    if (u.client_id == byzantine_id) {
      ++rejected;
      CHECK(u.status == storage::UpdateStatus::kRejected);
      CHECK(u.reason.find(byzantine_id) != std::string::npos);
      CHECK(u.reason.find("NaN") != std::string::npos);
    } else {
      CHECK(u.status == storage::UpdateStatus::kAccepted);
    }
  }
  CHECK(rejected == kRounds);
  // The global model stayed finite and learned from the honest clients.
  const auto evals = log.Evaluations(run->id);
  REQUIRE(evals.size() == static_cast<size_t>(kRounds + 1));
  CHECK(evals.back().accuracy > 0.6);
}

}  // namespace
}  // namespace edgefl::coordinator
