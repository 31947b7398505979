// edgefl-client's load mode: many TLS sessions from one process, for
// measuring what the coordinator can hold (bench/coordinator_load).
//
//   edgefl-client --load-sessions N --coordinator HOST:PORT --cert-dir DIR [--churn]
//
// Session k authenticates as DIR/client-K.crt + DIR/client-K.key (the
// coordinator keeps one session per client id, so each needs its own
// certificate) against DIR/ca.crt, sends Hello, waits for Welcome, then
// only heartbeats (every interval the Welcome names) and reads. No
// training. At most `concurrency` handshakes are in flight at a time.
// With `answer_tasks`, each TrainTask is answered at once with a TrainResult
// that returns the task's model unchanged (1 sample, 0 steps, NaN losses):
// a round over every session measures the coordinator's side of it (the
// tasks out, the results in, the aggregation and the log), not training.
//
// Output on stdout, one line each:
//   "established N sessions in S s: R handshakes/s"   once all N are up
//   "churn: C reconnects in S s: R handshakes/s"      at the end, with --churn
//   "answered T tasks"                                 at the end, with --answer-tasks
//   "the coordinator said bye to B sessions"           at the end, if it did
//   "closed N sessions"                                at the end
// With --churn, once all N are up each session in turn says Bye, closes and
// reconnects (`concurrency` of them at a time), until the end.
//
// Ends after `hold_seconds`, on SIGINT/SIGTERM, or when every session has
// been closed by the coordinator (a Bye to an established session, e.g. at
// the end of the run, is not a failure); open sessions then say Bye. Returns the
// process exit code (kExitIoError if not every session could be
// established).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace edgefl::client {

struct LoadOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 7443;
  std::filesystem::path cert_dir;  // client-K.crt/.key for K in [0, sessions), ca.crt
  size_t sessions = 1;
  size_t concurrency = 16;  // handshakes in flight
  bool churn = false;
  bool answer_tasks = false;  // answer TrainTasks with the task's model
  double hold_seconds = 600.0;
};

int RunLoadSessions(const LoadOptions& options,
                    const std::function<void(char level, const std::string& line)>& log);

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit.
uint64_t RaiseOpenFilesLimit();

}  // namespace edgefl::client
