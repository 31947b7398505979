// Edge aggregators between real processes (docs/edge-aggregators.md): a
// root edgefl-coordinator, three edgefl-coordinator processes with role =
// "aggregator" under it, and four edgefl-client devices under each, all
// over mutual TLS on loopback. The tree must end at the model of the flat
// run of the same twelve devices (the group sums make the root's FedAvg the
// flat one), and an aggregator killed with SIGKILL mid-round costs the root
// only that group's samples. A 3-level tree whose groups mix devices and
// aggregators ends at the flat run's model too.
#include <cmath>
#include <filesystem>
#include <initializer_list>
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

using edgefl::testing::Federation;
using edgefl::testing::Process;
using edgefl::testing::ReadOnly;
using edgefl::testing::Violations;

constexpr int kGroups = 3;
constexpr int kPerGroup = 4;
const std::string kModel = "model=mlp:784-32-10";

// Starts aggregator g of the tree under the root at `root_port`; returns
// its port.
int StartTreeAggregator(Federation& fed, int g, int root_port, std::vector<Process*>* aggregators) {
  Process& p = fed.StartAggregator(g, root_port, kPerGroup, {kModel});
  aggregators->push_back(&p);
  return fed.WaitListening(p);
}

std::vector<std::string> RootSettings(const std::string& run_name, int members) {
  return {"port=0",
          "rounds=2",
          "run_name=" + run_name,
          "clients=" + std::to_string(members),
          "clients_per_round=" + std::to_string(members),
          "min_clients=" + std::to_string(members),
          kModel};
}

// Runs the flat federation the trees are compared with: `devices` devices
// under one coordinator, run "flat".
void RunFlat(Federation& flat, int devices) {
  Process& root = flat.StartCoordinator("root", RootSettings("flat", devices));
  flat.StartClients(devices, flat.WaitListening(root));
  INFO(flat.Logs());
  flat.RequireRunCompleted(root);
}

// Waits for every aggregator to exit 0 once its upstream run has ended.
void RequireExitedCleanly(const std::vector<Process*>& aggregators) {
  for (Process* a : aggregators) {
    REQUIRE_MESSAGE(a->Wait(std::chrono::seconds(30)), a->Describe());
    CHECK_MESSAGE(a->ExitedWith(0), a->Describe());
  }
}

// Each device's samples, as the flat run's round 1 logged them.
std::map<std::string, int64_t> DeviceSamples(storage::ExperimentLog& flat_log, int64_t run) {
  std::map<std::string, int64_t> samples;
  for (const auto& u : flat_log.ClientUpdates(run)) {
    if (u.round == 1) samples[u.client_id] = u.num_samples;
  }
  return samples;
}

}  // namespace

TEST_CASE("edge aggregators: a tree of 3 aggregators x 4 clients ends at the flat run's model") {
  // The flat run: twelve devices under one coordinator.
  Federation flat(kGroups * kPerGroup);
  RunFlat(flat, kGroups * kPerGroup);
  // The same devices (same partition and seed) in a tree.
  Federation tree(kGroups * kPerGroup);
  tree.IssueAggregatorCertificates(kGroups);
  std::vector<Process*> aggregators;
  std::vector<std::string> settings = RootSettings("tree", kGroups);
  settings.push_back("quorum_unit=samples");
  Process& root = tree.StartCoordinator("root", settings);
  const int root_port = tree.WaitListening(root);
  for (int g = 0; g < kGroups; ++g) {
    const int port = StartTreeAggregator(tree, g, root_port, &aggregators);
    for (int k = g * kPerGroup; k < (g + 1) * kPerGroup; ++k)
      tree.StartClient(k, port);
  }
  INFO(tree.Logs());
  tree.RequireRunCompleted(root);
  RequireExitedCleanly(aggregators);

  storage::ExperimentLog flat_log(flat.db(), ReadOnly());
  storage::ExperimentLog tree_log(tree.db(), ReadOnly());
  const auto flat_run = flat_log.FindRun("flat");
  const auto tree_run = tree_log.FindRun("tree");
  REQUIRE(flat_run.has_value());
  REQUIRE(tree_run.has_value());
  CHECK(tree_run->status == storage::RunStatus::kCompleted);
  const Eigen::VectorXf flat_model = flat_log.LatestCheckpoint(flat_run->id)->parameters;
  const Eigen::VectorXf tree_model = tree_log.LatestCheckpoint(tree_run->id)->parameters;
  REQUIRE(flat_model.size() == tree_model.size());
  CHECK(tree_log.LatestCheckpoint(tree_run->id)->round == 2);
  // Same updates, summed in another order (float32 sums, double means).
  const float max_diff = (flat_model - tree_model).cwiseAbs().maxCoeff();
  MESSAGE("max |flat - tree| = " << max_diff);
  CHECK(max_diff < 1e-5f);
  CHECK((flat_model - tree_model).norm() < 1e-5f * flat_model.norm());

  // The root logs a row per group: the aggregator's id, its group's samples
  // (the flat run's devices' sum) and the bytes of its link.
  std::map<std::string, int64_t> device_samples = DeviceSamples(flat_log, flat_run->id);
  REQUIRE(device_samples.size() == kGroups * kPerGroup);
  const auto rows = tree_log.ClientUpdates(tree_run->id);
  CHECK(rows.size() == 2 * kGroups);
  const int64_t model_bytes = 4 * (784 * 32 + 32 + 32 * 10 + 10);
  for (const auto& u : rows) {
    CHECK(u.status == storage::UpdateStatus::kAccepted);
    REQUIRE(u.client_id.rfind("agg-", 0) == 0);
    const int g = std::stoi(u.client_id.substr(4));
    int64_t expected = 0;
    for (int k = g * kPerGroup; k < (g + 1) * kPerGroup; ++k)
      expected += device_samples[Federation::ClientName(k)];
    CHECK(u.num_samples == expected);
    CHECK(u.bytes_out > model_bytes);
    CHECK(u.bytes_in > model_bytes);
    CHECK(u.bytes_in < model_bytes + model_bytes / 100);
  }
  for (const auto& r : tree_log.Rounds(tree_run->id)) {
    CHECK(r.completed == kGroups);
    CHECK(r.aggregated);
  }
  CHECK(Violations(storage::CheckLog(tree.db())).empty());

  // Each aggregator's own log: its devices' rows, each round's upstream round.
  for (int g = 0; g < kGroups; ++g) {
    const auto path = tree.AggregatorDb(g);
    CHECK(Violations(storage::CheckLog(path)).empty());
    storage::ExperimentLog log(path, ReadOnly());
    const auto run = log.FindRun(Federation::AggregatorName(g));
    REQUIRE(run.has_value());
    CHECK(run->status == storage::RunStatus::kCompleted);
    const auto rounds = log.Rounds(run->id);
    REQUIRE(rounds.size() == 2);
    for (size_t i = 0; i < rounds.size(); ++i) {
      CHECK(rounds[i].completed == kPerGroup);
      CHECK(rounds[i].metrics.at("upstream_round") == static_cast<double>(i + 1));
    }
    const auto updates = log.ClientUpdates(run->id);
    CHECK(updates.size() == 2 * kPerGroup);
    for (const auto& u : updates) {
      CHECK(u.status == storage::UpdateStatus::kAccepted);
      CHECK(u.num_samples == device_samples[u.client_id]);
    }
  }
}

TEST_CASE("edge aggregators: kill -9 of an aggregator mid-round costs the root only its group") {
  Federation tree(kGroups * kPerGroup);
  tree.IssueAggregatorCertificates(kGroups);
  std::vector<Process*> aggregators;
  std::vector<std::string> settings = RootSettings("tree", kGroups);
  settings.push_back("quorum_unit=samples");
  settings.push_back("quorum=0.25");
  Process& root = tree.StartCoordinator("root", settings);
  const int root_port = tree.WaitListening(root);
  const int last = kGroups - 1;
  for (int g = 0; g < kGroups; ++g) {
    const int port = StartTreeAggregator(tree, g, root_port, &aggregators);
    for (int k = g * kPerGroup; k < (g + 1) * kPerGroup; ++k) {
      if (g == last) {
        // The doomed group's devices are not waited for (their aggregator
        // dies); the first one is slow, so round 2 is still running there.
        tree.StartClientAs(k, port, Federation::ClientName(k),
                           k == g * kPerGroup ? std::vector<std::string>{"--slowdown", "15"}
                                              : std::vector<std::string>{});
      } else {
        tree.StartClient(k, port);
      }
    }
  }
  INFO(tree.Logs());
  const auto slow_log = tree.ClientLog(last * kPerGroup);
  REQUIRE_MESSAGE(edgefl::testing::PollUntil(
                      [&] { return edgefl::testing::Contains(slow_log, "round 2: training"); },
                      edgefl::testing::kRunTimeout),
                  "the slow device never started round 2");
  aggregators[last]->Signal(SIGKILL);
  REQUIRE(aggregators[last]->Wait(std::chrono::seconds(10)));
  CHECK(aggregators[last]->KilledBy(SIGKILL));
  tree.RequireRunCompleted(root);

  storage::ExperimentLog log(tree.db(), ReadOnly());
  const auto run = log.FindRun("tree");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == 2);
  CHECK(rounds[1].aggregated);
  CHECK(rounds[1].completed == kGroups - 1);
  CHECK(rounds[1].dropped == 1);
  int dropped_rows = 0;
  for (const auto& u : log.ClientUpdates(run->id)) {
    if (u.round == 2 && u.client_id == Federation::AggregatorName(last)) {
      CHECK(u.status == storage::UpdateStatus::kDropped);
      CHECK(u.reason.find("disconnected") != std::string::npos);
      ++dropped_rows;
    } else {
      CHECK(u.status == storage::UpdateStatus::kAccepted);
    }
  }
  CHECK(dropped_rows == 1);
  CHECK(Violations(storage::CheckLog(tree.db())).empty());
  // The dead aggregator's log keeps its committed round, and nothing of the
  // round it died in; the others logged both rounds.
  for (int g = 0; g < kGroups; ++g) {
    const auto path = tree.AggregatorDb(g);
    CHECK(Violations(storage::CheckLog(path)).empty());
    storage::ExperimentLog agg(path, ReadOnly());
    const auto agg_run = agg.FindRun(Federation::AggregatorName(g));
    REQUIRE(agg_run.has_value());
    CHECK(agg.Rounds(agg_run->id).size() == (g == last ? 1u : 2u));
    CHECK(agg.ClientUpdates(agg_run->id).size() ==
          static_cast<size_t>((g == last ? 1 : 2) * kPerGroup));
  }
}

// Three levels, and groups that mix devices with aggregators:
//   root: agg-0, client-6
//     agg-0: agg-1, agg-2, client-5
//       agg-1: client-0, client-1
//       agg-2: client-2, client-3, client-4
// A mid aggregator takes its aggregators' group sums like its devices'
// updates and sends up one sum, so the root still computes the flat FedAvg.
TEST_CASE("edge aggregators: a 3-level tree with mixed groups ends at the flat run's model") {
  constexpr int kDevices = 7;
  Federation flat(kDevices);
  RunFlat(flat, kDevices);
  Federation tree(kDevices);
  tree.IssueAggregatorCertificates(3);
  std::vector<std::string> settings = RootSettings("tree", 2);
  settings.push_back("quorum_unit=samples");
  Process& root = tree.StartCoordinator("root", settings);
  const int root_port = tree.WaitListening(root);
  std::vector<Process*> aggregators;
  aggregators.push_back(&tree.StartAggregator(0, root_port, 3, {kModel, "quorum_unit=samples"}));
  const int mid_port = tree.WaitListening(*aggregators[0]);
  aggregators.push_back(&tree.StartAggregator(1, mid_port, 2, {kModel}));
  aggregators.push_back(&tree.StartAggregator(2, mid_port, 3, {kModel}));
  const int leaf_ports[2] = {tree.WaitListening(*aggregators[1]),
                             tree.WaitListening(*aggregators[2])};
  for (int k = 0; k < 5; ++k)
    tree.StartClient(k, leaf_ports[k < 2 ? 0 : 1]);
  tree.StartClient(5, mid_port);
  tree.StartClient(6, root_port);
  INFO(tree.Logs());
  tree.RequireRunCompleted(root);
  RequireExitedCleanly(aggregators);

  storage::ExperimentLog flat_log(flat.db(), ReadOnly());
  storage::ExperimentLog tree_log(tree.db(), ReadOnly());
  const auto flat_run = flat_log.FindRun("flat");
  const auto tree_run = tree_log.FindRun("tree");
  REQUIRE(flat_run.has_value());
  REQUIRE(tree_run.has_value());
  CHECK(tree_run->status == storage::RunStatus::kCompleted);
  const Eigen::VectorXf flat_model = flat_log.LatestCheckpoint(flat_run->id)->parameters;
  const auto tree_checkpoint = tree_log.LatestCheckpoint(tree_run->id);
  REQUIRE(tree_checkpoint.has_value());
  CHECK(tree_checkpoint->round == 2);
  const Eigen::VectorXf& tree_model = tree_checkpoint->parameters;
  REQUIRE(flat_model.size() == tree_model.size());
  const float max_diff = (flat_model - tree_model).cwiseAbs().maxCoeff();
  MESSAGE("max |flat - 3-level tree| = " << max_diff);
  CHECK(max_diff < 1e-5f);

  // Samples add up level by level: each group's row carries its devices'.
  std::map<std::string, int64_t> samples = DeviceSamples(flat_log, flat_run->id);
  REQUIRE(samples.size() == kDevices);
  const auto devices = [&](std::initializer_list<int> ks) {
    int64_t sum = 0;
    for (int k : ks)
      sum += samples[Federation::ClientName(k)];
    return sum;
  };
  const std::map<std::string, int64_t> root_rows = {
      {Federation::AggregatorName(0), devices({0, 1, 2, 3, 4, 5})},
      {Federation::ClientName(6), devices({6})}};
  const auto rows = tree_log.ClientUpdates(tree_run->id);
  CHECK(rows.size() == 2 * root_rows.size());
  for (const auto& u : rows) {
    CHECK(u.status == storage::UpdateStatus::kAccepted);
    REQUIRE(root_rows.count(u.client_id) == 1);
    CHECK(u.num_samples == root_rows.at(u.client_id));
  }
  CHECK(Violations(storage::CheckLog(tree.db())).empty());
  const std::map<std::string, int64_t> mid_rows = {
      {Federation::AggregatorName(1), devices({0, 1})},
      {Federation::AggregatorName(2), devices({2, 3, 4})},
      {Federation::ClientName(5), devices({5})}};
  const std::filesystem::path mid_db = tree.AggregatorDb(0);
  CHECK(Violations(storage::CheckLog(mid_db)).empty());
  storage::ExperimentLog mid_log(mid_db, ReadOnly());
  const auto mid_run = mid_log.FindRun(Federation::AggregatorName(0));
  REQUIRE(mid_run.has_value());
  CHECK(mid_run->status == storage::RunStatus::kCompleted);
  const auto mid_updates = mid_log.ClientUpdates(mid_run->id);
  CHECK(mid_updates.size() == 2 * mid_rows.size());
  for (const auto& u : mid_updates) {
    CHECK(u.status == storage::UpdateStatus::kAccepted);
    REQUIRE(mid_rows.count(u.client_id) == 1);
    CHECK(u.num_samples == mid_rows.at(u.client_id));
  }
  for (int g = 1; g <= 2; ++g) {
    storage::ExperimentLog leaf(tree.AggregatorDb(g), ReadOnly());
    const auto leaf_run = leaf.FindRun(Federation::AggregatorName(g));
    REQUIRE(leaf_run.has_value());
    CHECK(leaf_run->status == storage::RunStatus::kCompleted);
    CHECK(leaf.Rounds(leaf_run->id).size() == 2);
  }
}

}  // namespace edgefl::coordinator
