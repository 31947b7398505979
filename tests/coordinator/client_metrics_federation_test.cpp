// `edgefl-client --metrics FILE` in a real federation (edgefl-coordinator and
// two edgefl-client processes over mutual TLS): the file parses as the
// Prometheus text format while the client waits for its round and after it
// exits, and its counts agree with the coordinator's experiment log.
#include <map>
#include <string>

#include <doctest/doctest.h>

#include "storage/experiment_log.h"
#include "tests/coordinator/federation_util.h"
#include "tests/coordinator/prometheus_scrape.h"

namespace edgefl::coordinator {
namespace {

using edgefl::testing::Federation;
using edgefl::testing::kStartTimeout;
using edgefl::testing::ParsePrometheusText;
using edgefl::testing::PollUntil;
using edgefl::testing::ReadIfExists;
using edgefl::testing::ReadOnly;

// The file's samples; empty while it does not exist yet.
std::map<std::string, double> ReadMetrics(const std::filesystem::path& file) {
  const std::string text = ReadIfExists(file);
  if (text.empty()) return {};
  return ParsePrometheusText(text);
}

}  // namespace

TEST_CASE("client metrics: the file a device writes agrees with the coordinator's log") {
  Federation fed(2);
  INFO(fed.Logs());
  auto& coordinator = fed.StartCoordinator(
      "coordinator",
      {"port=0", "run_name=client-metrics", "rounds=2", "clients_per_round=2", "min_clients=2",
       "local_steps=2", "test_subset=200", "eval_every=1", "model=logreg:784-10"});
  const int port = fed.WaitListening(coordinator);
  const auto file = [&](int k) { return fed.dir() / ("client-" + std::to_string(k) + ".prom"); };

  // Client 0 alone: welcomed, then waiting for a second client (min_clients
  // = 2), so nothing is trained yet and the file says it is running.
  fed.StartClient(0, port, {"--metrics", file(0).string()});
  REQUIRE(PollUntil(
      [&] {
        const auto m = ReadMetrics(file(0));
        return (m.count("edgefl_client_sessions_total") != 0 &&
                m.at("edgefl_client_sessions_total") == 1) ||
               !fed.clients()[0]->Running();
      },
      kStartTimeout));
  const auto waiting = ReadMetrics(file(0));
  CHECK(waiting.at("edgefl_client_running") == 1);
  CHECK(waiting.at("edgefl_client_info{client_id=\"client-0\"}") == 1);
  CHECK(waiting.at("edgefl_client_rounds_trained_total") == 0);
  CHECK(waiting.at("edgefl_client_last_round") == 0);
  CHECK(waiting.at("edgefl_client_reconnects_total") == 0);
  CHECK(waiting.at("edgefl_client_bytes_sent_total") > 0);  // the Hello
  CHECK(waiting.at("process_resident_memory_bytes") > 1e6);

  fed.StartClient(1, port, {"--metrics", file(1).string()});
  fed.RequireRunCompleted(coordinator);

  storage::ExperimentLog log(fed.db(), ReadOnly());
  const auto run = log.FindRun("client-metrics");
  REQUIRE(run.has_value());
  const auto updates = log.ClientUpdates(run->id);
  for (int k = 0; k < 2; ++k) {
    CAPTURE(k);
    const auto m = ReadMetrics(file(k));
    REQUIRE(!m.empty());
    // The file left at exit.
    CHECK(m.at("edgefl_client_running") == 0);
    CHECK(m.at("edgefl_client_sessions_total") == 1);
    CHECK(m.at("edgefl_client_reconnects_total") == 0);
    double accepted = 0, bytes_in = 0, bytes_out = 0, last_seconds = -1;
    int64_t last_round = 0;
    for (const auto& u : updates) {
      if (u.client_id != Federation::ClientName(k)) continue;
      accepted += u.status == storage::UpdateStatus::kAccepted ? 1 : 0;
      bytes_in += static_cast<double>(u.bytes_in);
      bytes_out += static_cast<double>(u.bytes_out);
      if (u.round > last_round) {
        last_round = u.round;
        last_seconds = u.compute_seconds;
      }
    }
    CHECK(accepted == 2);
    CHECK(m.at("edgefl_client_rounds_trained_total") == accepted);
    CHECK(m.at("edgefl_client_last_round") == static_cast<double>(last_round));
    // The compute time it reported is the one the log recorded.
    CHECK(m.at("edgefl_client_last_train_seconds") == doctest::Approx(last_seconds));
    // Its frames include every update the log counted, plus Hello and
    // heartbeats; what it read includes every task's model.
    CHECK(m.at("edgefl_client_bytes_sent_total") >= bytes_in);
    CHECK(m.at("edgefl_client_bytes_received_total") >= bytes_out);
    CHECK(bytes_out >= 2 * 7850 * 4);  // two tasks of logreg:784-10's 7850 floats
    CHECK(m.at("edgefl_client_peak_resident_memory_bytes") >=
          m.at("process_resident_memory_bytes"));
  }
}

TEST_CASE("client metrics: an unwritable --metrics path is refused before the first session") {
  Federation fed(1);
  auto& client = fed.StartClient(0, 9, {"--metrics", (fed.dir() / "no/such/dir/c.prom").string()});
  REQUIRE(PollUntil([&] { return !client.Running(); }, kStartTimeout));
  CHECK_MESSAGE(client.ExitedWith(4), client.Describe());  // IoError
  CHECK_MESSAGE(edgefl::testing::Contains(fed.ClientLog(0), "no/such/dir/c.prom"),
                ReadIfExists(fed.ClientLog(0)));
}

}  // namespace edgefl::coordinator
