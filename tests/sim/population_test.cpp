// A lazily drawn population (sim/population.h, population = "lazy"):
// a client is the same whichever round draws it, memory holds the
// candidates and a sparse history, never the population, and runs of
// 10^5 clients finish a few rounds quickly and deterministically.
#include "sim/population.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "engine/experiment_config.h"
#include "sim/heterogeneity.h"
#include "sim/population_data.h"
#include "sim/population_simulation.h"
#include "sim/simulation.h"
#include "sim/thread_pool.h"
#include "storage/experiment_log.h"
#include "tests/sim/sim_config_util.h"
#include "tests/test_util.h"

namespace edgefl::sim {
namespace {

engine::ExperimentConfig Lazy(const edgefl::testing::TempDir& dir,
                              std::vector<std::string> overrides) {
  std::vector<std::string> all = {"population=lazy",
                                  "dataset=synthetic",
                                  "partition=natural",
                                  "model=mlp:60-32-10",
                                  "clients=100000",
                                  "clients_per_round=10",
                                  "rounds=3",
                                  "local_steps=5",
                                  "batch_size=10",
                                  "lr=0.05",
                                  "test_subset=500",
                                  "threads=2",
                                  "db=" + (dir / "log.db").string()};
  all.insert(all.end(), overrides.begin(), overrides.end());
  return edgefl::testing::LoadTestConfig(std::filesystem::path(), all);
}

engine::ExperimentConfig LazyFmnist(const edgefl::testing::TempDir& dir,
                                    std::vector<std::string> overrides) {
  std::vector<std::string> all = {"dataset=fmnist", "partition=dirichlet", "alpha=0.3",
                                  "model=mlp:784-32-10", "train_subset=3000"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  return Lazy(dir, all);
}

std::string ConfigErrorOf(const std::vector<std::string>& overrides) {
  edgefl::testing::TempDir dir;
  try {
    const engine::ExperimentConfig config = Lazy(dir, overrides);
    RunSimulation(config, nullptr);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("A population client is the same whichever round draws it") {
  edgefl::testing::TempDir dir;
  const engine::ExperimentConfig config = Lazy(dir, {"clients=30", "clients_per_round=5"});
  const PopulationData data(config);
  const PopulationFleet fleet(HeterogeneityOptions{});
  ThreadPool pool(1);
  Population population(config, data, fleet, pool);
  // Find a client drawn in two different rounds and compare what it holds.
  bool compared = false;
  for (int64_t r = 1; r < 20 && !compared; ++r) {
    const std::vector<uint64_t> first = population.Candidates(r);
    CHECK(first.size() == 5);
    CHECK(first == population.Candidates(r));  // the same draw each time
    const std::vector<uint64_t> second = population.Candidates(r + 1);
    for (uint64_t k : first) {
      if (std::find(second.begin(), second.end(), k) == second.end()) continue;
      auto a = population.ClientsForRound(r);
      auto b_data = [&] {
        for (const auto& p : a) {
          if (p->info().id == PopulationClientId(k))
            return static_cast<SimulatedClientProxy&>(*p).data();
        }
        FAIL("candidate missing");
        return datasets::Dataset{};
      }();
      a.clear();
      for (const auto& p : population.ClientsForRound(r + 1)) {
        if (p->info().id != PopulationClientId(k)) continue;
        const datasets::Dataset& again = static_cast<SimulatedClientProxy&>(*p).data();
        CHECK(again.labels == b_data.labels);
        CHECK(again.features == b_data.features);
        CHECK(p->info().samples_per_second == fleet.speed(k));
        compared = true;
      }
      break;
    }
  }
  CHECK(compared);
  CHECK(PopulationClientIndex(PopulationClientId(987654)) == 987654);
  CHECK_THROWS_AS(PopulationClientIndex("sim-0001"), ConfigError);
}

TEST_CASE("The population fleet gives client k what the eager Fleet gives it") {
  HeterogeneityOptions h;
  h.speed_dist = "lognormal";
  h.speed_spread = 0.7;
  h.availability = "onoff";
  h.on_seconds = 50.0;
  h.off_seconds = 30.0;
  h.dropout = 0.2;
  h.seed = 4;
  Fleet eager(h, 20);
  const PopulationFleet lazy(h);
  for (uint64_t k = 0; k < 20; ++k) {
    CHECK(lazy.speed(k) == eager.speed(k));
    for (double t : {0.0, 17.0, 140.0, 999.0}) {
      const double from = eager.NextAvailable(k, t);
      CHECK(lazy.NextAvailable(k, t) == from);
      CHECK(lazy.OnlineUntil(k, from) == eager.OnlineUntil(k, from));
    }
    for (int64_t task = 1; task < 5; ++task)
      CHECK(lazy.DropsOut(k, task) == eager.DropsOut(k, task));
  }
}

TEST_CASE("A million-client population holds only its candidates and a sparse history") {
  // Counted, not timed: what is materialised and how many bytes are held,
  // for N = 10^3 and N = 10^6 with the same cohort.
  edgefl::testing::TempDir dir;
  size_t data_bytes[2] = {0, 0};
  int i = 0;
  for (const char* n : {"clients=1000", "clients=1000000"}) {
    const engine::ExperimentConfig config = Lazy(dir, {n, "candidates_per_round=20"});
    const PopulationData data(config);
    data_bytes[i++] = data.held_bytes();
    const PopulationFleet fleet(HeterogeneityOptions{});
    ThreadPool pool(1);
    Population population(config, data, fleet, pool);
    for (int64_t r = 1; r <= 3; ++r) {
      const auto clients = population.ClientsForRound(r);
      CHECK(clients.size() == 20);
      CHECK(population.materialised() == 20);
      // Mark half as having trained, as the engine does.
      for (size_t c = 0; c < clients.size(); c += 2) {
        ++clients[c]->info().rounds_participated;
        clients[c]->info().last_round = r;
      }
    }
    population.ClientsForRound(4);
    CHECK(population.peak_materialised() == 20);
    CHECK(population.remembered() <= 30);  // 10 a round, fewer if one came back
    CHECK(population.remembered() >= 25);
    CHECK(population.size() == static_cast<uint64_t>(config.clients));
  }
  // The fixed data (the synthetic test split of the first 100 clients) does
  // not depend on N.
  CHECK(data_bytes[0] == data_bytes[1]);
  CHECK(data_bytes[0] > 0);
}

TEST_CASE("A 10^5-client synthetic population runs a few rounds deterministically") {
  edgefl::testing::TempDir a, b;
  PopulationStats stats;
  const engine::ExperimentConfig config = Lazy(a, {});
  const SimulationResult first = RunPopulationSimulation(config, nullptr, nullptr, &stats);
  CHECK(first.last_round == 3);
  CHECK(!first.interrupted);
  CHECK(stats.peak_materialised == 10);
  // Rounds 1 and 2's members: the last round's are harvested at the next
  // draw, which never comes; 20 tasks over 10^5 clients rarely repeat one.
  CHECK(stats.remembered <= 20);
  CHECK(stats.remembered >= 19);
  const SimulationResult again = RunSimulation(Lazy(b, {}), nullptr);
  CHECK(again.final_accuracy == first.final_accuracy);
  storage::ExperimentLog log(config.db);
  const auto run = log.FindRun(config.run_name);
  REQUIRE(run.has_value());
  for (const auto& r : log.Rounds(run->id))
    CHECK(r.completed == 10);
}

TEST_CASE("On-off availability keeps the candidates that are on and drop-out cuts tasks") {
  edgefl::testing::TempDir dir;
  const engine::ExperimentConfig config =
      Lazy(dir, {"availability=onoff", "on_seconds=20", "off_seconds=20", "dropout=0.2",
                 "candidates_per_round=30", "rounds=4", "speed_spread=4", "quorum=0.5"});
  const SimulationResult run = RunSimulation(config, nullptr);
  CHECK(run.last_round == 4);
  storage::ExperimentLog log(config.db);
  const auto found = log.FindRun(config.run_name);
  REQUIRE(found.has_value());
  size_t dropped = 0;
  for (const auto& r : log.Rounds(found->id)) {
    CHECK(r.selected == 10);  // half of 30 on-off candidates are on: enough for 10
    CHECK(r.completed + r.dropped == 10);
    dropped += static_cast<size_t>(r.dropped);
  }
  CHECK(dropped > 0);  // 40 tasks at a 20% drop-out (and some go off-line)
}

TEST_CASE("Fashion-MNIST Dirichlet shares with Oort and curriculum selectors over candidates") {
  edgefl::testing::TempDir a, b;
  PopulationStats stats;
  const engine::ExperimentConfig oort =
      LazyFmnist(a, {"selector=oort", "candidates_per_round=20", "share_size_alpha=1", "rounds=4"});
  const SimulationResult run = RunPopulationSimulation(oort, nullptr, nullptr, &stats);
  CHECK(run.last_round == 4);
  CHECK(run.final_accuracy > 0.2);
  CHECK(stats.peak_materialised == 20);
  const engine::ExperimentConfig curriculum =
      LazyFmnist(b, {"selector=curriculum", "candidates_per_round=15"});
  const SimulationResult second = RunPopulationSimulation(curriculum, nullptr, nullptr, &stats);
  CHECK(second.last_round == 3);
  CHECK(stats.peak_materialised == 15);
}

TEST_CASE("A lazy run resumed after an interruption trains what the uninterrupted run trains") {
  edgefl::testing::TempDir straight, resumed;
  const std::vector<std::string> keys = {"selector=oort", "candidates_per_round=20", "rounds=6"};
  const engine::ExperimentConfig full = Lazy(straight, keys);
  RunSimulation(full, nullptr);
  engine::ExperimentConfig half = Lazy(resumed, keys);
  half.rounds = 3;
  RunSimulation(half, nullptr);
  {
    storage::ExperimentLog log(half.db);
    const auto run = log.FindRun(half.run_name);
    REQUIRE(run.has_value());
    log.EndRun(run->id, storage::RunStatus::kInterrupted, "test");
  }
  const SimulationResult result = RunSimulation(Lazy(resumed, keys), nullptr);
  CHECK(result.first_round == 4);
  auto cohorts = [](const std::string& db, const std::string& name) {
    storage::ExperimentLog log(db);
    const auto run = log.FindRun(name);
    std::map<int64_t, std::vector<std::string>> by_round;
    for (const auto& u : log.ClientUpdates(run->id))
      by_round[u.round].push_back(u.client_id);
    return std::make_pair(by_round, log.LatestCheckpoint(run->id)->parameters);
  };
  const auto [want, want_model] = cohorts(full.db, full.run_name);
  const auto [got, got_model] = cohorts(half.db, half.run_name);
  REQUIRE(want.size() == 6);
  CHECK(got == want);
  CHECK(got_model == want_model);
}

TEST_CASE("A lazy population refuses what it cannot run with a ConfigError naming the key") {
  CHECK(ConfigErrorOf({"clients=5", "clients_per_round=10"}).find("clients_per_round") !=
        std::string::npos);
  CHECK(ConfigErrorOf({"candidates_per_round=5"}).find("candidates_per_round (5) must be >=") !=
        std::string::npos);
  CHECK(ConfigErrorOf({"clients=50", "candidates_per_round=60"}).find("<= clients (50)") !=
        std::string::npos);
  CHECK(ConfigErrorOf({"mode=async"}).find("sync rounds only") != std::string::npos);
  CHECK(ConfigErrorOf({"partition=iid"}).find("partition = \"natural\"") != std::string::npos);
  CHECK(ConfigErrorOf({"dataset=fmnist", "partition=shards"}).find("\"iid\" or \"dirichlet\"") !=
        std::string::npos);
  CHECK(ConfigErrorOf({"dataset=fortunes", "partition=iid"}).find("fmnist, csv or synthetic") !=
        std::string::npos);
  CHECK(ConfigErrorOf({"compression=fp16"}).find("compression") != std::string::npos);
  CHECK(ConfigErrorOf({"population=huge"}).find("eager or lazy") != std::string::npos);
  CHECK(ConfigErrorOf({"availability=trace", "availability_trace=x.csv"}).find("traces") !=
        std::string::npos);
}

}  // namespace edgefl::sim
