// D-SGD between real processes over mutual TLS: an edgefl-coordinator as the
// rendezvous (mode = "decentralized") and edgefl-client nodes started with
// --peer-listen, each with a peer certificate of the project CA, exchanging
// their models with their ring neighbours (docs/algorithms.md, "D-SGD
// between processes"). Tiny: mlp:784-32-10, 10 local steps, 500 test samples.
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <doctest/doctest.h>

#include "engine/experiment_config.h"
#include "sim/simulation.h"
#include "tests/coordinator/federation_util.h"
#include "tests/sim/sim_config_util.h"
#include "wire/tls_context.h"

namespace edgefl::testing {
namespace {

using namespace std::chrono_literals;

// mlp:784-32-10 has 25,450 parameters: a PeerModel frame is 12 + 16 + 4P bytes.
constexpr int64_t kModelFrameBytes = 12 + 16 + 4 * 25'450;

// A deployment of `nodes` D-SGD nodes: the Federation's CA, coordinator
// certificate and partition, plus a peer certificate node-K for each node.
class DsgdDeployment {
 public:
  // Node k's certificate is PREFIX-K ("sim-000K" gives the simulator's
  // node ids, so per-node seeds match the simulator's).
  explicit DsgdDeployment(int nodes, std::string prefix = "node-")
      : nodes_(nodes), prefix_(std::move(prefix)), fed_(nodes) {
    std::string command;
    for (int k = 0; k < nodes; ++k) {
      command += (k == 0 ? "" : " && ") + EdgeflTool() + " certs issue-peer " + NodeName(k) +
                 " --dir " + (fed_.dir() / "certs").string();
    }
    std::string output;
    const int rc = RunCommand(command, &output);
    INFO(output);
    REQUIRE(rc == 0);
  }

  std::string NodeName(int k) const { return prefix_ + std::to_string(k); }
  Federation& fed() { return fed_; }
  std::filesystem::path Log(const std::string& tag) const { return fed_.dir() / (tag + ".log"); }

  Process& StartCoordinator(const std::vector<std::string>& settings) {
    std::vector<std::string> argv = {
        edgefl::testing::BinaryDir() + "/coordinator/edgefl-coordinator", "--config",
        edgefl::testing::SourceDir() + "/examples/dsgd_tls.toml"};
    std::vector<std::string> all = {"clients=" + std::to_string(nodes_),
                                    "clients_per_round=" + std::to_string(nodes_),
                                    "port=0",
                                    "cert=" + (fed_.dir() / "certs/server.crt").string(),
                                    "key=" + (fed_.dir() / "certs/server.key").string(),
                                    "ca=" + (fed_.dir() / "certs/ca.crt").string(),
                                    "db=" + fed_.db().string(),
                                    "data_path=" + FashionMnistDir().string(),
                                    fed_.TrainSubsetSetting(),
                                    "test_subset=500",
                                    "deadline=" + ScaledSeconds(10)};
    all.insert(all.end(), settings.begin(), settings.end());
    for (const std::string& s : all) {
      argv.push_back("--set");
      argv.push_back(s);
    }
    return Start("coordinator", std::move(argv));
  }

  // Node k with certificate CERT.crt/.key from `cert_dir` and CA file `ca`
  // (the deployment's by default).
  Process& StartNode(int k, int port, const std::string& cert_dir = "",
                     const std::string& ca = "") {
    const std::string certs = cert_dir.empty() ? (fed_.dir() / "certs").string() : cert_dir;
    return Start(NodeName(k),
                 {edgefl::testing::BinaryDir() + "/client/edgefl-client", "--coordinator",
                  "127.0.0.1:" + std::to_string(port), "--cert", certs + "/" + NodeName(k) + ".crt",
                  "--key", certs + "/" + NodeName(k) + ".key", "--ca",
                  ca.empty() ? (fed_.dir() / "certs/ca.crt").string() : ca, "--data",
                  fed_.partition().string(), "--index", std::to_string(k), "--data-dir",
                  FashionMnistDir().string(), "--peer-listen", "127.0.0.1:0", "--retry-for", "30"});
  }

  std::string Logs() {
    std::string text;
    for (const auto& p : processes_) {
      text += "== " + p->Describe() + "\n";
      std::string content = ReadIfExists(p->err());
      if (content.size() > 4000) content = "...\n" + content.substr(content.size() - 4000);
      text += content;
    }
    return text;
  }

 private:
  Process& Start(const std::string& tag, std::vector<std::string> argv) {
    processes_.push_back(std::make_unique<Process>(
        tag, std::move(argv), fed_.dir() / (tag + ".out"), fed_.dir() / (tag + ".log")));
    return *processes_.back();
  }

  int nodes_;
  std::string prefix_;
  Federation fed_;
  std::vector<std::unique_ptr<Process>> processes_;  // killed before fed_'s directory goes
};

TEST_CASE("dsgd over TLS: 4 nodes on a ring train and the log has per-round metrics") {
  DsgdDeployment d(4);
  Process& coordinator = d.StartCoordinator({"run_name=dsgd-ring", "rounds=6", "eval_every=1"});
  const int port = d.fed().WaitListening(coordinator);
  std::vector<Process*> nodes;
  for (int k = 0; k < 4; ++k)
    nodes.push_back(&d.StartNode(k, port));
  INFO(d.Logs());
  REQUIRE_MESSAGE(coordinator.Wait(kRunTimeout), "the coordinator did not finish the run");
  REQUIRE(coordinator.ExitedWith(0));
  for (Process* node : nodes) {
    REQUIRE(node->Wait(Scaled(30s)));
    CHECK_MESSAGE(node->ExitedWith(0), node->Describe());
  }
  // Node 0's ring neighbours are nodes 1 and 3; node 0 dials both. Node 0
  // is the metrics node: node 2, not its neighbour, dials it for the gather.
  CHECK(Contains(d.Log("node-0"), "neighbours: node-1, node-3"));
  CHECK(Contains(d.Log("node-0"), "peer node-1 linked"));
  CHECK(Contains(d.Log("node-0"), "peer node-3 linked"));
  CHECK(Contains(d.Log("node-0"), "this node is the metrics node"));
  CHECK(Contains(d.Log("node-2"), "metrics node: node-0"));
  CHECK(Contains(d.Log("node-2"), "peer node-0 linked"));
  CHECK(Contains(d.Log("node-0"), "peer node-2 linked"));

  storage::ExperimentLog log(d.fed().db(), ReadOnly());
  const auto run = log.FindRun("dsgd-ring");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  CHECK(run->spec.mode == "decentralized");
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == 6);
  for (const storage::RoundRecord& r : rounds) {
    CAPTURE(r.round);
    CHECK(r.completed == 4);
    CHECK(r.dropped == 0);
    // Each node sends its model to its 2 neighbours and gets theirs.
    CHECK(r.metrics.at("bytes_per_node") == 4 * kModelFrameBytes);
    CHECK(r.metrics.at("mixed_neighbours") == 2.0);
    CHECK(r.metrics.at("local_consensus") > 0.0);
    CHECK(r.metrics.at("node_accuracy") > 0.0);
    // The global metrics over all 4 models, every round (eval_every = 1).
    CHECK(r.metrics.at("gathered_nodes") == 4.0);
    CHECK(r.metrics.at("consensus_distance") > 0.0);
    CHECK(r.metrics.at("average_accuracy") > 0.0);
  }
  // Every node's update row: bytes out and in per node.
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(run->id)) {
    CHECK(u.bytes_out == 2 * kModelFrameBytes);
    CHECK(u.bytes_in == 2 * kModelFrameBytes);
  }
  // The nodes learn: mean node accuracy after round 6 well above round 1's,
  // and the models drift together (local consensus distance falls).
  std::vector<double> accuracy;
  for (const storage::EvaluationRecord& e : log.Evaluations(run->id)) {
    if (e.split == "node_mean") accuracy.push_back(e.accuracy);
  }
  REQUIRE(accuracy.size() == 6);
  CHECK(accuracy.back() > accuracy.front() + 0.1);
  // The average model x̄ ("test", as the simulator names it) learns too, and
  // the global consensus distance falls.
  std::vector<double> average, distance;
  for (const storage::EvaluationRecord& e : log.Evaluations(run->id)) {
    if (e.split == "test") average.push_back(e.accuracy);
    if (e.split == "consensus") {
      CHECK(e.num_samples == 4);
      distance.push_back(e.loss);
    }
  }
  REQUIRE(average.size() == 6);
  REQUIRE(distance.size() == 6);
  CHECK(average.back() > average.front() + 0.1);
  CHECK(distance.back() < distance.front());
  CHECK(rounds.back().metrics.at("local_consensus") < rounds.front().metrics.at("local_consensus"));
  // The coordinator never held a model.
  CHECK_FALSE(log.LatestCheckpoint(run->id).has_value());
}

TEST_CASE("dsgd over TLS: a node killed with SIGKILL mid-run leaves the others training") {
  constexpr int kRounds = 40;
  DsgdDeployment d(4);
  Process& coordinator = d.StartCoordinator(
      {"run_name=dsgd-kill", "rounds=" + std::to_string(kRounds), "eval_every=10"});
  const int port = d.fed().WaitListening(coordinator);
  std::vector<Process*> nodes;
  for (int k = 0; k < 4; ++k)
    nodes.push_back(&d.StartNode(k, port));
  INFO(d.Logs());
  const bool started =
      PollUntil([&] { return Contains(coordinator.out(), "round 3/") || !coordinator.Running(); },
                kStartTimeout);
  REQUIRE(started);
  REQUIRE(coordinator.Running());
  nodes[2]->Signal(SIGKILL);
  REQUIRE(nodes[2]->Wait(Scaled(10s)));
  CHECK(nodes[2]->KilledBy(SIGKILL));
  // Restarted with the same certificate, it is refused by name: D-SGD
  // nodes do not rejoin a running run (docs/algorithms.md).
  REQUIRE(
      PollUntil([&] { return Contains(d.Log("coordinator"), "node node-2 left"); }, Scaled(30s)));
  Process& again = d.StartNode(2, port);
  REQUIRE(again.Wait(Scaled(30s)));
  CHECK(again.ExitedWith(kExitIoError));
  CHECK(Contains(d.Log("node-2"), "cannot rejoin a running run"));

  REQUIRE_MESSAGE(coordinator.Wait(kRunTimeout), "the coordinator did not finish the run");
  REQUIRE(coordinator.ExitedWith(0));
  for (int k : {0, 1, 3}) {
    REQUIRE(nodes[static_cast<size_t>(k)]->Wait(Scaled(30s)));
    CHECK_MESSAGE(nodes[static_cast<size_t>(k)]->ExitedWith(0),
                  nodes[static_cast<size_t>(k)]->Describe());
    CHECK(Contains(d.Log(d.NodeName(k)), "finished 40 rounds"));
  }
  // Its neighbours (1 and 3) saw the link go down and mixed only with node 0.
  CHECK(Contains(d.Log("node-1"), "peer node-2 link down"));
  CHECK(Contains(d.Log("node-3"), "mixed 1 of 2 neighbours (degree 1)"));
  CHECK(Contains(d.Log("coordinator"), "node node-2 left"));

  storage::ExperimentLog log(d.fed().db(), ReadOnly());
  const auto run = log.FindRun("dsgd-kill");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == static_cast<size_t>(kRounds));
  CHECK(rounds.back().completed == 3);
  CHECK(rounds.back().dropped == 1);
  // After the kill, each of nodes 1 and 3 lost one neighbour: mean mixed
  // neighbours (2 + 1 + 1) / 3.
  CHECK(rounds.back().metrics.at("mixed_neighbours") == doctest::Approx(4.0 / 3.0));
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(run->id)) {
    if (u.round != kRounds) continue;
    CAPTURE(u.client_id);
    if (u.client_id == "node-2") {
      CHECK(u.status == storage::UpdateStatus::kDropped);
      CHECK(u.reason.find("left") != std::string::npos);
    } else {
      CHECK(u.status == storage::UpdateStatus::kAccepted);
    }
  }
  std::vector<double> accuracy;
  for (const storage::EvaluationRecord& e : log.Evaluations(run->id)) {
    if (e.split == "node_mean") accuracy.push_back(e.accuracy);
  }
  REQUIRE(accuracy.size() == 4);  // rounds 10, 20, 30, 40
  CHECK(accuracy.back() > 0.6);
  // The global metrics go on over the 3 live nodes: the metrics node
  // (node 0) gathers from nodes 1 and 3 only.
  std::vector<storage::EvaluationRecord> average, distance;
  for (const storage::EvaluationRecord& e : log.Evaluations(run->id)) {
    if (e.split == "test") average.push_back(e);
    if (e.split == "consensus") distance.push_back(e);
  }
  REQUIRE(average.size() == 4);
  REQUIRE(distance.size() == 4);
  CHECK(average.back().round == kRounds);
  CHECK(average.back().accuracy > 0.6);
  CHECK(distance.back().round == kRounds);
  CHECK(distance.back().num_samples == 3);
  CHECK(distance.back().loss > 0.0);
  CHECK(rounds.back().metrics.at("gathered_nodes") == 3.0);
  CHECK(Contains(d.Log("node-0"), "round 40: average model of 3 nodes"));
}

TEST_CASE("dsgd over TLS: a certificate from another CA is refused by the coordinator and a node") {
  DsgdDeployment d(3);
  // Another project's CA and a peer certificate node-2 from it; the rogue
  // trusts both CAs (so only the other side's check can refuse it).
  const std::filesystem::path other = d.fed().dir() / "other";
  std::string output;
  REQUIRE(RunCommand(EdgeflTool() + " certs init --dir " + other.string() + " && " + EdgeflTool() +
                         " certs issue-peer node-2 --dir " + other.string() + " && cat " +
                         (d.fed().dir() / "certs/ca.crt").string() + " " +
                         (other / "ca.crt").string() + " > " + (other / "both.crt").string(),
                     &output) == 0);
  // No gather (dsgd_global_metrics = false): node 2 links only to its
  // neighbours, and the metrics node takes no metrics-only link.
  Process& coordinator = d.StartCoordinator(
      {"run_name=dsgd-refuse", "rounds=100000", "eval_every=1000", "dsgd_global_metrics=false"});
  const int port = d.fed().WaitListening(coordinator);
  Process& node0 = d.StartNode(0, port);
  d.StartNode(1, port);
  INFO(d.Logs());

  // At the coordinator: node-2 of the other CA is refused in the handshake.
  Process& rogue = d.StartNode(2, port, other.string(), (other / "both.crt").string());
  REQUIRE(rogue.Wait(Scaled(30s)));
  CHECK(rogue.ExitedWith(kExitIoError));
  CHECK(Contains(d.Log("coordinator"), "refused: certificate from an unknown CA"));
  CHECK_FALSE(Contains(d.Log("coordinator"), "node node-2 joined"));

  // The real node-2 completes the ring; the run starts.
  d.StartNode(2, port);
  REQUIRE(
      PollUntil([&] { return Contains(d.Log("node-0"), "peer node-2 linked"); }, kStartTimeout));
  // At a node: the rogue dials node 0's peer port with the other CA's peer
  // certificate; node 0 refuses it in the handshake and logs why.
  const std::string node_log = ReadIfExists(d.Log("node-0"));
  const std::string marker = "listening for peers on 127.0.0.1:";
  const size_t at = node_log.find(marker);
  REQUIRE(at != std::string::npos);
  const int peer_port = std::stoi(node_log.substr(at + marker.size()));
  {
    boost::asio::io_context io;
    boost::asio::ssl::context context = wire::MakePeerContext(
        wire::TlsFiles{other / "node-2.crt", other / "node-2.key", other / "both.crt"},
        wire::PeerEnd::kDial);
    boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream(io, context);
    boost::system::error_code ec;
    stream.lowest_layer().connect(
        {boost::asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(peer_port)}, ec);
    REQUIRE_FALSE(ec);
    stream.handshake(boost::asio::ssl::stream_base::client, ec);
    if (!ec) {
      // TLS 1.3: the refusal arrives as an alert on the first read.
      uint8_t byte = 0;
      stream.read_some(boost::asio::buffer(&byte, 1), ec);
    }
    CHECK(ec);
  }
  CHECK(PollUntil(
      [&] { return Contains(d.Log("node-0"), "refused: certificate from an unknown CA"); },
      Scaled(10s)));
  CHECK(node0.Running());  // and trains on
  CHECK(Contains(d.Log("node-0"), "no global metrics in this run"));
  CHECK_FALSE(Contains(d.Log("node-0"), "metrics node"));
  CHECK_FALSE(Contains(d.Log("node-0"), "metrics only"));
}

TEST_CASE("dsgd over TLS: the processes' node models are the simulator's bit for bit") {
  // The same config, partition (Dirichlet 0.5, seed 1) and node ids: with
  // every link up, each process trains and mixes exactly as the simulated
  // node does, so the mean test loss and accuracy of the node models agree
  // to the last bit, round by round; and so do the global metrics the
  // metrics node gathers: the average model's test loss and accuracy
  // ("test") and the consensus distance ("consensus").
  constexpr int kRounds = 4;
  DsgdDeployment d(4, "sim-000");
  const std::vector<std::string> settings = {
      "clients=4", "clients_per_round=4", "rounds=4", "eval_every=1", "test_subset=500",
      "seed=1",    "partition=dirichlet", "alpha=0.5"};
  std::vector<std::string> sim_settings = settings;
  sim_settings.push_back("db=" + (d.fed().dir() / "sim.db").string());
  sim_settings.push_back(d.fed().TrainSubsetSetting());
  sim_settings.push_back("run_name=sim");
  const engine::ExperimentConfig config = edgefl::testing::LoadTestConfig(
      std::filesystem::path(edgefl::testing::SourceDir()) / "examples/dsgd_tls.toml", sim_settings);
  sim::RunSimulation(config, nullptr);

  std::vector<std::string> process_settings = settings;
  process_settings.push_back("run_name=processes");
  Process& coordinator = d.StartCoordinator(process_settings);
  const int port = d.fed().WaitListening(coordinator);
  for (int k = 0; k < 4; ++k)
    d.StartNode(k, port);
  INFO(d.Logs());
  REQUIRE(coordinator.Wait(kRunTimeout));
  REQUIRE(coordinator.ExitedWith(0));

  auto split = [](const std::filesystem::path& db, const std::string& run_name,
                  const std::string& name) {
    storage::ExperimentLog log(db, ReadOnly());
    const auto run = log.FindRun(run_name);
    REQUIRE(run.has_value());
    std::vector<storage::EvaluationRecord> out;
    for (const storage::EvaluationRecord& e : log.Evaluations(run->id)) {
      if (e.split == name && e.round >= 1) out.push_back(e);
    }
    return out;
  };
  for (const std::string name : {"node_mean", "test", "consensus"}) {
    CAPTURE(name);
    const auto simulated = split(d.fed().dir() / "sim.db", "sim", name);
    const auto processes = split(d.fed().db(), "processes", name);
    REQUIRE(simulated.size() == static_cast<size_t>(kRounds));
    REQUIRE(processes.size() == static_cast<size_t>(kRounds));
    for (size_t r = 0; r < simulated.size(); ++r) {
      CAPTURE(r + 1);
      CHECK(processes[r].round == simulated[r].round);
      CHECK(processes[r].loss == simulated[r].loss);
      CHECK(processes[r].num_samples == simulated[r].num_samples);
      if (name != "consensus") CHECK(processes[r].accuracy == simulated[r].accuracy);
    }
  }
}

}  // namespace
}  // namespace edgefl::testing
