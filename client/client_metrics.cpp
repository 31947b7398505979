#include "client/client_metrics.h"

#include <cerrno>
#include <cstdio>
#include <system_error>

#include "common/error.h"
#include "common/process_stats.h"
#include "common/prometheus_text.h"

namespace edgefl::client {

void ClientMetrics::SessionStarted() {
  sessions_.fetch_add(1, std::memory_order_relaxed);
  Changed();
}

void ClientMetrics::Reconnecting() {
  reconnects_.fetch_add(1, std::memory_order_relaxed);
  Changed();
}

void ClientMetrics::RoundTrained(int64_t round, double compute_seconds) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    last_round_ = round;
    last_train_seconds_ = compute_seconds;
  }
  rounds_trained_.fetch_add(1, std::memory_order_relaxed);
  Changed();
}

void ClientMetrics::Evaluated() {
  evaluations_.fetch_add(1, std::memory_order_relaxed);
  Changed();
}

std::string ClientMetrics::Exposition() const {
  const auto count = [](const std::atomic<uint64_t>& n) {
    return static_cast<double>(n.load(std::memory_order_relaxed));
  };
  std::string out;
  PrometheusHeader(out, "edgefl_client_info", "gauge", "This device's client id (always 1).");
  PrometheusSample(out,
                   "edgefl_client_info{client_id=\"" + PrometheusLabelValue(client_id_) + "\"}", 1);
  PrometheusHeader(out, "edgefl_client_running", "gauge",
                   "1 while edgefl-client runs, 0 in the file it leaves at exit.");
  PrometheusSample(out, "edgefl_client_running", running_.load(std::memory_order_relaxed) ? 1 : 0);
  PrometheusHeader(out, "edgefl_client_sessions_total", "counter",
                   "Sessions the coordinator welcomed (TLS handshake, Hello and Welcome done).");
  PrometheusSample(out, "edgefl_client_sessions_total", count(sessions_));
  PrometheusHeader(out, "edgefl_client_reconnects_total", "counter",
                   "Connection attempts after a session ended without Bye.");
  PrometheusSample(out, "edgefl_client_reconnects_total", count(reconnects_));
  PrometheusHeader(out, "edgefl_client_rounds_trained_total", "counter",
                   "Train tasks answered with an update.");
  PrometheusSample(out, "edgefl_client_rounds_trained_total", count(rounds_trained_));
  PrometheusHeader(out, "edgefl_client_evaluations_total", "counter", "Evaluation tasks answered.");
  PrometheusSample(out, "edgefl_client_evaluations_total", count(evaluations_));
  PrometheusHeader(out, "edgefl_client_bytes_sent_total", "counter",
                   "Frame bytes written to the coordinator.");
  PrometheusSample(out, "edgefl_client_bytes_sent_total", count(bytes_sent_));
  PrometheusHeader(out, "edgefl_client_bytes_received_total", "counter",
                   "Frame bytes read from the coordinator.");
  PrometheusSample(out, "edgefl_client_bytes_received_total", count(bytes_received_));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    PrometheusHeader(out, "edgefl_client_last_round", "gauge",
                     "The round of the last train task answered (0: none yet).");
    PrometheusSample(out, "edgefl_client_last_round", static_cast<double>(last_round_));
    PrometheusHeader(out, "edgefl_client_last_train_seconds", "gauge",
                     "Compute seconds the last train task reported.");
    PrometheusSample(out, "edgefl_client_last_train_seconds", last_train_seconds_);
  }
  if (const auto rss = ResidentBytes()) {
    PrometheusHeader(out, "process_resident_memory_bytes", "gauge",
                     "Resident memory size in bytes.");
    PrometheusSample(out, "process_resident_memory_bytes", static_cast<double>(*rss));
  }
  if (const auto peak = PeakResidentBytes()) {
    PrometheusHeader(out, "edgefl_client_peak_resident_memory_bytes", "gauge",
                     "Peak resident memory size in bytes (VmHWM).");
    PrometheusSample(out, "edgefl_client_peak_resident_memory_bytes", static_cast<double>(*peak));
  }
  return out;
}

void WriteMetricsFile(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) {
    throw IoError("--metrics: cannot write " + tmp.string() + ": " +
                  std::generic_category().message(errno));
  }
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = std::fclose(f) == 0;
  std::error_code ec;
  if (!written || !closed) {
    std::filesystem::remove(tmp, ec);
    throw IoError("--metrics: cannot write " + tmp.string() + " (disk full?)");
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    throw IoError("--metrics: cannot rename " + tmp.string() + " to " + path.string() + ": " +
                  ec.message());
  }
}

}  // namespace edgefl::client
