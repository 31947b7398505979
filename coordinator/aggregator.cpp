#include "coordinator/aggregator.h"

#include <chrono>
#include <cmath>
#include <future>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "algorithms/strategy_registry.h"
#include "common/error.h"
#include "common/wall_clock.h"
#include "coordinator/client_registry.h"
#include "coordinator/group_round.h"
#include "coordinator/io_threads.h"
#include "coordinator/server_settings.h"
#include "coordinator/tls_server.h"
#include "coordinator/upstream_link.h"
#include "engine/experiment_runner.h"
#include "nn/model.h"
#include "storage/experiment_log.h"
#include "wire/group_messages.h"
#include "wire/protocol_error.h"
#include "wire/secagg_messages.h"
#include "wire/tls_context.h"

namespace edgefl::coordinator {
namespace {

namespace asio = boost::asio;

// The devices' rows of a group round, under the log's round number.
std::vector<storage::ClientUpdateRecord> DeviceRows(const engine::RoundReport& report,
                                                    int64_t round, int64_t model_bytes) {
  std::vector<storage::ClientUpdateRecord> out;
  for (const train::FitResult& r : report.results) {
    storage::ClientUpdateRecord u;
    u.round = round;
    u.client_id = r.client;
    u.num_samples = static_cast<int64_t>(r.train.num_samples);
    u.local_steps = r.train.steps;
    u.loss_before = r.train.loss_before;
    u.loss_after = r.train.loss_after;
    u.bytes_in = r.bytes_in > 0 ? r.bytes_in : model_bytes;
    u.bytes_out = r.bytes_out > 0 ? r.bytes_out : model_bytes;
    u.compute_seconds = r.train.compute_seconds;
    u.status =
        report.model_updated ? storage::UpdateStatus::kAccepted : storage::UpdateStatus::kDiscarded;
    if (!report.model_updated) u.reason = report.outcome;
    out.push_back(std::move(u));
  }
  for (const train::FitFailure& f : report.failures) {
    storage::ClientUpdateRecord u;
    u.round = round;
    u.client_id = f.client;
    u.loss_before = u.loss_after = u.compute_seconds = std::nan("");
    u.bytes_out = model_bytes;
    u.status = f.kind == train::FitFailure::Kind::kDropped ? storage::UpdateStatus::kDropped
                                                           : storage::UpdateStatus::kRejected;
    u.reason = f.reason;
    out.push_back(std::move(u));
  }
  return out;
}

// A value of Welcome's run_config, or nullopt.
template <typename T>
std::optional<T> RunConfigValue(const wire::Welcome& welcome, const std::string& key) {
  const auto it = welcome.run_config.find(key);
  if (it == welcome.run_config.end() || !std::holds_alternative<T>(it->second)) return std::nullopt;
  return std::get<T>(it->second);
}

// secure_aggregation = true in the aggregator's config.
bool AggregatorRunsSecAgg(const engine::ExperimentConfig& config) {
  const auto it = config.algorithm_params.find("secure_aggregation");
  return it != config.algorithm_params.end() && std::holds_alternative<bool>(it->second) &&
         std::get<bool>(it->second);
}

// Throws ConfigError when the upstream's run does not fit this aggregator.
void CheckWelcome(const wire::Welcome& welcome, const engine::ExperimentConfig& config,
                  uint64_t num_parameters) {
  const std::string upstream = "the upstream " + config.upstream;
  const std::optional<bool> sums = RunConfigValue<bool>(welcome, "group_sums");
  if (!sums) {
    throw ConfigError(upstream + " does not say whether it takes group sums (run_config " +
                      "\"group_sums\"): run an edgefl-coordinator of this release upstream");
  }
  if (!*sums) {
    const std::optional<std::string> why =
        RunConfigValue<std::string>(welcome, "group_sums_refused");
    throw ConfigError(upstream + " (run " + welcome.run_id + ") cannot take edge aggregators' " +
                      "group sums: " + why.value_or("its strategy needs each client's update"));
  }
  if (welcome.model_spec != config.model || welcome.num_parameters != num_parameters) {
    throw ConfigError(upstream + " runs model " + welcome.model_spec + " (" +
                      std::to_string(welcome.num_parameters) + " parameters) but this " +
                      "aggregator's model is " + config.model + ": set model = \"" +
                      welcome.model_spec + "\"");
  }
  // Secure aggregation must be on at both ends: an upstream that runs it
  // must never get a sum its aggregator built from devices' plain updates,
  // and an aggregator told secure_aggregation = true never sends one.
  const bool upstream_secure = RunConfigValue<bool>(welcome, "secure_aggregation").value_or(false);
  if (upstream_secure != AggregatorRunsSecAgg(config)) {
    throw ConfigError(upstream + " (run " + welcome.run_id + ") runs " +
                      (upstream_secure ? "with" : "without") +
                      " secure aggregation but this aggregator's secure_aggregation is " +
                      (upstream_secure ? "false" : "true") +
                      ": set secure_aggregation = " + (upstream_secure ? "true" : "false") +
                      " (a secure tree runs SecAgg+ within every group)");
  }
  const std::optional<int64_t> seed = RunConfigValue<int64_t>(welcome, "seed");
  if (!seed || *seed != config.seed) {
    throw ConfigError(upstream + " runs seed " + (seed ? std::to_string(*seed) : "(none sent)") +
                      " but this aggregator's seed is " + std::to_string(config.seed) +
                      ": set seed = " + (seed ? std::to_string(*seed) : "the upstream's") +
                      " (devices draw their recipe seeds from it, as in a flat run)");
  }
}

}  // namespace

Aggregator::Aggregator(engine::ExperimentConfig config, Logger logger)
    : config_(std::move(config)), logger_(std::move(logger)) {}

Aggregator::~Aggregator() = default;

void Aggregator::Stop() {
  stop_ = true;
  std::lock_guard lock(mutex_);
  if (registry_ != nullptr) registry_->RequestStop();
  if (link_ != nullptr) link_->Interrupt();
  if (server_ != nullptr) server_->Stop("shutting down");
}

AggregatorResult Aggregator::Run(const std::function<void(const std::string&)>& on_listening) {
  const nn::Model model(config_.model);
  const uint64_t num_parameters = static_cast<uint64_t>(model.num_parameters());
  const int64_t model_bytes = static_cast<int64_t>(4 * num_parameters);
  const uint64_t needed = 4 * num_parameters + (64u << 10);
  if (static_cast<uint64_t>(config_.max_frame_bytes) < needed) {
    throw ConfigError("max_frame_bytes " + std::to_string(config_.max_frame_bytes) +
                      " is too small for model " + config_.model + " (" +
                      std::to_string(num_parameters) + " parameters need at least " +
                      std::to_string(needed) + ")");
  }
  UpstreamOptions upstream;
  const engine::HostPort where = engine::ParseListenAddress(config_.upstream, "upstream");
  upstream.host = where.host;
  upstream.port = where.port;
  upstream.tls = wire::TlsFiles{config_.upstream_cert, config_.upstream_key,
                                config_.upstream_ca.empty() ? config_.ca : config_.upstream_ca};
  upstream.max_frame_bytes = static_cast<uint32_t>(config_.max_frame_bytes);
  {
    UpstreamLink check(upstream);
  }  // unreadable upstream certificates fail before the port is bound
  asio::ssl::context tls =
      wire::MakeServerContext(wire::TlsFiles{config_.cert, config_.key, config_.ca});

  storage::ExperimentLog log(config_.db);
  const storage::RunLease lease = engine::ClaimRun(log, config_);
  const std::optional<storage::RunInfo> existing = engine::RunToResume(log, config_);
  int64_t run_id = 0;
  int64_t last_done = 0;
  if (existing) {
    run_id = existing->id;
    last_done = log.ResumeRun(run_id);
  } else {
    storage::RunSpec spec = engine::RunSpecOf(config_);
    spec.planned_rounds = 0;  // the upstream decides
    run_id = log.BeginRun(spec);
  }
  engine::RecordRunStart(log, run_id, lease, existing, config_);
  int64_t version = last_done;  // the log's model version: one per aggregated group round

  ServerOptions server_options = ServerOptionsFrom(config_, num_parameters);
  SessionOptions& session = server_options.session;
  // Below an aggregator the tree goes on: a further aggregator's group sum
  // is taken like a device's update (the config passed GroupSumProblem).
  session.group_sums_refused = "";
  const bool secure = AggregatorRunsSecAgg(config_);
  session.run_config = {{"mode", std::string("sync")},
                        {"role", std::string("aggregator")},
                        {"group_sums", true},
                        {"secure_aggregation", secure},
                        {"seed", config_.seed}};

  const size_t min_clients = static_cast<size_t>(std::max<int64_t>(config_.min_clients, 1));
  asio::io_context io(2);
  ClientRegistry registry(min_clients, logger_);
  TlsServer server(io, tls, server_options, registry, logger_);
  server.Start();
  IoThreads threads(io, 2);
  {
    std::lock_guard lock(mutex_);
    registry_ = &registry;
    server_ = &server;
  }
  // Stop() must never see them once they are gone, however Run leaves.
  struct Unpublish {
    Aggregator& self;
    ~Unpublish() {
      std::lock_guard lock(self.mutex_);
      self.registry_ = nullptr;
      self.server_ = nullptr;
      self.link_ = nullptr;
    }
  } unpublish{*this};
  if (stop_) registry.RequestStop();
  on_listening(server.address());
  logger_.Info("edge aggregator '" + config_.run_name + "' for " + config_.upstream +
               ": waiting for " + std::to_string(min_clients) + " clients of its group; log " +
               config_.db);

  GroupRoundOptions group_options;
  group_options.deadline = Milliseconds(config_.deadline);
  group_options.quorum = config_.quorum;
  group_options.run_seed = static_cast<uint64_t>(config_.seed);
  if (secure) {
    // The same options a flat run's FedAvg reads (secagg_* keys, the run
    // seed for the graph and the rounding), so the group's SecAgg+ round is
    // the flat coordinator's over this group.
    const std::unique_ptr<algorithms::Strategy> flat =
        algorithms::MakeStrategy(engine::StrategyConfigFrom(config_));
    if (flat->secure_aggregation() == nullptr) {
      throw ConfigError("secure_aggregation = true but strategy " + config_.strategy +
                        " did not configure secure aggregation");
    }
    group_options.secure = *flat->secure_aggregation();
    logger_.Info(
        "secure aggregation within the group: SecAgg+ over its devices, only the "
        "group's sum goes upstream");
  }

  AggregatorResult result;
  std::string end_reason = "shutting down";
  auto backoff = std::chrono::milliseconds(1000);
  while (!stop_ && !result.finished) {
    while (!stop_ && !registry.WaitForClients(min_clients, std::chrono::milliseconds(1000))) {
    }
    if (stop_) break;
    // Hello tells the upstream the group's samples (its quorum may count them).
    uint64_t samples = 0;
    for (const std::shared_ptr<RemoteClient>& c : registry.Connected())
      samples += c->info().num_samples;
    upstream.device.dataset_size = samples;
    upstream.device.cores = static_cast<uint32_t>(std::thread::hardware_concurrency());
    UpstreamLink link(upstream);
    {
      std::lock_guard lock(mutex_);
      link_ = &link;
    }
    struct Unlink {
      Aggregator& self;
      ~Unlink() {
        std::lock_guard lock(self.mutex_);
        self.link_ = nullptr;
      }
    } unpublish_link{*this};
    try {
      if (stop_) throw UpstreamError("stopped", false);
      const wire::Welcome welcome = link.Open();
      CheckWelcome(welcome, config_, num_parameters);
      logger_.Info("upstream " + config_.upstream + ": welcomed as " + link.client_id() + " (run " +
                   welcome.run_id + ", session " + welcome.session_id + ", group of " +
                   std::to_string(registry.size()) + " clients, " + std::to_string(samples) +
                   " samples)");
      backoff = std::chrono::milliseconds(1000);
      const auto heartbeat = std::chrono::duration<double>(
          welcome.heartbeat_interval_seconds > 0 ? welcome.heartbeat_interval_seconds : 5.0);
      uint64_t heartbeat_sequence = 0;
      for (;;) {
        const wire::Frame frame = link.Receive();
        if (frame.type == wire::MessageType::kSecAggTrain) {
          // The upstream's round is secure: this group's devices keep their
          // updates and only the unmasked group sum goes up. An aggregator
          // without secure aggregation refuses (it would sum plain updates).
          int64_t round = 0;
          try {
            round =
                std::get<wire::SecAggTrain>(wire::DecodeSecAggMessage(frame.type, frame.payload))
                    .round;
          } catch (const wire::ProtocolError& e) {
            link.Send(
                wire::EncodeMessage(wire::ErrorMessage{wire::ErrorCode::kProtocol, e.what()}));
            throw UpstreamError(std::string("protocol error from the upstream: ") + e.what(),
                                false);
          }
          if (!secure) {
            const std::string what = "SecAggTrain for round " + std::to_string(round) +
                                     " but this aggregator runs without secure aggregation "
                                     "(secure_aggregation = false)";
            link.Send(wire::EncodeMessage(wire::ErrorMessage{wire::ErrorCode::kBadTask, what}));
            throw UpstreamError(what, true);
          }
          continue;
        }
        if (!wire::IsKnownMessageType(static_cast<uint16_t>(frame.type)) ||
            wire::IsGroupMessageType(frame.type) || wire::IsCompressedMessageType(frame.type) ||
            wire::IsSecAggMessageType(frame.type)) {
          // No stage of the upstream's secure aggregation either: an
          // aggregator answers with its group's sum, never a device's part.
          const std::string what = "unexpected " + std::string(wire::MessageTypeName(frame.type)) +
                                   " from the upstream (an edge aggregator answers TrainTasks "
                                   "with its group's sum only)";
          link.Send(wire::EncodeMessage(wire::ErrorMessage{wire::ErrorCode::kProtocol, what}));
          throw UpstreamError(what, false);
        }
        wire::Message message;
        try {
          message = wire::DecodeMessage(frame);
        } catch (const wire::ProtocolError& e) {
          link.Send(wire::EncodeMessage(wire::ErrorMessage{wire::ErrorCode::kProtocol, e.what()}));
          throw UpstreamError(std::string("protocol error from the upstream: ") + e.what(), false);
        }
        if (std::holds_alternative<wire::Heartbeat>(message)) continue;
        if (const auto* bye = std::get_if<wire::Bye>(&message)) {
          logger_.Info("upstream said bye (" + bye->reason + ")");
          end_reason = bye->reason;
          result.finished = bye->reason == "run finished";
          result.interrupted = !result.finished;
          break;
        }
        if (const auto* error = std::get_if<wire::ErrorMessage>(&message)) {
          throw UpstreamError("the upstream sent Error: " + error->message,
                              error->code == wire::ErrorCode::kUnauthorized ||
                                  error->code == wire::ErrorCode::kReplaced);
        }
        auto* task = std::get_if<wire::TrainTask>(&message);
        if (task == nullptr) {
          const std::string what = "an edge aggregator does not answer " +
                                   std::string(wire::MessageTypeName(frame.type));
          link.Send(wire::EncodeMessage(wire::ErrorMessage{wire::ErrorCode::kBadTask, what}));
          throw UpstreamError(what, false);
        }
        if (static_cast<uint64_t>(task->parameters.size()) != num_parameters ||
            task->model_spec != config_.model) {
          const std::string what = "TrainTask for round " + std::to_string(task->round) +
                                   " does not fit model " + config_.model;
          link.Send(wire::EncodeMessage(wire::ErrorMessage{wire::ErrorCode::kBadTask, what}));
          throw UpstreamError(what, false);
        }

        // The group's round on a worker; heartbeats up meanwhile.
        const double started_at = UnixSeconds();
        std::future<std::optional<GroupRound>> running =
            std::async(std::launch::async, [&registry, &group_options, task]() {
              std::optional<GroupRound> out;
              const std::vector<std::shared_ptr<engine::ClientProxy>> clients =
                  registry.ClientsForRound(task->round);
              if (clients.empty()) return out;  // stopped
              std::vector<engine::ClientProxy*> raw;
              for (const auto& c : clients)
                raw.push_back(c.get());
              out = RunGroupRound(*task, raw, group_options);
              return out;
            });
        std::optional<UpstreamError> lost;
        std::optional<wire::Bye> bye_during;
        while (running.wait_for(heartbeat) != std::future_status::ready) {
          if (lost || bye_during) continue;
          try {
            while (std::optional<wire::Frame> f = link.Poll()) {
              if (f->type == wire::MessageType::kBye) {
                bye_during = std::get<wire::Bye>(wire::DecodeMessage(*f));
                break;
              }
              if (f->type == wire::MessageType::kHeartbeat) continue;
              throw UpstreamError("unexpected " + std::string(wire::MessageTypeName(f->type)) +
                                      " from the upstream during round " +
                                      std::to_string(task->round),
                                  false);
            }
            if (!bye_during) {
              link.Send(wire::EncodeMessage(
                  wire::Heartbeat{heartbeat_sequence++, task->round, std::nan("")}));
            }
          } catch (const UpstreamError& e) {
            lost = e;  // the group's round still finishes and is logged
          } catch (const wire::ProtocolError& e) {
            lost =
                UpstreamError(std::string("protocol error from the upstream: ") + e.what(), false);
          }
        }
        std::optional<GroupRound> group = running.get();
        if (!group) break;  // stopped while waiting for the group

        // Commit the group's round to this aggregator's log, then send it up.
        for (const RegisteredClient& c : registry.TakeJoined()) {
          storage::ClientRecord record;
          record.client_id = c.client_id;
          record.profile = c.profile_json;
          record.first_seen = c.first_seen;
          record.last_seen = c.last_seen;
          log.UpsertClient(record);
        }
        const engine::RoundReport& report = group->report;
        const int64_t round = ++last_done;
        if (report.model_updated) ++version;
        storage::RoundRecord record;
        record.round = round;
        record.model_version = version;
        record.selected = static_cast<int64_t>(report.selected.size());
        record.aggregated = report.model_updated;
        record.outcome = report.outcome;
        record.metrics = report.metrics;
        record.metrics["upstream_round"] = static_cast<double>(task->round);
        record.completed = report.model_updated ? static_cast<int64_t>(report.results.size()) : 0;
        record.dropped = static_cast<int64_t>(report.dropped());
        record.rejected = static_cast<int64_t>(report.rejected());
        record.started_at = started_at;
        record.ended_at = UnixSeconds();
        record.train_loss = report.train_loss;
        storage::Checkpoint checkpoint;
        checkpoint.round = round;
        checkpoint.spec = config_.model;
        checkpoint.parameters = group->sum ? group->mean : task->parameters;
        log.CommitRound(run_id, record, DeviceRows(report, round, model_bytes), {}, &checkpoint);
        if (config_.keep_checkpoints > 0) log.PruneCheckpoints(run_id, config_.keep_checkpoints);
        ++result.rounds;
        if (bye_during) {
          logger_.Info("upstream said bye (" + bye_during->reason + ") during round " +
                       std::to_string(task->round) + "; the group's sum is not sent");
          end_reason = bye_during->reason;
          result.finished = bye_during->reason == "run finished";
          result.interrupted = !result.finished;
          break;
        }
        if (lost) throw *lost;
        if (group->sum) {
          logger_.Info("round " + std::to_string(task->round) + ": group sum of " +
                       std::to_string(group->sum->clients) + " clients, " +
                       std::to_string(group->sum->weight) + " samples (" +
                       std::to_string(group->sum->dropped) + " without an update) sent up");
          link.Send(wire::EncodeGroupMessage(*group->sum));
          link.Send(wire::EncodeMessage(group->result));
        } else {
          // The group has nothing to send: the upstream records it as
          // dropped, and the connection starts afresh (as a device's does).
          const std::string what = link.client_id() + ": no group sum for round " +
                                   std::to_string(task->round) + ": " + report.outcome;
          logger_.Warn(what);
          link.Send(
              wire::EncodeMessage(wire::ErrorMessage{wire::ErrorCode::kTrainingFailed, what}));
          throw UpstreamError(what, false);
        }
      }
    } catch (const UpstreamError& e) {
      if (stop_) break;
      if (e.refused) throw;
      logger_.Warn(std::string(e.what()) + "; reconnecting to the upstream in " +
                   std::to_string(backoff.count() / 1000) + " s");
      const auto until = std::chrono::steady_clock::now() + backoff;
      while (!stop_ && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(10000));
      continue;
    }
  }
  if (stop_ && !result.finished) result.interrupted = true;
  {
    std::lock_guard lock(mutex_);
    registry_ = nullptr;
    server_ = nullptr;
  }
  server.Stop(end_reason);
  if (!server.WaitClosed(std::chrono::seconds(5))) {
    logger_.Warn(std::to_string(server.connections()) + " connections still open; closing anyway");
  }
  log.EndRun(run_id,
             result.finished ? storage::RunStatus::kCompleted : storage::RunStatus::kInterrupted,
             result.finished ? "" : end_reason);
  return result;
}

}  // namespace edgefl::coordinator
