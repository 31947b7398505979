// An edgefl-client whose connection is cut mid-run (a TCP relay between it
// and a real edgefl-coordinator drops every connection) reconnects to the
// same run and keeps its local training state: with reset_optimizer =
// false its momentum carries on from the last round it trained, as it
// would have without the cut (client/coordinator_session.h, RunState).
#include <arpa/inet.h>
#include <atomic>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <doctest/doctest.h>

#include "storage/experiment_log.h"
#include "tests/coordinator/federation_util.h"

namespace edgefl::coordinator {
namespace {

using edgefl::testing::Contains;
using edgefl::testing::Federation;
using edgefl::testing::kRunTimeout;
using edgefl::testing::PollUntil;
using edgefl::testing::Process;

// A loopback TCP relay to 127.0.0.1:target whose Cut() drops every
// connection it carries (both ends see the connection fail, as when a
// network path dies); later connections are relayed again.
class CuttingRelay {
 public:
  explicit CuttingRelay(int target) : target_(target) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(listen(listener_, 8) == 0);
    socklen_t length = sizeof address;
    REQUIRE(getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~CuttingRelay() {
    stopping_ = true;
    shutdown(listener_, SHUT_RDWR);
    close(listener_);
    Cut();
    acceptor_.join();
    for (std::thread& t : pumps_)
      t.join();
  }
  int port() const { return port_; }
  int connections() const { return connections_.load(); }
  // Drops every relayed connection now.
  void Cut() {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : open_)
      shutdown(fd, SHUT_RDWR);
  }

 private:
  void Accept() {
    for (;;) {
      const int inbound = accept(listener_, nullptr, nullptr);
      if (inbound < 0 || stopping_) {
        if (inbound >= 0) close(inbound);
        return;
      }
      const int outbound = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      address.sin_port = htons(static_cast<uint16_t>(target_));
      if (connect(outbound, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        close(inbound);
        close(outbound);
        continue;
      }
      ++connections_;
      const std::lock_guard<std::mutex> lock(mutex_);
      open_.push_back(inbound);
      open_.push_back(outbound);
      pumps_.emplace_back([inbound, outbound] { Pump(inbound, outbound); });
    }
  }
  static void Pump(int a, int b) {
    char buffer[16 * 1024];
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    for (;;) {
      if (poll(fds, 2, 200) < 0) break;
      bool done = false;
      for (int i = 0; i < 2 && !done; ++i) {
        if (fds[i].revents == 0) continue;
        const ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
        if (n <= 0) {
          done = true;
          break;
        }
        const int to = fds[1 - i].fd;
        for (ssize_t sent = 0; sent < n;) {
          // MSG_NOSIGNAL: Cut() can shut `to` down between the read and
          // this send, and a write to it would raise SIGPIPE in the test
          // process, ending the whole test binary instead of this pump.
          const ssize_t w = send(to, buffer + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
          if (w <= 0) {
            done = true;
            break;
          }
          sent += w;
        }
      }
      if (done) break;
    }
    shutdown(a, SHUT_RDWR);
    shutdown(b, SHUT_RDWR);
  }

  int target_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::mutex mutex_;
  std::vector<int> open_;  // closed with the process (a test's few sockets)
  std::vector<std::thread> pumps_;
  std::thread acceptor_;
};

}  // namespace

TEST_CASE("client state federation: a client whose connection is cut keeps its optimizer state") {
  constexpr int kClients = 3;
  constexpr int kRounds = 4;
  Federation fed(kClients);
  INFO(fed.Logs());
  Process& coordinator = fed.StartCoordinator(
      "coordinator",
      {"port=0", "run_name=cut", "rounds=" + std::to_string(kRounds), "model=mlp:784-32-10",
       "local_steps=20", "batch_size=32", "lr=0.05", "momentum=0.9", "reset_optimizer=false",
       "test_subset=500", "min_clients=3", "clients_per_round=3", "heartbeat=1"});
  const int port = fed.WaitListening(coordinator);
  CuttingRelay relay(port);
  fed.StartClient(0, relay.port());  // client 0 talks through the relay
  for (int k = 1; k < kClients; ++k)
    fed.StartClient(k, port);

  // Client 0 trained round 2 and sent its result: cut its connection.
  REQUIRE_MESSAGE(
      PollUntil([&] { return Contains(fed.ClientLog(0), "round 2: done"); }, kRunTimeout),
      "client 0 did not finish round 2");
  relay.Cut();
  fed.RequireRunCompleted(coordinator);

  CHECK(relay.connections() >= 2);  // it reconnected through the relay
  CHECK(Contains(fed.ClientLog(0), "reconnecting in"));
  // The new connection belongs to the same run: the trainer, with its
  // momentum, is kept and the next round continues it.
  // (Round 2, or 3 if its task had arrived before the cut.)
  CHECK(Contains(fed.ClientLog(0), "run cut: keeping the local training state of round "));
  CHECK(Contains(fed.ClientLog(0), "from the previous connection"));
  CHECK(Contains(fed.ClientLog(0), "continuing the local optimizer state of round "));
  CHECK(Contains(fed.ClientLog(0), "(reset_optimizer = false)"));
  // The others were never cut.
  CHECK_FALSE(Contains(fed.ClientLog(1), "keeping the local training state"));

  storage::ExperimentLog experiment(fed.db());
  const auto run = experiment.FindRun("cut");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  int64_t from_client_0 = 0;
  for (const storage::ClientUpdateRecord& u : experiment.ClientUpdates(run->id)) {
    if (u.client_id == "client-0" && u.round > 2 && u.status == storage::UpdateStatus::kAccepted) {
      ++from_client_0;
    }
  }
  CHECK(from_client_0 >= 1);  // it trained again after the cut
}

}  // namespace edgefl::coordinator
