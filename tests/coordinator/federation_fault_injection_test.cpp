// Fault injection on the real deployment (issue 8): an edgefl-coordinator
// process and edgefl-client processes over mutual TLS on loopback, with
//   - 30% of the clients killed with SIGKILL while they train,
//   - slow-loris connections (silent, a partial TLS ClientHello, a
//     partial frame after the handshake) and a client that disconnects in
//     the middle of the TLS handshake, while a federation runs,
//   - the experiment log's file system full, and mounted read-only;
// then the processes' exit codes, their logs and the SQLite log as a user
// would read them. The coordinator-crash case is in
// federation_faults_test.cpp, the invariants in storage/log_check.h.
//
// The file-system cases mount a small tmpfs (root only: skipped with a
// message otherwise). Every wait is bounded; every process still running is
// SIGKILLed when the test's scope ends.
#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <set>
#include <signal.h>
#include <string>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>

#include "storage/experiment_log.h"
#include "storage/log_check.h"
#include "tests/coordinator/federation_util.h"
#include "wire/tls_context.h"

namespace edgefl::coordinator {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using edgefl::testing::Clock;
using edgefl::testing::Contains;
using edgefl::testing::Federation;
using edgefl::testing::kRunTimeout;
using edgefl::testing::kStartTimeout;
using edgefl::testing::Occurrences;
using edgefl::testing::PollUntil;
using edgefl::testing::Process;
using edgefl::testing::ReadIfExists;
using edgefl::testing::ReadOnly;
using edgefl::testing::Scaled;
using edgefl::testing::ScaledSeconds;
using edgefl::testing::TimeScale;
using edgefl::testing::Violations;

std::string FederationFaultInjectionRound(int64_t r) {
  return "round " + std::to_string(r);
}

TEST_CASE(
    "federation faults: 3 of 10 clients killed with SIGKILL mid-round: the round completes on "
    "quorum and later rounds run with the other 7") {
  constexpr int kClients = 10;
  constexpr int kKilled = 3;
  constexpr int kRounds = 4;
  Federation fed(kClients);
  INFO(fed.Logs());

  // min_clients 7: the rounds after the kills run with the survivors; the
  // quorum (7 of 10) lets the round of the kills complete without them.
  Process& coordinator = fed.StartCoordinator(
      "coordinator",
      {"port=0", "run_name=kill-30pc", "rounds=" + std::to_string(kRounds), "clients_per_round=10",
       "min_clients=7", "quorum=0.7", "deadline=" + ScaledSeconds(60), "heartbeat=1",
       "local_epochs=1", "test_subset=500", "model=mlp:784-200-200-10"});
  const int port = fed.WaitListening(coordinator);
  fed.StartClients(kClients, port);

  // The first round whose task all ten clients got: kill three of those
  // still training it.
  int64_t kill_round = 0;
  std::set<int> victims;
  for (int64_t r = 1; r <= kRounds && kill_round == 0; ++r) {
    const std::string training = FederationFaultInjectionRound(r) + ": training";
    const std::string done = FederationFaultInjectionRound(r) + ": done";
    bool all_training = false;
    const bool seen = PollUntil(
        [&] {
          all_training = true;
          for (int k = 0; k < kClients; ++k)
            all_training = all_training && Contains(fed.ClientLog(k), training);
          return all_training ||
                 Contains(coordinator.out(), FederationFaultInjectionRound(r) + "/") ||
                 !coordinator.Running();
        },
        kStartTimeout);
    REQUIRE_MESSAGE(seen, FederationFaultInjectionRound(r) << " did not start");
    REQUIRE(coordinator.Running());
    if (!all_training) continue;
    std::vector<int> busy;
    for (int k = 0; k < kClients; ++k)
      if (!Contains(fed.ClientLog(k), done)) busy.push_back(k);
    if (busy.size() < static_cast<size_t>(kKilled)) continue;
    for (int i = 0; i < kKilled; ++i) {
      const int k = busy[static_cast<size_t>(i)];
      fed.clients()[static_cast<size_t>(k)]->Signal(SIGKILL);
      victims.insert(k);
    }
    kill_round = r;
  }
  REQUIRE_MESSAGE(kill_round > 0, "no round had ten clients training and three not done");
  REQUIRE(kill_round < kRounds);  // later rounds run with the survivors
  std::set<std::string> victim_ids;
  for (const int k : victims) {
    Process& victim = *fed.clients()[static_cast<size_t>(k)];
    REQUIRE(victim.Wait(Scaled(10s)));
    CHECK(victim.KilledBy(SIGKILL));
    // Killed while training, before sending its update.
    REQUIRE_FALSE(Contains(fed.ClientLog(k), FederationFaultInjectionRound(kill_round) + ": done"));
    victim_ids.insert(Federation::ClientName(k));
  }

  REQUIRE_MESSAGE(coordinator.Wait(kRunTimeout), "the coordinator did not finish the run");
  REQUIRE(coordinator.ExitedWith(0));
  for (int k = 0; k < kClients; ++k) {
    if (victims.count(k)) continue;
    Process& client = *fed.clients()[static_cast<size_t>(k)];
    REQUIRE(client.Wait(Scaled(30s)));
    CHECK_MESSAGE(client.ExitedWith(0), client.Describe());  // Bye after the run
  }
  // The coordinator's log names each dropped client.
  for (const std::string& id : victim_ids)
    CHECK(Contains(coordinator.err(), id + " disconnected"));

  storage::ExperimentLog log(fed.db());
  const auto run = log.FindRun("kill-30pc");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == static_cast<size_t>(kRounds));
  for (const storage::RoundRecord& r : rounds) {
    CAPTURE(r.round);
    CHECK(r.rejected == 0);
    CHECK(r.model_version == r.round);  // every round aggregated
    if (r.round == kill_round) {
      CHECK(r.selected == kClients);
      CHECK(r.completed == kClients - kKilled);
      CHECK(r.dropped == kKilled);
    } else {
      CHECK(r.completed == r.selected);
      CHECK(r.dropped == 0);
      if (r.round > kill_round) CHECK(r.selected == kClients - kKilled);  // the survivors
    }
  }
  // The dropped rows name the killed clients; no killed client has an
  // update after the kill.
  std::set<std::string> dropped;
  for (const storage::ClientUpdateRecord& u : log.ClientUpdates(run->id)) {
    CAPTURE(u.round);
    CAPTURE(u.client_id);
    if (u.status == storage::UpdateStatus::kDropped) {
      CHECK(u.round == kill_round);
      CHECK(u.reason.find(u.client_id + " disconnected") != std::string::npos);
      dropped.insert(u.client_id);
    } else {
      CHECK(u.status == storage::UpdateStatus::kAccepted);
      CHECK((victim_ids.count(u.client_id) == 0 || u.round < kill_round));
    }
  }
  CHECK(dropped == victim_ids);
  CHECK(Violations(storage::CheckLog(fed.db())) == "");
}

// ---- slow-loris and broken handshakes ----

// A TCP connection to 127.0.0.1:port; -1 on failure.
int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The first bytes of a TLS 1.2 record carrying a ClientHello: a handshake
// that never completes.
constexpr std::array<uint8_t, 11> kPartialClientHello = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01,
                                                         0x00, 0x01, 0xfc, 0x03, 0x03};

// The rounds of run `name` committed so far in the log at `db` (0 before
// the run is created).
int64_t CommittedRounds(const fs::path& db, const std::string& name) {
  storage::ExperimentLog log(db, ReadOnly());
  const auto run = log.FindRun(name);
  return run ? log.LastCompletedRound(run->id) : 0;
}

// Whether the peer closes `fd` (EOF or reset) within `timeout`; whatever it
// sends first (a TLS alert) is read and ignored.
bool ClosedByPeer(int fd, Clock::duration timeout) {
  const auto until = Clock::now() + timeout;
  std::array<char, 4096> buffer{};
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n == 0) return true;
    if (n < 0 && errno != EINTR && errno != EAGAIN) return true;
  }
}

// Closes a raw socket on destruction.
struct Socket {
  int fd = -1;
  explicit Socket(int f) : fd(f) {}
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
};

TEST_CASE(
    "federation faults: slow-loris connections and a client that disconnects mid-handshake do "
    "not stall a federation and are closed after handshake_timeout") {
  constexpr int kClients = 3;
  // More rounds than the test waits for (a few steps each, milliseconds):
  // the run goes on until the attackers are closed, then SIGTERM ends it.
  constexpr int kRounds = 100000;
  constexpr int kSilent = 4;   // connect, send nothing
  constexpr int kPartial = 4;  // a partial ClientHello, then nothing
  // Certificates for the three clients and one more for the connection
  // that completes TLS but sends only part of its Hello frame.
  Federation fed(kClients + 1);
  INFO(fed.Logs());
  // The attackers are held for 2 s times the sanitizers' TimeScale: the
  // real clients must start, and train rounds, while they are pending.
  char timeout[32];
  std::snprintf(timeout, sizeof timeout, "%.1f", 2.0 * TimeScale());
  Process& coordinator = fed.StartCoordinator(
      "coordinator",
      {"port=0", "run_name=slow-loris", "rounds=" + std::to_string(kRounds), "clients_per_round=3",
       "min_clients=3", "heartbeat=1", "handshake_timeout=" + std::string(timeout), "local_steps=2",
       "eval_every=1000000", "test_subset=500", "model=mlp:784-32-10"});
  const int port = fed.WaitListening(coordinator);

  // The attackers connect first and hold their sockets open.
  std::vector<std::unique_ptr<Socket>> silent, partial;
  for (int i = 0; i < kSilent; ++i) {
    silent.push_back(std::make_unique<Socket>(Connect(port)));
    REQUIRE(silent.back()->fd >= 0);
  }
  for (int i = 0; i < kPartial; ++i) {
    partial.push_back(std::make_unique<Socket>(Connect(port)));
    REQUIRE(partial.back()->fd >= 0);
    REQUIRE(::send(partial.back()->fd, kPartialClientHello.data(), kPartialClientHello.size(),
                   MSG_NOSIGNAL) == static_cast<ssize_t>(kPartialClientHello.size()));
  }
  // A client that starts the TLS handshake and disconnects in its middle.
  {
    Socket quitter(Connect(port));
    REQUIRE(quitter.fd >= 0);
    REQUIRE(::send(quitter.fd, kPartialClientHello.data(), kPartialClientHello.size(),
                   MSG_NOSIGNAL) == static_cast<ssize_t>(kPartialClientHello.size()));
  }
  // An authenticated TLS connection that sends 3 bytes of its Hello frame.
  asio::io_context io;
  const fs::path certs = fed.dir() / "certs";
  const std::string loris_id = Federation::ClientName(kClients);
  asio::ssl::context tls = wire::MakeClientContext(
      wire::TlsFiles{certs / (loris_id + ".crt"), certs / (loris_id + ".key"), certs / "ca.crt"},
      "127.0.0.1");
  asio::ssl::stream<asio::ip::tcp::socket> loris(io, tls);
  loris.lowest_layer().connect(
      asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)));
  loris.handshake(asio::ssl::stream_base::client);
  const std::array<uint8_t, 3> partial_frame = {0x45, 0x44, 0x46};  // "EDF" of "EDFL"
  asio::write(loris, asio::buffer(partial_frame));

  // The real clients start while all of that is pending.
  fed.StartClients(kClients, port);

  // Every attacker socket is closed by the coordinator (its handshake
  // timeout), whatever the federation is doing.
  for (const auto& s : silent)
    CHECK(ClosedByPeer(s->fd, Scaled(30s)));
  for (const auto& s : partial)
    CHECK(ClosedByPeer(s->fd, Scaled(30s)));
  CHECK(ClosedByPeer(loris.lowest_layer().native_handle(), Scaled(30s)));
  // ... by their timeout, while the federation went on training: rounds
  // were committed while they held their sockets, and more after.
  REQUIRE_MESSAGE(coordinator.Running(), "the federation ended before the attackers' timeout");
  const int64_t during = CommittedRounds(fed.db(), "slow-loris");
  CHECK(during >= 3);
  REQUIRE(PollUntil(
      [&] {
        return CommittedRounds(fed.db(), "slow-loris") >= during + 3 || !coordinator.Running();
      },
      kRunTimeout));
  coordinator.Signal(SIGTERM);
  fed.RequireRunCompleted(coordinator);

  const std::string log = ReadIfExists(coordinator.err());
  const std::string within = std::string(" within ") + timeout + " s";
  CHECK(Occurrences(log, "refused: no TLS handshake" + within) == kSilent + kPartial);
  CHECK(Occurrences(log, "refused: no Hello" + within) == 1);
  // The quitter: one refusal line for its broken handshake (and no
  // timeout line, since it was gone before).
  CHECK(Occurrences(log, " refused: ") == kSilent + kPartial + 1 + 1);
  MESSAGE(log);

  storage::ExperimentLog experiment(fed.db());
  const auto run = experiment.FindRun("slow-loris");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kInterrupted);
  const auto rounds = experiment.Rounds(run->id);
  CHECK(static_cast<int64_t>(rounds.size()) >= during + 3);
  for (const storage::RoundRecord& r : rounds) {
    CHECK(r.completed == kClients);
    CHECK(r.dropped == 0);
  }
  // Only the real clients took part.
  for (const storage::ClientUpdateRecord& u : experiment.ClientUpdates(run->id))
    CHECK(u.client_id != loris_id);
}

// ---- the experiment log's file system ----

// A tmpfs of `size` mounted on `dir` for the test's scope.
class TmpfsMount {
 public:
  TmpfsMount(const fs::path& dir, const std::string& size) : dir_(dir) {
    fs::create_directories(dir);
    const std::string options = "size=" + size + ",mode=0755";
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  // Remounts read-only (true) or read-write (false); false on failure.
  bool SetReadOnly(bool read_only) {
    const unsigned long flags = MS_REMOUNT | (read_only ? MS_RDONLY : 0);
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", flags, nullptr) == 0;
  }

 private:
  fs::path dir_;
  bool mounted_ = false;
  std::string error_;
};

// Coordinator settings for a quick federation of two clients on a tiny
// model, its log at `db`.
std::vector<std::string> QuickSettings(const std::string& run, int rounds, const fs::path& db,
                                       int port) {
  return {"port=" + std::to_string(port),
          "run_name=" + run,
          "rounds=" + std::to_string(rounds),
          "clients_per_round=2",
          "min_clients=2",
          "heartbeat=1",
          "local_steps=2",
          "test_subset=200",
          "model=logreg:784-10",
          "db=" + db.string()};
}

TEST_CASE(
    "federation faults: the log's disk fills up mid-run: exit code 4 with a message naming the "
    "file and earlier rounds intact") {
  Federation fed(2);
  INFO(fed.Logs());
  // ~300 KB: the schema, the run and a few rounds (a checkpoint of
  // logreg:784-10 is 31 KB), then ENOSPC.
  TmpfsMount disk(fed.dir() / "small-disk", "300k");
  if (!disk.mounted()) {
    MESSAGE("cannot mount a tmpfs (" << disk.error() << "; needs root): skipped");
    return;
  }
  const fs::path db = fed.dir() / "small-disk" / "federation.db";
  Process& coordinator =
      fed.StartCoordinator("coordinator", QuickSettings("disk-full", 1000, db, 0));
  const int port = fed.WaitListening(coordinator);
  fed.StartClients(2, port);

  REQUIRE_MESSAGE(coordinator.Wait(kRunTimeout), "the coordinator did not stop");
  CHECK_MESSAGE(coordinator.ExitedWith(4), coordinator.Describe());  // IoError
  const std::string error = ReadIfExists(coordinator.err());
  const size_t at = error.find("edgefl-coordinator: experiment log " + db.string() + ": disk full");
  REQUIRE_MESSAGE(at != std::string::npos, error);
  const std::string message = error.substr(at);
  MESSAGE(message);
  CHECK(message.find("while committing round ") != std::string::npos);
  CHECK(message.find("rounds committed before are intact") != std::string::npos);
  // The clients saw the connection go (and keep retrying).
  CHECK(PollUntil([&] { return Contains(fed.ClientLog(0), "connection lost"); }, Scaled(10s)));

  // The log (read where it is, on the full disk): the rounds before the
  // failed one, sound.
  const int64_t failed = std::stoll(message.substr(message.find("while committing round ") + 23));
  CHECK(Violations(storage::CheckLog(db)) == "");
  storage::ExperimentLog log(db, ReadOnly());
  const auto run = log.FindRun("disk-full");
  REQUIRE(run.has_value());
  CHECK(failed >= 2);
  CHECK(log.LastCompletedRound(run->id) == failed - 1);
  CHECK(log.Rounds(run->id).size() == static_cast<size_t>(failed - 1));
  CHECK(log.LatestCheckpoint(run->id)->round == failed - 1);
}

TEST_CASE(
    "federation faults: the log's file system is read-only at restart: exit code 4 naming the "
    "file and the problem and the run resumes once it is writable") {
  Federation fed(2);
  INFO(fed.Logs());
  TmpfsMount disk(fed.dir() / "disk", "8m");
  if (!disk.mounted()) {
    MESSAGE("cannot mount a tmpfs (" << disk.error() << "; needs root): skipped");
    return;
  }
  const fs::path db = fed.dir() / "disk" / "federation.db";
  const int port = edgefl::testing::FreePort();

  // Two or three rounds of a six-round run, stopped cleanly (SIGTERM: the
  // round in progress is finished; the log's files are closed).
  constexpr int kRounds = 6;
  Process& first = fed.StartCoordinator("coordinator-1", QuickSettings("ro", kRounds, db, port));
  fed.WaitListening(first);
  fed.StartClients(2, port);
  REQUIRE(PollUntil([&] { return Contains(first.out(), "round 2/") || !first.Running(); },
                    kRunTimeout));
  first.Signal(SIGTERM);
  REQUIRE(first.Wait(kRunTimeout));
  REQUIRE(first.ExitedWith(0));
  int64_t done = 0;
  {
    storage::ExperimentLog log(db, ReadOnly());
    done = log.LastCompletedRound(log.FindRun("ro")->id);
  }
  REQUIRE(done >= 2);
  REQUIRE(done < kRounds);

  REQUIRE(disk.SetReadOnly(true));
  Process& second = fed.StartCoordinator("coordinator-2", QuickSettings("ro", kRounds, db, port));
  REQUIRE(second.Wait(kStartTimeout));
  CHECK_MESSAGE(second.ExitedWith(4), second.Describe());  // IoError
  const std::string error = ReadIfExists(second.err());
  MESSAGE(error);
  CHECK(error.find("edgefl-coordinator: experiment log " + db.string()) != std::string::npos);
  CHECK(error.find("the file system is mounted read-only") != std::string::npos);
  CHECK(error.find("resume the run") != std::string::npos);

  // Nothing was lost: once the file system is writable again the run
  // resumes after the rounds committed before and completes.
  REQUIRE(disk.SetReadOnly(false));
  CHECK(Violations(storage::CheckLog(db)) == "");
  Process& third = fed.StartCoordinator("coordinator-3", QuickSettings("ro", kRounds, db, port));
  fed.WaitListening(third);
  fed.StartClients(2, port);
  REQUIRE(third.Wait(kRunTimeout));
  REQUIRE(third.ExitedWith(0));
  CHECK(Contains(third.out(), "resuming run 'ro' after round " + std::to_string(done)));
  CHECK(Violations(storage::CheckLog(db)) == "");
  storage::ExperimentLog log(db, ReadOnly());
  const auto run = log.FindRun("ro");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  CHECK(log.Rounds(run->id).size() == static_cast<size_t>(kRounds));
}

}  // namespace
}  // namespace edgefl::coordinator
