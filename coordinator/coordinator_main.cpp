// edgefl-coordinator: the federated-learning server of a deployment.
//
//   edgefl-coordinator --config coord.toml [--set key=value ...] [--port N]
//
// Listens for edgefl-client connections over mutual TLS, keeps a registry
// of the connected clients, and runs the experiment the config describes
// through the same loop as `edgefl sim` (RunExperiment: rounds through the
// RoundEngine, evaluation on the test split, one durable SQLite commit per
// round). A run of the same run_name that did not finish is resumed.
// With mode = async the run goes through RunAsyncExperiment over a
// HostAsyncEngine instead: every connected client always has a task, each
// model version is one commit; an async run that did not finish is resumed
// after its last committed version (tasks in flight at the restart are
// lost; clients reconnect and train from the resumed model).
//
// Output: "listening on HOST:PORT" on stderr once bound; log lines on
// stderr ("I|W|E YYYY-MM-DD HH:MM:SS.mmm text"); progress on stdout (round
// i/N, accuracy, ETA): one line rewritten in place when stdout is a terminal
// and stderr is not, else one line per round. SIGINT/SIGTERM: the current
// round is finished, then clients get Bye and the run is marked interrupted
// (exit 0); a second signal abandons the round in progress (its clients are
// dropped). In async mode the first signal stops at once: the tasks in
// flight are abandoned. SIGHUP: the certificate files are read again for
// new connections (open sessions keep theirs) and log_file is reopened.
// With metrics_listen, Prometheus metrics on http://HOST:PORT/metrics
// ("metrics on ..." on stderr once bound). docs/operations.md.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cxxopts.hpp>

#include "algorithms/async_strategy_registry.h"
#include "algorithms/strategy_registry.h"
#include "common/error.h"
#include "common/process_stats.h"
#include "coordinator/aggregator.h"
#include "coordinator/client_registry.h"
#include "coordinator/host_async_engine.h"
#include "coordinator/io_threads.h"
#include "coordinator/log.h"
#include "coordinator/log_output.h"
#include "coordinator/metrics.h"
#include "coordinator/metrics_server.h"
#include "coordinator/rendezvous.h"
#include "coordinator/server_settings.h"
#include "coordinator/tls_server.h"
#include "datasets/fashion_mnist.h"
#include "engine/async_runner.h"
#include "engine/experiment_config.h"
#include "engine/experiment_data.h"
#include "engine/experiment_runner.h"
#include "nn/model.h"
#include "storage/experiment_log.h"
#include "wire/tls_context.h"

namespace {

namespace asio = boost::asio;
using namespace edgefl;
using namespace edgefl::coordinator;
using namespace edgefl::engine;

// The registry as the runner's ClientSource, recording clients that joined
// in the log's clients table between rounds (on the runner's thread, with
// its own connection: the registry stays free of SQLite).
class RecordingSource final : public ClientSource {
 public:
  RecordingSource(ClientRegistry& registry, const std::string& db, const Logger& logger)
      : registry_(registry), log_(db), logger_(logger) {}

  std::vector<std::shared_ptr<ClientProxy>> ClientsForRound(int64_t round) override {
    std::vector<std::shared_ptr<ClientProxy>> clients = registry_.ClientsForRound(round);
    Record();
    return clients;
  }

  // Records the joins not yet recorded.
  void Record() {
    for (const RegisteredClient& c : registry_.TakeJoined()) {
      storage::ClientRecord record;
      record.client_id = c.client_id;
      record.profile = c.profile_json;
      record.first_seen = c.first_seen;
      record.last_seen = c.last_seen;
      try {
        log_.UpsertClient(record);
      } catch (const IoError& e) {
        logger_.Warn(std::string("could not record client ") + c.client_id + ": " + e.what());
      }
    }
  }

 private:
  ClientRegistry& registry_;
  storage::ExperimentLog log_;
  const Logger& logger_;
};

// Raises the soft open-files limit towards the hard one when
// max_connections sockets (plus files and the listener) would not fit.
void RaiseOpenFilesLimit(size_t connections, const Logger& logger) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= connections + 64) return;
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < connections + 64) {
    logger.Warn("open-files limit " + std::to_string(limit.rlim_cur) +
                " is below max_connections " + std::to_string(connections) + " + 64");
  }
}

// The signals of a coordinator role that runs outside the round server:
// SIGINT/SIGTERM call `on_stop` (logged as "SIGTERM: " + stopping), SIGHUP
// reopens log_file (logged with `hup_note` appended). Handled on a thread
// of its own from construction to destruction.
class RoleSignals {
 public:
  RoleSignals(const Logger& logger, LogOutput& log_output, std::string stopping,
              std::string hup_note, std::function<void()> on_stop)
      : logger_(logger),
        log_output_(log_output),
        stopping_(std::move(stopping)),
        hup_note_(std::move(hup_note)),
        on_stop_(std::move(on_stop)),
        signals_(io_, SIGINT, SIGTERM, SIGHUP) {
    Wait();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~RoleSignals() {
    io_.stop();
    thread_.join();
  }
  RoleSignals(const RoleSignals&) = delete;
  RoleSignals& operator=(const RoleSignals&) = delete;

 private:
  void Wait() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        const std::string error = log_output_.Reopen();
        logger_.Info(
            "SIGHUP: " +
            (error.empty() ? std::string("log file reopened") : "log file not reopened: " + error) +
            hup_note_);
      } else {
        logger_.Info(std::string(signal == SIGINT ? "SIGINT" : "SIGTERM") + ": " + stopping_);
        on_stop_();
      }
      Wait();
    });
  }

  const Logger& logger_;
  LogOutput& log_output_;
  const std::string stopping_;
  const std::string hup_note_;
  const std::function<void()> on_stop_;
  asio::io_context io_{1};
  asio::signal_set signals_;
  std::thread thread_;
};

void PrintListening(const std::string& address) {
  std::fprintf(stderr, "listening on %s\n", address.c_str());
  std::fflush(stderr);
}

// mode = "decentralized": the rendezvous of D-SGD nodes (rendezvous.h); the
// coordinator never sees a model. SIGINT/SIGTERM stop it after the round
// being committed.
int RunDecentralized(const ExperimentConfig& config, const Logger& logger, LogOutput& log_output) {
  asio::ssl::context tls =
      wire::MakeServerContext(wire::TlsFiles{config.cert, config.key, config.ca});
  std::atomic<bool> stop{false};
  RendezvousResult result;
  {
    RoleSignals signals(logger, log_output, "stopping the run",
                        "; the rendezvous keeps its certificates", [&stop] { stop = true; });
    result = RunRendezvous(config, tls, logger, stop, PrintListening);
  }
  char summary[160];
  std::snprintf(summary, sizeof summary, "%lld rounds, final node accuracy %.4f, %.1f s",
                static_cast<long long>(result.last_round), result.final_node_accuracy,
                result.seconds);
  logger.Info("run '" + config.run_name + "' " +
              (result.interrupted ? "interrupted" : "completed") + ": " + summary);
  return kExitOk;
}

// role = "aggregator": an edge aggregator (aggregator.h) for its group,
// under the `upstream` coordinator. SIGINT/SIGTERM stop it (the group's
// round in progress is abandoned); SIGHUP reopens log_file.
int RunAggregatorRole(const ExperimentConfig& config, const Logger& logger, LogOutput& log_output) {
  Aggregator aggregator(config, logger);
  AggregatorResult result;
  {
    RoleSignals signals(logger, log_output, "stopping the edge aggregator", "",
                        [&aggregator] { aggregator.Stop(); });
    result = aggregator.Run(PrintListening);
  }
  logger.Info("edge aggregator '" + config.run_name + "' " +
              (result.finished ? "finished with its upstream's run" : "stopped") + ": " +
              std::to_string(result.rounds) + " group rounds");
  return kExitOk;
}

int Run(int argc, char** argv) {
  cxxopts::Options cli("edgefl-coordinator",
                       "The edgefl coordinator: federated rounds with edgefl-client devices "
                       "over mutual TLS; with mode = \"decentralized\" (strategy dsgd) only the "
                       "rendezvous of D-SGD nodes (edgefl-client --peer-listen), which never sees "
                       "a model.");
  // clang-format off
  cli.add_options()
      ("config", "experiment + coordinator config (TOML)", cxxopts::value<std::string>())
      ("set", "override a config key: --set key=value (repeatable)",
       cxxopts::value<std::vector<std::string>>())
      ("port", "TCP port to listen on (overrides the config's port; 0 = ephemeral)",
       cxxopts::value<int>())
      ("h,help", "print this help");
  // clang-format on
  // Until the signal set below takes it, a SIGHUP (systemctl reload during
  // start-up) is ignored rather than ending the process: there is nothing
  // to reload yet.
  std::signal(SIGHUP, SIG_IGN);
  const cxxopts::ParseResult args = cli.parse(argc, argv);
  if (args.count("help")) {
    std::fputs(cli.help().c_str(), stdout);
    std::fputs(
        "\nCoordinator keys (besides the experiment keys of `edgefl sim`):\n"
        "  listen = \"127.0.0.1\"        address to listen on\n"
        "  port = 7443                  TCP port (0 = ephemeral)\n"
        "  cert, key, ca                PEM files (certs/server.crt, certs/server.key, "
        "certs/ca.crt)\n"
        "  min_clients                  clients needed before a round (default "
        "clients_per_round)\n"
        "  deadline = 0                 seconds a round waits for its cohort (0 = none)\n"
        "  quorum = 1.0                 fraction of the cohort that must report\n"
        "  quorum_unit = \"clients\"      what quorum counts: clients, or samples (a root of "
        "edge\n"
        "                               aggregators)\n"
        "  heartbeat = 5                seconds between client heartbeats while training\n"
        "  max_connections = 1024       open connections; more are refused\n"
        "  handshake_timeout = 10       seconds for TLS handshake + Hello\n"
        "  max_frame_bytes = 67108864   cap on a frame's payload\n"
        "  max_frames_per_second = 1000 frames a client may send in one second (0 = no "
        "limit)\n"
        "\nEdge aggregators (docs/edge-aggregators.md):\n"
        "  role = \"coordinator\"         or \"aggregator\": serve a group of clients and send "
        "its\n"
        "                               sample-weighted sum to the upstream coordinator\n"
        "  upstream = \"host:port\"       the aggregator's upstream coordinator\n"
        "  upstream_cert, upstream_key  the aggregator's client certificate for the upstream\n"
        "  upstream_ca = \"\"             the upstream's CA (\"\" = ca)\n"
        "\nOperations (docs/operations.md):\n"
        "  metrics_listen = \"\"          Prometheus metrics: \"127.0.0.1:9464\" (or \"9464\")\n"
        "                               serves GET /metrics over plain HTTP; empty = off\n"
        "  log_format = \"text\"          log lines: text, or json (time, level, component, msg)\n"
        "  log_file = \"\"                append log lines here instead of stderr\n"
        "\nSignals: SIGTERM/SIGINT finish the round in progress and stop (again: abandon it);\n"
        "SIGHUP reloads cert, key and ca for new connections and reopens log_file.\n",
        stdout);
    return kExitOk;
  }
  if (!args.unmatched().empty()) {
    throw ConfigError("unexpected argument '" + args.unmatched().front() + "'");
  }
  std::vector<std::string> overrides;
  if (args.count("set")) overrides = args["set"].as<std::vector<std::string>>();
  if (args.count("port")) overrides.push_back("port=" + std::to_string(args["port"].as<int>()));
  const std::string config_path = args.count("config") ? args["config"].as<std::string>() : "";
  const ExperimentConfig config = LoadExperimentConfig(config_path, overrides);
  const bool async = config.mode == "async";

  const auto log_output =
      std::make_shared<LogOutput>(ParseLogFormat(config.log_format, "log_format"), config.log_file);
  const Logger logger = LogOutput::MakeLogger(log_output);
  for (const std::string& line : config.followed_defaults)
    logger.Info("config: " + line);
  if (config.mode == "decentralized") return RunDecentralized(config, logger, *log_output);
  RaiseOpenFilesLimit(static_cast<size_t>(config.max_connections), logger);
  if (config.role == "aggregator") return RunAggregatorRole(config, logger, *log_output);
  // Algorithms first: a bad key fails before anything is loaded or bound.
  // In async mode the strategy is told min_clients as the fleet size.
  const size_t fleet_size = static_cast<size_t>(std::max<int64_t>(config.min_clients, 1));
  CheckAlgorithms(config, fleet_size);
  {
    // A completed run, one of the other mode or config, or one another
    // process runs fails before data is loaded or the port bound (the
    // runner takes the lease itself: ClaimRun).
    storage::ExperimentLog log(config.db);
    ClaimRun(log, config);
    RunToResume(log, config);
  }
  // The TLS files next, before the data: a client certificate given as the
  // server's, or a key that does not match, fails at once.
  asio::ssl::context tls =
      wire::MakeServerContext(wire::TlsFiles{config.cert, config.key, config.ca});
  // The contexts SIGHUP loaded since (certificate rotation): each outlives
  // the server and the io_context, as `tls` does, since sessions opened
  // with it may still be running.
  std::vector<std::unique_ptr<asio::ssl::context>> rotated;
  const datasets::Dataset test = LoadTestSet(config);
  if (!async) CheckClientAlgorithm(config, test);
  // A strategy that learns from the training split before round 1 (DiPaCo's
  // router, fitted on a sample of the inputs) gets it here; the clients
  // still train on their own shares.
  std::optional<datasets::Dataset> training_data;
  if (!async && algorithms::MakeStrategy(StrategyConfigFrom(config))->WantsTrainingData()) {
    training_data = LoadExperimentData(config).train;
  }
  const nn::Model model(config.model);
  const uint64_t num_parameters = static_cast<uint64_t>(model.num_parameters());
  const uint64_t needed = 4 * num_parameters + (64u << 10);
  if (static_cast<uint64_t>(config.max_frame_bytes) < needed) {
    throw ConfigError("max_frame_bytes " + std::to_string(config.max_frame_bytes) +
                      " is too small for model " + config.model + " (" +
                      std::to_string(num_parameters) + " parameters need at least " +
                      std::to_string(needed) + ")");
  }
  ServerOptions server_options = ServerOptionsFrom(config, num_parameters);
  SessionOptions& session = server_options.session;
  session.run_config = {{"dataset", config.dataset},
                        {"strategy", config.strategy},
                        {"rounds", config.rounds},
                        {"mode", config.mode},
                        {"seed", config.seed}};
  // Edge aggregators (docs/edge-aggregators.md): whether this run takes
  // group sums, and why not.
  session.group_sums_refused = GroupSumProblem(config);
  session.run_config["group_sums"] = session.group_sums_refused.empty();
  // An aggregator must run SecAgg+ within its group exactly when this run
  // has secure aggregation (it checks this at Welcome).
  const auto secure_key = config.algorithm_params.find("secure_aggregation");
  session.run_config["secure_aggregation"] = secure_key != config.algorithm_params.end() &&
                                             std::holds_alternative<bool>(secure_key->second) &&
                                             std::get<bool>(secure_key->second);
  if (!session.group_sums_refused.empty()) {
    session.run_config["group_sums_refused"] = session.group_sums_refused;
  }
  session.compression = CompressionFrom(config);
  if (session.compression.enabled()) {
    logger.Info("compressed updates: " + config.compression + " both ways (topk_fraction " +
                std::to_string(config.compression_topk_fraction) + ", int8_block " +
                std::to_string(config.compression_int8_block) +
                "); the full model on a client's first task of a connection");
  }
  CoordinatorMetrics metrics;
  session.metrics = &metrics;

  asio::io_context io(2);
  ClientRegistry registry(static_cast<size_t>(config.min_clients), logger);
  TlsServer server(io, tls, server_options, registry, logger);
  RecordingSource source(registry, config.db, logger);
  std::optional<MetricsServer> metrics_server;
  if (!config.metrics_listen.empty()) {
    const HostPort where = ParseListenAddress(config.metrics_listen, "metrics_listen");
    metrics_server.emplace(
        io, where.host, where.port,
        [&metrics, &server, &registry] {
          CoordinatorMetrics::Gauges gauges;
          gauges.connections = server.connections();
          gauges.registered = registry.size();
          gauges.rss_bytes = ResidentBytes();
          gauges.open_fds = OpenFileDescriptors();
          return metrics.Exposition(gauges);
        },
        logger);
  }

  std::atomic<bool> stop{false};
  std::atomic<int> signals_seen{0};
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  std::mutex rotate_mutex;  // guards `rotated` (signal handlers run on either io thread)
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        if (signal == SIGHUP) {
          // Rotation: the log file is reopened and the certificate files
          // are read again; new handshakes use them, open sessions go on.
          const std::string log_error = log_output->Reopen();
          if (!log_error.empty()) logger.Warn("SIGHUP: log file not reopened: " + log_error);
          try {
            auto next = std::make_unique<asio::ssl::context>(
                wire::MakeServerContext(wire::TlsFiles{config.cert, config.key, config.ca}));
            std::lock_guard lock(rotate_mutex);
            server.ReplaceContext(*next);
            rotated.push_back(std::move(next));
            logger.Info(
                "SIGHUP: certificates reloaded from " + config.cert + ", " + config.key + ", " +
                config.ca + " for new connections" +
                (log_error.empty() && !config.log_file.empty() ? "; log file reopened" : ""));
          } catch (const std::exception& e) {
            logger.Error(std::string("SIGHUP: certificates not reloaded, keeping the current "
                                     "ones: ") +
                         e.what());
          }
          signals.async_wait(on_signal);
          return;
        }
        if (signals_seen.fetch_add(1) == 0) {
          logger.Info(std::string(signal == SIGINT ? "SIGINT" : "SIGTERM") +
                      (async ? ": stopping; tasks in flight are abandoned"
                             : ": finishing the round in progress, then stopping (again to "
                               "abandon it)"));
          stop = true;
          registry.RequestStop();
        } else {
          logger.Warn("second signal: abandoning the round in progress");
          server.Stop("shutting down");
        }
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);

  server.Start();
  if (metrics_server) metrics_server->Start();
  IoThreads threads(io, 2);
  std::fprintf(stderr, "listening on %s\n", server.address().c_str());
  if (metrics_server) {
    std::fprintf(stderr, "metrics on http://%s/metrics\n", metrics_server->address().c_str());
  }
  std::fflush(stderr);
  logger.Info("run '" + config.run_name + "': " + config.strategy + ", model " + config.model +
              " (" + std::to_string(num_parameters) + " parameters), " +
              (async ? "async, " + std::to_string(config.rounds) + " model versions, "
                     : std::to_string(config.rounds) + " rounds, " +
                           std::to_string(config.clients_per_round) + " clients per round, ") +
              "waiting for " + std::to_string(config.min_clients) + " clients; log " + config.db);

  RunnerOptions runner;
  runner.round.clients_per_round = static_cast<size_t>(config.clients_per_round);
  runner.round.deadline = Milliseconds(config.deadline);
  runner.round.quorum = config.quorum;
  runner.round.quorum_by_samples = config.quorum_unit == "samples";
  runner.round.seed = static_cast<uint64_t>(config.seed);
  runner.stop = &stop;
  runner.training_data = training_data ? &*training_data : nullptr;
  runner.progress = stdout;
  runner.on_commit = [&metrics](const CommittedRound& round) { metrics.RoundCommitted(round); };
  // Log lines on the same terminal would break a line rewritten in place.
  if (::isatty(STDERR_FILENO) == 1) runner.progress_in_place = false;

  ExperimentResult result;
  try {
    if (async) {
      HostAsyncOptions options;
      options.min_clients = static_cast<size_t>(config.min_clients);
      result = RunAsyncExperiment(
          config, test, fleet_size,
          [&](algorithms::AsyncStrategy& strategy, int64_t, AsyncStart start) {
            return std::make_unique<HostAsyncEngine>(strategy, registry, options, std::move(start),
                                                     logger);
          },
          stdout, /*stop=*/nullptr, runner.on_commit);
    } else {
      result = RunExperiment(config, test, source, runner);
    }
  } catch (...) {
    server.Stop("coordinator error", /*send_bye=*/false);
    server.WaitClosed(std::chrono::seconds(3));
    throw;
  }
  source.Record();
  if (metrics_server) metrics_server->Stop();
  server.Stop(result.interrupted ? "shutting down" : "run finished");
  if (!server.WaitClosed(std::chrono::seconds(5))) {
    logger.Warn(std::to_string(server.connections()) + " connections still open; closing anyway");
  }
  signals.cancel();
  char summary[160];
  if (result.last_round < result.first_round) {
    // Stopped while waiting for clients, say: no round has an accuracy.
    std::snprintf(summary, sizeof summary, "stopped before any round was completed, %.1f s",
                  result.seconds);
  } else {
    std::snprintf(
        summary, sizeof summary, "rounds %lld..%lld, final accuracy %.4f, best %.4f, %.1f s",
        static_cast<long long>(result.first_round), static_cast<long long>(result.last_round),
        result.final_accuracy, result.best_accuracy, result.seconds);
  }
  logger.Info("run '" + config.run_name + "' " +
              (result.interrupted ? "interrupted" : "completed") + ": " + summary);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    return edgefl::ReportUsageError("edgefl-coordinator", e);
  } catch (const std::exception& e) {
    return edgefl::ReportError("edgefl-coordinator", e);
  }
}
