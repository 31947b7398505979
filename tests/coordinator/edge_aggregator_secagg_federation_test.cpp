// Edge aggregators with secure aggregation between real processes
// (docs/edge-aggregators.md, "Secure aggregation in a tree"): each
// aggregator runs SecAgg+ over its own group of edgefl-client devices
// (frames 16-25 on the group's mutual-TLS sessions) and sends its upstream
// only the unmasked group sum. The tree ends at the flat SecAgg+ run's model
// within quantisation; the root's log holds one row per group and no device;
// a device SIGKILLed at the mask stage is recovered within its group's
// threshold, and a group that loses more than that is lost for the round,
// with the reason in both logs, while the run goes on.
#include <map>
#include <signal.h>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "storage/experiment_log.h"
#include "storage/log_check.h"
#include "tests/coordinator/federation_util.h"

namespace edgefl::coordinator {
namespace {

using edgefl::testing::Contains;
using edgefl::testing::Federation;
using edgefl::testing::Process;
using edgefl::testing::ReadOnly;
using edgefl::testing::Violations;

// Groups of 4 on the complete graph (secagg_k = 3) with t = 2: a device lost
// before its masked input leaves each survivor 2 live holders of its shares,
// enough to unmask; losing 2 of 4 leaves 1, which is not. (With 3 devices,
// k = 2 and t = 2 a single loss is already beyond the threshold.)
constexpr int kSecurePerGroup = 4;

// The run's keys, the same at the root, every aggregator and the flat run:
// a small model and few steps, SecAgg+ with t = 2, and W above every
// device's samples (so the weighted mean is FedAvg's).
std::vector<std::string> SecureGroupRunKeys() {
  return {"model=mlp:784-32-10", "test_subset=200",
          "local_epochs=0",      "local_steps=10",
          "heartbeat=1",         "secure_aggregation=true",
          "secagg_t=2",          "secagg_max_weight=100000"};
}

std::vector<std::string> SecureRootSettings(const std::string& run, int members, int rounds) {
  std::vector<std::string> s = {"port=0",
                                "run_name=" + run,
                                "rounds=" + std::to_string(rounds),
                                "clients=" + std::to_string(members),
                                "clients_per_round=" + std::to_string(members),
                                "min_clients=" + std::to_string(members)};
  for (const std::string& k : SecureGroupRunKeys())
    s.push_back(k);
  return s;
}

// Starts secure aggregator g under the root at `root_port` (with `extra`
// settings on top); returns its port.
int StartSecureAggregator(Federation& fed, int g, int root_port, std::vector<Process*>* out,
                          const std::vector<std::string>& extra = {}) {
  std::vector<std::string> s = SecureGroupRunKeys();
  s.push_back("secagg_k=3");
  s.insert(s.end(), extra.begin(), extra.end());
  Process& p = fed.StartAggregator(g, root_port, kSecurePerGroup, s);
  out->push_back(&p);
  return fed.WaitListening(p);
}

// Runs the flat SecAgg+ federation a tree is compared with: `devices`
// devices under one secure coordinator, run "flat", 2 rounds.
void RunFlatSecure(Federation& flat, int devices) {
  Process& root = flat.StartCoordinator("root", SecureRootSettings("flat", devices, 2));
  flat.StartClients(devices, flat.WaitListening(root));
  INFO(flat.Logs());
  flat.RequireRunCompleted(root);
}

// The largest coordinate difference between the flat run's final model and
// the tree's (run "tree").
double MaxDifferenceFromFlat(const Federation& flat, const Federation& tree) {
  const Eigen::VectorXf flat_model = edgefl::testing::FinalCheckpoint(flat.db(), "flat").parameters;
  const Eigen::VectorXf tree_model = edgefl::testing::FinalCheckpoint(tree.db(), "tree").parameters;
  REQUIRE(flat_model.size() == tree_model.size());
  return (flat_model.cast<double>() - tree_model.cast<double>()).cwiseAbs().maxCoeff();
}

}  // namespace

TEST_CASE(
    "edge aggregators with secure aggregation: 2 aggregators x 4 clients end at the flat SecAgg+ "
    "run's model and the root logs group rows only") {
  constexpr int kGroups = 2;
  Federation flat(kGroups * kSecurePerGroup);
  RunFlatSecure(flat, kGroups * kSecurePerGroup);
  Federation tree(kGroups * kSecurePerGroup);
  tree.IssueAggregatorCertificates(kGroups);
  std::vector<Process*> aggregators;
  std::vector<std::string> settings = SecureRootSettings("tree", kGroups, 2);
  settings.push_back("quorum_unit=samples");
  Process& root = tree.StartCoordinator("root", settings);
  const int root_port = tree.WaitListening(root);
  for (int g = 0; g < kGroups; ++g) {
    const int port = StartSecureAggregator(tree, g, root_port, &aggregators);
    for (int k = g * kSecurePerGroup; k < (g + 1) * kSecurePerGroup; ++k)
      tree.StartClient(k, port);
  }
  INFO(tree.Logs());
  tree.RequireRunCompleted(root);
  for (Process* a : aggregators) {
    REQUIRE_MESSAGE(a->Wait(std::chrono::seconds(30)), a->Describe());
    CHECK_MESSAGE(a->ExitedWith(0), a->Describe());
  }

  // The same devices, seeds and SecAgg+ weights: equal within quantisation
  // (each group rounds its own inputs; 2^32 levels over [-8, 8]).
  const double max_diff = MaxDifferenceFromFlat(flat, tree);
  MESSAGE("max |flat SecAgg+ - tree| = " << max_diff);
  CHECK(max_diff < 1e-4);

  // The devices' samples, as the flat run logged them.
  storage::ExperimentLog flat_log(flat.db(), ReadOnly());
  std::map<std::string, int64_t> device_samples;
  for (const auto& u : flat_log.ClientUpdates(flat_log.FindRun("flat")->id)) {
    if (u.round == 1) device_samples[u.client_id] = u.num_samples;
  }
  REQUIRE(device_samples.size() == kGroups * kSecurePerGroup);

  // The root: a row per group and round, its weight the group's samples,
  // about one model in from each group; no device appears.
  storage::ExperimentLog tree_log(tree.db(), ReadOnly());
  const auto tree_run = tree_log.FindRun("tree");
  REQUIRE(tree_run.has_value());
  CHECK(tree_run->status == storage::RunStatus::kCompleted);
  const int64_t model_bytes = 4 * (784 * 32 + 32 + 32 * 10 + 10);
  const auto rows = tree_log.ClientUpdates(tree_run->id);
  CHECK(rows.size() == 2 * kGroups);
  for (const auto& u : rows) {
    CAPTURE(u.client_id);
    CHECK(u.status == storage::UpdateStatus::kAccepted);
    REQUIRE(u.client_id.rfind("agg-", 0) == 0);
    const int g = std::stoi(u.client_id.substr(4));
    int64_t expected = 0;
    for (int k = g * kSecurePerGroup; k < (g + 1) * kSecurePerGroup; ++k)
      expected += device_samples.at(Federation::ClientName(k));
    CHECK(u.num_samples == expected);
    CHECK(u.bytes_in < model_bytes + model_bytes / 100);
  }
  for (const auto& r : tree_log.Rounds(tree_run->id)) {
    CHECK(r.aggregated);
    CHECK(r.completed == kGroups);
  }
  CHECK(Violations(storage::CheckLog(tree.db())).empty());

  // Each aggregator ran SecAgg+ over its 4 devices and received no model:
  // what its devices sent beyond the stage messages is a few result frames.
  for (int g = 0; g < kGroups; ++g) {
    CAPTURE(g);
    const auto path = tree.AggregatorDb(g);
    CHECK(Violations(storage::CheckLog(path)).empty());
    storage::ExperimentLog log(path, ReadOnly());
    const auto run = log.FindRun(Federation::AggregatorName(g));
    REQUIRE(run.has_value());
    const auto rounds = log.Rounds(run->id);
    REQUIRE(rounds.size() == 2);
    std::map<int64_t, double> bytes_in;
    for (const auto& u : log.ClientUpdates(run->id)) {
      CHECK(u.status == storage::UpdateStatus::kAccepted);
      bytes_in[u.round] += static_cast<double>(u.bytes_in);
    }
    for (const auto& r : rounds) {
      CHECK(r.aggregated);
      CHECK(r.metrics.at("secagg_contributors") == kSecurePerGroup);
      CHECK(r.metrics.at("secagg_t") == 2);
      const double beyond = bytes_in[r.round] - r.metrics.at("secagg_bytes_up");
      CHECK(beyond > 0);
      CHECK(beyond < kSecurePerGroup * 4096.0);
    }
  }
  CHECK(Contains(tree.ClientLog(0), "update kept for secure aggregation"));
  CHECK(Contains(tree.ClientLog(0), "secure aggregation done"));
}

TEST_CASE(
    "edge aggregators with secure aggregation: a device killed at the mask stage is recovered "
    "in its group - a group below its threshold is lost and the run goes on") {
  // agg-0: all 4 devices; agg-1: its last device dies when asked for its
  // masked input (its masks are rebuilt from the survivors' shares); agg-2:
  // two of its 4 die there (each survivor's self-mask seed then has 1 live
  // holder of a share, below t = 2), so its round has no sum.
  constexpr int kGroups = 3;
  Federation tree(kGroups * kSecurePerGroup);
  tree.IssueAggregatorCertificates(kGroups);
  std::vector<Process*> aggregators;
  std::vector<std::string> settings = SecureRootSettings("tree", kGroups, 1);
  settings.push_back("quorum_unit=samples");
  settings.push_back("quorum=0.25");
  Process& root = tree.StartCoordinator("root", settings);
  const int root_port = tree.WaitListening(root);
  const std::vector<std::string> die = {"--test-die-at-secagg-stage", "mask"};
  for (int g = 0; g < kGroups; ++g) {
    const int port = StartSecureAggregator(tree, g, root_port, &aggregators);
    for (int k = g * kSecurePerGroup; k < (g + 1) * kSecurePerGroup; ++k) {
      const int slot = k - g * kSecurePerGroup;
      const bool dies =
          (g == 1 && slot == kSecurePerGroup - 1) || (g == 2 && slot >= kSecurePerGroup - 2);
      if (dies) {
        tree.StartClientAs(k, port, Federation::ClientName(k) + "-dies", die);
      } else if (g == 2) {
        // Its group never finishes a round: not waited for.
        tree.StartClientAs(k, port, Federation::ClientName(k));
      } else {
        tree.StartClient(k, port);
      }
    }
  }
  INFO(tree.Logs());
  tree.RequireRunCompleted(root);
  for (int g = 0; g < 2; ++g) {
    REQUIRE_MESSAGE(aggregators[g]->Wait(std::chrono::seconds(30)), aggregators[g]->Describe());
    CHECK_MESSAGE(aggregators[g]->ExitedWith(0), aggregators[g]->Describe());
  }
  // agg-2 waits for its group to be whole again; stop it as an operator would.
  aggregators[2]->Signal(SIGTERM);
  REQUIRE_MESSAGE(aggregators[2]->Wait(std::chrono::seconds(30)), aggregators[2]->Describe());

  // The root: agg-0 and agg-1 accepted, agg-2 dropped with the reason.
  storage::ExperimentLog log(tree.db(), ReadOnly());
  const auto run = log.FindRun("tree");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == 1);
  CHECK(rounds[0].aggregated);
  CHECK(rounds[0].completed == 2);
  CHECK(rounds[0].dropped == 1);
  std::map<std::string, storage::ClientUpdateRecord> root_rows;
  for (const auto& u : log.ClientUpdates(run->id))
    root_rows[u.client_id] = u;
  REQUIRE(root_rows.size() == kGroups);
  CHECK(root_rows.at("agg-0").status == storage::UpdateStatus::kAccepted);
  CHECK(root_rows.at("agg-1").status == storage::UpdateStatus::kAccepted);
  CHECK(root_rows.at("agg-2").status == storage::UpdateStatus::kDropped);
  CHECK(root_rows.at("agg-2").reason.find("secure aggregation failed") != std::string::npos);
  CHECK(Violations(storage::CheckLog(tree.db())).empty());

  // agg-1: two contributors, the dead device's masks rebuilt from shares,
  // and its samples left out of the group's weight.
  {
    const auto path = tree.AggregatorDb(1);
    CHECK(Violations(storage::CheckLog(path)).empty());
    storage::ExperimentLog agg(path, ReadOnly());
    const auto agg_run = agg.FindRun("agg-1");
    REQUIRE(agg_run.has_value());
    const auto agg_rounds = agg.Rounds(agg_run->id);
    REQUIRE(agg_rounds.size() == 1);
    CHECK(agg_rounds[0].aggregated);
    CHECK(agg_rounds[0].metrics.at("secagg_contributors") == kSecurePerGroup - 1);
    CHECK(agg_rounds[0].metrics.at("secagg_recovered") == 1);
    int64_t survivors = 0;
    for (const auto& u : agg.ClientUpdates(agg_run->id)) {
      CAPTURE(u.client_id);
      if (u.client_id == Federation::ClientName(2 * kSecurePerGroup - 1)) {
        CHECK(u.status == storage::UpdateStatus::kDropped);
        CHECK(u.reason.find("masked input") != std::string::npos);
      } else {
        CHECK(u.status == storage::UpdateStatus::kAccepted);
        survivors += u.num_samples;
      }
    }
    CHECK(root_rows.at("agg-1").num_samples == survivors);
  }
  // agg-2: the round is logged as not aggregated, with SecAgg+'s reason.
  {
    const auto path = tree.AggregatorDb(2);
    CHECK(Violations(storage::CheckLog(path)).empty());
    storage::ExperimentLog agg(path, ReadOnly());
    const auto agg_run = agg.FindRun("agg-2");
    REQUIRE(agg_run.has_value());
    const auto agg_rounds = agg.Rounds(agg_run->id);
    REQUIRE(agg_rounds.size() == 1);
    CHECK_FALSE(agg_rounds[0].aggregated);
    CHECK(agg_rounds[0].outcome.find("secure aggregation failed") != std::string::npos);
  }
}

TEST_CASE(
    "edge aggregators with secure aggregation: an aggregator without it under a secure root stops "
    "naming the key") {
  // Failing closed: it would otherwise sum its devices' plain updates.
  Federation tree(1);
  tree.IssueAggregatorCertificates(1);
  std::vector<Process*> aggregators;
  Process& root = tree.StartCoordinator("root", SecureRootSettings("tree", 1, 1));
  const int port = StartSecureAggregator(tree, 0, tree.WaitListening(root), &aggregators,
                                         {"secure_aggregation=false", "min_clients=1"});
  tree.StartClientAs(0, port, Federation::ClientName(0));
  INFO(tree.Logs());
  REQUIRE_MESSAGE(aggregators[0]->Wait(edgefl::testing::kRunTimeout), aggregators[0]->Describe());
  CHECK(aggregators[0]->ExitedWith(2));
  CHECK(Contains(aggregators[0]->err(),
                 "runs with secure aggregation but this aggregator's "
                 "secure_aggregation is false"));
  // The root never got a sum from it (at most a dropped row: it may have
  // handed it round 1 before the aggregator read Welcome and left).
  storage::ExperimentLog log(tree.db(), ReadOnly());
  const auto run = log.FindRun("tree");
  REQUIRE(run.has_value());
  for (const auto& u : log.ClientUpdates(run->id))
    CHECK(u.status == storage::UpdateStatus::kDropped);
}

TEST_CASE(
    "edge aggregators with secure aggregation: devices beside an aggregator run SecAgg+ at the "
    "root "
    "and the sum with the group's is the flat run's model") {
  // root (secure): agg-0 and client-4..6 straight under it
  //   agg-0 (secure): client-0..3
  // The three direct devices are the parties of the root's SecAgg+ round;
  // agg-0's group sum joins their unmasked sum outside the stages.
  constexpr int kDevices = kSecurePerGroup + 3;
  Federation flat(kDevices);
  RunFlatSecure(flat, kDevices);
  Federation tree(kDevices);
  tree.IssueAggregatorCertificates(1);
  std::vector<Process*> aggregators;
  std::vector<std::string> settings = SecureRootSettings("tree", 4, 2);
  settings.push_back("quorum_unit=samples");
  Process& root = tree.StartCoordinator("root", settings);
  const int root_port = tree.WaitListening(root);
  const int port = StartSecureAggregator(tree, 0, root_port, &aggregators);
  for (int k = 0; k < kSecurePerGroup; ++k)
    tree.StartClient(k, port);
  for (int k = kSecurePerGroup; k < kDevices; ++k)
    tree.StartClient(k, root_port);
  INFO(tree.Logs());
  tree.RequireRunCompleted(root);
  REQUIRE_MESSAGE(aggregators[0]->Wait(std::chrono::seconds(30)), aggregators[0]->Describe());
  CHECK_MESSAGE(aggregators[0]->ExitedWith(0), aggregators[0]->Describe());

  const double max_diff = MaxDifferenceFromFlat(flat, tree);
  MESSAGE("max |flat SecAgg+ - mixed secure tree| = " << max_diff);
  CHECK(max_diff < 1e-4);

  // The root's SecAgg+ rounds had the three direct devices as parties.
  storage::ExperimentLog log(tree.db(), ReadOnly());
  const auto run = log.FindRun("tree");
  REQUIRE(run.has_value());
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == 2);
  for (const auto& r : rounds) {
    CHECK(r.aggregated);
    CHECK(r.completed == 4);
    CHECK(r.metrics.at("secagg_contributors") == kDevices - kSecurePerGroup);
  }
  for (const auto& u : log.ClientUpdates(run->id))
    CHECK(u.status == storage::UpdateStatus::kAccepted);
  CHECK(Violations(storage::CheckLog(tree.db())).empty());
  CHECK(Contains(tree.ClientLog(kSecurePerGroup), "secure aggregation done"));
  CHECK(Contains(tree.ClientLog(0), "secure aggregation done"));
}

}  // namespace edgefl::coordinator
