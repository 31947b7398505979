// Ends a device's coordinator session from another thread (the C API's
// edgefl_client_stop): Stop() shuts the session's socket down, so the
// session's blocking read or write fails at once and the session ends as
// SessionEnd::Kind::kStopped. A task being trained finishes its local
// training first (the trainer is not interruptible); its result is not sent.
//
// Thread-safe. Stop() before the session connects makes it end right after
// connecting; a stopped SessionStop stays stopped (make a new one to run again).
#pragma once

#include <mutex>

namespace edgefl::client {

class SessionStop {
 public:
  // Shuts the attached socket down (if any) and marks this stopped.
  void Stop();
  bool stopped() const;

  // The session's side: the socket to shut down while it is attached.
  // Attach returns false (and attaches nothing) when already stopped.
  bool Attach(int socket_fd);
  void Detach();

 private:
  mutable std::mutex mutex_;
  int socket_fd_ = -1;
  bool stopped_ = false;
};

}  // namespace edgefl::client
