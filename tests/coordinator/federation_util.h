// Helpers for tests that run the real deployment on loopback: an
// edgefl-coordinator process and edgefl-client processes over mutual TLS
// (certificates and partition made with the `edgefl` tool).
//
// Every wait is bounded; every process still running is SIGKILLed when its
// Process is destroyed (and by the kernel if the test process dies:
// PR_SET_PDEATHSIG). Failures are reported with doctest REQUIRE, so these
// helpers are for test bodies only.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/child_process.h"
#include "storage/experiment_log.h"
#include "tests/storage/log_test_util.h"
#include "tests/test_util.h"

namespace edgefl::testing {

using Clock = std::chrono::steady_clock;

// Generous for a loaded 2-core machine; a healthy run needs a fraction.
// Scaled (tests/test_util.h) for sanitizer builds.
inline const Clock::duration kStartTimeout = Scaled(std::chrono::seconds(60));
inline const Clock::duration kRunTimeout = Scaled(std::chrono::seconds(90));

// The file's content, or "" if it does not exist or cannot be read.
std::string ReadIfExists(const std::filesystem::path& path);
// Whether the file exists and contains `text`.
bool Contains(const std::filesystem::path& path, const std::string& text);
// How often `what` occurs in `text`.
int Occurrences(const std::string& text, const std::string& what);
// Polls `done` every 20 ms until it is true or `timeout` passes.
using edgefl::PollUntil;
// A free TCP port on loopback (bound to port 0, read back, released).
int FreePort();

// A child process (common/child_process.h): SIGKILLed and reaped on
// destruction if still running.
using Process = edgefl::ChildProcess;

// The training images a test deployment partitions unless it asks for
// another number: a fifth of Fashion-MNIST's 60,000, which is what the
// protocol, fault and equivalence tests need to learn, at a fifth of the
// training each client process does per round.
inline constexpr int64_t kFederationTrainSubset = 12000;

// A deployment in a TempDir: certificates for the coordinator and
// `clients` devices, a Dirichlet(0.5) partition of Fashion-MNIST (of its
// first `train_subset` training images when > 0, all of them when 0, which
// the coordinator is then told too), and the processes started in it.
class Federation {
 public:
  explicit Federation(int clients, int64_t train_subset = kFederationTrainSubset);

  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path db() const { return dir_ / "federation.db"; }
  std::filesystem::path partition() const { return dir_ / "fmnist.partition"; }
  // The partition's images (the first train_subset of the training split,
  // all of it when 0) as a config key, for a coordinator or a simulation
  // that must see the same data.
  std::string TrainSubsetSetting() const { return "train_subset=" + std::to_string(train_subset_); }
  static std::string ClientName(int k) { return "client-" + std::to_string(k); }

  // Starts edgefl-coordinator with examples/fedavg.toml and `settings`
  // (key=value) on top of the deployment's files; its stdout and stderr go
  // to TAG.out and TAG.log.
  Process& StartCoordinator(const std::string& tag, const std::vector<std::string>& settings);
  // Waits until `coordinator` is listening; returns its port.
  int WaitListening(Process& coordinator);
  // Starts edgefl-client number k against 127.0.0.1:port with `extra_args`
  // appended (e.g. {"--byzantine", "nan"}); stderr to client-K.log.
  Process& StartClient(int k, int port, const std::vector<std::string>& extra_args = {});
  // Starts another edgefl-client with client k's certificate and data
  // share (a second device holding the same certificate); stderr to
  // TAG.log. Not one of clients(): RequireRunCompleted does not wait for it.
  Process& StartClientAs(int k, int port, const std::string& tag,
                         const std::vector<std::string>& extra_args = {});
  // Starts clients 0..n-1 (StartClient) against 127.0.0.1:port.
  void StartClients(int n, int port);
  // Edge aggregator trees (docs/edge-aggregators.md). Aggregator g is
  // "agg-g": an edgefl-coordinator with role = aggregator, its own run
  // (named agg-g) and log (agg-g.db), and a client certificate for its
  // upstream link issued by IssueAggregatorCertificates(groups > g).
  static std::string AggregatorName(int g) { return "agg-" + std::to_string(g); }
  void IssueAggregatorCertificates(int groups);
  // Starts aggregator g under the root at 127.0.0.1:root_port for a group
  // of `members` devices, all of them in every round, with `settings` on
  // top; stdout and stderr go to agg-g.out and agg-g.log.
  Process& StartAggregator(int g, int root_port, int members,
                           const std::vector<std::string>& settings);
  std::filesystem::path AggregatorDb(int g) const { return dir_ / (AggregatorName(g) + ".db"); }

  // Starts `edgefl-client --load-sessions n` (certificates client-0..n-1)
  // against 127.0.0.1:port with `extra` options (e.g. --churn), holding its
  // sessions at most 300 s; stdout to TAG.out, stderr to TAG.log.
  Process& StartLoad(int n, int port, const std::vector<std::string>& extra = {},
                     const std::string& tag = "load");
  std::filesystem::path ClientLog(int k) const { return dir_ / (ClientName(k) + ".log"); }
  const std::vector<Process*>& clients() const { return clients_started_; }

  // Requires `coordinator` to finish its run (exit 0 within kRunTimeout)
  // and every client started to exit 0 within 30 s (they leave on Bye).
  void RequireRunCompleted(Process& coordinator);

  // The processes' states and the tail of every log, for failure messages.
  std::string Logs();

 private:
  Process& Start(const std::string& name, std::vector<std::string> argv, std::filesystem::path out,
                 std::filesystem::path err);

  int clients_;
  int64_t train_subset_;
  TempDir dir_;
  std::vector<std::unique_ptr<Process>> processes_;  // destroyed (killed) before dir_
  std::vector<Process*> clients_started_;
};

// Reading the coordinator's log: ReadOnly() options, FinalCheckpoint(db, run), IntegrityCheck(db),
// Violations(CheckLog(path)) (tests/storage/log_test_util.h).
using storage::test::FinalCheckpoint;
using storage::test::IntegrityCheck;
using storage::test::ReadOnly;
using storage::test::Violations;

}  // namespace edgefl::testing
