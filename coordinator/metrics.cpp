#include "coordinator/metrics.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "common/prometheus_text.h"

namespace edgefl::coordinator {
namespace {

constexpr RefusalReason kAllRefusals[] = {
    RefusalReason::kConnectionLimit,
    RefusalReason::kHandshakeTimeout,
    RefusalReason::kHelloTimeout,
    RefusalReason::kNoCertificate,
    RefusalReason::kUnknownCa,
    RefusalReason::kCertificateExpired,
    RefusalReason::kNotTls,
    RefusalReason::kTlsOther,
    RefusalReason::kClosedBeforeHello,
    RefusalReason::kBadClientId,
    RefusalReason::kUnsupportedVersion,
};

}  // namespace

std::string_view RefusalLabel(RefusalReason reason) {
  switch (reason) {
    case RefusalReason::kConnectionLimit:
      return "connection_limit";
    case RefusalReason::kHandshakeTimeout:
      return "handshake_timeout";
    case RefusalReason::kHelloTimeout:
      return "hello_timeout";
    case RefusalReason::kNoCertificate:
      return "no_certificate";
    case RefusalReason::kUnknownCa:
      return "unknown_ca";
    case RefusalReason::kCertificateExpired:
      return "certificate_expired";
    case RefusalReason::kNotTls:
      return "not_tls";
    case RefusalReason::kTlsOther:
      return "tls_other";
    case RefusalReason::kClosedBeforeHello:
      return "closed_before_hello";
    case RefusalReason::kBadClientId:
      return "bad_client_id";
    case RefusalReason::kUnsupportedVersion:
      return "unsupported_version";
  }
  return "tls_other";
}

RefusalReason ClassifyTlsRefusal(std::string_view description) {
  const auto has = [description](std::string_view part) {
    return description.find(part) != std::string_view::npos;
  };
  if (has("no certificate")) return RefusalReason::kNoCertificate;
  if (has("unknown CA")) return RefusalReason::kUnknownCa;
  if (has("expired") || has("not yet valid")) return RefusalReason::kCertificateExpired;
  if (has("not TLS")) return RefusalReason::kNotTls;
  return RefusalReason::kTlsOther;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  const size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                       bounds_.begin());
  ++counts_[i];
  sum_ += value;
  ++count_;
}

std::string Histogram::Lines(const std::string& name) const {
  std::string out;
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < bounds_.size() ? PrometheusValue(bounds_[i]) : "+Inf";
    out.append(name).append("_bucket{le=\"").append(le).append("\"} ");
    out.append(std::to_string(cumulative)).append("\n");
  }
  PrometheusSample(out, name + "_sum", sum_);
  PrometheusSample(out, name + "_count", static_cast<double>(count_));
  return out;
}

CoordinatorMetrics::CoordinatorMetrics()
    : round_seconds_({0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}),
      commit_seconds_({0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}) {}

void CoordinatorMetrics::Refused(RefusalReason reason) {
  std::lock_guard lock(mutex_);
  ++refusals_[std::string(RefusalLabel(reason))];
}

std::string CoordinatorMetrics::ReasonLabel(std::string_view reason, std::string_view client_id) {
  std::string text(reason);
  if (!client_id.empty()) {
    for (size_t at = text.find(client_id); at != std::string::npos;
         at = text.find(client_id, at + 6)) {
      text.replace(at, client_id.size(), "client");
    }
  }
  std::string out;
  for (const char c : text) {
    if (std::isdigit(static_cast<unsigned char>(c)) || c == ':' || c == '(' || c == '\n') break;
    out.push_back(c);
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ',' || out.back() == '.'))
    out.pop_back();
  if (out.size() > 64) out.resize(64);
  return out.empty() ? "unknown" : out;
}

void CoordinatorMetrics::RoundCommitted(const engine::CommittedRound& round) {
  std::lock_guard lock(mutex_);
  ++rounds_;
  accepted_ += static_cast<uint64_t>(round.accepted);
  discarded_ += static_cast<uint64_t>(round.discarded);
  round_seconds_.Observe(round.seconds);
  commit_seconds_.Observe(round.commit_seconds);
  for (const train::FitFailure& f : round.failures) {
    const std::string kind = f.kind == train::FitFailure::Kind::kDropped ? "dropped" : "rejected";
    std::pair<std::string, std::string> key{kind, ReasonLabel(f.reason, f.client)};
    if (failures_.count(key) == 0 && failures_.size() >= kMaxReasons) key.second = "other";
    ++failures_[key];
  }
}

std::string CoordinatorMetrics::Exposition(const Gauges& gauges) const {
  std::string out;
  PrometheusHeader(out, "edgefl_clients_connected", "gauge",
                   "Open client connections, authenticated or not.");
  PrometheusSample(out, "edgefl_clients_connected", static_cast<double>(gauges.connections));
  PrometheusHeader(out, "edgefl_clients_registered", "gauge",
                   "Registered clients (TLS handshake and Hello done, connected now).");
  PrometheusSample(out, "edgefl_clients_registered", static_cast<double>(gauges.registered));
  PrometheusHeader(out, "edgefl_handshakes_total", "counter",
                   "Client connections authenticated (mutual TLS handshake and Hello accepted).");
  PrometheusSample(out, "edgefl_handshakes_total",
                   static_cast<double>(handshakes_.load(std::memory_order_relaxed)));
  PrometheusHeader(out, "edgefl_bytes_received_total", "counter", "Frame bytes read from clients.");
  PrometheusSample(out, "edgefl_bytes_received_total",
                   static_cast<double>(bytes_in_.load(std::memory_order_relaxed)));
  PrometheusHeader(out, "edgefl_bytes_sent_total", "counter", "Frame bytes queued to clients.");
  PrometheusSample(out, "edgefl_bytes_sent_total",
                   static_cast<double>(bytes_out_.load(std::memory_order_relaxed)));

  std::lock_guard lock(mutex_);
  PrometheusHeader(out, "edgefl_refusals_total", "counter",
                   "Connections refused before registration, by reason.");
  for (const RefusalReason r : kAllRefusals) {
    const std::string label(RefusalLabel(r));
    const auto it = refusals_.find(label);
    PrometheusSample(out, "edgefl_refusals_total{reason=\"" + label + "\"}",
                     static_cast<double>(it == refusals_.end() ? 0 : it->second));
  }
  PrometheusHeader(out, "edgefl_rounds_total", "counter",
                   "Rounds (async: model versions) committed to the experiment log.");
  PrometheusSample(out, "edgefl_rounds_total", static_cast<double>(rounds_));
  PrometheusHeader(out, "edgefl_round_duration_seconds", "histogram",
                   "Host seconds of a round's fan-out and aggregation (async: between versions).");
  out += round_seconds_.Lines("edgefl_round_duration_seconds");
  PrometheusHeader(out, "edgefl_updates_accepted_total", "counter",
                   "Client updates aggregated into the global model.");
  PrometheusSample(out, "edgefl_updates_accepted_total", static_cast<double>(accepted_));
  PrometheusHeader(out, "edgefl_updates_discarded_total", "counter",
                   "Usable client updates of rounds that kept the model (quorum not reached).");
  PrometheusSample(out, "edgefl_updates_discarded_total", static_cast<double>(discarded_));
  for (const char* kind : {"dropped", "rejected"}) {
    const std::string name = std::string("edgefl_updates_") + kind + "_total";
    PrometheusHeader(
        out, name.c_str(), "counter",
        std::string(kind) == "dropped"
            ? "Client tasks that brought no update (deadline, disconnect, ...), by reason."
            : "Client updates refused (NaN, wrong length, robust filter, ...), by reason.");
    for (const auto& [key, count] : failures_) {
      if (key.first != kind) continue;
      PrometheusSample(out, name + "{reason=\"" + PrometheusLabelValue(key.second) + "\"}",
                       static_cast<double>(count));
    }
  }
  PrometheusHeader(out, "edgefl_log_commit_duration_seconds", "histogram",
                   "Seconds of the SQLite transaction that commits a round.");
  out += commit_seconds_.Lines("edgefl_log_commit_duration_seconds");
  if (gauges.rss_bytes) {
    PrometheusHeader(out, "process_resident_memory_bytes", "gauge",
                     "Resident memory size in bytes.");
    PrometheusSample(out, "process_resident_memory_bytes", static_cast<double>(*gauges.rss_bytes));
  }
  if (gauges.open_fds) {
    PrometheusHeader(out, "process_open_fds", "gauge", "Number of open file descriptors.");
    PrometheusSample(out, "process_open_fds", static_cast<double>(*gauges.open_fds));
  }
  return out;
}

}  // namespace edgefl::coordinator
