// Secure aggregation (SecAgg+) between real processes: the coordinator
// drives the stages over mutual TLS (frames 16-25, docs/protocol.md) and
// edgefl-client answers them from the update it kept; the coordinator never
// receives a client's parameters. The model equals the plain run's within
// quantisation; a client SIGKILLed after sending its masked input is still
// in the sum (its self mask rebuilt from t shares), one killed before it is
// left out (its pairwise masks rebuilt from its mask key's shares) and the
// sum is the survivors' weighted mean.
#include <map>
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
using edgefl::testing::Process;

constexpr int kSecaggFederationClients = 5;

std::vector<std::string> SecaggFederationSettings(const std::string& run, int rounds, bool secure) {
  std::vector<std::string> s = {"port=0",
                                "run_name=" + run,
                                std::string("rounds=") + std::to_string(rounds),
                                "clients_per_round=5",
                                "min_clients=5",
                                "heartbeat=1",
                                "model=mlp:784-32-10",
                                "test_subset=200",
                                "local_epochs=0",
                                "local_steps=10"};
  if (secure) {
    s.push_back("secure_aggregation=true");
    s.push_back("secagg_t=3");
    // Every client's sample count below W: the weighted mean is exact.
    s.push_back("secagg_max_weight=100000");
  } else {
    s.push_back("keep_client_models=1");
    s.push_back("client_models_per_round=5");
  }
  return s;
}

// Runs `run` with clients 0..4; client 4 gets `last_args` and, when it
// dies, is not waited for.
void Run(Federation& fed, const std::vector<std::string>& settings,
         const std::vector<std::string>& last_args = {}) {
  Process& coordinator = fed.StartCoordinator(settings[1].substr(9), settings);
  const int port = fed.WaitListening(coordinator);
  for (int k = 0; k < kSecaggFederationClients - 1; ++k)
    fed.StartClient(k, port);
  if (last_args.empty()) {
    fed.StartClient(kSecaggFederationClients - 1, port);
  } else {
    fed.StartClientAs(kSecaggFederationClients - 1, port, "client-4-dies", last_args);
  }
  fed.RequireRunCompleted(coordinator);
}

Eigen::VectorXf Checkpoint(storage::ExperimentLog& log, const std::string& run, int64_t round) {
  const auto r = log.FindRun(run);
  REQUIRE(r.has_value());
  return log.ReadCheckpoint(r->id, round)->parameters;
}

double MaxDiff(const Eigen::VectorXf& a, const Eigen::VectorXf& b) {
  REQUIRE(a.size() == b.size());
  return (a.cast<double>() - b.cast<double>()).cwiseAbs().maxCoeff();
}

}  // namespace

TEST_CASE("secagg federation: 5 TLS clients with secure aggregation end at the plain run's model") {
  Federation fed(kSecaggFederationClients);
  INFO(fed.Logs());
  Run(fed, SecaggFederationSettings("plain", 2, false));
  Run(fed, SecaggFederationSettings("secure", 2, true));

  storage::ExperimentLog log(fed.db());
  const double diff = MaxDiff(Checkpoint(log, "secure", 2), Checkpoint(log, "plain", 2));
  CHECK(diff < 1e-4);
  const auto rounds = log.Rounds(log.FindRun("secure")->id);
  REQUIRE(rounds.size() == 2);
  for (const storage::RoundRecord& r : rounds) {
    CHECK(r.aggregated);
    CHECK(r.metrics.at("secagg_contributors") == 5);
    CHECK(r.metrics.at("secagg_t") == 3);
  }
  // What the coordinator received of each client: its stage messages (the
  // masked input among them) and a result frame of statistics, no model.
  std::map<int64_t, double> frames;  // per round: the rows' bytes in beyond the stages
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(log.FindRun("secure")->id)) {
    frames[u.round] += static_cast<double>(u.bytes_in);
  }
  for (const storage::RoundRecord& r : rounds) {
    const double beyond = frames[r.round] - r.metrics.at("secagg_bytes_up");
    CHECK(beyond > 0);
    CHECK(beyond < kSecaggFederationClients * 4096.0);
  }
  CHECK(Contains(fed.ClientLog(0), "update kept for secure aggregation"));
  CHECK(Contains(fed.ClientLog(0), "secure aggregation done"));
}

TEST_CASE(
    "secagg federation: a client SIGKILLed after its masked input stays in the sum - one "
    "killed before it is left out") {
  Federation fed(kSecaggFederationClients);
  INFO(fed.Logs());
  Run(fed, SecaggFederationSettings("plain", 1, false));
  Run(fed, SecaggFederationSettings("after", 1, true), {"--test-die-at-secagg-stage", "unmask"});
  Run(fed, SecaggFederationSettings("before", 1, true), {"--test-die-at-secagg-stage", "mask"});

  storage::ExperimentLog log(fed.db());
  const Eigen::VectorXf plain = Checkpoint(log, "plain", 1);
  // Killed after its masked input: all five are summed, as in the plain run.
  CHECK(MaxDiff(Checkpoint(log, "after", 1), plain) < 1e-5);
  const auto after = log.Rounds(log.FindRun("after")->id);
  REQUIRE(after.size() == 1);
  CHECK(after[0].aggregated);
  CHECK(after[0].metrics.at("secagg_contributors") == 5);
  CHECK(after[0].metrics.at("secagg_recovered") == 0);

  // Killed before: the weighted mean of the other four local models (the
  // plain run kept them; same seeds, same training).
  const auto before = log.Rounds(log.FindRun("before")->id);
  REQUIRE(before.size() == 1);
  CHECK(before[0].aggregated);
  CHECK(before[0].metrics.at("secagg_contributors") == 4);
  CHECK(before[0].metrics.at("secagg_recovered") == 1);
  const int64_t plain_id = log.FindRun("plain")->id;
  std::map<std::string, double> weight;
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(plain_id))
    weight[u.client_id] = static_cast<double>(u.num_samples);
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(plain.size());
  double total = 0;
  int summed = 0;
  for (const storage::ClientModel& m : log.ReadClientModels(plain_id, 1)) {
    if (m.client_id == Federation::ClientName(kSecaggFederationClients - 1)) continue;
    mean += weight.at(m.client_id) * m.parameters.cast<double>();
    total += weight.at(m.client_id);
    ++summed;
  }
  REQUIRE(summed == 4);
  mean /= total;
  CHECK(MaxDiff(Checkpoint(log, "before", 1), mean.cast<float>()) < 1e-5);
  bool dropped_logged = false;
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(log.FindRun("before")->id)) {
    if (u.client_id == Federation::ClientName(kSecaggFederationClients - 1)) {
      dropped_logged = u.reason.find("masked input") != std::string::npos;
    }
  }
  CHECK(dropped_logged);
}

TEST_CASE(
    "secagg federation: distributed DP over TLS - the clients noise and the log's epsilon is "
    "the central accountant's") {
  Federation fed(kSecaggFederationClients);
  INFO(fed.Logs());
  std::vector<std::string> settings = SecaggFederationSettings("dp", 2, true);
  for (const char* s : {"dp=true", "dp_noise_multiplier=1.0", "dp_clip=0.5", "dp_delta=1e-3"})
    settings.push_back(s);
  Run(fed, settings);

  storage::ExperimentLog log(fed.db());
  const auto rounds = log.Rounds(log.FindRun("dp")->id);
  REQUIRE(rounds.size() == 2);
  // Central DP with the same z: q = 5/5, one step per round.
  const privacy::RdpAccountant central(1.0, 1.0);
  for (size_t i = 0; i < 2; ++i) {
    CAPTURE(i);
    CHECK(rounds[i].aggregated);
    CHECK(rounds[i].metrics.at("epsilon") ==
          doctest::Approx(central.SpentAfter(static_cast<int64_t>(i) + 1, 1e-3).epsilon)
              .epsilon(1e-12));
    CHECK(rounds[i].metrics.at("dp_min_inputs") == 4);  // max(2, t = 3, 5 − ⌈0.1·5⌉)
    CHECK(rounds[i].metrics.at("secagg_contributors") == 5);
  }
  CHECK(Contains(fed.ClientLog(0), "distributed DP: clip 0.5"));
}

}  // namespace edgefl::coordinator
