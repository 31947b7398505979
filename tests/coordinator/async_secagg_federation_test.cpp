// Asynchronous FedBuff with SecAgg+ and distributed DP between real
// processes (docs/algorithms.md "Privacy in async mode"): each
// edgefl-client keeps its update and reports ready; every K ready clients
// are a secure cohort run over mutual TLS, each told its staleness weight
// (SecAggCohort, frame 26) and adding its share of the noise; the
// coordinator only ever holds the unmasked, noised sum. The model learns,
// ε rises by one step per model version; one client SIGKILLed at a cohort's
// masking stage is tolerated (the cohort's threshold holds) and the run goes
// on with the others.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "privacy/rdp_accountant.h"
#include "storage/experiment_log.h"
#include "tests/coordinator/federation_util.h"

namespace edgefl::coordinator {
namespace {

using edgefl::testing::Contains;
using edgefl::testing::Federation;
using edgefl::testing::kRunTimeout;
using edgefl::testing::kStartTimeout;
using edgefl::testing::Process;

constexpr int kAsyncSecaggFederationClients = 5;
constexpr int64_t kAsyncSecaggFederationVersions = 8;

// The async secure run's coordinator settings, plus `more`.
std::vector<std::string> AsyncSecaggFederationSettings(const std::string& run,
                                                       std::vector<std::string> more) {
  std::vector<std::string> s = {"port=0",
                                "run_name=" + run,
                                "mode=async",
                                "strategy=fedbuff",
                                "buffer_size=4",
                                "rounds=" + std::to_string(kAsyncSecaggFederationVersions),
                                "min_clients=5",
                                "clients=5",
                                "clients_per_round=5",
                                "model=mlp:784-32-10",
                                "local_steps=40",
                                "batch_size=32",
                                "lr=0.05",
                                "momentum=0",
                                "eval_every=" + std::to_string(kAsyncSecaggFederationVersions),
                                "test_subset=2000",
                                "heartbeat=1",
                                "secure_aggregation=true",
                                "secagg_clip_range=8"};
  s.insert(s.end(), more.begin(), more.end());
  return s;
}

}  // namespace

TEST_CASE("async secagg federation: a client killed at the mask stage of its cohort is tolerated") {
  Federation fed(kAsyncSecaggFederationClients);
  INFO(fed.Logs());
  Process& coordinator =
      fed.StartCoordinator("coordinator", AsyncSecaggFederationSettings("async-dropout", {}));
  const int port = fed.WaitListening(coordinator);
  for (int k = 0; k < kAsyncSecaggFederationClients - 1; ++k)
    fed.StartClient(k, port);
  // Five clients, cohorts of four: it is in the first or the second cohort.
  fed.StartClientAs(kAsyncSecaggFederationClients - 1, port, "client-4-dies",
                    {"--test-die-at-secagg-stage", "mask"});
  REQUIRE_MESSAGE(coordinator.Wait(kRunTimeout), "the coordinator did not finish");
  CHECK(coordinator.ExitedWith(0));

  storage::ExperimentLog log(fed.db());
  const auto run = log.FindRun("async-dropout");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  CHECK(log.Rounds(run->id).size() == static_cast<size_t>(kAsyncSecaggFederationVersions));
  int short_versions = 0;
  for (const storage::RoundRecord& r : log.Rounds(run->id))
    short_versions += r.completed == 3;
  CHECK(short_versions == 1);  // its cohort was unmasked without it
  bool dropped = false;
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(run->id)) {
    if (u.client_id == Federation::ClientName(kAsyncSecaggFederationClients - 1) &&
        u.status == storage::UpdateStatus::kDropped) {
      dropped = u.reason.find("masked input") != std::string::npos;
    }
  }
  CHECK(dropped);
  CHECK(Contains(coordinator.err(), "unmasked (1 dropped out)"));
}

TEST_CASE("async secagg federation: fedbuff cohorts over TLS with distributed DP learn") {
  Federation fed(kAsyncSecaggFederationClients);
  INFO(fed.Logs());
  Process& coordinator = fed.StartCoordinator(
      "coordinator",
      AsyncSecaggFederationSettings(
          "async-secure", {"dp=true", "dp_noise_multiplier=0.05", "dp_clip=2", "dp_delta=1e-3"}));
  const int port = fed.WaitListening(coordinator);
  for (int k = 0; k < kAsyncSecaggFederationClients - 1; ++k)
    fed.StartClient(k, port);
  // Slower, so the cohorts mix fresh and stale updates.
  fed.StartClient(kAsyncSecaggFederationClients - 1, port, {"--slowdown", "3"});
  REQUIRE_MESSAGE(coordinator.Wait(kRunTimeout), "the coordinator did not finish");
  CHECK(coordinator.ExitedWith(0));
  for (const auto& client : fed.clients()) {
    REQUIRE(client->Wait(kStartTimeout));
    CHECK(client->ExitedWith(0));
  }

  storage::ExperimentLog log(fed.db());
  const auto run = log.FindRun("async-secure");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == static_cast<size_t>(kAsyncSecaggFederationVersions));
  // One subsampled Gaussian step (q = K/N = 4/5) per version.
  const privacy::RdpAccountant accountant(0.8, 0.05);
  for (const storage::RoundRecord& r : rounds) {
    CAPTURE(r.round);
    CHECK(r.metrics.at("epsilon") ==
          doctest::Approx(accountant.SpentAfter(r.round, 1e-3).epsilon).epsilon(1e-12));
    CHECK(r.metrics.count("secagg_k") == 1);
  }
  int accepted = 0, stale = 0;
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(run->id)) {
    if (u.status != storage::UpdateStatus::kAccepted) continue;
    ++accepted;
    stale += u.staleness > 0;
  }
  CHECK(accepted == 4 * kAsyncSecaggFederationVersions);  // every cohort of four unmasked in full
  CHECK(stale >
        0);  // five clients, cohorts of four: the one left out reports against an older model
  const auto evals = log.Evaluations(run->id);
  REQUIRE(evals.size() == 2);
  CHECK(evals.back().accuracy > evals.front().accuracy + 0.2);
  // The clients kept their updates, joined cohorts and added their noise.
  bool joined = false, noised = false, kept = false;
  for (int k = 0; k < kAsyncSecaggFederationClients; ++k) {
    const std::string path = fed.ClientLog(k);
    joined = joined || Contains(path, "joins secure cohort");
    noised = noised || Contains(path, "distributed DP: clip 2");
    kept = kept || Contains(path, "update kept for secure aggregation");
  }
  CHECK(joined);
  CHECK(noised);
  CHECK(kept);
  CHECK(Contains(coordinator.err(), "async: secure cohort 1 of 4 unmasked"));
}

}  // namespace edgefl::coordinator
