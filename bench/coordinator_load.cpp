// The coordinator's figures with real processes over mutual TLS on loopback
// (issue 5, BENCHMARKS.md):
//
//   coordinator_load [--part all|overhead|connections|fleet-round|wire]
//                    [--clients 10,100]
//                    [--rounds 6] [--sessions 1000] [--concurrency 16]
//                    [--dataset fmnist-test|fmnist] [--keep DIR]
//
//   overhead     a round's wall time (the SQLite log's rounds.started_at ..
//                ended_at) minus the slowest client's compute_seconds
//                (client_updates), for federations of 10 and 100
//                edgefl-client processes on a tiny model (logreg:784-10,
//                local_steps 1): the coordinator's own cost per round. Round
//                1 waits for the clients to connect and is left out. The
//                shares are IID parts of the 10,000 test images by default
//                (--dataset fmnist: the demo's Dir(0.5) parts of the training
//                split): a client also measures its loss on its whole share
//                before and after training, outside compute_seconds, so
//                large shares show up as overhead.
//   connections  one edgefl-client --load-sessions N process against an
//                idle coordinator (min_clients above N): handshakes/s
//                (TLS + Hello + Welcome), the coordinator's VmRSS before,
//                with the N sessions and after they closed; then --churn;
//                next to the plain TCP connect rate of loopback measured in
//                this process.
//   fleet-round  a round over every one of --sessions sessions: one
//                edgefl-client --load-sessions N --answer-tasks process (each
//                session answers its TrainTask at once with the model it
//                carries), a coordinator with clients_per_round = min_clients
//                = N, --rounds rounds of logreg:784-10: each round's wall
//                time (the log's started_at .. ended_at), its completed and
//                dropped updates, the coordinator's CPU and VmRSS. The
//                coordinator's side of a round: N task frames out, N results
//                in, the aggregation, N update rows in the log.
//   wire         bytes on the wire per client per round (the coordinator's
//                per-result log line: frame bytes of the TrainTask out and
//                of the TrainResult + heartbeats in) vs the model's float32
//                size, for cnn:lenet and mlp:784-200-200-10.
//
// Every child is started with PR_SET_PDEATHSIG and killed on exit; every
// wait has a timeout.
#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "common/child_process.h"
#include "nn/model.h"
#include "storage/experiment_log.h"
#include "wire/certificates.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using namespace edgefl;
using Process = ChildProcess;

const std::string kBin = EDGEFL_BINARY_DIR;
const std::string kSrc = EDGEFL_SOURCE_DIR;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// VmRSS of a process in MB (0 if unreadable).
double RssMb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0.0;
}

// CPU seconds (user + system) a process has used.
double CpuSeconds(pid_t pid) {
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0.0;
  std::istringstream in(stat.substr(paren + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {  // fields 14 and 15: utime, stime
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

size_t CountOf(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

// A deployment directory: a CA, the coordinator's certificate and client-K
// certificates (issued in-process: 1,000 take a few seconds).
class Deployment {
 public:
  Deployment(const fs::path& dir, int clients) : dir_(dir) {
    fs::create_directories(certs());
    const wire::CertificateAndKey ca = wire::CreateCa("edgefl bench CA", wire::Validity::Days(2));
    wire::WriteCertificateAndKey(ca, certs() / "ca.crt", certs() / "ca.key", wire::Overwrite::kYes);
    wire::WriteCertificateAndKey(
        wire::IssueServerCertificate(ca, {"127.0.0.1"}, wire::Validity::Days(2)),
        certs() / "server.crt", certs() / "server.key", wire::Overwrite::kYes);
    for (int k = 0; k < clients; ++k) {
      const std::string name = "client-" + std::to_string(k);
      wire::WriteCertificateAndKey(wire::IssueClientCertificate(ca, name, wire::Validity::Days(2)),
                                   certs() / (name + ".crt"), certs() / (name + ".key"),
                                   wire::Overwrite::kYes);
    }
  }
  fs::path certs() const { return dir_ / "certs"; }
  fs::path db() const { return dir_ / "bench.db"; }
  fs::path partition() const { return dir_ / "fmnist.partition"; }

  // `dataset` "fmnist" (the training split, Dirichlet(0.5) as in the demo)
  // or "fmnist-test" (the 10,000 test images, IID: small equal shares).
  void Partition(int clients, const std::string& dataset) {
    const std::string scheme = dataset == "fmnist" ? "dirichlet --alpha 0.5" : "iid";
    const std::string command = kBin + "/tools/edgefl partition --dataset " + dataset +
                                " --scheme " + scheme + " --seed 1 -q --clients " +
                                std::to_string(clients) + " --out " + partition().string() +
                                " >/dev/null";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
  }

  std::unique_ptr<Process> StartCoordinator(const std::string& tag,
                                            const std::vector<std::string>& settings) {
    std::vector<std::string> argv = {kBin + "/coordinator/edgefl-coordinator", "--config",
                                     kSrc + "/examples/fedavg.toml"};
    std::vector<std::string> all = {"port=0",
                                    "cert=" + (certs() / "server.crt").string(),
                                    "key=" + (certs() / "server.key").string(),
                                    "ca=" + (certs() / "ca.crt").string(),
                                    "db=" + db().string(),
                                    "test_subset=200",
                                    "run_name=" + tag};
    all.insert(all.end(), settings.begin(), settings.end());
    for (const std::string& s : all) {
      argv.push_back("--set");
      argv.push_back(s);
    }
    auto p = std::make_unique<Process>(tag, std::move(argv), dir_ / (tag + ".out"),
                                       dir_ / (tag + ".log"));
    port_ = 0;
    const bool up = PollUntil(
        [&] {
          const std::string log = ReadFile(p->err());
          const size_t at = log.find("listening on ");
          const size_t colon = at == std::string::npos ? at : log.find(':', at);
          const size_t end = colon == std::string::npos ? colon : log.find('\n', colon);
          if (end != std::string::npos) port_ = std::stoi(log.substr(colon + 1, end - colon - 1));
          return port_ != 0 || !p->Running();
        },
        60s);
    if (!up || port_ == 0) {
      throw std::runtime_error("the coordinator did not start listening: " + ReadFile(p->err()));
    }
    return p;
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  std::unique_ptr<Process> StartClient(int k) {
    const std::string name = "client-" + std::to_string(k);
    std::vector<std::string> argv = {kBin + "/client/edgefl-client",
                                     "--coordinator",
                                     address(),
                                     "--cert",
                                     (certs() / (name + ".crt")).string(),
                                     "--key",
                                     (certs() / (name + ".key")).string(),
                                     "--ca",
                                     (certs() / "ca.crt").string(),
                                     "--data",
                                     partition().string(),
                                     "--index",
                                     std::to_string(k),
                                     "--retry-for",
                                     "120"};
    return std::make_unique<Process>(name, std::move(argv), dir_ / (name + ".out"),
                                     dir_ / (name + ".log"));
  }

 private:
  fs::path dir_;
  int port_ = 0;
};

struct Stats {
  double mean = 0, median = 0, min = 0, max = 0;
};
Stats Summarize(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  for (double x : v)
    s.mean += x;
  s.mean /= static_cast<double>(v.size());
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  s.min = v.front();
  s.max = v.back();
  return s;
}

// Runs a federation of `clients` processes for `rounds` rounds of `model`;
// returns the coordinator's log after it finished.
struct FederationRun {
  std::vector<storage::RoundRecord> rounds;
  std::vector<storage::ClientUpdateRecord> updates;
  std::string coordinator_log;
  double seconds = 0;
};
FederationRun RunFederation(const fs::path& dir, int clients, int rounds, const std::string& model,
                            const std::string& tag, const std::string& dataset) {
  Deployment d(dir, clients);
  d.Partition(clients, dataset);
  const std::string n = std::to_string(clients);
  auto coordinator = d.StartCoordinator(
      tag, {"clients=" + n, "clients_per_round=" + n, "min_clients=" + n,
            "rounds=" + std::to_string(rounds), "model=" + model, "local_steps=1",
            "eval_every=1000", "max_connections=" + std::to_string(clients + 100)});
  std::vector<std::unique_ptr<Process>> children;
  const auto start = Clock::now();
  for (int k = 0; k < clients; ++k)
    children.push_back(d.StartClient(k));
  if (!coordinator->Wait(600s) || !coordinator->ExitedWith(0)) {
    throw std::runtime_error(tag + ": the coordinator did not finish; its log ends: " +
                             ReadFile(coordinator->err()).substr(0, 2000));
  }
  FederationRun run;
  run.seconds = Seconds(Clock::now() - start);
  for (auto& c : children)
    c->Wait(20s);  // they exit on Bye; killed by ~Process otherwise
  run.coordinator_log = ReadFile(coordinator->err());
  storage::ExperimentLog log(d.db().string());
  const std::optional<storage::RunInfo> info = log.FindRun(tag);
  if (!info) throw std::runtime_error(tag + ": no run in the log");
  run.rounds = log.Rounds(info->id);
  run.updates = log.ClientUpdates(info->id);
  return run;
}

void RoundOverhead(const fs::path& root, const std::vector<int>& client_counts, int rounds,
                   const std::string& dataset) {
  std::printf(
      "\n== Round overhead: wall time minus the slowest client's compute (logreg:784-10, "
      "local_steps 1, rounds 2..%d, %s shares) ==\n",
      rounds, dataset == "fmnist" ? "Fashion-MNIST train Dir(0.5)" : "Fashion-MNIST test IID");
  std::printf("%8s %7s %12s %12s %12s %12s %12s %10s\n", "clients", "rounds", "wall mean",
              "compute max", "overhead", "overhead", "overhead", "per client");
  std::printf("%8s %7s %12s %12s %12s %12s %12s %10s\n", "", "", "(ms)", "mean (ms)", "mean (ms)",
              "median (ms)", "max (ms)", "(ms)");
  for (int clients : client_counts) {
    const std::string tag = "overhead-" + dataset + "-" + std::to_string(clients);
    const FederationRun run =
        RunFederation(root / tag, clients, rounds, "logreg:784-10", tag, dataset);
    std::vector<double> walls, computes, overheads;
    for (const storage::RoundRecord& r : run.rounds) {
      if (r.round < 2) continue;  // waits for the clients to connect
      double slowest = 0;
      for (const storage::ClientUpdateRecord& u : run.updates) {
        if (u.round == r.round && std::isfinite(u.compute_seconds))
          slowest = std::max(slowest, u.compute_seconds);
      }
      const double wall = r.ended_at - r.started_at;
      walls.push_back(wall * 1e3);
      computes.push_back(slowest * 1e3);
      overheads.push_back((wall - slowest) * 1e3);
    }
    const Stats o = Summarize(overheads);
    std::printf("%8d %7zu %12.1f %12.1f %12.1f %12.1f %12.1f %10.2f\n", clients, walls.size(),
                Summarize(walls).mean, Summarize(computes).mean, o.mean, o.median, o.max,
                o.mean / clients);
    std::fflush(stdout);
  }
}

// Plain TCP connect + accept + close on loopback, `n` times, sequentially
// with an accepting thread: connections per second.
double TcpConnectRate(int n) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener, 1024) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("cannot listen on loopback");
  }
  std::thread acceptor([&] {
    for (int i = 0; i < n; ++i) {
      const int fd = ::accept(listener, nullptr, nullptr);
      if (fd >= 0) ::close(fd);
    }
  });
  const auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd);
      acceptor.detach();
      throw std::runtime_error("loopback connect failed");
    }
    ::close(fd);
  }
  acceptor.join();
  const double s = Seconds(Clock::now() - start);
  ::close(listener);
  return n / s;
}

// Runs `edgefl-client --load-sessions` against the coordinator; returns its
// stdout once it printed `until` (or throws).
std::unique_ptr<Process> StartLoad(Deployment& d, const fs::path& dir, const std::string& tag,
                                   int sessions, int concurrency, bool churn, double hold,
                                   bool answer_tasks = false) {
  std::vector<std::string> argv = {kBin + "/client/edgefl-client",
                                   "--load-sessions",
                                   std::to_string(sessions),
                                   "--coordinator",
                                   d.address(),
                                   "--cert-dir",
                                   d.certs().string(),
                                   "--load-concurrency",
                                   std::to_string(concurrency),
                                   "--hold",
                                   std::to_string(hold)};
  if (churn) argv.push_back("--churn");
  if (answer_tasks) argv.push_back("--answer-tasks");
  return std::make_unique<Process>(tag, std::move(argv), dir / (tag + ".out"),
                                   dir / (tag + ".log"));
}

double FieldAfter(const std::string& text, const std::string& key, const std::string& suffix) {
  const size_t at = text.find(key);
  if (at == std::string::npos) return std::nan("");
  const size_t end = text.find(suffix, at);
  size_t begin = text.rfind(' ', end - 1);
  return std::stod(text.substr(begin + 1, end - begin - 1));
}

void Connections(const fs::path& root, int sessions, int concurrency) {
  std::printf(
      "\n== Connections: %d TLS sessions held by one coordinator (one load process, "
      "%d handshakes in flight) ==\n",
      sessions, concurrency);
  const fs::path dir = root / "connections";
  const auto certs_start = Clock::now();
  Deployment d(dir, sessions);
  std::printf("(%d client certificates issued in %.1f s)\n", sessions,
              Seconds(Clock::now() - certs_start));
  auto coordinator = d.StartCoordinator(
      "connections", {"clients=10", "clients_per_round=10", "min_clients=1000000",
                      "model=logreg:784-10", "max_connections=" + std::to_string(sessions + 100)});
  std::this_thread::sleep_for(1s);
  const double rss_before = RssMb(coordinator->pid());

  // Phase 1: establish and hold, then close.
  const double cpu_before = CpuSeconds(coordinator->pid());
  auto load = StartLoad(d, dir, "load", sessions, concurrency, false, 300);
  std::string out;
  if (!PollUntil(
          [&] {
            out = ReadFile(load->out());
            return out.find("established") != std::string::npos || !load->Running();
          },
          300s, 50ms) ||
      out.find("established") == std::string::npos) {
    throw std::runtime_error("the load process did not establish its sessions: " +
                             ReadFile(load->err()));
  }
  const double rate = FieldAfter(out, "established", " handshakes/s");
  const double cpu_coordinator = CpuSeconds(coordinator->pid()) - cpu_before;
  const double cpu_load = CpuSeconds(load->pid());
  // The coordinator has registered every session whose Welcome arrived.
  std::this_thread::sleep_for(2s);
  const double rss_with = RssMb(coordinator->pid());
  const std::string log_with = ReadFile(coordinator->err());
  const size_t registered = CountOf(log_with, " connected from ");
  const double load_rss = RssMb(load->pid());
  load->Signal(SIGTERM);
  if (!load->Wait(60s)) throw std::runtime_error("the load process did not exit");
  std::this_thread::sleep_for(5s);  // close_linger + the sessions' teardown
  const double rss_after = RssMb(coordinator->pid());

  // Phase 2: the same with churn for 15 s once all are established (a
  // hold from the process's start would end before 10,000 are up).
  auto churn = StartLoad(d, dir, "churn", sessions, concurrency, true, 3600);
  if (!PollUntil(
          [&] {
            return ReadFile(churn->out()).find("established") != std::string::npos ||
                   !churn->Running();
          },
          300s, 50ms)) {
    throw std::runtime_error("the churn process did not establish its sessions");
  }
  std::this_thread::sleep_for(15s);
  churn->Signal(SIGTERM);
  if (!churn->Wait(400s)) throw std::runtime_error("the churn process did not exit");
  const std::string churn_out = ReadFile(churn->out());
  const double churn_establish = FieldAfter(churn_out, "established", " handshakes/s");
  const double churn_rate = FieldAfter(churn_out, "churn:", " handshakes/s");
  std::this_thread::sleep_for(5s);
  const double rss_after_churn = RssMb(coordinator->pid());
  const double tcp = TcpConnectRate(5000);

  coordinator->Signal(SIGTERM);
  coordinator->Wait(30s);

  std::printf("%-58s %12s\n", "figure", "value");
  std::printf("%-58s %12zu\n", "sessions registered by the coordinator (log)", registered);
  std::printf("%-58s %12.1f\n", "TLS sessions established per second (TLS+Hello+Welcome)", rate);
  std::printf("%-58s %12.1f\n", "  same, second run (before churn)", churn_establish);
  std::printf("%-58s %12.1f\n", "  churn: close + reopen per second, 15 s", churn_rate);
  std::printf("%-58s %12.0f\n", "baseline: plain TCP connect+accept+close per second", tcp);
  std::printf("%-58s %12.2f\n", "coordinator CPU per session established (ms)",
              cpu_coordinator * 1e3 / sessions);
  std::printf("%-58s %12.2f\n", "load process CPU per session (incl. loading its cert) (ms)",
              cpu_load * 1e3 / sessions);
  std::printf("%-58s %12.1f\n", "coordinator VmRSS idle (MB)", rss_before);
  std::printf("%-58s %12.1f\n", "coordinator VmRSS with the sessions (MB)", rss_with);
  std::printf("%-58s %12.1f\n", "  per session (KB)",
              (rss_with - rss_before) * 1024.0 / static_cast<double>(sessions));
  std::printf("%-58s %12.1f\n", "coordinator VmRSS 5 s after they closed (MB)", rss_after);
  std::printf("%-58s %12.1f\n", "coordinator VmRSS 5 s after the churn run closed (MB)",
              rss_after_churn);
  std::printf("%-58s %12.1f\n", "load process VmRSS with the sessions (MB)", load_rss);
  std::fflush(stdout);
}

void FleetRound(const fs::path& root, int sessions, int concurrency, int rounds) {
  std::printf(
      "\n== A round over every session: %d TLS sessions (one load process answering each "
      "TrainTask with the model it carries), %d rounds of logreg:784-10 ==\n",
      sessions, rounds);
  const fs::path dir = root / "fleet-round";
  Deployment d(dir, sessions);
  const std::string n = std::to_string(sessions);
  auto coordinator = d.StartCoordinator(
      "fleet", {"clients=" + n, "clients_per_round=" + n, "min_clients=" + n,
                "rounds=" + std::to_string(rounds), "model=logreg:784-10", "local_steps=1",
                "eval_every=1000", "max_connections=" + std::to_string(sessions + 100)});
  const double rss_idle = RssMb(coordinator->pid());
  const double cpu_start = CpuSeconds(coordinator->pid());
  auto load = StartLoad(d, dir, "load", sessions, concurrency, false, 3600, true);
  double rss_peak = rss_idle;
  double cpu_total = 0;  // the last reading before the coordinator exits
  const auto start = Clock::now();
  while (coordinator->Running() && Clock::now() - start < 1800s) {
    rss_peak = std::max(rss_peak, RssMb(coordinator->pid()));
    const double cpu = CpuSeconds(coordinator->pid()) - cpu_start;
    if (cpu > cpu_total) cpu_total = cpu;
    std::this_thread::sleep_for(100ms);
  }
  if (!coordinator->Wait(60s) || !coordinator->ExitedWith(0)) {
    throw std::runtime_error("the coordinator did not finish the run: " +
                             ReadFile(coordinator->err()).substr(0, 2000));
  }
  load->Signal(SIGTERM);
  load->Wait(60s);
  const std::string load_out = ReadFile(load->out());
  storage::ExperimentLog log(d.db().string());
  const std::optional<storage::RunInfo> info = log.FindRun("fleet");
  if (!info) throw std::runtime_error("no run 'fleet' in the log");
  const std::vector<storage::RoundRecord> records = log.Rounds(info->id);
  std::printf("%6s %9s %9s %8s %10s\n", "round", "selected", "completed", "dropped", "wall s");
  for (const storage::RoundRecord& r : records) {
    std::printf("%6lld %9lld %9lld %8lld %10.2f%s\n", static_cast<long long>(r.round),
                static_cast<long long>(r.selected), static_cast<long long>(r.completed),
                static_cast<long long>(r.dropped), r.ended_at - r.started_at,
                r.round == 1 ? "  (includes waiting for the sessions to connect)" : "");
  }
  std::printf("%-58s %12zu\n", "update rows in the log", log.ClientUpdates(info->id).size());
  std::printf("%-58s %12.1f\n", "coordinator CPU, whole run (s, sampled every 100 ms)", cpu_total);
  std::printf("%-58s %12.1f\n", "coordinator VmRSS idle (MB)", rss_idle);
  std::printf("%-58s %12.1f\n", "coordinator VmRSS peak, sampled every 100 ms (MB)", rss_peak);
  std::printf("load process: %s", load_out.c_str());
  std::fflush(stdout);
}

// "round R result in ... , X B out, Y B in" lines of a coordinator log.
void WireBytes(const fs::path& root) {
  std::printf(
      "\n== Bytes on the wire per client per round (frames, the coordinator's per-result "
      "log lines; 4 clients, rounds 1..3, local_steps 1) ==\n");
  std::printf("%-22s %10s %12s %12s %12s %9s %9s\n", "model", "params", "float32 B", "out B/round",
              "in B/round", "out/size", "in/size");
  for (const std::string& model : {std::string("cnn:lenet"), std::string("mlp:784-200-200-10")}) {
    const std::string tag = "wire-" + model.substr(0, model.find(':'));
    const FederationRun run = RunFederation(root / tag, 4, 3, model, tag, "fmnist-test");
    const double size = 4.0 * static_cast<double>(nn::Model(model).num_parameters());
    std::vector<double> outs, ins;
    std::istringstream lines(run.coordinator_log);
    std::string line;
    while (std::getline(lines, line)) {
      const size_t at = line.find(" B out, ");
      if (line.find(" result in ") == std::string::npos || at == std::string::npos) continue;
      outs.push_back(FieldAfter(line, "result in", " B out"));
      ins.push_back(FieldAfter(line, " B out,", " B in"));
    }
    const double out = Summarize(outs).max, in = Summarize(ins).max;
    std::printf("%-22s %10.0f %12.0f %12.0f %12.0f %8.4fx %8.4fx   (%zu results)\n", model.c_str(),
                size / 4, size, out, in, out / size, in / size, outs.size());
    std::fflush(stdout);
  }
}

std::vector<int> ParseList(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    out.push_back(std::stoi(item));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string part = "all";
  std::vector<int> clients = {10, 100};
  int rounds = 6, sessions = 1000, concurrency = 16;
  std::string keep, dataset = "fmnist-test";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--part" && has_value) {
      part = argv[++i];
    } else if (a == "--clients" && has_value) {
      clients = ParseList(argv[++i]);
    } else if (a == "--rounds" && has_value) {
      rounds = std::stoi(argv[++i]);
    } else if (a == "--sessions" && has_value) {
      sessions = std::stoi(argv[++i]);
    } else if (a == "--concurrency" && has_value) {
      concurrency = std::stoi(argv[++i]);
    } else if (a == "--dataset" && has_value) {
      dataset = argv[++i];
    } else if (a == "--keep" && has_value) {
      keep = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: coordinator_load [--part all|overhead|connections|fleet-round|wire] "
                   "[--clients 10,100] [--rounds 6] [--sessions 1000] [--concurrency 16] "
                   "[--dataset fmnist-test|fmnist] [--keep DIR]\n");
      return 2;
    }
  }
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
  double load[3] = {0, 0, 0};
  ::getloadavg(load, 3);
  std::printf("coordinator_load: load average %.2f at start, %u cores\n", load[0],
              std::thread::hardware_concurrency());
  char tmpl[] = "/tmp/edgefl-coordinator-load-XXXXXX";
  const fs::path root = keep.empty() ? fs::path(::mkdtemp(tmpl)) : fs::path(keep);
  fs::create_directories(root);
  int status = 0;
  try {
    if (part == "all" || part == "overhead") RoundOverhead(root, clients, rounds, dataset);
    if (part == "all" || part == "connections") Connections(root, sessions, concurrency);
    if (part == "all" || part == "fleet-round") FleetRound(root, sessions, concurrency, rounds);
    if (part == "all" || part == "wire") WireBytes(root);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "coordinator_load: %s (files in %s)\n", e.what(), root.c_str());
    status = 1;
  }
  if (keep.empty() && status == 0) fs::remove_all(root);
  return status;
}
