// edgefl-client: the on-device client. Loads its share of the data, connects
// to the coordinator over mutual TLS, trains when asked, and reconnects with
// back-off when the connection drops, until the coordinator says Bye; exits
// (status 2) without reconnecting when another connection with its client id
// replaced it (docs/protocol.md, error code 8).
//
// With --peer-listen HOST:PORT it is a D-SGD node instead (mode =
// "decentralized"; client/decentralized_node.h): the coordinator is only the
// rendezvous, the models go to and come from its graph neighbours, and the
// certificate must be a peer certificate (edgefl certs issue-peer).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <utility>
#include <vector>

#include <cxxopts.hpp>

#include "algorithms/secagg_party.h"
#include "client/client_metrics.h"
#include "client/client_state.h"
#include "client/coordinator_address.h"
#include "client/coordinator_session.h"
#include "client/decentralized_node.h"
#include "client/load_sessions.h"
#include "client/local_data.h"
#include "client/reconnect_backoff.h"
#include "client/speed_probe.h"
#include "common/error.h"
#include "common/log_line.h"
#include "datasets/fashion_mnist.h"
#include "wire/certificates.h"
#include "wire/tls_context.h"

namespace {

// Writes the client's log lines on stderr in the --log-format chosen:
// "I 12:20:01 client-3: text", or one JSON object a line
// (common/log_line.h; the component is the client id).
class ClientLog {
 public:
  explicit ClientLog(edgefl::LogFormat format) : format_(format) {}

  // Called from the main thread and from a node's I/O thread: localtime_r,
  // not std::localtime, whose every call rewrites glibc's shared time-zone
  // state. One fputs a line, so lines never interleave.
  void operator()(const std::string& id, char level, const std::string& line) const {
    std::string text;
    if (format_ == edgefl::LogFormat::kJson) {
      text = edgefl::FormatJsonLogLine(level, id, line, std::chrono::system_clock::now());
    } else {
      const std::time_t now = std::time(nullptr);
      std::tm local{};
      localtime_r(&now, &local);
      char stamp[32];
      std::strftime(stamp, sizeof stamp, "%H:%M:%S", &local);
      text = std::string(1, level) + " " + stamp + " " + id + ": " + line;
    }
    text.push_back('\n');
    std::fputs(text.c_str(), stderr);
  }

 private:
  edgefl::LogFormat format_;
};

// --metrics FILE: the device's counters (client/client_metrics.h) written
// to FILE at start, after every counted event and at exit (with
// edgefl_client_running 0), however Run returns. The first write throws
// (a path that cannot be written is a configuration error, found before
// any training); later failures are logged once and training goes on.
class MetricsFileWriter {
 public:
  MetricsFileWriter(edgefl::client::ClientMetrics& metrics, std::filesystem::path path,
                    edgefl::client::LogFn log)
      : metrics_(metrics), path_(std::move(path)), log_(std::move(log)) {
    edgefl::client::WriteMetricsFile(path_, metrics_.Exposition());
    metrics_.set_on_change([this] { Write(); });
  }
  ~MetricsFileWriter() {
    metrics_.Finished();
    Write();
  }
  MetricsFileWriter(const MetricsFileWriter&) = delete;
  MetricsFileWriter& operator=(const MetricsFileWriter&) = delete;

 private:
  void Write() noexcept {
    try {
      edgefl::client::WriteMetricsFile(path_, metrics_.Exposition());
    } catch (const std::exception& e) {
      if (!warned_) log_('W', std::string(e.what()) + "; the metrics file is not updated");
      warned_ = true;
    }
  }

  edgefl::client::ClientMetrics& metrics_;
  const std::filesystem::path path_;
  const edgefl::client::LogFn log_;
  bool warned_ = false;
};

int RunLoadMode(const cxxopts::ParseResult& args, const ClientLog& log_line) {
  for (const char* required : {"coordinator", "cert-dir"}) {
    if (!args.count(required))
      throw edgefl::ConfigError(std::string("--load-sessions needs --") + required);
  }
  edgefl::client::LoadOptions load;
  std::tie(load.host, load.port) = edgefl::client::ParseCoordinatorAddress(
      args["coordinator"].as<std::string>(), "--coordinator");
  load.cert_dir = args["cert-dir"].as<std::string>();
  load.sessions = args["load-sessions"].as<size_t>();
  load.concurrency = std::max<size_t>(1, args["load-concurrency"].as<size_t>());
  load.churn = args.count("churn") > 0;
  load.answer_tasks = args.count("answer-tasks") > 0;
  load.hold_seconds = args["hold"].as<double>();
  return edgefl::client::RunLoadSessions(
      load, [&log_line](char level, const std::string& line) { log_line("load", level, line); });
}

// Every numeric option in its range before anything is loaded or dialled: a
// negative retry window is not "no retries", a huge one not "forever".
void CheckNumbers(const cxxopts::ParseResult& args) {
  constexpr double kYear = 365.0 * 86'400.0;
  struct Range {
    const char* option;
    double min, max;
    const char* unit;
  };
  for (const Range& r :
       {Range{"retry-for", 0.0, kYear, " seconds"}, Range{"byzantine-factor", 0.0, 1e6, ""},
        Range{"slowdown", 1.0, 1e3, ""}, Range{"hold", 0.0, kYear, " seconds"}}) {
    const double v = args[r.option].as<double>();
    if (!(v >= r.min && v <= r.max)) {
      char message[160];
      std::snprintf(message, sizeof message, "--%s must be in [%g, %g]%s, got %g", r.option, r.min,
                    r.max, r.unit, v);
      throw edgefl::ConfigError(message);
    }
  }
  if (args.count("load-sessions") &&
      (args["load-sessions"].as<size_t>() < 1 || args["load-sessions"].as<size_t>() > 1'000'000)) {
    throw edgefl::ConfigError("--load-sessions must be in [1, 1000000], got " +
                              std::to_string(args["load-sessions"].as<size_t>()));
  }
  if (args["load-concurrency"].as<size_t>() > 100'000) {
    throw edgefl::ConfigError("--load-concurrency must be in [1, 100000], got " +
                              std::to_string(args["load-concurrency"].as<size_t>()));
  }
}

// D-SGD node mode (--peer-listen): one run, no reconnect after the
// assignment (the node trains on without the coordinator).
int RunNode(const cxxopts::ParseResult& args, const edgefl::client::SessionOptions& session,
            const edgefl::datasets::Dataset& data, double retry_for, const ClientLog& log_line) {
  edgefl::client::NodeOptions node;
  node.host = session.host;
  node.port = session.port;
  node.tls = session.tls;
  node.node_id = session.client_id;
  node.retry_for = retry_for;
  const std::string listen = args["peer-listen"].as<std::string>();
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw edgefl::ConfigError("--peer-listen: expected HOST:PORT, got '" + listen + "'");
  }
  node.listen_host = listen.substr(0, colon);
  if (node.listen_host.size() > 2 && node.listen_host.front() == '[') {
    node.listen_host = node.listen_host.substr(1, node.listen_host.size() - 2);
  }
  try {
    const int port = std::stoi(listen.substr(colon + 1));
    if (port < 0 || port > 65535) throw std::out_of_range("port");
    node.listen_port = static_cast<uint16_t>(port);
  } catch (const std::exception&) {
    throw edgefl::ConfigError("--peer-listen: bad port in '" + listen + "'");
  }
  const std::string fmnist_dir = args["data-dir"].as<std::string>();
  const bool fmnist = data.name.rfind("fmnist/", 0) == 0;
  edgefl::client::TestLoader load_test =
      [fmnist, fmnist_dir](int64_t subset) -> std::optional<edgefl::datasets::Dataset> {
    if (!fmnist) return std::nullopt;  // only Fashion-MNIST has a test split a node can find
    edgefl::datasets::FashionMnistOptions options;
    options.dir = fmnist_dir;
    if (subset <= 0) {
      return edgefl::datasets::LoadFashionMnist(edgefl::datasets::Split::kTest, options);
    }
    std::vector<uint32_t> rows(static_cast<size_t>(subset));
    for (size_t i = 0; i < rows.size(); ++i)
      rows[i] = static_cast<uint32_t>(i);
    return edgefl::datasets::LoadFashionMnistSamples(edgefl::datasets::Split::kTest, rows, options);
  };
  const std::string id = node.node_id;
  const edgefl::client::LogFn log = [&id, &log_line](char level, const std::string& line) {
    log_line(id, level, line);
  };
  const edgefl::client::NodeEnd end =
      edgefl::client::RunDecentralizedNode(node, data, load_test, log);
  using Kind = edgefl::client::NodeEnd::Kind;
  if (end.kind == Kind::kFinished) {
    log_line(id, 'I', "finished " + std::to_string(end.rounds_done) + " rounds; exiting");
    return edgefl::kExitOk;
  }
  log_line(id, 'E', (end.kind == Kind::kRefused ? "refused: " : "failed: ") + end.reason);
  return edgefl::kExitIoError;
}

int Run(int argc, char** argv) {
  cxxopts::Options options("edgefl-client",
                           "The edgefl on-device client: trains on its local data share when the "
                           "coordinator asks, over mutual TLS.");
  // clang-format off
  options.add_options()
      ("coordinator", "coordinator address HOST:PORT", cxxopts::value<std::string>())
      ("cert", "this device's certificate (PEM)", cxxopts::value<std::string>())
      ("key", "its private key (PEM, mode 0600)", cxxopts::value<std::string>())
      ("ca", "the project CA certificate (PEM)", cxxopts::value<std::string>())
      ("data", "partition file written by `edgefl partition --out`", cxxopts::value<std::string>())
      ("index", "this client's index in the partition file", cxxopts::value<size_t>())
      ("data-dir", "directory of the Fashion-MNIST IDX files",
       cxxopts::value<std::string>()->default_value(edgefl::datasets::kFashionMnistDefaultDir))
      ("retry-for", "keep reconnecting for this many seconds after a drop",
       cxxopts::value<double>()->default_value("300"))
      ("byzantine", "attack instead of training honestly (for robustness tests): "
       "none, scale, sign_flip or nan", cxxopts::value<std::string>()->default_value("none"))
      ("byzantine-factor", "the attack's factor (0: scale 100, sign_flip 4)",
       cxxopts::value<double>()->default_value("0"))
      ("peer-listen", "be a D-SGD node (mode decentralized): accept neighbours on HOST:PORT "
       "(an IP address; port 0 = ephemeral); needs a peer certificate",
       cxxopts::value<std::string>())
      ("state", "file keeping this device's state across restarts (the top-k residual of "
       "compressed updates); default: the --cert path with the extension .state",
       cxxopts::value<std::string>())
      ("slowdown", "act as a device FACTOR times slower (tests, demos): each task waits "
       "(FACTOR-1) x its compute time, and Hello reports speed / FACTOR",
       cxxopts::value<double>()->default_value("1"))
      ("test-die-at-secagg-stage", "TEST ONLY: SIGKILL this process when the coordinator asks "
       "for this secure-aggregation stage (advertise, share, mask or unmask; unmask = after "
       "sending the masked input)", cxxopts::value<std::string>())
      ("log-format", "log lines on stderr: text, or json (one object a line: time, level, "
       "component = the client id, msg)", cxxopts::value<std::string>()->default_value("text"))
      ("metrics", "write this device's counters (sessions, reconnects, rounds trained, bytes, "
       "last train time, RSS) to FILE in the Prometheus text format after every change and at "
       "exit, for node_exporter's textfile collector (docs/operations.md)",
       cxxopts::value<std::string>())
      ("h,help", "print this help");
  options.add_options("Load mode (no training; see client/load_sessions.h)")
      ("load-sessions", "open N TLS sessions, Hello, then heartbeats only",
       cxxopts::value<size_t>())
      ("cert-dir", "load mode: DIR/client-K.crt, .key and DIR/ca.crt", cxxopts::value<std::string>())
      ("churn", "load mode: once all are up, close and reopen sessions in turn")
      ("answer-tasks", "load mode: answer each TrainTask at once with the model it carries "
       "(no training: the coordinator's side of a round)")
      ("load-concurrency", "load mode: handshakes in flight",
       cxxopts::value<size_t>()->default_value("16"))
      ("hold", "load mode: seconds before closing the sessions (or SIGTERM)",
       cxxopts::value<double>()->default_value("600"));
  // clang-format on
  const auto args = options.parse(argc, argv);
  if (args.count("help")) {
    std::fputs(options.help().c_str(), stdout);
    return edgefl::kExitOk;
  }
  CheckNumbers(args);
  const ClientLog log_line(
      edgefl::ParseLogFormat(args["log-format"].as<std::string>(), "--log-format"));
  if (args.count("metrics") && (args.count("load-sessions") || args.count("peer-listen"))) {
    throw edgefl::ConfigError(
        "--metrics counts the sessions with a coordinator; it cannot be used with " +
        std::string(args.count("load-sessions") ? "--load-sessions" : "--peer-listen"));
  }
  if (args.count("load-sessions")) return RunLoadMode(args, log_line);
  for (const char* required : {"coordinator", "cert", "key", "ca", "data", "index"}) {
    if (!args.count(required))
      throw edgefl::ConfigError(std::string("--") + required + " is required");
  }
  edgefl::client::SessionOptions session;
  std::tie(session.host, session.port) = edgefl::client::ParseCoordinatorAddress(
      args["coordinator"].as<std::string>(), "--coordinator");
  session.tls = {args["cert"].as<std::string>(), args["key"].as<std::string>(),
                 args["ca"].as<std::string>()};
  // Every TLS file is checked before the data is loaded: a server
  // certificate, a key of another certificate or one from another CA is
  // refused here, not by the coordinator at each reconnect.
  edgefl::wire::MakeClientContext(session.tls, session.host);
  const edgefl::wire::CertificateInfo certificate = edgefl::wire::InspectCertificate(
      edgefl::wire::ReadPemFile(session.tls.certificate), session.tls.certificate.string());
  session.client_id = certificate.subject_cn;
  session.byzantine.mode =
      edgefl::train::ParseByzantineMode(args["byzantine"].as<std::string>(), "--byzantine");
  session.byzantine.factor = args["byzantine-factor"].as<double>();
  session.byzantine.Validate("--byzantine-factor");
  if (args.count("test-die-at-secagg-stage")) {
    const std::string stage = args["test-die-at-secagg-stage"].as<std::string>();
    session.test_die_at_secagg_stage = edgefl::algorithms::ParseSecAggStage(stage);
    if (!session.test_die_at_secagg_stage) {
      throw edgefl::ConfigError(
          "--test-die-at-secagg-stage: expected advertise, share, mask or "
          "unmask, got '" +
          stage + "'");
    }
  }
  session.slowdown = args["slowdown"].as<double>();
  if (!(session.slowdown >= 1.0) || session.slowdown > 1000.0) {
    throw edgefl::ConfigError("--slowdown: expected a factor from 1 to 1000, got " +
                              std::to_string(session.slowdown));
  }

  const auto load_start = std::chrono::steady_clock::now();
  const edgefl::datasets::Dataset data =
      edgefl::client::LoadClientData(args["data"].as<std::string>(), args["index"].as<size_t>(),
                                     args["data-dir"].as<std::string>());
  session.device.cores = std::max(1u, std::thread::hardware_concurrency());
  session.device.memory_bytes = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                                static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
  session.device.dataset_size = data.size();
  session.device.num_classes = static_cast<uint32_t>(data.num_classes);
  session.device.input_dim = static_cast<uint32_t>(data.dim());
  // A D-SGD node reports no speed (nobody selects it): no probe.
  if (!args.count("peer-listen")) {
    session.device.samples_per_second =
        edgefl::client::MeasureTrainingSpeed(data) / session.slowdown;
  }
  const std::string id = session.client_id;
  log_line(id, 'I',
           "loaded " + std::to_string(data.size()) + " samples of " + data.name + " in " +
               std::to_string(
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start)
                       .count()) +
               " s");

  const double retry_for = args["retry-for"].as<double>();
  if (args.count("peer-listen")) return RunNode(args, session, data, retry_for, log_line);
  edgefl::client::LogFn log = [&id, &log_line](char level, const std::string& line) {
    log_line(id, level, line);
  };
  edgefl::client::ClientMetrics metrics(id);
  std::optional<MetricsFileWriter> metrics_file;
  if (args.count("metrics")) {
    metrics_file.emplace(metrics, args["metrics"].as<std::string>(), log);
    session.metrics = &metrics;
  }
  auto down_since = std::chrono::steady_clock::now();
  edgefl::client::ReconnectBackoff backoff(id);
  // The trainer and its optimizer state outlive a dropped connection: a
  // reconnect to the same run continues them (RunState).
  edgefl::client::RunState run_state;
  session.state_file = args.count("state")
                           ? std::filesystem::path(args["state"].as<std::string>())
                           : edgefl::client::DefaultStatePath(session.tls.certificate);
  if (const auto kept = edgefl::client::LoadClientState(session.state_file)) {
    // Kept for the run it belongs to: a Welcome for another run drops it.
    run_state.run_id = kept->run_id;
    double l1 = 0.0;
    for (float v : kept->residual)
      l1 += std::abs(static_cast<double>(v));
    char norm[32];
    std::snprintf(norm, sizeof norm, "%.9g", l1);
    log_line(id, 'I',
             "state " + session.state_file.string() + ": run " + kept->run_id +
                 ", top-k residual of " + std::to_string(kept->residual.size()) +
                 " coordinates (L1 norm " + norm + ") kept");
    run_state.feedback.set_residual(kept->residual);
  }
  for (;;) {
    const edgefl::client::SessionEnd end =
        edgefl::client::RunCoordinatorSession(session, data, log, run_state);
    using Kind = edgefl::client::SessionEnd::Kind;
    if (end.kind == Kind::kBye) {
      log_line(id, 'I', "coordinator said bye (" + end.reason + "); exiting");
      return edgefl::kExitOk;
    }
    if (end.kind == Kind::kReplaced) {
      // Reconnecting would replace the other device, which would replace
      // this one again: the two would take turns forever.
      log_line(id, 'E', edgefl::client::ReplacedExitMessage(id) + " (" + end.reason + ")");
      return edgefl::kExitUsage;
    }
    if (end.kind == Kind::kRefused) {
      log_line(id, 'E', "refused by the coordinator: " + end.reason);
      return edgefl::kExitIoError;
    }
    if (end.tasks_done > 0) {
      down_since = std::chrono::steady_clock::now();
      backoff.Reset();
    }
    const double down =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - down_since).count();
    if (down > retry_for) {
      log_line(id, 'E',
               "giving up after " + std::to_string(static_cast<int>(down)) + " s: " + end.reason);
      return edgefl::kExitIoError;
    }
    const double wait = backoff.NextWait();
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.2f", wait);
    log_line(id, 'W', end.reason + "; reconnecting in " + seconds + " s");
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    metrics.Reconnecting();
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    return edgefl::ReportUsageError("edgefl-client", e);
  } catch (const std::exception& e) {
    return edgefl::ReportError("edgefl-client", e);
  }
}
