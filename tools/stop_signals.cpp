#include "tools/stop_signals.h"

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <pthread.h>

namespace edgefl::tools {
namespace {

sigset_t StopSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

const char* NameOf(int signal) {
  return signal == SIGINT ? "SIGINT" : "SIGTERM";
}

}  // namespace

StopSignals::StopSignals(const char* name, std::FILE* messages) : name_(name), messages_(messages) {
  const sigset_t set = StopSet();
  pthread_sigmask(SIG_BLOCK, &set, &old_mask_);
  watcher_ = std::thread([this] { Watch(); });
}

StopSignals::~StopSignals() {
  done_ = true;
  watcher_.join();
  // A signal that came after the watcher's last look is taken here, not
  // delivered with its default action once unblocked: the run is over.
  const sigset_t set = StopSet();
  const timespec zero{0, 0};
  while (sigtimedwait(&set, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

void StopSignals::Watch() {
  const sigset_t set = StopSet();
  const timespec tick{0, 100'000'000};  // 0.1 s: how soon done_ is seen
  while (!done_) {
    const int got = sigtimedwait(&set, nullptr, &tick);
    if (got <= 0) continue;  // timeout or EINTR
    if (!stop_.exchange(true)) {
      signal_ = got;
      std::fprintf(messages_,
                   "%s: %s: finishing the round in progress, then stopping (again to abandon "
                   "it)\n",
                   name_, NameOf(got));
      std::fflush(messages_);
    } else {
      std::fprintf(messages_, "%s: second %s: abandoning the round in progress\n", name_,
                   NameOf(got));
      std::fflush(messages_);
      std::_Exit(128 + got);
    }
  }
}

}  // namespace edgefl::tools
