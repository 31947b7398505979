// A device's own operational counters, for `edgefl-client --metrics FILE`
// (docs/operations.md, "Device metrics"): sessions, reconnects, rounds
// trained, frame bytes each way, the last round's training time, RSS. The
// session (client/coordinator_session.h) counts into the ClientMetrics its
// SessionOptions point to; edgefl-client's main writes the exposition to
// the file after every change (MetricsFile) and once more at exit.
//
// A file rather than a listening port: a fleet's devices sit behind NAT or
// a mobile network, where nothing can scrape them, and a port on every
// device is attack surface; node_exporter's textfile collector (or the
// fleet agent that ships the device's logs) reads the file, and it keeps
// the final counts after the client exits.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace edgefl::client {

class ClientMetrics {
 public:
  explicit ClientMetrics(std::string client_id) : client_id_(std::move(client_id)) {}
  ClientMetrics(const ClientMetrics&) = delete;
  ClientMetrics& operator=(const ClientMetrics&) = delete;

  // Called after each counted event (on the thread that counted it); set
  // before the first session. Default: nothing.
  void set_on_change(std::function<void()> on_change) { on_change_ = std::move(on_change); }

  // The coordinator welcomed a session (TLS handshake, Hello and Welcome done).
  void SessionStarted();
  // A connection attempt after a session ended without Bye (the back-off loop).
  void Reconnecting();
  // A train task answered with its update (or, in a secure round, its
  // statistics): its round and the compute seconds it reported.
  void RoundTrained(int64_t round, double compute_seconds);
  // An evaluation task answered.
  void Evaluated();
  // Frame bytes written to / read from the coordinator's connection (TLS
  // payload, frame headers included).
  void BytesSent(uint64_t n) { bytes_sent_.fetch_add(n, std::memory_order_relaxed); }
  void BytesReceived(uint64_t n) { bytes_received_.fetch_add(n, std::memory_order_relaxed); }
  // Marks the process as exiting: edgefl_client_running becomes 0.
  void Finished() { running_.store(false, std::memory_order_relaxed); }

  // The exposition (Prometheus text format 0.0.4), with this process's RSS
  // and peak RSS read from /proc now (common/process_stats.h).
  std::string Exposition() const;

 private:
  void Changed() const {
    if (on_change_) on_change_();
  }

  const std::string client_id_;
  std::function<void()> on_change_;  // set before the sessions start
  std::atomic<uint64_t> sessions_{0};
  std::atomic<uint64_t> reconnects_{0};
  std::atomic<uint64_t> rounds_trained_{0};
  std::atomic<uint64_t> evaluations_{0};
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> bytes_received_{0};
  std::atomic<bool> running_{true};
  mutable std::mutex mutex_;
  int64_t last_round_ = 0;           // GUARDED_BY(mutex_); 0 = none yet
  double last_train_seconds_ = 0.0;  // GUARDED_BY(mutex_)
};

// Writes `text` to `path` so that a reader never sees a partial file: into
// PATH.tmp in the same directory, then renamed over PATH. Throws IoError
// naming the path when the directory is not writable.
void WriteMetricsFile(const std::filesystem::path& path, const std::string& text);

}  // namespace edgefl::client
