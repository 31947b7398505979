// keep_client_models over TLS: the real coordinator with real edgefl-client
// processes stores the clients' local models exactly as the simulator does
// (both go through the engine's RunExperiment), bounded the same way.
#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "storage/experiment_log.h"
#include "tests/coordinator/federation_util.h"

namespace edgefl::coordinator {
namespace {

using edgefl::testing::Federation;
using edgefl::testing::Process;

TEST_CASE("client models federation: a TLS run with keep_client_models stores the local models") {
  constexpr int kClients = 2;
  Federation fed(kClients);
  INFO(fed.Logs());
  Process& coordinator = fed.StartCoordinator(
      "coordinator", {"port=0", "run_name=keep", "rounds=3", "clients_per_round=2", "min_clients=2",
                      "heartbeat=1", "model=mlp:784-32-10", "test_subset=500",
                      "keep_client_models=2", "client_models_per_round=2"});
  const int port = fed.WaitListening(coordinator);
  fed.StartClients(kClients, port);
  fed.RequireRunCompleted(coordinator);

  storage::ExperimentLog log(fed.db());
  const auto run = log.FindRun("keep");
  REQUIRE(run.has_value());
  CHECK(log.ClientModelRounds(run->id) == std::vector<int64_t>{2, 3});
  const std::vector<storage::ClientModel> models = log.ReadClientModels(run->id, 3);
  REQUIRE(models.size() == 2);
  CHECK(models[0].client_id == Federation::ClientName(0));
  CHECK(models[1].client_id == Federation::ClientName(1));
  // FedAvg: the sample-weighted mean of the two local models is the global
  // model of the round, so what was stored is what the clients sent.
  std::map<std::string, double> weight;
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(run->id)) {
    if (u.round == 3) weight[u.client_id] = static_cast<double>(u.num_samples);
  }
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(models[0].parameters.size());
  double total = 0.0;
  for (const storage::ClientModel& m : models) {
    mean += weight.at(m.client_id) * m.parameters.cast<double>();
    total += weight.at(m.client_id);
  }
  mean /= total;
  const Eigen::VectorXf global = log.ReadCheckpoint(run->id, 3)->parameters;
  CHECK((mean - global.cast<double>()).cwiseAbs().maxCoeff() < 1e-5);
}

}  // namespace
}  // namespace edgefl::coordinator
