// The metrics endpoint of a real edgefl-coordinator during a real federation
// (edgefl-client processes over mutual TLS): a scrape parses as the text
// format and its counts equal what the experiment log recorded.
#include <map>
#include <signal.h>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>

#include "storage/experiment_log.h"
#include "tests/coordinator/federation_util.h"
#include "tests/coordinator/prometheus_scrape.h"

namespace edgefl::coordinator {
namespace {

using edgefl::testing::Contains;
using edgefl::testing::Federation;
using edgefl::testing::kRunTimeout;
using edgefl::testing::kStartTimeout;
using edgefl::testing::ParsePrometheusText;
using edgefl::testing::PollUntil;
using edgefl::testing::Process;
using edgefl::testing::ReadIfExists;
using edgefl::testing::ReadOnly;
using edgefl::testing::SumOf;

// The port of "metrics on http://127.0.0.1:PORT/metrics" in the log.
int MetricsPort(Process& coordinator) {
  int port = 0;
  REQUIRE(PollUntil(
      [&] {
        const std::string log = ReadIfExists(coordinator.err());
        const std::string prefix = "metrics on http://127.0.0.1:";
        const size_t at = log.find(prefix);
        const size_t end = at == std::string::npos ? at : log.find("/metrics", at);
        if (end != std::string::npos) {
          port = std::stoi(log.substr(at + prefix.size(), end - at - prefix.size()));
          return true;
        }
        return !coordinator.Running();
      },
      kStartTimeout));
  REQUIRE_MESSAGE(port > 0, ReadIfExists(coordinator.err()));
  return port;
}

std::map<std::string, double> Scrape(int port) {
  const auto response = edgefl::testing::HttpRequest("127.0.0.1", port, "GET /metrics HTTP/1.1");
  REQUIRE(response.status == 200);
  return ParsePrometheusText(response.body);
}

// What the log holds of the run: rounds and updates by status.
struct LogCounts {
  double rounds = 0, accepted = 0, dropped = 0, rejected = 0, discarded = 0;
  bool operator==(const LogCounts&) const = default;
};

LogCounts CountsInLog(const std::filesystem::path& db) {
  storage::ExperimentLog log(db, ReadOnly());
  const auto run = log.FindRun("metrics");
  LogCounts c;
  if (!run) return c;
  c.rounds = static_cast<double>(log.Rounds(run->id).size());
  for (const auto& u : log.ClientUpdates(run->id)) {
    switch (u.status) {
      case storage::UpdateStatus::kAccepted:
        ++c.accepted;
        break;
      case storage::UpdateStatus::kDropped:
        ++c.dropped;
        break;
      case storage::UpdateStatus::kRejected:
        ++c.rejected;
        break;
      case storage::UpdateStatus::kDiscarded:
        ++c.discarded;
        break;
    }
  }
  return c;
}

LogCounts CountsInScrape(const std::map<std::string, double>& s) {
  return {s.at("edgefl_rounds_total"), s.at("edgefl_updates_accepted_total"),
          SumOf(s, "edgefl_updates_dropped_total"), SumOf(s, "edgefl_updates_rejected_total"),
          s.at("edgefl_updates_discarded_total")};
}

}  // namespace

TEST_CASE("metrics federation: a scrape during a real run equals the log's rounds and updates") {
  Federation fed(2);
  INFO(fed.Logs());
  Process& coordinator = fed.StartCoordinator(
      "coordinator", {"port=0", "run_name=metrics", "rounds=1000", "clients_per_round=2",
                      "min_clients=2", "heartbeat=1", "local_steps=2", "test_subset=200",
                      "eval_every=1000", "model=logreg:784-10", "metrics_listen=127.0.0.1:0"});
  const int port = fed.WaitListening(coordinator);
  const int metrics_port = MetricsPort(coordinator);

  // Before any client: no round, nobody registered; one plain-TCP
  // connection is refused as not TLS.
  {
    namespace asio = boost::asio;
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    asio::write(socket, asio::buffer(std::string("GET / HTTP/1.0\r\n\r\n")));
  }
  REQUIRE(PollUntil(
      [&] { return Scrape(metrics_port).at("edgefl_refusals_total{reason=\"not_tls\"}") == 1; },
      kStartTimeout));
  const auto before = Scrape(metrics_port);
  CHECK(before.at("edgefl_rounds_total") == 0);
  CHECK(before.at("edgefl_clients_registered") == 0);

  fed.StartClients(2, port);
  REQUIRE(
      PollUntil([&] { return Contains(coordinator.out(), "round 3/") || !coordinator.Running(); },
                kRunTimeout));
  const auto during = Scrape(metrics_port);
  CHECK(during.at("edgefl_clients_registered") == 2);
  CHECK(during.at("edgefl_handshakes_total") == 2);
  CHECK(during.at("edgefl_rounds_total") >= 2);

  // One client killed: the coordinator waits for two clients again, so the
  // counts stop moving. Two equal scrapes around a read of the log that
  // matches them are the comparison (a commit between them would differ).
  fed.clients()[1]->Signal(SIGKILL);
  LogCounts in_log;
  std::map<std::string, double> last;
  const bool settled = PollUntil(
      [&] {
        const auto first = Scrape(metrics_port);
        in_log = CountsInLog(fed.db());
        last = Scrape(metrics_port);
        return CountsInScrape(first) == CountsInScrape(last) && CountsInScrape(last) == in_log &&
               last.at("edgefl_clients_registered") == 1;
      },
      kRunTimeout);
  INFO("log: rounds " << in_log.rounds << " accepted " << in_log.accepted << " dropped "
                      << in_log.dropped << " rejected " << in_log.rejected << " discarded "
                      << in_log.discarded);
  REQUIRE(settled);
  CHECK(in_log.rounds >= 3);
  CHECK(in_log.accepted >= 2 * (in_log.rounds - 1));
  CHECK(last.at("edgefl_round_duration_seconds_count") == in_log.rounds);
  CHECK(last.at("edgefl_log_commit_duration_seconds_count") == in_log.rounds);
  CHECK(last.at("edgefl_log_commit_duration_seconds_sum") > 0);
  // Every round sent the model to two clients and got it back.
  const double model_bytes = 4 * (784 * 10 + 10);
  CHECK(last.at("edgefl_bytes_sent_total") > 2 * in_log.rounds * model_bytes);
  CHECK(last.at("edgefl_bytes_received_total") > 2 * (in_log.rounds - 1) * model_bytes);
  CHECK(last.at("process_resident_memory_bytes") > 1e6);
  CHECK(last.at("process_open_fds") >= 5);
  if (in_log.dropped > 0) {
    CHECK(last.at("edgefl_updates_dropped_total{reason=\"client disconnected\"}") ==
          in_log.dropped);
  }

  // SIGTERM while waiting for clients: the run ends as interrupted, exit 0.
  coordinator.Signal(SIGTERM);
  REQUIRE(coordinator.Wait(kRunTimeout));
  CHECK(coordinator.ExitedWith(0));
  CHECK(Contains(coordinator.err(), "run 'metrics' interrupted"));
}

}  // namespace edgefl::coordinator
