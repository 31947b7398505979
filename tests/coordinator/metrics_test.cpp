// The coordinator's metrics: the exposition a scrape reads (checked with a
// strict text-format reader), the reason labels, and the HTTP endpoint on a
// real loopback socket.
#include "coordinator/metrics.h"

#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include "coordinator/metrics_server.h"
#include "tests/coordinator/prometheus_scrape.h"

namespace edgefl::coordinator {
namespace {

using edgefl::testing::ParsePrometheusText;
using edgefl::testing::SumOf;

engine::CommittedRound MetricsRound(double seconds, double commit, int64_t accepted,
                                    std::vector<train::FitFailure> failures) {
  engine::CommittedRound r;
  r.seconds = seconds;
  r.commit_seconds = commit;
  r.accepted = accepted;
  r.failures = std::move(failures);
  return r;
}

}  // namespace

TEST_CASE("metrics: the exposition counts rounds and updates by reason and parses as text format") {
  CoordinatorMetrics m;
  m.HandshakeCompleted();
  m.HandshakeCompleted();
  m.Refused(RefusalReason::kUnknownCa);
  m.Refused(ClassifyTlsRefusal("not TLS (plain TCP or another protocol)"));
  m.BytesIn(1000);
  m.BytesOut(2500);
  using Kind = train::FitFailure::Kind;
  m.RoundCommitted(MetricsRound(0.3, 0.004, 3, {}));
  m.RoundCommitted(MetricsRound(7.0, 0.02, 1,
                                {{"client-2", Kind::kDropped, "client-2 disconnected"},
                                 {"client-3", Kind::kRejected, "update contains NaN at index 17"},
                                 {"client-4", Kind::kRejected, "update contains NaN at index 3"}}));
  const std::string text = m.Exposition({5, 4, 123456789, 42});
  const auto s = ParsePrometheusText(text);
  CHECK(s.at("edgefl_clients_connected") == 5);
  CHECK(s.at("edgefl_clients_registered") == 4);
  CHECK(s.at("edgefl_handshakes_total") == 2);
  CHECK(s.at("edgefl_refusals_total{reason=\"unknown_ca\"}") == 1);
  CHECK(s.at("edgefl_refusals_total{reason=\"not_tls\"}") == 1);
  CHECK(s.at("edgefl_refusals_total{reason=\"connection_limit\"}") == 0);
  CHECK(SumOf(s, "edgefl_refusals_total") == 2);
  CHECK(s.at("edgefl_bytes_received_total") == 1000);
  CHECK(s.at("edgefl_bytes_sent_total") == 2500);
  CHECK(s.at("edgefl_rounds_total") == 2);
  CHECK(s.at("edgefl_updates_accepted_total") == 4);
  CHECK(s.at("edgefl_updates_dropped_total{reason=\"client disconnected\"}") == 1);
  CHECK(s.at("edgefl_updates_rejected_total{reason=\"update contains NaN at index\"}") == 2);
  // Histograms: cumulative buckets, +Inf = count, the sum of the values.
  CHECK(s.at("edgefl_round_duration_seconds_bucket{le=\"0.25\"}") == 0);
  CHECK(s.at("edgefl_round_duration_seconds_bucket{le=\"0.5\"}") == 1);
  CHECK(s.at("edgefl_round_duration_seconds_bucket{le=\"5\"}") == 1);
  CHECK(s.at("edgefl_round_duration_seconds_bucket{le=\"10\"}") == 2);
  CHECK(s.at("edgefl_round_duration_seconds_bucket{le=\"+Inf\"}") == 2);
  CHECK(s.at("edgefl_round_duration_seconds_count") == 2);
  CHECK(s.at("edgefl_round_duration_seconds_sum") == doctest::Approx(7.3));
  CHECK(s.at("edgefl_log_commit_duration_seconds_bucket{le=\"0.005\"}") == 1);
  CHECK(s.at("edgefl_log_commit_duration_seconds_bucket{le=\"0.025\"}") == 2);
  CHECK(s.at("edgefl_log_commit_duration_seconds_count") == 2);
  CHECK(s.at("process_resident_memory_bytes") == 123456789);
  CHECK(s.at("process_open_fds") == 42);
  CHECK(text.find("# TYPE edgefl_round_duration_seconds histogram\n") != std::string::npos);
  CHECK(text.find("# TYPE edgefl_rounds_total counter\n") != std::string::npos);
}

TEST_CASE("metrics: reason labels drop ids and numbers and stop growing after the cap") {
  CHECK(CoordinatorMetrics::ReasonLabel("deadline passed") == "deadline passed");
  CHECK(CoordinatorMetrics::ReasonLabel("alice silent for 15 s", "alice") == "client silent for");
  CHECK(CoordinatorMetrics::ReasonLabel("norm 12.5 over the bound 3") == "norm");
  CHECK(CoordinatorMetrics::ReasonLabel("42") == "unknown");
  CHECK(CoordinatorMetrics::ReasonLabel("say \"hi\": no") == "say \"hi\"");
  CoordinatorMetrics m;
  std::vector<train::FitFailure> many;
  for (int i = 0; i < 40; ++i) {
    many.push_back({"c", train::FitFailure::Kind::kRejected,
                    std::string("reason ") + static_cast<char>('a' + i % 26) +
                        static_cast<char>('a' + i / 26)});
  }
  m.RoundCommitted(MetricsRound(1, 0.001, 0, many));
  const auto s = ParsePrometheusText(m.Exposition({}));
  CHECK(SumOf(s, "edgefl_updates_rejected_total") == 40);
  CHECK(s.at("edgefl_updates_rejected_total{reason=\"other\"}") == 40 - 32);
  // A quote in a label value is escaped, so the line still parses.
  CHECK(m.Exposition({}).find("reason aa") != std::string::npos);
}

TEST_CASE("metrics: a refused TLS handshake is classed by its description") {
  CHECK(ClassifyTlsRefusal("no certificate") == RefusalReason::kNoCertificate);
  CHECK(ClassifyTlsRefusal("certificate from an unknown CA (unable to get local issuer "
                           "certificate)") == RefusalReason::kUnknownCa);
  CHECK(ClassifyTlsRefusal("certificate expired") == RefusalReason::kCertificateExpired);
  CHECK(ClassifyTlsRefusal("handshake failure") == RefusalReason::kTlsOther);
  CHECK(RefusalLabel(RefusalReason::kHelloTimeout) == "hello_timeout");
}

TEST_CASE("metrics server: GET /metrics answers the exposition and other requests are refused") {
  namespace asio = boost::asio;
  asio::io_context io(1);
  int scrapes = 0;
  MetricsServer server(
      io, "127.0.0.1", 0,
      [&scrapes] {
        ++scrapes;
        return std::string("# TYPE up gauge\nup 1\n");
      },
      Logger([](LogLevel, const std::string&) {}));
  server.Start();
  auto work = asio::make_work_guard(io);
  std::thread thread([&io] { io.run(); });
  const std::string address = server.address();
  const int port = std::stoi(address.substr(address.rfind(':') + 1));

  const auto ok = edgefl::testing::HttpRequest("127.0.0.1", port, "GET /metrics HTTP/1.1");
  CHECK(ok.status == 200);
  CHECK(ok.head.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
  CHECK(ok.body == "# TYPE up gauge\nup 1\n");
  CHECK(ParsePrometheusText(ok.body).at("up") == 1);
  CHECK(edgefl::testing::HttpRequest("127.0.0.1", port, "GET /other HTTP/1.1").status == 404);
  CHECK(edgefl::testing::HttpRequest("127.0.0.1", port, "POST /metrics HTTP/1.1").status == 405);
  CHECK(edgefl::testing::HttpRequest("127.0.0.1", port, "HEAD /metrics HTTP/1.1").body.empty());
  CHECK(scrapes == 2);

  server.Stop();
  work.reset();
  io.stop();
  thread.join();
}

}  // namespace edgefl::coordinator
