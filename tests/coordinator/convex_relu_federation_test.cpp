// convex_relu in the real deployment: an edgefl-coordinator and three
// edgefl-client processes over mutual TLS. The clients run the local ADMM
// step of the consensus (algorithms/local_solver.h) on their Fashion-MNIST
// shares, the coordinator the consensus step; every round aggregates all
// three and the convex model learns.
#include <string>

#include <doctest/doctest.h>

#include "datasets/partition.h"
#include "datasets/partition_file.h"
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

// The adversarially robust program (convex_adversarial_eps) over TLS: the
// radius reaches each edgefl-client as the local solver's eps. The robust
// client step holds D x n x C copies of the loss split, so the clients get
// 200 rows each: the deployment's partition is replaced by the first 600
// training samples.
TEST_CASE("convex_relu federation: the adversarial program over TLS") {
  constexpr int kClients = 3;
  constexpr int kRounds = 3;
  Federation fed(kClients);
  INFO(fed.Logs());
  datasets::Partition small = datasets::ReadPartitionFile(fed.partition());
  for (int k = 0; k < kClients; ++k) {
    small.clients[k].clear();
    for (uint32_t i = 0; i < 200; ++i)
      small.clients[k].push_back(static_cast<uint32_t>(200 * k) + i);
  }
  datasets::WritePartitionFile(small, fed.partition());
  Process& coordinator = fed.StartCoordinator(
      "coordinator",
      {"port=0", "run_name=convex", "strategy=convex_relu", "model=convex_relu:784-1-10-3",
       "rounds=" + std::to_string(kRounds), "clients_per_round=3", "min_clients=3", "heartbeat=1",
       "convex_beta=1", "convex_rho=1", "convex_inner_iters=2", "convex_adversarial_eps=0.05",
       "test_subset=500"});
  const int port = fed.WaitListening(coordinator);
  fed.StartClients(kClients, port);
  fed.RequireRunCompleted(coordinator);
  CHECK(Contains(fed.ClientLog(0), "training convex_relu:784-1-10-3"));

  storage::ExperimentLog log(fed.db());
  const auto run = log.FindRun("convex");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  for (const storage::RoundRecord& r : log.Rounds(run->id)) {
    CAPTURE(r.round);
    CHECK(r.aggregated);
    CHECK(r.completed == kClients);
  }
  const auto evals = log.Evaluations(run->id);
  REQUIRE(evals.size() == static_cast<size_t>(kRounds + 1));
  MESSAGE("robust accuracy " << evals.front().accuracy << " -> " << evals.back().accuracy);
  CHECK(evals.back().accuracy > evals.front().accuracy + 0.3);
}

}  // namespace edgefl::coordinator
