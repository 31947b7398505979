// SIGINT and SIGTERM as a request to stop cleanly, for a command that runs a
// long loop (`edgefl sim`): while a StopSignals lives, both signals are
// blocked in the thread that made it and in every thread started after it
// (the simulation's workers), and taken by a thread of its own. The first
// sets stop() (the loop finishes its round and ends the run as interrupted,
// resumable) and says so on `messages`; a second ends the process at once
// (exit 128 + signal), leaving the run to be marked interrupted when it is
// next opened (storage/run_lease.h).
//
// REQUIRES: made before any other thread is started, destroyed after the
// others have been joined. Thread-safety: stop() may be read from any thread.
#pragma once

#include <atomic>
#include <cstdio>
#include <signal.h>
#include <thread>

namespace edgefl::tools {

class StopSignals {
 public:
  // `name` starts each message ("sim").
  StopSignals(const char* name, std::FILE* messages);
  ~StopSignals();  // joins the watcher and restores the signal mask
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  const std::atomic<bool>& stop() const { return stop_; }
  // The signal that asked to stop, 0 if none.
  int signal() const { return signal_.load(); }

 private:
  void Watch();

  const char* name_;
  std::FILE* messages_;
  sigset_t old_mask_;
  std::atomic<bool> stop_{false};
  std::atomic<int> signal_{0};
  std::atomic<bool> done_{false};
  std::thread watcher_;
};

}  // namespace edgefl::tools
