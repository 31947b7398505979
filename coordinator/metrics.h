// The coordinator's operational metrics, in the Prometheus text exposition
// format (version 0.0.4) that MetricsServer serves on GET /metrics
// (docs/operations.md lists every series).
//
// One CoordinatorMetrics is owned by edgefl-coordinator's main and passed
// by pointer to what counts (TlsServer, each TlsClientSession, the round
// loop's CommitObserver); a null pointer counts nothing. What is a gauge of
// the moment (open connections, registered clients, RSS, open descriptors)
// is handed to Exposition by the caller when a scrape asks for it.
//
// Reasons become label values: a refusal's reason is one of a fixed set
// (RefusalReason); an update's failure reason is free text ("deadline
// passed", "update contains NaN at index 3"), the client's id replaced by
// "client", cut to its words before the first digit, ':' or '(' ("update
// contains NaN at index"), and after
// kMaxReasons distinct ones further reasons count as "other", so a
// misbehaving client cannot grow the series without bound.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/commit_observer.h"

namespace edgefl::coordinator {

// Why a connection was refused before it became a registered client.
enum class RefusalReason {
  kConnectionLimit,     // max_connections reached
  kHandshakeTimeout,    // no TLS handshake within handshake_timeout
  kHelloTimeout,        // no Hello within handshake_timeout
  kNoCertificate,       // the client presented none
  kUnknownCa,           // a certificate from another CA
  kCertificateExpired,  // expired or not yet valid
  kNotTls,              // plain TCP or another protocol
  kTlsOther,            // any other TLS handshake failure
  kClosedBeforeHello,   // the client closed after the handshake, before Hello
  kBadClientId,         // the certificate's CN is not a valid client id, or Hello claims another
  kUnsupportedVersion,  // Hello's protocol version is not spoken here
};

// "connection_limit", "unknown_ca", ...: the label value.
std::string_view RefusalLabel(RefusalReason reason);

// The reason class of a failed TLS handshake, from wire::DescribeTlsError's
// text ("no certificate", "certificate from an unknown CA (...)", ...).
RefusalReason ClassifyTlsRefusal(std::string_view description);

// A cumulative histogram with fixed upper bounds (seconds).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // The `_bucket`, `_sum` and `_count` lines of `name`.
  std::string Lines(const std::string& name) const;

 private:
  const std::vector<double> bounds_;  // ascending; +Inf is implied
  std::vector<uint64_t> counts_;      // per bucket (not cumulative), then +Inf
  double sum_ = 0.0;
  uint64_t count_ = 0;
};

class CoordinatorMetrics {
 public:
  // Distinct update-failure reasons kept as labels before "other".
  static constexpr size_t kMaxReasons = 32;

  CoordinatorMetrics();
  CoordinatorMetrics(const CoordinatorMetrics&) = delete;
  CoordinatorMetrics& operator=(const CoordinatorMetrics&) = delete;

  // A client's Hello was accepted (TLS handshake and Hello done).
  void HandshakeCompleted() { handshakes_.fetch_add(1, std::memory_order_relaxed); }
  void Refused(RefusalReason reason);
  // Frame bytes read from and queued to clients (TLS payload, frame headers
  // included).
  void BytesIn(uint64_t n) { bytes_in_.fetch_add(n, std::memory_order_relaxed); }
  void BytesOut(uint64_t n) { bytes_out_.fetch_add(n, std::memory_order_relaxed); }
  // A round (async: a model version) committed to the log.
  void RoundCommitted(const engine::CommittedRound& round);

  // What a scrape reads of the moment.
  struct Gauges {
    size_t connections = 0;             // open connections, authenticated or not
    size_t registered = 0;              // registered (authenticated) clients
    std::optional<uint64_t> rss_bytes;  // resident set size, when known
    std::optional<uint64_t> open_fds;   // open file descriptors, when known
  };
  // The whole exposition: # HELP and # TYPE, then the samples, every
  // labelled series sorted by its labels.
  std::string Exposition(const Gauges& gauges) const;

  // The reason label of a free-text failure reason (see the file comment);
  // the client's id in it becomes "client" ("client-3 disconnected" ->
  // "client disconnected").
  static std::string ReasonLabel(std::string_view reason, std::string_view client_id = {});

 private:
  std::atomic<uint64_t> handshakes_{0};
  std::atomic<uint64_t> bytes_in_{0};
  std::atomic<uint64_t> bytes_out_{0};

  mutable std::mutex mutex_;
  std::map<std::string, uint64_t> refusals_;  // GUARDED_BY(mutex_): by reason label
  uint64_t rounds_ = 0;                       // GUARDED_BY(mutex_)
  uint64_t accepted_ = 0;                     // GUARDED_BY(mutex_)
  uint64_t discarded_ = 0;                    // GUARDED_BY(mutex_)
  // GUARDED_BY(mutex_): {"dropped"|"rejected", reason label} -> count
  std::map<std::pair<std::string, std::string>, uint64_t> failures_;
  Histogram round_seconds_;   // GUARDED_BY(mutex_)
  Histogram commit_seconds_;  // GUARDED_BY(mutex_)
};

}  // namespace edgefl::coordinator
