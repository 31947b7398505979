// Faults of the real deployment on loopback: an edgefl-coordinator process
// and edgefl-client processes over mutual TLS (certificates and partition
// made with the `edgefl` tool), one of them killed with SIGKILL mid-run,
// then the SQLite log as a user would read it.
//
// Every wait is bounded; on a timeout or a failed check the test fails with
// the processes' logs, and every process still running is killed when the
// test's scope ends (and by the kernel if the test process dies:
// PR_SET_PDEATHSIG).
#include <arpa/inet.h>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <optional>
#include <set>
#include <signal.h>
#include <string>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "storage/experiment_log.h"
#include "storage/sqlite_db.h"
#include "tests/test_util.h"

namespace edgefl::coordinator {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Generous for a loaded 2-core machine; a healthy run needs a fraction.
constexpr auto kStartTimeout = 60s;
constexpr auto kRunTimeout = 90s;

std::string ReadIfExists(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return "";
  try {
    return edgefl::testing::ReadFile(path);
  } catch (const std::exception&) {
    return "";
  }
}

bool Contains(const fs::path& path, const std::string& text) {
  return ReadIfExists(path).find(text) != std::string::npos;
}

// How often `what` occurs in `text`.
int Occurrences(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

// Polls `done` every 20 ms until it is true or `timeout` passes.
bool PollUntil(const std::function<bool()>& done, Clock::duration timeout) {
  const auto until = Clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(20ms);
  }
}

// A free TCP port on loopback (bound to port 0, read back, released).
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  REQUIRE(ok);
  return ntohs(address.sin_port);
}

// A child process running `argv` (argv[0] a path), stdin from /dev/null,
// stdout and stderr to files. SIGKILLed and reaped on destruction if still
// running.
class Process {
 public:
  Process(std::string name, std::vector<std::string> argv, fs::path out, fs::path err)
      : name_(std::move(name)), out_(std::move(out)), err_(std::move(err)) {
    // Everything the child needs is prepared before fork (only
    // async-signal-safe calls after it).
    std::vector<char*> args;
    for (std::string& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    const std::string out_path = out_.string(), err_path = err_.string();
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    REQUIRE_MESSAGE(pid_ >= 0, "fork failed for " << name_);
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      const int in = ::open("/dev/null", O_RDONLY);
      const int o = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int e = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (in < 0 || o < 0 || e < 0) ::_exit(127);
      ::dup2(in, 0);
      ::dup2(o, 1);
      ::dup2(e, 2);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Process() {
    if (Running()) {
      Signal(SIGKILL);
      Wait(10s);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  const std::string& name() const { return name_; }
  const fs::path& out() const { return out_; }
  const fs::path& err() const { return err_; }

  bool Running() {
    if (status_) return false;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) status_ = status;
    return !status_.has_value();
  }
  void Signal(int signal) {
    if (Running()) ::kill(pid_, signal);
  }
  // Waits up to `timeout` for the process to end; false if it is still
  // running.
  bool Wait(Clock::duration timeout) {
    return PollUntil([this] { return !Running(); }, timeout);
  }
  bool ExitedWith(int code) const {
    return status_ && WIFEXITED(*status_) && WEXITSTATUS(*status_) == code;
  }
  bool KilledBy(int signal) const {
    return status_ && WIFSIGNALED(*status_) && WTERMSIG(*status_) == signal;
  }
  std::string Describe() const {
    if (!status_) return name_ + " (pid " + std::to_string(pid_) + ") running";
    if (WIFEXITED(*status_)) return name_ + " exited " + std::to_string(WEXITSTATUS(*status_));
    return name_ + " killed by signal " + std::to_string(WTERMSIG(*status_));
  }

 private:
  std::string name_;
  fs::path out_, err_;
  pid_t pid_ = -1;
  std::optional<int> status_;  // raw waitpid status once reaped
};

// A deployment in a TempDir: certificates for the coordinator and
// `clients` devices, a Dirichlet(0.5) partition of Fashion-MNIST, and the
// processes started in it.
class Federation {
 public:
  explicit Federation(int clients) : clients_(clients) {
    const std::string edgefl = std::string(EDGEFL_BINARY_DIR) + "/tools/edgefl";
    const std::string certs = (dir_ / "certs").string();
    std::string command = edgefl + " certs init --dir " + certs + " && " + edgefl +
                          " certs issue-server 127.0.0.1 --dir " + certs;
    for (int k = 0; k < clients; ++k) {
      command += " && " + edgefl + " certs issue-client " + ClientName(k) + " --dir " + certs;
    }
    command +=
        " && " + edgefl +
        " partition --dataset fmnist --scheme dirichlet --alpha 0.5 --seed 1 -q --data-dir " +
        edgefl::testing::FashionMnistDir().string() + " --clients " + std::to_string(clients) +
        " --out " + partition().string();
    std::string output;
    const int rc = edgefl::testing::RunCommand(command, &output);
    INFO(output);
    REQUIRE(rc == 0);
  }

  const fs::path& dir() const { return dir_.path(); }
  fs::path db() const { return dir_ / "federation.db"; }
  fs::path partition() const { return dir_ / "fmnist.partition"; }
  static std::string ClientName(int k) { return "client-" + std::to_string(k); }

  // Starts edgefl-coordinator with examples/fedavg.toml and `settings`
  // (key=value) on top of the deployment's files; its stdout and stderr go
  // to TAG.out and TAG.log.
  Process& StartCoordinator(const std::string& tag, const std::vector<std::string>& settings) {
    std::vector<std::string> argv = {
        std::string(EDGEFL_BINARY_DIR) + "/coordinator/edgefl-coordinator", "--config",
        std::string(EDGEFL_SOURCE_DIR) + "/examples/fedavg.toml"};
    std::vector<std::string> all = {
        "clients=" + std::to_string(clients_),
        "cert=" + (dir_ / "certs/server.crt").string(),
        "key=" + (dir_ / "certs/server.key").string(),
        "ca=" + (dir_ / "certs/ca.crt").string(),
        "db=" + db().string(),
        "data_path=" + edgefl::testing::FashionMnistDir().string(),
    };
    all.insert(all.end(), settings.begin(), settings.end());
    for (const std::string& s : all) {
      argv.push_back("--set");
      argv.push_back(s);
    }
    return Start(tag, std::move(argv), dir_ / (tag + ".out"), dir_ / (tag + ".log"));
  }

  // Waits until `coordinator` is listening; returns its port.
  int WaitListening(Process& coordinator) {
    std::string port;
    const bool listening = PollUntil(
        [&] {
          const std::string log = ReadIfExists(coordinator.err());
          const size_t at = log.find("listening on ");
          const size_t colon = at == std::string::npos ? at : log.find_first_of(":\n", at);
          const size_t end = colon == std::string::npos ? colon : log.find('\n', colon);
          if (end != std::string::npos && log[colon] == ':') {
            port = log.substr(colon + 1, end - colon - 1);
            return true;
          }
          return !coordinator.Running();
        },
        kStartTimeout);
    REQUIRE_MESSAGE(listening, "the coordinator did not start listening");
    REQUIRE_MESSAGE(!port.empty(), coordinator.Describe() << " before listening");
    return std::stoi(port);
  }

  // Starts edgefl-client number k against 127.0.0.1:port; stderr to
  // client-K.log.
  Process& StartClient(int k, int port) {
    const std::string certs = (dir_ / "certs").string() + "/";
    std::vector<std::string> argv = {std::string(EDGEFL_BINARY_DIR) + "/client/edgefl-client",
                                     "--coordinator",
                                     "127.0.0.1:" + std::to_string(port),
                                     "--cert",
                                     certs + ClientName(k) + ".crt",
                                     "--key",
                                     certs + ClientName(k) + ".key",
                                     "--ca",
                                     certs + "ca.crt",
                                     "--data",
                                     partition().string(),
                                     "--index",
                                     std::to_string(k),
                                     "--data-dir",
                                     edgefl::testing::FashionMnistDir().string(),
                                     "--retry-for",
                                     "60"};
    Process& p = Start(ClientName(k), std::move(argv), dir_ / (ClientName(k) + ".out"),
                       dir_ / (ClientName(k) + ".log"));
    clients_started_.push_back(&p);
    return p;
  }
  // Starts `edgefl-client --load-sessions n` (certificates client-0..n-1)
  // against 127.0.0.1:port; stdout to load.out, stderr to load.log.
  Process& StartLoad(int n, int port) {
    return Start("load",
                 {std::string(EDGEFL_BINARY_DIR) + "/client/edgefl-client", "--load-sessions",
                  std::to_string(n), "--coordinator", "127.0.0.1:" + std::to_string(port),
                  "--cert-dir", (dir_ / "certs").string(), "--hold", "60"},
                 dir_ / "load.out", dir_ / "load.log");
  }
  fs::path ClientLog(int k) const { return dir_ / (ClientName(k) + ".log"); }
  const std::vector<Process*>& clients() const { return clients_started_; }

  // The processes' states and the tail of every log, for failure messages.
  std::string Logs() {
    std::string text;
    for (const auto& p : processes_) {
      text += "== " + p->Describe() + "\n";
      for (const fs::path& path : {p->out(), p->err()}) {
        std::string content = ReadIfExists(path);
        if (content.empty()) continue;
        if (content.size() > 6000) content = "...\n" + content.substr(content.size() - 6000);
        text += "-- " + path.filename().string() + ":\n" + content;
      }
    }
    return text;
  }

 private:
  Process& Start(const std::string& name, std::vector<std::string> argv, fs::path out,
                 fs::path err) {
    processes_.push_back(
        std::make_unique<Process>(name, std::move(argv), std::move(out), std::move(err)));
    return *processes_.back();
  }

  int clients_;
  edgefl::testing::TempDir dir_;
  std::vector<std::unique_ptr<Process>> processes_;  // destroyed (killed) before dir_
  std::vector<Process*> clients_started_;
};

storage::ExperimentLog::Options ReadOnly() {
  storage::ExperimentLog::Options options;
  options.read_only = true;
  return options;
}

std::string IntegrityCheck(storage::SqliteDb& db) {
  storage::Statement s(db, "PRAGMA integrity_check");
  REQUIRE(s.Step());
  return s.ColumnText(0);
}

TEST_CASE("federation faults: kill -9 one client mid-round: the round completes on quorum") {
  constexpr int kClients = 4;
  constexpr int kRounds = 4;
  constexpr int kVictim = 3;  // the largest share of the seed-1 split: the longest training
  Federation fed(kClients);
  INFO(fed.Logs());

  // min_clients = 3 lets the rounds after the kill run with the survivors;
  // the quorum (3 of 4) lets the round of the kill complete without it.
  Process& coordinator = fed.StartCoordinator(
      "coordinator", {"port=0", "run_name=kill-client", "rounds=" + std::to_string(kRounds),
                      "clients_per_round=4", "min_clients=3", "quorum=0.75", "deadline=20",
                      "heartbeat=1", "local_epochs=3", "model=mlp:784-200-200-10"});
  const int port = fed.WaitListening(coordinator);
  for (int k = 0; k < kClients; ++k)
    fed.StartClient(k, port);
  Process& victim = *fed.clients()[kVictim];

  // The first round whose task all four clients train (round 1, or round 2
  // when a client connected after the first three had started round 1):
  // kill the victim while it trains.
  int64_t kill_round = 0;
  for (int64_t r = 1; r <= kRounds && kill_round == 0; ++r) {
    const std::string training = "round " + std::to_string(r) + ": training";
    const std::string committed = "round " + std::to_string(r) + "/";
    bool all_training = false;
    const bool seen = PollUntil(
        [&] {
          all_training = true;
          for (int k = 0; k < kClients; ++k)
            all_training = all_training && Contains(fed.ClientLog(k), training);
          return all_training || Contains(coordinator.out(), committed) || !coordinator.Running();
        },
        kStartTimeout);
    REQUIRE_MESSAGE(seen, "round " << r << " did not start");
    REQUIRE(coordinator.Running());
    if (all_training &&
        !Contains(fed.ClientLog(kVictim), "round " + std::to_string(r) + ": done")) {
      victim.Signal(SIGKILL);
      kill_round = r;
    }
  }
  REQUIRE_MESSAGE(kill_round > 0, "no round had all four clients training");
  // At least one round after it runs with the survivors only.
  REQUIRE(kill_round < kRounds);
  REQUIRE(victim.Wait(10s));
  CHECK(victim.KilledBy(SIGKILL));
  // Killed mid-training, not after sending its update.
  REQUIRE_FALSE(Contains(fed.ClientLog(kVictim), "round " + std::to_string(kill_round) + ": done"));

  REQUIRE_MESSAGE(coordinator.Wait(kRunTimeout), "the coordinator did not finish the run");
  REQUIRE(coordinator.ExitedWith(0));
  for (int k = 0; k < kClients; ++k) {
    if (k == kVictim) continue;
    Process& client = *fed.clients()[static_cast<size_t>(k)];
    REQUIRE(client.Wait(30s));
    CHECK(client.ExitedWith(0));  // Bye after the run
  }

  // The coordinator's log names the dropped client.
  const std::string victim_id = Federation::ClientName(kVictim);
  CHECK(Contains(coordinator.err(), victim_id + " disconnected"));

  storage::ExperimentLog log(fed.db());
  const auto run = log.FindRun("kill-client");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == static_cast<size_t>(kRounds));
  for (const storage::RoundRecord& r : rounds) {
    CAPTURE(r.round);
    CHECK(r.rejected == 0);
    if (r.round == kill_round) {
      CHECK(r.selected == 4);
      CHECK(r.completed == 3);
      CHECK(r.dropped == 1);
      CHECK(r.model_version == r.round);  // aggregated on quorum
      // Dropped at the disconnect, not by the deadline.
      CHECK(r.ended_at - r.started_at < 20.0);
    } else {
      CHECK(r.completed == r.selected);
      CHECK(r.dropped == 0);
      if (r.round > kill_round) CHECK(r.selected == 3);  // the survivors
    }
  }
  const auto updates = log.ClientUpdates(run->id);
  int dropped = 0;
  for (const storage::ClientUpdateRecord& u : updates) {
    CAPTURE(u.round);
    CAPTURE(u.client_id);
    CAPTURE(u.reason);
    if (u.status == storage::UpdateStatus::kDropped) {
      ++dropped;
      CHECK(u.round == kill_round);
      CHECK(u.client_id == victim_id);
      CHECK(u.reason.find(victim_id) != std::string::npos);
      CHECK(u.reason.find("disconnected") != std::string::npos);
    } else {
      CHECK(u.status == storage::UpdateStatus::kAccepted);
      CHECK((u.client_id != victim_id || u.round < kill_round));
    }
  }
  CHECK(dropped == 1);
}

TEST_CASE(
    "federation faults: kill -9 the coordinator mid-run: a restart resumes at the next round "
    "with no round lost or repeated") {
  constexpr int kClients = 3;
  constexpr int kRounds = 5;
  const std::string run_name = "kill-coordinator";
  Federation fed(kClients);
  INFO(fed.Logs());

  // A fixed port: the clients reconnect to the same address after the
  // restart.
  const int port = FreePort();
  const std::vector<std::string> settings = {"port=" + std::to_string(port),
                                             "run_name=" + run_name,
                                             "rounds=" + std::to_string(kRounds),
                                             "clients_per_round=3",
                                             "min_clients=3",
                                             "heartbeat=1",
                                             "local_epochs=1",
                                             "model=mlp:784-200-200-10"};
  Process& first = fed.StartCoordinator("coordinator-1", settings);
  REQUIRE(fed.WaitListening(first) == port);
  for (int k = 0; k < kClients; ++k)
    fed.StartClient(k, port);

  // Round 2 committed (its progress line follows the commit): kill.
  REQUIRE_MESSAGE(
      PollUntil([&] { return Contains(first.out(), "round 2/") || !first.Running(); }, kRunTimeout),
      "round 2 was not committed");
  REQUIRE(first.Running());
  first.Signal(SIGKILL);
  REQUIRE(first.Wait(10s));
  REQUIRE(first.KilledBy(SIGKILL));

  int64_t committed = 0;
  {
    storage::ExperimentLog log(fed.db(), ReadOnly());
    const auto run = log.FindRun(run_name);
    REQUIRE(run.has_value());
    CHECK(run->status == storage::RunStatus::kRunning);  // crashed, not ended
    committed = log.LastCompletedRound(run->id);
  }
  REQUIRE(committed >= 2);
  REQUIRE(committed < kRounds);
  for (Process* client : fed.clients())
    CHECK_MESSAGE(client->Running(), client->Describe());  // retrying

  Process& second = fed.StartCoordinator("coordinator-2", settings);
  REQUIRE_MESSAGE(second.Wait(kRunTimeout), "the restarted coordinator did not finish the run");
  REQUIRE(second.ExitedWith(0));
  for (Process* client : fed.clients()) {
    REQUIRE(client->Wait(30s));
    CHECK_MESSAGE(client->ExitedWith(0), client->Describe());  // Bye after the run
  }

  const std::string output = ReadIfExists(second.out());
  CHECK(output.find("resuming run '" + run_name + "' after round " + std::to_string(committed)) !=
        std::string::npos);
  CHECK(output.find("round " + std::to_string(committed + 1) + "/") != std::string::npos);
  CHECK(output.find("round " + std::to_string(committed) + "/") == std::string::npos);

  storage::ExperimentLog log(fed.db());
  CHECK(IntegrityCheck(log.TEST_db()) == "ok");
  const auto run = log.FindRun(run_name);
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);

  // Rounds 1..N, once each, each from the model of the one before.
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == static_cast<size_t>(kRounds));
  for (size_t i = 0; i < rounds.size(); ++i) {
    CAPTURE(i);
    CHECK(rounds[i].round == static_cast<int64_t>(i) + 1);
    CHECK(rounds[i].model_version == static_cast<int64_t>(i) + 1);
    CHECK(rounds[i].selected == kClients);
    CHECK(rounds[i].completed == kClients);
  }
  CHECK(log.TEST_db().QueryInt("SELECT COUNT(*) FROM rounds WHERE run_id = " +
                               std::to_string(run->id)) == kRounds);

  // clients x N updates, one per (round, client), all accepted.
  const auto updates = log.ClientUpdates(run->id);
  CHECK(updates.size() == static_cast<size_t>(kClients * kRounds));
  std::set<std::pair<int64_t, std::string>> keys;
  for (const storage::ClientUpdateRecord& u : updates) {
    CAPTURE(u.round);
    CAPTURE(u.client_id);
    CHECK(keys.insert({u.round, u.client_id}).second);
    CHECK(u.round >= 1);
    CHECK(u.round <= kRounds);
    CHECK(u.status == storage::UpdateStatus::kAccepted);
  }
  CHECK(keys.size() == static_cast<size_t>(kClients * kRounds));

  // The evaluations too: the initial model and one per round.
  const auto evals = log.Evaluations(run->id);
  CHECK(evals.size() == static_cast<size_t>(kRounds + 1));
  CHECK(log.LatestCheckpoint(run->id)->round == kRounds);
}

TEST_CASE("load mode: edgefl-client --load-sessions opens sessions the coordinator registers") {
  constexpr int kSessions = 20;
  Federation fed(kSessions);
  INFO(fed.Logs());
  // min_clients above the sessions: the coordinator only waits.
  Process& coordinator = fed.StartCoordinator(
      "coordinator", {"port=0", "run_name=load", "clients_per_round=10", "min_clients=1000",
                      "test_subset=100", "model=logreg:784-10"});
  const int port = fed.WaitListening(coordinator);
  Process& load = fed.StartLoad(kSessions, port);
  const bool up = PollUntil(
      [&] {
        return Contains(load.out(), "established 20 sessions") &&
               Occurrences(ReadIfExists(coordinator.err()), " connected from ") == kSessions;
      },
      kStartTimeout);
  CHECK_MESSAGE(up, fed.Logs());
  // SIGTERM: every session says Bye, the load process exits 0.
  load.Signal(SIGTERM);
  REQUIRE_MESSAGE(load.Wait(kStartTimeout), fed.Logs());
  CHECK_MESSAGE(load.ExitedWith(0), fed.Logs());
  CHECK(Contains(load.out(), "closed 20 sessions (0 failures)"));
  CHECK(PollUntil(
      [&] {
        return Occurrences(ReadIfExists(coordinator.err()), "said bye (load test over)") ==
               kSessions;
      },
      kStartTimeout));
  coordinator.Signal(SIGTERM);
  CHECK(coordinator.Wait(kStartTimeout));
}

}  // namespace
}  // namespace edgefl::coordinator
