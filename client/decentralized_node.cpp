#include "client/decentralized_node.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include "algorithms/aggregate.h"
#include "algorithms/dsgd.h"
#include "algorithms/local_registry.h"
#include "algorithms/mixing_matrix.h"
#include "client/peer_mesh.h"
#include "common/error.h"
#include "nn/model.h"
#include "train/local_trainer.h"
#include "wire/framed_link.h"
#include "wire/messages.h"
#include "wire/peer_messages.h"
#include "wire/protocol_error.h"

namespace edgefl::client {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The coordinator connection after the handshake: the assignment, then
// Bye or Error, or its end.
class CoordinatorLink {
 public:
  void Attach(const std::shared_ptr<wire::FramedLink>& link, const LogFn& log) {
    link_ = link;
    link->Start([this, &log](wire::Frame frame) { OnFrame(frame, log); },
                [this](const std::string& why) {
                  std::lock_guard lock(mutex_);
                  if (!ended_) ended_ = "coordinator connection lost: " + why;
                  changed_.notify_all();
                });
  }

  void Send(const std::vector<uint8_t>& frame) {
    if (link_) link_->Send(frame);
  }
  void Close() {
    if (link_) link_->Close();
  }

  // The assignment and the metrics plan that follows it, or nullopt when
  // the connection ended first (`why` says how; `refused` when the
  // coordinator sent Error).
  std::optional<wire::PeerAssignment> WaitAssignment(wire::MetricsPlan* plan, std::string* why,
                                                     bool* refused) {
    std::unique_lock lock(mutex_);
    changed_.wait(
        lock, [&] { return (assignment_.has_value() && plan_.has_value()) || ended_.has_value(); });
    if (assignment_ && plan_) {
      *plan = *plan_;
      return assignment_;
    }
    *why = *ended_;
    *refused = refused_;
    return std::nullopt;
  }

  // Waits up to `timeout` for the coordinator's Bye or the connection's end.
  std::string WaitEnd(Clock::duration timeout) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return ended_.has_value(); });
    return ended_.value_or("no Bye from the coordinator in time");
  }

 private:
  void OnFrame(const wire::Frame& frame, const LogFn& log) {
    std::lock_guard lock(mutex_);
    try {
      if (wire::IsPeerMessageType(frame.type)) {
        const wire::PeerMessage m = wire::DecodePeerMessage(frame.type, frame.payload);
        if (const auto* a = std::get_if<wire::PeerAssignment>(&m); a != nullptr && !assignment_) {
          assignment_ = *a;
        } else if (const auto* p = std::get_if<wire::MetricsPlan>(&m);
                   p != nullptr && assignment_ && !plan_) {
          plan_ = *p;
        } else {
          log('W', "unexpected " + std::string(wire::MessageTypeName(frame.type)) +
                       " from the coordinator; ignored");
        }
      } else {
        const wire::Message m = wire::DecodeMessage(frame);
        if (const auto* bye = std::get_if<wire::Bye>(&m)) {
          ended_ = "coordinator said bye (" + bye->reason + ")";
          link_->Close();
        } else if (const auto* error = std::get_if<wire::ErrorMessage>(&m)) {
          ended_ = "coordinator error: " + error->message;
          refused_ = true;
          link_->Close();
        }
      }
    } catch (const wire::ProtocolError& e) {
      ended_ = std::string("protocol error from the coordinator: ") + e.what();
      link_->Close();
    }
    changed_.notify_all();
  }

  std::shared_ptr<wire::FramedLink> link_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<wire::PeerAssignment> assignment_;  // GUARDED_BY(mutex_)
  std::optional<wire::MetricsPlan> plan_;           // GUARDED_BY(mutex_)
  std::optional<std::string> ended_;                // GUARDED_BY(mutex_)
  bool refused_ = false;                            // GUARDED_BY(mutex_)
};

// Connects and completes the TLS handshake, retrying for options.retry_for
// seconds while the coordinator cannot be reached. nullopt with `why` set
// when it gives up (`refused` when the handshake itself failed).
std::unique_ptr<wire::TlsStream> ConnectCoordinator(asio::io_context& io,
                                                    asio::ssl::context& context,
                                                    const NodeOptions& options, const LogFn& log,
                                                    std::string* why, bool* refused) {
  const auto start = Clock::now();
  double backoff = 0.2;
  for (;;) {
    auto stream = std::make_unique<wire::TlsStream>(io, context);
    boost::system::error_code ec;
    tcp::resolver resolver(io);
    const auto endpoints = resolver.resolve(options.host, std::to_string(options.port), ec);
    if (!ec) asio::connect(stream->next_layer(), endpoints, ec);
    if (!ec) {
      stream->handshake(asio::ssl::stream_base::client, ec);
      if (ec) {
        *why = "TLS handshake with the coordinator failed: " +
               wire::DescribeTlsError(ec, stream->native_handle());
        *refused = true;
        return nullptr;
      }
      return stream;
    }
    if (std::chrono::duration<double>(Clock::now() - start).count() > options.retry_for) {
      *why = "cannot reach the coordinator at " + options.host + ":" +
             std::to_string(options.port) + ": " + ec.message();
      return nullptr;
    }
    log('W', "coordinator " + options.host + ":" + std::to_string(options.port) + ": " +
                 ec.message() + "; retrying in " + std::to_string(backoff) + " s");
    std::this_thread::sleep_for(std::chrono::duration<double>(backoff));
    backoff = std::min(backoff * 2.0, 2.0);
  }
}

algorithms::DsgdOptions OptionsFrom(const wire::PeerAssignment& a) {
  algorithms::DsgdOptions o;
  // The node never needs the graph (its neighbours are in the assignment):
  // a ring of num_nodes is built only because Dsgd holds one.
  o.topology.kind = algorithms::TopologyKind::kRing;
  o.update = algorithms::ParseDsgdUpdate(a.update, "PeerAssignment.update");
  o.schedule = algorithms::ParseDsgdSchedule(a.schedule, "PeerAssignment.schedule");
  o.beta = a.beta;
  o.tau_alpha = a.tau_alpha;
  o.tau_beta = a.tau_beta;
  o.recipe = a.task.recipe;
  o.local = a.task.local;
  o.seed = a.seed;
  return o;
}

std::span<const float> Span(const Eigen::VectorXf& v) {
  return {v.data(), static_cast<size_t>(v.size())};
}

// The bytes of a PeerModel frame of P parameters.
uint64_t ModelFrameBytes(Eigen::Index p) {
  return wire::kFrameHeaderSize + 8 + 4 + 4 + 4 * static_cast<uint64_t>(p);
}

}  // namespace

NodeEnd RunDecentralizedNode(const NodeOptions& options, const datasets::Dataset& data,
                             const TestLoader& load_test, const LogFn& log) {
  NodeEnd end;
  asio::io_context io(1);
  // Declared before the io thread's joiner: destroyed after the thread that
  // runs their handlers has been joined.
  CoordinatorLink coordinator;
  std::optional<PeerMesh> mesh_holder;
  // The TLS files first: not a peer certificate of the CA fails here.
  asio::ssl::context coordinator_context = wire::MakeClientContext(options.tls, options.host);
  wire::MakePeerContext(options.tls, wire::PeerEnd::kAccept);

  boost::system::error_code ec;
  const asio::ip::address listen_ip = asio::ip::make_address(options.listen_host, ec);
  if (ec) {
    throw ConfigError("--peer-listen: '" + options.listen_host +
                      "' is not an IP address (neighbours dial it as given)");
  }
  tcp::acceptor acceptor(io);
  const tcp::endpoint listen_endpoint(listen_ip, options.listen_port);
  acceptor.open(listen_endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(listen_endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw IoError("cannot listen for peers on " + wire::FormatEndpoint(listen_endpoint) + ": " +
                  ec.message());
  }
  const uint16_t listen_port = acceptor.local_endpoint().port();
  log('I', "listening for peers on " + options.listen_host + ":" + std::to_string(listen_port));

  bool refused = false;
  std::unique_ptr<wire::TlsStream> stream =
      ConnectCoordinator(io, coordinator_context, options, log, &end.reason, &refused);
  if (!stream) {
    end.kind = refused ? NodeEnd::Kind::kRefused : NodeEnd::Kind::kFailed;
    return end;
  }
  auto work = asio::make_work_guard(io);
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

  coordinator.Attach(
      std::make_shared<wire::FramedLink>(std::move(*stream), options.max_frame_bytes), log);
  coordinator.Send(wire::EncodePeerMessage(wire::PeerJoin{
      wire::kProtocolVersion, "edgefl-client 0.1", options.listen_host, listen_port, data.size()}));
  log('I', "joined the coordinator; waiting for the assignment");
  wire::MetricsPlan plan;
  std::optional<wire::PeerAssignment> assignment =
      coordinator.WaitAssignment(&plan, &end.reason, &refused);
  if (!assignment) {
    end.kind = refused ? NodeEnd::Kind::kRefused : NodeEnd::Kind::kFailed;
    return end;
  }
  const wire::PeerAssignment& a = *assignment;
  std::string names;
  for (const wire::PeerAddress& p : a.neighbours)
    names += (names.empty() ? "" : ", ") + p.node_id;
  log('I', "assigned node " + std::to_string(a.node_index) + " of " + std::to_string(a.num_nodes) +
               " in run '" + a.run_id + "' (" + a.topology + ", " + std::to_string(a.rounds) +
               " rounds, model " + a.task.model_spec +
               "); neighbours: " + (names.empty() ? "none" : names));

  const algorithms::Dsgd dsgd(OptionsFrom(a), std::max<uint32_t>(a.num_nodes, 1));
  const bool atc = dsgd.options().update == algorithms::DsgdUpdate::kAdaptThenCombine;
  nn::Model model(a.task.model_spec);
  model.Initialize(a.seed);  // as the simulator: every node starts from the same model
  Eigen::VectorXf x = model.parameters();
  train::LocalTrainer trainer(a.task.model_spec, data);
  const std::optional<datasets::Dataset> test = load_test(a.test_subset);
  algorithms::ClientInfo info;
  info.id = options.node_id;
  info.num_samples = data.size();
  // The client part fails here on a bad key, before any link.
  algorithms::MakeLocalObjective(dsgd.Instructions(1, info).local, &data);

  MeshOptions mesh_options;
  mesh_options.node_id = options.node_id;
  mesh_options.index = a.node_index;
  mesh_options.run_id = a.run_id;
  mesh_options.neighbours = a.neighbours;
  mesh_options.max_frame_bytes = options.max_frame_bytes;
  // The global metrics' gather: the metrics node takes every model at an
  // evaluation round, on a graph link or a metrics-only link.
  const bool gather = !plan.metrics_node.node_id.empty();
  const bool metrics_node = gather && plan.metrics_node.index == a.node_index;
  size_t metrics_slot = a.neighbours.size();  // where a node sends its MetricsModel
  if (metrics_node) {
    mesh_options.metrics_node = true;
    for (const wire::PeerAddress& m : plan.members) {
      const bool neighbour =
          std::any_of(a.neighbours.begin(), a.neighbours.end(),
                      [&](const wire::PeerAddress& n) { return n.index == m.index; });
      if (!neighbour && m.index != a.node_index) mesh_options.metrics_peers.push_back(m);
    }
  } else if (gather) {
    for (size_t k = 0; k < a.neighbours.size(); ++k) {
      if (a.neighbours[k].index == plan.metrics_node.index) metrics_slot = k;
    }
    if (metrics_slot == a.neighbours.size())
      mesh_options.metrics_peers.push_back(plan.metrics_node);
  }
  if (!gather) log('I', "no global metrics in this run (dsgd_global_metrics = false)");
  if (gather) {
    log('I', metrics_node ? "this node is the metrics node: it gathers the models at evaluation "
                            "rounds for the average model's accuracy and the consensus distance"
                          : "metrics node: " + plan.metrics_node.node_id);
  }
  PeerMesh& mesh = mesh_holder.emplace(io, options.tls, std::move(acceptor), mesh_options, log);
  mesh.Start();
  struct Stopper {
    PeerMesh& mesh;
    ~Stopper() { mesh.Stop("node stopped"); }
  } stopper{mesh};

  const double timeout_seconds = a.round_timeout_seconds > 0 ? a.round_timeout_seconds : 10.0;
  const auto round_timeout =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_seconds));
  {
    // Before round 1: every neighbour linked, or the round timeout.
    // Before round 1: every neighbour (and metrics link) linked, or the
    // round timeout.
    const auto deadline = Clock::now() + round_timeout;
    while (Clock::now() < deadline) {
      size_t up = 0;
      for (size_t k = 0; k < mesh.slots(); ++k)
        up += mesh.Up(k) ? 1 : 0;
      if (up == mesh.slots()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  for (int64_t round = 1; round <= a.rounds; ++round) {
    const train::FitInstructions instructions = dsgd.Instructions(round, info);
    algorithms::ObjectiveContext context;
    context.local_data = &data;
    context.recipe = &instructions.recipe;
    auto objective = algorithms::MakeLocalObjective(instructions.local, context);
    auto order = algorithms::MakeDataOrder(instructions.local, &instructions.recipe);
    const train::LocalTrainResult trained = trainer.Train(
        Span(x), instructions.recipe, objective.get(), order.get(), &instructions.preconditioning);
    const Eigen::VectorXf& y = trained.parameters;

    // Send to every neighbour that is up now; d_i = their number.
    std::vector<size_t> live;
    for (size_t k = 0; k < mesh.size(); ++k) {
      if (mesh.Up(k)) live.push_back(k);
    }
    const auto degree = static_cast<uint32_t>(live.size());
    const std::vector<uint8_t> frame =
        wire::EncodePeerMessage(wire::PeerModel{round, degree, atc ? y : x});
    std::vector<uint64_t> sent(mesh.size(), 0);
    uint64_t bytes_sent = 0;
    auto send = [&](size_t k) {
      sent[k] = mesh.SendTo(k, frame);
      if (sent[k] != 0) bytes_sent += frame.size();
    };
    for (size_t k : live)
      send(k);
    std::map<size_t, wire::PeerModel> received =
        mesh.Collect(round, sent, Clock::now() + round_timeout, send);

    // The Metropolis–Hastings row over the models that arrived (mis-sized
    // ones are left out), in ascending node index.
    std::vector<std::pair<size_t, size_t>> known;
    std::map<size_t, const Eigen::VectorXf*> by_index;
    by_index[a.node_index] = atc ? &y : &x;
    uint64_t bytes_received = 0;
    for (const auto& [k, m] : received) {
      bytes_received += ModelFrameBytes(m.parameters.size());
      if (m.parameters.size() != x.size()) {
        log('W', "round " + std::to_string(round) + ": " + mesh.neighbour(k).node_id + " sent " +
                     std::to_string(m.parameters.size()) + " parameters, expected " +
                     std::to_string(x.size()) + "; left out");
        continue;
      }
      by_index[mesh.neighbour(k).index] = &m.parameters;
    }
    for (const auto& [j, v] : by_index) {
      if (j == a.node_index) continue;
      for (const auto& [k, m] : received) {
        if (mesh.neighbour(k).index == j) known.emplace_back(j, m.degree);
      }
    }
    std::sort(known.begin(), known.end());
    const algorithms::MixingRow row =
        algorithms::MetropolisHastingsRow(a.node_index, degree, known, dsgd.Beta(round));
    std::vector<algorithms::ParameterSpan> vectors;
    for (size_t j : row.nodes)
      vectors.push_back(Span(*by_index.at(j)));
    Eigen::VectorXf next(x.size());
    algorithms::WeightedSum(vectors, row.weights, std::span<float>(next.data(), vectors[0].size()));
    if (!atc) next += y - x;

    // Metrics over the models it mixed, before the mix.
    std::vector<Eigen::VectorXf> mixed;
    for (const auto& [j, v] : by_index)
      mixed.push_back(*v);
    wire::NodeReport report;
    report.round = round;
    report.num_samples = data.size();
    report.local_steps = trained.steps;
    report.loss_before = trained.loss_before;
    report.loss_after = trained.loss_after;
    report.compute_seconds = trained.compute_seconds;
    report.local_consensus = algorithms::ConsensusDistance(mixed);
    report.bytes_sent = bytes_sent;
    report.bytes_received = bytes_received;
    report.live_neighbours = degree;
    report.mixed_neighbours = static_cast<uint32_t>(by_index.size() - 1);
    report.test_loss = report.test_accuracy = kNaN;
    report.neighbourhood_loss = report.neighbourhood_accuracy = kNaN;
    x = std::move(next);
    const bool eval_round = round % std::max<int64_t>(a.eval_every, 1) == 0 || round == a.rounds;
    const bool evaluate = test.has_value() && eval_round;
    if (gather && eval_round && !metrics_node) {
      mesh.SendTo(metrics_slot, wire::EncodePeerMessage(wire::MetricsModel{round, x}));
    } else if (gather && eval_round) {
      // The simulator's x̄ and consensus distance over the models that
      // arrived, in ascending node index (AverageModel sums in that order).
      std::map<uint32_t, Eigen::VectorXf> all;
      all[a.node_index] = x;
      for (auto& [k, m] : mesh.CollectMetrics(round, Clock::now() + round_timeout)) {
        if (m.parameters.size() != x.size()) {
          log('W', "round " + std::to_string(round) + ": " + mesh.neighbour(k).node_id +
                       " gathered " + std::to_string(m.parameters.size()) +
                       " parameters, expected " + std::to_string(x.size()) + "; left out");
          continue;
        }
        all[mesh.neighbour(k).index] = std::move(m.parameters);
      }
      std::vector<Eigen::VectorXf> models;
      for (auto& [j, v] : all)
        models.push_back(std::move(v));
      wire::GlobalMetrics global;
      global.round = round;
      global.nodes = static_cast<uint32_t>(models.size());
      global.consensus_distance = algorithms::ConsensusDistance(models);
      global.average_loss = global.average_accuracy = kNaN;
      if (test.has_value()) {
        model.parameters() = algorithms::AverageModel(models);
        const train::EvalResult average = train::LocalTrainer::Evaluate(model, *test);
        global.average_loss = average.loss;
        global.average_accuracy = average.accuracy;
        global.test_samples = average.num_samples;
      }
      coordinator.Send(wire::EncodePeerMessage(global));
      char line[200];
      std::snprintf(line, sizeof line,
                    "round %lld: average model of %u nodes: test accuracy %.4f, consensus "
                    "distance %.4g",
                    static_cast<long long>(round), global.nodes, global.average_accuracy,
                    global.consensus_distance);
      log('I', line);
    }
    if (evaluate) {
      model.parameters() = x;
      const train::EvalResult own = train::LocalTrainer::Evaluate(model, *test);
      model.parameters() = algorithms::AverageModel(mixed);
      const train::EvalResult mean = train::LocalTrainer::Evaluate(model, *test);
      report.test_loss = own.loss;
      report.test_accuracy = own.accuracy;
      report.test_samples = own.num_samples;
      report.neighbourhood_loss = mean.loss;
      report.neighbourhood_accuracy = mean.accuracy;
    }
    coordinator.Send(wire::EncodePeerMessage(report));
    char line[200];
    std::snprintf(line, sizeof line,
                  "round %lld: loss %.4f -> %.4f, mixed %u of %u neighbours (degree %u), local "
                  "consensus %.3g%s",
                  static_cast<long long>(round), trained.loss_before, trained.loss_after,
                  report.mixed_neighbours, static_cast<unsigned>(mesh.size()), degree,
                  report.local_consensus, evaluate ? "" : "");
    std::string text = line;
    if (evaluate) text += ", test accuracy " + std::to_string(report.test_accuracy);
    log('I', text);
    end.rounds_done = round;
  }
  mesh.Stop("run finished");
  log('I', "all " + std::to_string(a.rounds) + " rounds done; " +
               coordinator.WaitEnd(std::chrono::seconds(30)));
  coordinator.Close();
  end.kind = NodeEnd::Kind::kFinished;
  end.reason = "run finished";
  return end;
}

}  // namespace edgefl::client
