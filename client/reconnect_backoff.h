// The waits of a device between its attempts to reach the coordinator:
// exponential backoff from 0.5 s, doubling up to 10 s, with "equal jitter"
// (each wait uniform in [b/2, b) for the backoff b), so that a fleet that
// lost its coordinator at the same moment does not come back in lockstep
// and meet it as one wave of handshakes after every restart.
//
// The jitter comes from a generator seeded by the client id (HashText):
// the same sequence for a device on every run, different across devices.
#pragma once

#include <string>

#include "common/random.h"

namespace edgefl::client {

class ReconnectBackoff {
 public:
  static constexpr double kFirstSeconds = 0.5;
  static constexpr double kMaxSeconds = 10.0;

  explicit ReconnectBackoff(const std::string& client_id);

  // The next wait in seconds, in [b/2, b) for the current backoff b, which
  // then doubles (up to kMaxSeconds).
  double NextWait();
  // Back to the first backoff: after a session that did work.
  void Reset() { backoff_ = kFirstSeconds; }

 private:
  Rng rng_;
  double backoff_ = kFirstSeconds;
};

}  // namespace edgefl::client
