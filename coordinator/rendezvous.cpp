#include "coordinator/rendezvous.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>

#include "algorithms/dsgd.h"
#include "algorithms/strategy_registry.h"
#include "algorithms/topology.h"
#include "common/error.h"
#include "common/wall_clock.h"
#include "engine/experiment_runner.h"
#include "storage/experiment_log.h"
#include "storage/run_lease.h"
#include "wire/framed_link.h"
#include "wire/messages.h"
#include "wire/peer_messages.h"
#include "wire/protocol_error.h"
#include "wire/tls_context.h"

namespace edgefl::coordinator {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The node that gathers the models at evaluation rounds (MetricsPlan).
constexpr uint32_t kMetricsNode = 0;

struct Node {
  std::string id;
  std::shared_ptr<wire::FramedLink> link;
  wire::PeerJoin join;
  uint32_t index = 0;
  bool gone = false;
  std::string gone_reason;
  int64_t last_reported = 0;  // the last round it reported
};

// The connections and what they said; handlers on the io thread, the
// committing loop on the caller's thread.
class Rendezvous {
 public:
  Rendezvous(asio::io_context& io, asio::ssl::context& tls, const engine::ExperimentConfig& config,
             const algorithms::DsgdOptions& dsgd, const Logger& logger)
      : io_(io), tls_(tls), config_(config), dsgd_(dsgd), logger_(logger), acceptor_(io) {
    boost::system::error_code ec;
    const asio::ip::address ip = asio::ip::make_address(config.listen, ec);
    if (ec) throw ConfigError("listen: '" + config.listen + "' is not an IP address");
    const tcp::endpoint endpoint(ip, static_cast<uint16_t>(config.port));
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      throw IoError("cannot listen on " + wire::FormatEndpoint(endpoint) + ": " + ec.message());
  }

  std::string address() const { return wire::FormatEndpoint(acceptor_.local_endpoint()); }

  void Start() {
    asio::post(io_, [this] { DoAccept(); });
  }

  // Bye to every node and stop accepting.
  void Stop(const std::string& reason) {
    std::vector<std::shared_ptr<wire::FramedLink>> links;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      for (auto& [id, node] : nodes_) {
        if (node.link && !node.gone) links.push_back(node.link);
      }
    }
    for (auto& link : links)
      link->Close(wire::EncodeMessage(wire::Bye{reason}));
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
    });
    changed_.notify_all();
  }

  // Waits until `n` nodes joined and were assigned, or `stop`. True when assigned.
  bool WaitAssigned(const std::atomic<bool>& stop) {
    std::unique_lock lock(mutex_);
    while (!assigned_ && !stop.load())
      changed_.wait_for(lock, std::chrono::milliseconds(100));
    return assigned_;
  }

  // Waits until every node reported `round` or is gone, `stop`, or `idle`
  // without news. Returns the reports by node index, and the nodes (by
  // index) for their ids and states.
  std::map<uint32_t, wire::NodeReport> WaitRound(int64_t round, Clock::duration idle,
                                                 const std::atomic<bool>& stop,
                                                 std::vector<Node>* nodes,
                                                 std::optional<wire::GlobalMetrics>* global) {
    std::unique_lock lock(mutex_);
    auto last_news = Clock::now();
    size_t seen = 0;
    for (;;) {
      const auto& got = reports_[round];
      size_t pending = 0;
      for (const auto& [id, node] : nodes_) {
        if (!node.gone && got.count(node.index) == 0) ++pending;
      }
      if (pending == 0 || stop.load()) break;
      if (got.size() != seen) {
        seen = got.size();
        last_news = Clock::now();
      }
      if (Clock::now() - last_news > idle) {
        logger_.Warn("round " + std::to_string(round) + ": " + std::to_string(pending) +
                     " nodes neither reported nor left in time; committing without them");
        break;
      }
      changed_.wait_for(lock, std::chrono::milliseconds(100));
    }
    nodes->assign(nodes_by_index_.size(), Node{});
    for (const auto& [id, node] : nodes_)
      (*nodes)[node.index] = node;
    std::map<uint32_t, wire::NodeReport> out = std::move(reports_[round]);
    reports_.erase(round);
    global->reset();
    if (auto it = global_.find(round); it != global_.end()) {
      *global = it->second;
      global_.erase(global_.begin(), std::next(it));
    }
    return out;
  }

  bool AllGone() {
    std::lock_guard lock(mutex_);
    for (const auto& [id, node] : nodes_) {
      if (!node.gone) return false;
    }
    return true;
  }

  // Waits up to `timeout` for every node's connection to close.
  void WaitClosed(Clock::duration timeout) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] {
      for (const auto& [id, node] : nodes_) {
        if (node.link && node.link->open()) return false;
      }
      return true;
    });
  }

 private:
  void DoAccept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted) return;
        logger_.Warn("accept failed: " + ec.message());
      } else {
        OnAccepted(std::make_shared<wire::TlsStream>(std::move(socket), tls_));
      }
      std::lock_guard lock(mutex_);
      if (!stopping_) DoAccept();
    });
  }

  void OnAccepted(std::shared_ptr<wire::TlsStream> stream) {
    boost::system::error_code ec;
    const tcp::endpoint remote = stream->lowest_layer().remote_endpoint(ec);
    auto timer = std::make_shared<asio::steady_timer>(
        io_, std::chrono::milliseconds(static_cast<int64_t>(config_.handshake_timeout * 1000)));
    timer->async_wait([stream](const boost::system::error_code& e) {
      boost::system::error_code ignored;
      if (!e) stream->lowest_layer().close(ignored);
    });
    stream->async_handshake(
        asio::ssl::stream_base::server,
        [this, stream, timer, remote](const boost::system::error_code& e) {
          timer->cancel();
          if (e) {
            logger_.Warn("node " + wire::FormatEndpoint(remote) +
                         " refused: " + wire::DescribeTlsError(e, stream->native_handle()));
            boost::system::error_code ignored;
            stream->lowest_layer().close(ignored);
            return;
          }
          const std::optional<std::string> id = wire::PeerClientId(stream->native_handle());
          auto link = std::make_shared<wire::FramedLink>(
              std::move(*stream), static_cast<uint32_t>(config_.max_frame_bytes));
          if (!id) {
            logger_.Warn("node " + link->remote() + " refused: its certificate has no valid id");
            link->Close(wire::EncodeMessage(
                wire::ErrorMessage{wire::ErrorCode::kUnauthorized, "certificate has no valid id"}));
            link->Start([](wire::Frame) {}, [](const std::string&) {});
            return;
          }
          std::weak_ptr<wire::FramedLink> weak = link;
          link->Start(
              [this, weak, id = *id](wire::Frame frame) {
                if (auto l = weak.lock()) OnFrame(id, l, frame);
              },
              [this, weak, id = *id](const std::string& why) {
                if (auto l = weak.lock()) OnClosed(id, l, why);
              });
        });
  }

  void Refuse(const std::shared_ptr<wire::FramedLink>& link, const std::string& id,
              wire::ErrorCode code, const std::string& why) {
    logger_.Warn("node " + id + " (" + link->remote() + ") refused: " + why);
    link->Close(wire::EncodeMessage(wire::ErrorMessage{code, why}));
  }

  void OnFrame(const std::string& id, const std::shared_ptr<wire::FramedLink>& link,
               const wire::Frame& frame) {
    try {
      if (!wire::IsPeerMessageType(frame.type)) {
        wire::DecodeMessage(frame);  // Bye or Error: the node leaves
        link->Close();
        return;
      }
      const wire::PeerMessage message = wire::DecodePeerMessage(frame.type, frame.payload);
      if (const auto* join = std::get_if<wire::PeerJoin>(&message)) {
        OnJoin(id, link, *join);
      } else if (const auto* report = std::get_if<wire::NodeReport>(&message)) {
        std::lock_guard lock(mutex_);
        auto it = nodes_.find(id);
        if (it == nodes_.end() || it->second.link != link || !assigned_) {
          Refuse(link, id, wire::ErrorCode::kProtocol, "NodeReport before the assignment");
          return;
        }
        reports_[report->round][it->second.index] = *report;
        it->second.last_reported = std::max(it->second.last_reported, report->round);
        changed_.notify_all();
      } else if (const auto* global = std::get_if<wire::GlobalMetrics>(&message)) {
        std::lock_guard lock(mutex_);
        auto it = nodes_.find(id);
        if (it == nodes_.end() || it->second.link != link || !assigned_ ||
            it->second.index != kMetricsNode) {
          Refuse(link, id, wire::ErrorCode::kProtocol,
                 "GlobalMetrics from a node that is not the metrics node");
          return;
        }
        global_[global->round] = *global;
        changed_.notify_all();
      } else {
        Refuse(link, id, wire::ErrorCode::kProtocol,
               "unexpected " + std::string(wire::MessageTypeName(frame.type)));
      }
    } catch (const wire::ProtocolError& e) {
      Refuse(link, id, wire::ErrorCode::kProtocol, std::string("protocol error: ") + e.what());
    }
  }

  void OnJoin(const std::string& id, const std::shared_ptr<wire::FramedLink>& link,
              const wire::PeerJoin& join) {
    std::shared_ptr<wire::FramedLink> replaced;
    {
      std::lock_guard lock(mutex_);
      if (assigned_) {
        // No re-join (docs/algorithms.md, "D-SGD between processes"): a
        // node that left stays out; its neighbours mix without it.
        const auto known = nodes_.find(id);
        std::string why;
        if (known == nodes_.end()) {
          why = "the run's " + std::to_string(nodes_.size()) + " nodes are already assigned";
        } else if (known->second.gone) {
          why = "node " + id + " left run '" + config_.run_name + "' after round " +
                std::to_string(known->second.last_reported) +
                " and D-SGD nodes cannot rejoin a running run (its neighbours mix without it); "
                "start a new run to bring it back";
        } else {
          why = "node " + id + " is already in run '" + config_.run_name +
                "' on another connection (" + known->second.link->remote() + ")";
        }
        Refuse(link, id, wire::ErrorCode::kUnauthorized, why);
        return;
      }
      Node& node = nodes_[id];
      if (node.link) replaced = node.link;
      node.id = id;
      node.link = link;
      node.join = join;
      node.gone = false;
      logger_.Info("node " + id + " joined from " + link->remote() + " (peers dial it at " +
                   join.listen_host + ":" + std::to_string(join.listen_port) + "), " +
                   std::to_string(nodes_.size()) + "/" + std::to_string(config_.clients));
      if (static_cast<int64_t>(nodes_.size()) == config_.clients) Assign();
    }
    if (replaced) {
      logger_.Warn("node " + id + ": a newer connection replaces the older one");
      replaced->Close(wire::EncodeMessage(
          wire::ErrorMessage{wire::ErrorCode::kReplaced, "replaced by a newer connection"}));
    }
  }

  // REQUIRES: mutex_ held, every node joined.
  void Assign() {
    nodes_by_index_.clear();
    for (auto& [id, node] : nodes_) {  // std::map: ascending id
      node.index = static_cast<uint32_t>(nodes_by_index_.size());
      nodes_by_index_.push_back(id);
    }
    const size_t n = nodes_by_index_.size();
    const algorithms::Graph graph = algorithms::MakeTopology(dsgd_.topology, n);
    wire::TrainTask task;
    task.model_spec = config_.model;
    task.recipe = dsgd_.recipe;
    task.local = dsgd_.local;
    for (size_t i = 0; i < n; ++i) {
      Node& node = nodes_.at(nodes_by_index_[i]);
      wire::PeerAssignment a;
      a.run_id = config_.run_name;
      a.node_index = static_cast<uint32_t>(i);
      a.num_nodes = static_cast<uint32_t>(n);
      a.rounds = config_.rounds;
      a.seed = static_cast<uint64_t>(config_.seed);
      a.topology = algorithms::TopologyName(dsgd_.topology.kind);
      a.beta = dsgd_.beta;
      a.tau_alpha = dsgd_.tau_alpha;
      a.tau_beta = dsgd_.tau_beta;
      a.update = dsgd_.update == algorithms::DsgdUpdate::kDgd ? "dgd" : "atc";
      a.schedule = dsgd_.schedule == algorithms::DsgdSchedule::kPaper ? "paper" : "constant";
      a.round_timeout_seconds = config_.deadline > 0 ? config_.deadline : 10.0;
      a.eval_every = config_.eval_every;
      a.test_subset = config_.test_subset;
      a.task = task;
      for (size_t j : graph.neighbors[i]) {
        const Node& other = nodes_.at(nodes_by_index_[j]);
        a.neighbours.push_back(wire::PeerAddress{other.id, static_cast<uint32_t>(j),
                                                 other.join.listen_host, other.join.listen_port});
      }
      node.link->Send(wire::EncodePeerMessage(a));
      // The global metrics' gather: node kMetricsNode takes every model at
      // an evaluation round (docs/algorithms.md); the coordinator only gets
      // the scalars it computes.
      // dsgd_global_metrics = false: an empty plan, no gather.
      wire::MetricsPlan plan;
      const Node& metrics = nodes_.at(nodes_by_index_[kMetricsNode]);
      if (dsgd_.global_metrics) {
        plan.metrics_node = wire::PeerAddress{metrics.id, kMetricsNode, metrics.join.listen_host,
                                              metrics.join.listen_port};
      }
      if (i == kMetricsNode && dsgd_.global_metrics) {
        for (size_t j = 0; j < n; ++j) {
          if (j == kMetricsNode) continue;
          const Node& other = nodes_.at(nodes_by_index_[j]);
          plan.members.push_back(wire::PeerAddress{other.id, static_cast<uint32_t>(j),
                                                   other.join.listen_host, other.join.listen_port});
        }
      }
      node.link->Send(wire::EncodePeerMessage(plan));
    }
    assigned_ = true;
    logger_.Info("assigned " + std::to_string(n) + " nodes on a " +
                 algorithms::TopologyName(dsgd_.topology.kind) + " graph");
    changed_.notify_all();
  }

  void OnClosed(const std::string& id, const std::shared_ptr<wire::FramedLink>& link,
                const std::string& why) {
    {
      std::lock_guard lock(mutex_);
      auto it = nodes_.find(id);
      if (it == nodes_.end() || it->second.link != link) return;
      if (!assigned_) {
        nodes_.erase(it);
        logger_.Warn("node " + id + " left before the assignment: " + why);
      } else if (!it->second.gone) {
        it->second.gone = true;
        it->second.gone_reason = why;
        if (!stopping_) logger_.Warn("node " + id + " left: " + why);
      }
    }
    changed_.notify_all();
  }

  asio::io_context& io_;
  asio::ssl::context& tls_;
  const engine::ExperimentConfig& config_;
  const algorithms::DsgdOptions& dsgd_;
  const Logger& logger_;
  tcp::acceptor acceptor_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, Node> nodes_;                                // GUARDED_BY(mutex_)
  std::vector<std::string> nodes_by_index_;                          // GUARDED_BY(mutex_)
  std::map<int64_t, std::map<uint32_t, wire::NodeReport>> reports_;  // GUARDED_BY(mutex_)
  std::map<int64_t, wire::GlobalMetrics> global_;                    // GUARDED_BY(mutex_)
  bool assigned_ = false;                                            // GUARDED_BY(mutex_)
  bool stopping_ = false;                                            // GUARDED_BY(mutex_)
};

double MeanOf(const std::vector<double>& values) {
  if (values.empty()) return kNaN;
  double sum = 0.0;
  for (double v : values)
    sum += v;
  return sum / static_cast<double>(values.size());
}

}  // namespace

RendezvousResult RunRendezvous(const engine::ExperimentConfig& config, asio::ssl::context& tls,
                               const Logger& logger, const std::atomic<bool>& stop,
                               const std::function<void(const std::string&)>& on_listening) {
  if (config.mode != "decentralized") {
    throw ConfigError("RunRendezvous: mode is \"" + config.mode + "\"");
  }
  if (config.byzantine_mode != "none") {
    throw ConfigError("mode decentralized: byzantine_mode must be \"none\"");
  }
  if (config.clients < 2) {
    throw ConfigError("mode decentralized: clients (the number of nodes) must be at least 2, got " +
                      std::to_string(config.clients));
  }
  engine::CheckAlgorithms(config, static_cast<size_t>(config.clients));
  const algorithms::DsgdOptions dsgd =
      algorithms::ReadDsgdOptions(engine::StrategyConfigFrom(config));
  algorithms::MakeTopology(dsgd.topology, static_cast<size_t>(config.clients));  // fails early

  storage::ExperimentLog log(config.db);
  if (log.FindRun(config.run_name)) {
    throw ConfigError("run '" + config.run_name + "' is already in " + config.db +
                      "; decentralized runs are not resumed: choose another run_name");
  }
  const storage::RunLease lease = engine::ClaimRun(log, config);

  asio::io_context io(1);
  Rendezvous rendezvous(io, tls, config, dsgd, logger);
  const int64_t run_id = log.BeginRun(engine::RunSpecOf(config));
  engine::RecordRunStart(log, run_id, lease, std::nullopt, config);

  RendezvousResult result;
  result.run_id = run_id;
  result.final_node_accuracy = kNaN;
  result.final_average_accuracy = kNaN;
  const double started = UnixSeconds();
  auto work = asio::make_work_guard(io);
  rendezvous.Start();
  std::thread io_thread([&io] { io.run(); });
  struct Joiner {
    asio::io_context& io;
    asio::executor_work_guard<asio::io_context::executor_type>& work;
    std::thread& thread;
    ~Joiner() {
      work.reset();
      io.stop();
      if (thread.joinable()) thread.join();
    }
  } joiner{io, work, io_thread};
  on_listening(rendezvous.address());
  logger.Info("run '" + config.run_name + "': D-SGD between " + std::to_string(config.clients) +
              " nodes (" + algorithms::TopologyName(dsgd.topology.kind) + "), " +
              std::to_string(config.rounds) + " rounds; the coordinator is the rendezvous only; " +
              "log " + config.db);

  const double timeout = config.deadline > 0 ? config.deadline : 10.0;
  const auto idle = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(3.0 * timeout + 30.0));
  try {
    if (!rendezvous.WaitAssigned(stop)) {
      result.interrupted = true;
    }
    double round_started = UnixSeconds();
    for (int64_t round = 1; round <= config.rounds && !result.interrupted; ++round) {
      std::vector<Node> nodes;
      std::optional<wire::GlobalMetrics> global;
      const std::map<uint32_t, wire::NodeReport> reports =
          rendezvous.WaitRound(round, idle, stop, &nodes, &global);
      if (stop.load() && reports.size() < nodes.size()) {
        result.interrupted = true;
        break;
      }
      storage::RoundRecord record;
      record.round = round;
      record.model_version = round;
      record.started_at = round_started;
      record.selected = static_cast<int64_t>(nodes.size());
      std::vector<storage::ClientUpdateRecord> updates;
      std::vector<double> losses, accuracies, test_losses, neighbourhood, neighbourhood_losses,
          consensus, bytes, mixed;
      int64_t test_samples = 0;
      for (uint32_t i = 0; i < nodes.size(); ++i) {
        storage::ClientUpdateRecord u;
        u.round = round;
        u.client_id = nodes[i].id;
        u.num_samples = static_cast<int64_t>(nodes[i].join.dataset_size);
        const auto it = reports.find(i);
        if (it == reports.end()) {
          u.status = storage::UpdateStatus::kDropped;
          u.reason = nodes[i].gone ? "left: " + nodes[i].gone_reason : "no report in time";
          u.loss_before = u.loss_after = u.compute_seconds = kNaN;
          ++record.dropped;
          updates.push_back(u);
          continue;
        }
        const wire::NodeReport& r = it->second;
        u.local_steps = r.local_steps;
        u.loss_before = r.loss_before;
        u.loss_after = r.loss_after;
        u.compute_seconds = r.compute_seconds;
        u.bytes_out = static_cast<int64_t>(r.bytes_sent);
        u.bytes_in = static_cast<int64_t>(r.bytes_received);
        updates.push_back(u);
        ++record.completed;
        losses.push_back(r.loss_after);
        consensus.push_back(r.local_consensus);
        bytes.push_back(static_cast<double>(r.bytes_sent + r.bytes_received));
        mixed.push_back(static_cast<double>(r.mixed_neighbours));
        if (std::isfinite(r.test_accuracy)) {
          accuracies.push_back(r.test_accuracy);
          test_losses.push_back(r.test_loss);
          test_samples = static_cast<int64_t>(r.test_samples);
        }
        if (std::isfinite(r.neighbourhood_accuracy)) {
          neighbourhood.push_back(r.neighbourhood_accuracy);
          neighbourhood_losses.push_back(r.neighbourhood_loss);
        }
      }
      record.train_loss = MeanOf(losses);
      record.aggregated = record.completed > 0;
      if (!record.aggregated) record.outcome = "no node reported";
      record.metrics = {{"node_accuracy", MeanOf(accuracies)},
                        {"neighbourhood_accuracy", MeanOf(neighbourhood)},
                        {"local_consensus", MeanOf(consensus)},
                        {"bytes_per_node", MeanOf(bytes)},
                        {"mixed_neighbours", MeanOf(mixed)}};
      std::vector<storage::EvaluationRecord> evaluations;
      if (global) {
        // As the simulator logs them: "test" = the average model x̄,
        // "consensus" = (1/m) Σ ‖x_i − x̄‖² over the m models gathered.
        record.metrics["average_accuracy"] = global->average_accuracy;
        record.metrics["consensus_distance"] = global->consensus_distance;
        record.metrics["gathered_nodes"] = static_cast<double>(global->nodes);
        if (std::isfinite(global->average_accuracy)) {
          storage::EvaluationRecord e;
          e.round = round;
          e.split = "test";
          e.loss = global->average_loss;
          e.accuracy = global->average_accuracy;
          e.num_samples = static_cast<int64_t>(global->test_samples);
          evaluations.push_back(e);
          result.final_average_accuracy = e.accuracy;
        }
        storage::EvaluationRecord c;
        c.round = round;
        c.split = "consensus";
        c.loss = global->consensus_distance;
        c.accuracy = kNaN;
        c.num_samples = static_cast<int64_t>(global->nodes);
        evaluations.push_back(c);
      }
      if (!accuracies.empty()) {
        storage::EvaluationRecord e;
        e.round = round;
        e.split = "node_mean";
        e.loss = MeanOf(test_losses);
        e.accuracy = MeanOf(accuracies);
        e.num_samples = test_samples;
        evaluations.push_back(e);
        result.final_node_accuracy = e.accuracy;
      }
      if (!neighbourhood.empty()) {
        storage::EvaluationRecord e;
        e.round = round;
        e.split = "neighbourhood_mean";
        e.loss = MeanOf(neighbourhood_losses);
        e.accuracy = MeanOf(neighbourhood);
        e.num_samples = test_samples;
        evaluations.push_back(e);
      }
      if (!consensus.empty()) {
        storage::EvaluationRecord e;
        e.round = round;
        e.split = "local_consensus";
        e.loss = MeanOf(consensus);
        e.accuracy = kNaN;
        e.num_samples = static_cast<int64_t>(consensus.size());
        evaluations.push_back(e);
      }
      record.ended_at = UnixSeconds();
      round_started = record.ended_at;
      log.CommitRound(run_id, record, updates, evaluations, nullptr);
      result.last_round = round;
      char line[360];
      std::snprintf(line, sizeof line,
                    "round %lld/%lld: %lld of %zu nodes reported, local consensus %.3g, %.0f bytes "
                    "per node",
                    static_cast<long long>(round), static_cast<long long>(config.rounds),
                    static_cast<long long>(record.completed), nodes.size(), MeanOf(consensus),
                    MeanOf(bytes));
      if (!accuracies.empty()) {
        const size_t used = std::strlen(line);
        std::snprintf(line + used, sizeof line - used,
                      ", node accuracy %.4f, neighbourhood accuracy %.4f", MeanOf(accuracies),
                      MeanOf(neighbourhood));
      }
      if (global) {
        const size_t used = std::strlen(line);
        std::snprintf(line + used, sizeof line - used,
                      ", average model accuracy %.4f, consensus distance %.4g (%u nodes)",
                      global->average_accuracy, global->consensus_distance, global->nodes);
      }
      logger.Info(line);
      std::printf("%s\n", line);
      std::fflush(stdout);
      if (rendezvous.AllGone()) {
        logger.Warn("every node has left; ending the run");
        result.interrupted = round < config.rounds;
        break;
      }
    }
  } catch (const std::exception& e) {
    rendezvous.Stop("coordinator error");
    engine::MarkRunFailed(log, run_id, e);
    throw;
  }
  rendezvous.Stop(result.interrupted ? "shutting down" : "run finished");
  rendezvous.WaitClosed(std::chrono::seconds(5));
  if (result.interrupted) {
    log.EndRun(run_id, storage::RunStatus::kInterrupted,
               stop.load() ? "stopped by a signal" : "every node left");
  } else {
    log.EndRun(run_id, storage::RunStatus::kCompleted);
  }
  result.seconds = UnixSeconds() - started;
  return result;
}

}  // namespace edgefl::coordinator
