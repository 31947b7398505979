// FedBR in the real deployment: an edgefl-coordinator and three
// edgefl-client processes over mutual TLS. Before the first round each
// client uploads only means of groups of its own samples (an EvalTask with
// a pseudo-data request, docs/protocol.md); the coordinator assembles the
// pool and sends it with every TrainTask. Every client must train against
// the very pool the simulator builds from all shares for the same seed
// (algorithms/fedbr_pseudo_data.h), not one made from its own share.
#include <cstdio>
#include <signal.h>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/fedbr_pseudo_data.h"
#include "client/local_data.h"
#include "storage/experiment_log.h"
#include "tests/coordinator/federation_util.h"
#include "tests/test_util.h"

namespace edgefl::coordinator {
namespace {

using namespace std::chrono_literals;
using edgefl::testing::Contains;
using edgefl::testing::Federation;
using edgefl::testing::FreePort;
using edgefl::testing::kRunTimeout;
using edgefl::testing::Occurrences;
using edgefl::testing::PollUntil;
using edgefl::testing::Process;
using edgefl::testing::ReadIfExists;
using edgefl::testing::ReadOnly;
using edgefl::testing::Scaled;

std::string Hex(uint64_t v) {
  char text[32];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(v));
  return text;
}

// The simulator's pool for the first `n` shares of the federation's
// partition, as a fingerprint in the clients' log format.
std::string ExpectedPool(Federation& fed, int n) {
  std::vector<datasets::Dataset> shares;
  for (int k = 0; k < n; ++k) {
    shares.push_back(client::LoadClientData(fed.partition(), static_cast<size_t>(k),
                                            testing::FashionMnistDir()));
  }
  std::vector<const datasets::Dataset*> fleet;
  for (const datasets::Dataset& s : shares)
    fleet.push_back(&s);
  return Hex(algorithms::PseudoDataFingerprint(algorithms::BuildPseudoDataPool(fleet, 32, 10, 3)));
}

}  // namespace

TEST_CASE("fedbr federation: every TLS client trains against the simulator's pool of all shares") {
  constexpr int kClients = 3;
  constexpr int kRounds = 2;
  Federation fed(kClients);
  INFO(fed.Logs());
  Process& coordinator = fed.StartCoordinator(
      "coordinator", {"port=0", "run_name=fedbr", "strategy=fedbr", "model=mlp:784-32-10+proj",
                      "rounds=" + std::to_string(kRounds), "local_steps=10", "batch_size=32",
                      "lr=0.05", "momentum=0", "pool_size=32", "pool_images=10", "pool_seed=3",
                      "test_subset=1000", "min_clients=3", "clients_per_round=3", "heartbeat=1"});
  const int port = fed.WaitListening(coordinator);
  fed.StartClients(kClients, port);
  fed.RequireRunCompleted(coordinator);

  // The simulator's pool: every share, in client order, the same seed.
  std::vector<datasets::Dataset> shares;
  for (int k = 0; k < kClients; ++k) {
    shares.push_back(client::LoadClientData(fed.partition(), static_cast<size_t>(k),
                                            testing::FashionMnistDir()));
  }
  std::vector<const datasets::Dataset*> fleet;
  for (const datasets::Dataset& s : shares)
    fleet.push_back(&s);
  const std::string expected =
      Hex(algorithms::PseudoDataFingerprint(algorithms::BuildPseudoDataPool(fleet, 32, 10, 3)));
  const datasets::Dataset* own[] = {fleet.front()};
  const std::string own_pool =
      Hex(algorithms::PseudoDataFingerprint(algorithms::BuildPseudoDataPool(own, 32, 10, 3)));
  CHECK(own_pool != expected);

  int means_sent = 0;
  for (int k = 0; k < kClients; ++k) {
    CAPTURE(k);
    const std::string log = ReadIfExists(fed.ClientLog(k));
    // One upload, then the coordinator's pool in every round's task.
    CHECK(Occurrences(log, "FedBR pseudo-data means of 10 samples each") == 1);
    CHECK(Occurrences(log, "FedBR pseudo-data pool of 32 from the coordinator (" + expected +
                               ")") == kRounds);
    const size_t at = log.find("sent ");
    REQUIRE(at != std::string::npos);
    means_sent += std::stoi(log.substr(at + 5));
  }
  CHECK(means_sent == 32);  // each pseudo-sample comes from one client's upload
  CHECK(Occurrences(ReadIfExists(fed.dir() / "coordinator.log"),
                    "FedBR pseudo-data means received") == kClients);

  storage::ExperimentLog log(fed.db());
  const auto run = log.FindRun("fedbr");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == static_cast<size_t>(kRounds));
  for (const storage::RoundRecord& r : rounds) {
    CAPTURE(r.round);
    CHECK(r.aggregated);
    CHECK(r.completed == kClients);
  }
}

TEST_CASE(
    "fedbr federation: a coordinator killed and restarted keeps the run's pool when a client is "
    "gone") {
  constexpr int kClients = 3;
  constexpr int kRounds = 4;
  Federation fed(kClients);
  INFO(fed.Logs());
  const int port = FreePort();
  std::vector<std::string> settings = {"port=" + std::to_string(port),
                                       "run_name=fedbr-resume",
                                       "strategy=fedbr",
                                       "model=mlp:784-32-10+proj",
                                       "rounds=" + std::to_string(kRounds),
                                       "local_steps=10",
                                       "batch_size=32",
                                       "lr=0.05",
                                       "momentum=0",
                                       "pool_size=32",
                                       "pool_images=10",
                                       "pool_seed=3",
                                       "test_subset=1000",
                                       "clients_per_round=3",
                                       "heartbeat=1"};
  settings.push_back("min_clients=3");
  Process& first = fed.StartCoordinator("coordinator-1", settings);
  REQUIRE(fed.WaitListening(first) == port);
  fed.StartClients(kClients, port);
  REQUIRE_MESSAGE(
      PollUntil([&] { return Contains(first.out(), "round 2/") || !first.Running(); }, kRunTimeout),
      "round 2 was not committed");
  REQUIRE(first.Running());
  first.Signal(SIGKILL);
  fed.clients().back()->Signal(SIGKILL);  // the third share is gone for good
  REQUIRE(first.Wait(Scaled(10s)));

  // Two clients are left; the pool the run started with came from three.
  settings.back() = "min_clients=2";
  Process& second = fed.StartCoordinator("coordinator-2", settings);
  REQUIRE_MESSAGE(second.Wait(kRunTimeout), "the restarted coordinator did not finish the run");
  REQUIRE_MESSAGE(second.ExitedWith(0), second.Describe());
  for (int k = 0; k < 2; ++k) {
    Process& client = *fed.clients()[static_cast<size_t>(k)];
    REQUIRE_MESSAGE(client.Wait(Scaled(30s)), client.Describe());
    CHECK_MESSAGE(client.ExitedWith(0), client.Describe());
  }
  CHECK(Contains(second.out(), "resuming run 'fedbr-resume'"));

  const std::string all_shares = ExpectedPool(fed, kClients);
  CHECK(all_shares != ExpectedPool(fed, 2));
  for (int k = 0; k < 2; ++k) {
    CAPTURE(k);
    const std::string log = ReadIfExists(fed.ClientLog(k));
    // Asked for means once, by the first coordinator; every task of both
    // coordinators carries the pool of all three shares.
    CHECK(Occurrences(log, "FedBR pseudo-data means of 10 samples each") == 1);
    CHECK(Occurrences(log, "FedBR pseudo-data pool of 32 from the coordinator (" + all_shares +
                               ")") >= kRounds);
    CHECK(Occurrences(log, "FedBR pseudo-data pool of 32 from the coordinator (") ==
          Occurrences(log, "FedBR pseudo-data pool of 32 from the coordinator (" + all_shares));
  }
  storage::ExperimentLog log(fed.db(), ReadOnly());
  const auto run = log.FindRun("fedbr-resume");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  const std::optional<Eigen::MatrixXf> pool = log.PseudoDataPool(run->id);
  REQUIRE(pool.has_value());
  CHECK(pool->rows() == 784);
  CHECK(pool->cols() == 32);
}

TEST_CASE("fedbr federation: async FedBuff clients over TLS train against the pool of all shares") {
  constexpr int kClients = 3;
  Federation fed(kClients);
  INFO(fed.Logs());
  Process& coordinator = fed.StartCoordinator(
      "coordinator",
      {"port=0", "run_name=fedbr-async", "mode=async", "strategy=fedbuff", "buffer_size=3",
       "local_objective=fedbr", "model=mlp:784-32-10+proj", "rounds=3", "local_steps=10",
       "batch_size=32", "lr=0.05", "momentum=0", "pool_size=32", "pool_images=10", "pool_seed=3",
       "test_subset=1000", "min_clients=3", "clients_per_round=3", "heartbeat=1"});
  const int port = fed.WaitListening(coordinator);
  fed.StartClients(kClients, port);
  fed.RequireRunCompleted(coordinator);
  CHECK(Contains(fed.dir() / "coordinator.log",
                 "async: FedBR pseudo-data pool of 32 built from the means of 3 clients"));

  const std::string all_shares = ExpectedPool(fed, kClients);
  for (int k = 0; k < kClients; ++k) {
    CAPTURE(k);
    const std::string log = ReadIfExists(fed.ClientLog(k));
    CHECK(Occurrences(log, "FedBR pseudo-data means of 10 samples each") == 1);
    // Every task carries the coordinator's pool, never one of its own share.
    const int tasks = Occurrences(log, "FedBR pseudo-data pool of 32 from the coordinator (");
    CHECK(tasks >= 1);
    CHECK(Occurrences(log, "FedBR pseudo-data pool of 32 from the coordinator (" + all_shares +
                               ")") == tasks);
  }
  // Stored for a resume, as a synchronous run's.
  storage::ExperimentLog log(fed.db(), ReadOnly());
  const auto run = log.FindRun("fedbr-async");
  REQUIRE(run.has_value());
  const std::optional<Eigen::MatrixXf> pool = log.PseudoDataPool(run->id);
  REQUIRE(pool.has_value());
  CHECK(Hex(algorithms::PseudoDataFingerprint(*pool)) == all_shares);
}

}  // namespace edgefl::coordinator
