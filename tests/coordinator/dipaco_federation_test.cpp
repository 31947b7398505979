// DiPaCo over the real deployment: edgefl-coordinator and 4 edgefl-client
// processes over mutual TLS (scripts/federation.sh). Each task carries one
// path of a 2×2 module grid, so a client's frames are a path's size, not the
// grid's; the log keeps the grid and the routed evaluation improves. With
// shards from `edgefl partition --scheme kmeans`, the run is the
// simulator's, bit for bit.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/module_grid.h"
#include "datasets/kmeans_partition.h"
#include "datasets/partition_file.h"
#include "engine/experiment_config.h"
#include "engine/experiment_data.h"
#include "sim/simulation.h"
#include "storage/experiment_log.h"
#include "tests/coordinator/federation_util.h"
#include "tests/test_util.h"

namespace edgefl::coordinator {

TEST_CASE("federation: DiPaCo clients over TLS move one path of the module grid") {
  edgefl::testing::TempDir dir;
  const std::string command =
      std::string("EDGEFL_BUILD_DIR=") + edgefl::testing::BinaryDir() +
      " EDGEFL_DATA_DIR=" + edgefl::testing::FashionMnistDir().string() + " bash " +
      edgefl::testing::SourceDir() + "/scripts/federation.sh " + dir.path().string() +
      " 4 --set rounds=3 --set model=mlp:784-32-32-10 --set strategy=dipaco --set levels=2"
      " --set modules=2 --set momentum=0 --set lr=0.05 --set local_epochs=0"
      " --set local_steps=20 --set train_subset=4000 --set test_subset=1000";
  std::string output;
  const int rc = edgefl::testing::RunCommand(command, &output);
  INFO(output);
  REQUIRE(rc == 0);

  storage::ExperimentLog log(dir / "federation.db");
  const auto run = log.FindRun("federation");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == 3);
  for (const auto& r : rounds)
    CHECK(r.completed == 4);
  // A path: dense 784→32, dense 32→32 | dense 32→10 (levels split 2 + 1 layers).
  const int64_t path_bytes = 4 * (784 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10);
  const auto updates = log.ClientUpdates(run->id);
  REQUIRE(updates.size() == 12);
  for (const auto& u : updates) {
    // The frames sent and received: one path plus a few hundred bytes.
    CHECK(u.bytes_out > path_bytes);
    CHECK(u.bytes_out < path_bytes + path_bytes / 50);
    CHECK(u.bytes_in > path_bytes);
    CHECK(u.bytes_in < path_bytes + path_bytes / 50);
  }
  // The coordinator keeps the grid: two modules per level.
  CHECK(log.LatestCheckpoint(run->id)->parameters.size() == 2 * path_bytes / 4);
  const auto evals = log.Evaluations(run->id);
  REQUIRE(evals.size() == 4);
  CHECK(evals.back().num_samples == 1000);
  CHECK(evals.back().accuracy > evals.front().accuracy + 0.3);
}

}  // namespace edgefl::coordinator

namespace edgefl::testing {
namespace {

// The run both sides make: examples/dipaco.toml (a 2×2 grid, 4 paths) on 4
// clients whose data is the k-means partition of the first 4000 training
// samples (4 routes: client k holds route k mod 4, the path k mod 4 it is
// given).
std::vector<std::string> DipacoSettings() {
  return {"clients=4",
          "clients_per_round=4",
          "rounds=3",
          "kmeans_clusters=4",
          "train_subset=4000",
          "test_subset=1000",
          "model=mlp:784-32-32-10",
          "seed=1",
          "data_path=" + FashionMnistDir().string()};
}

}  // namespace

TEST_CASE("federation: DiPaCo over TLS on edgefl partition kmeans shards is the simulator's run") {
  Federation fed(4);
  const std::filesystem::path certs = fed.dir() / "certs";
  const std::filesystem::path shards = fed.dir() / "kmeans.partition";
  // Client certificates named as the simulator's clients (sim-000K), so the
  // per-client seeds and paths (algorithms/module_grid.h, PathOfClient) are
  // the simulator's; the shards from the tool, as a deployment makes them.
  std::string command;
  for (int k = 0; k < 4; ++k) {
    command += EdgeflTool() + " certs issue-client sim-000" + std::to_string(k) + " --dir " +
               certs.string() + " && ";
  }
  command += EdgeflTool() + " partition --dataset fmnist --data-dir " + FashionMnistDir().string() +
             " --scheme kmeans --clusters 4 --clients 4 --seed 1 --train-subset 4000 -q --out " +
             shards.string();
  std::string output;
  REQUIRE_MESSAGE(RunCommand(command, &output) == 0, output);
  CHECK(output.find("client k holds route k mod 4") != std::string::npos);

  // The simulator's run, in-process; its partition is the tool's, shard for
  // shard, and every shard lies on the route of its client's path.
  std::vector<std::string> sim_settings = DipacoSettings();
  sim_settings.push_back("db=" + (fed.dir() / "sim.db").string());
  sim_settings.push_back("run_name=sim");
  const engine::ExperimentConfig config = engine::LoadExperimentConfig(
      std::filesystem::path(edgefl::testing::SourceDir()) / "examples/dipaco.toml", sim_settings);
  const engine::ExperimentData data = engine::LoadExperimentData(config);
  const datasets::Partition written = datasets::ReadPartitionFile(shards);
  REQUIRE(written.num_clients() == 4);
  CHECK(written.num_samples == 4000);
  CHECK(written.spec.scheme == datasets::PartitionScheme::kKMeans);
  const std::vector<size_t> routes =
      datasets::PartitionRouter(data.partition.spec, data.train).RouteAll(data.train);
  for (size_t k = 0; k < 4; ++k) {
    CAPTURE(k);
    CHECK(written.clients[k] == data.partition.clients[k]);
    const size_t path = algorithms::PathOfClient("sim-000" + std::to_string(k), 4);
    CHECK(path == k);
    for (uint32_t i : written.clients[k])
      REQUIRE(routes[i] == path);
  }
  sim::RunSimulation(config, nullptr);

  // The same run over TLS: a coordinator and 4 edgefl-client processes,
  // each loading its shard from the tool's file.
  std::vector<std::unique_ptr<Process>> processes;
  std::vector<std::string> argv = {edgefl::testing::BinaryDir() + "/coordinator/edgefl-coordinator",
                                   "--config",
                                   edgefl::testing::SourceDir() + "/examples/dipaco.toml"};
  std::vector<std::string> settings = DipacoSettings();
  for (const std::string& s :
       {std::string("port=0"), std::string("min_clients=4"),
        "cert=" + (certs / "server.crt").string(), "key=" + (certs / "server.key").string(),
        "ca=" + (certs / "ca.crt").string(), "db=" + fed.db().string(),
        std::string("run_name=tls")})
    settings.push_back(s);
  for (const std::string& s : settings) {
    argv.push_back("--set");
    argv.push_back(s);
  }
  processes.push_back(std::make_unique<Process>("coordinator", std::move(argv),
                                                fed.dir() / "coordinator.out",
                                                fed.dir() / "coordinator.log"));
  Process& coordinator = *processes.back();
  const int port = fed.WaitListening(coordinator);
  for (int k = 0; k < 4; ++k) {
    const std::string id = "sim-000" + std::to_string(k);
    processes.push_back(std::make_unique<Process>(
        id,
        std::vector<std::string>{
            edgefl::testing::BinaryDir() + "/client/edgefl-client", "--coordinator",
            "127.0.0.1:" + std::to_string(port), "--cert", (certs / (id + ".crt")).string(),
            "--key", (certs / (id + ".key")).string(), "--ca", (certs / "ca.crt").string(),
            "--data", shards.string(), "--index", std::to_string(k), "--data-dir",
            FashionMnistDir().string(), "--retry-for", "30"},
        fed.dir() / (id + ".out"), fed.dir() / (id + ".log")));
  }
  std::string logs;
  for (const auto& p : processes)
    logs += "== " + p->Describe() + "\n" + ReadIfExists(p->err());
  INFO(logs);
  REQUIRE_MESSAGE(coordinator.Wait(kRunTimeout), "the coordinator did not finish the run");
  REQUIRE_MESSAGE(coordinator.ExitedWith(0), ReadIfExists(fed.dir() / "coordinator.log"));

  storage::ExperimentLog sim_log(fed.dir() / "sim.db", ReadOnly());
  storage::ExperimentLog tls_log(fed.db(), ReadOnly());
  const auto sim_run = sim_log.FindRun("sim");
  const auto tls_run = tls_log.FindRun("tls");
  REQUIRE(sim_run.has_value());
  REQUIRE(tls_run.has_value());
  CHECK(tls_run->status == storage::RunStatus::kCompleted);
  // Each client moved one path, the one its shard was routed to: the grid
  // both sides end with is the same to the last bit, and so is the routed
  // evaluation of every round.
  const auto sim_grid = sim_log.LatestCheckpoint(sim_run->id);
  const auto tls_grid = tls_log.LatestCheckpoint(tls_run->id);
  REQUIRE(sim_grid.has_value());
  REQUIRE(tls_grid.has_value());
  CHECK(sim_grid->round == 3);
  CHECK(tls_grid->round == 3);
  REQUIRE(sim_grid->parameters.size() == tls_grid->parameters.size());
  CHECK(std::memcmp(sim_grid->parameters.data(), tls_grid->parameters.data(),
                    sizeof(float) * static_cast<size_t>(sim_grid->parameters.size())) == 0);
  const auto sim_evals = sim_log.Evaluations(sim_run->id);
  const auto tls_evals = tls_log.Evaluations(tls_run->id);
  REQUIRE(sim_evals.size() == 4);
  REQUIRE(tls_evals.size() == 4);
  for (size_t r = 0; r < 4; ++r) {
    CAPTURE(r);
    CHECK(tls_evals[r].accuracy == sim_evals[r].accuracy);
    CHECK(tls_evals[r].loss == sim_evals[r].loss);
  }
  CHECK(tls_evals.back().accuracy > tls_evals.front().accuracy + 0.3);
  // Client k's task carried path k: its frames are a path's size, and the
  // updates the coordinator logged are the simulator's, client by client.
  const int64_t path_bytes = 4 * (784 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10);
  const auto sim_updates = sim_log.ClientUpdates(sim_run->id);
  const auto tls_updates = tls_log.ClientUpdates(tls_run->id);
  REQUIRE(tls_updates.size() == 12);
  REQUIRE(sim_updates.size() == 12);
  for (size_t i = 0; i < tls_updates.size(); ++i) {
    CAPTURE(tls_updates[i].client_id);
    CHECK(tls_updates[i].client_id == sim_updates[i].client_id);
    CHECK(tls_updates[i].num_samples == sim_updates[i].num_samples);
    CHECK(tls_updates[i].loss_after == sim_updates[i].loss_after);
    CHECK(tls_updates[i].bytes_in > path_bytes);
    CHECK(tls_updates[i].bytes_in < path_bytes + path_bytes / 50);
  }
}

}  // namespace edgefl::testing
