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
//
// Output on stdout, one line each:
//   "established N sessions in S s: R handshakes/s"   once all N are up
//   "churn: C reconnects in S s: R handshakes/s"      at the end, with --churn
//   "closed N sessions"                                at the end
// With --churn, once all N are up each session in turn says Bye, closes and
// reconnects (`concurrency` of them at a time), until the end.
//
// Ends after `hold_seconds`, on SIGINT/SIGTERM, or when every session has
// been closed by the coordinator; open sessions then say Bye. Returns the
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
  double hold_seconds = 600.0;
};

int RunLoadSessions(const LoadOptions& options,
                    const std::function<void(char level, const std::string& line)>& log);

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit.
uint64_t RaiseOpenFilesLimit();

}  // namespace edgefl::client
