// convex_relu in the real deployment: an edgefl-coordinator and three
// edgefl-client processes over mutual TLS. The clients run the local ADMM
// step of the consensus (algorithms/local_solver.h) on their Fashion-MNIST
// shares, the coordinator the consensus step; every round aggregates all
// three and the convex model learns.
#include <string>

#include <doctest/doctest.h>

#include "storage/experiment_log.h"
#include "tests/coordinator/federation_util.h"

namespace edgefl::coordinator {
namespace {

using edgefl::testing::Contains;
using edgefl::testing::Federation;
using edgefl::testing::Process;

}  // namespace

TEST_CASE("convex_relu federation: three edgefl-clients over TLS run the consensus ADMM") {
  constexpr int kClients = 3;
  constexpr int kRounds = 3;
  Federation fed(kClients);
  INFO(fed.Logs());
  // One gate (P = 1) keeps each client's 1570 x 1570 Cholesky factor cheap.
  Process& coordinator = fed.StartCoordinator(
      "coordinator",
      {"port=0", "run_name=convex", "strategy=convex_relu", "model=gated_relu:784-1-10-3",
       "rounds=" + std::to_string(kRounds), "clients_per_round=3", "min_clients=3", "heartbeat=1",
       "convex_beta=1", "convex_rho=100", "test_subset=1000"});
  const int port = fed.WaitListening(coordinator);
  fed.StartClients(kClients, port);
  fed.RequireRunCompleted(coordinator);
  CHECK(Contains(fed.ClientLog(0), "training gated_relu:784-1-10-3"));

  storage::ExperimentLog log(fed.db());
  const auto run = log.FindRun("convex");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == static_cast<size_t>(kRounds));
  for (const storage::RoundRecord& r : rounds) {
    CAPTURE(r.round);
    CHECK(r.aggregated);
    CHECK(r.completed == kClients);
  }
  const auto evals = log.Evaluations(run->id);
  REQUIRE(evals.size() == static_cast<size_t>(kRounds + 1));
  MESSAGE("accuracy " << evals.front().accuracy << " -> " << evals.back().accuracy);
  CHECK(evals.back().accuracy > 0.6);
}

}  // namespace edgefl::coordinator
