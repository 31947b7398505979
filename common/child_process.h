// A child process for programs that drive other edgefl binaries (the
// multi-process tests and benchmarks): argv[0] is a path, stdin is
// /dev/null, stdout and stderr go to files. The child gets
// PR_SET_PDEATHSIG(SIGKILL), so the kernel kills it if this process dies;
// a child still running when its ChildProcess is destroyed is SIGKILLed and
// reaped. Every wait is bounded.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace edgefl {

// Polls `done` every `every` until it is true (true) or `timeout` passes
// (false).
bool PollUntil(const std::function<bool()>& done, std::chrono::steady_clock::duration timeout,
               std::chrono::steady_clock::duration every = std::chrono::milliseconds(20));

class ChildProcess {
 public:
  // Starts `argv`; throws IoError if fork fails. `name` is for Describe().
  ChildProcess(std::string name, std::vector<std::string> argv, std::filesystem::path out,
               std::filesystem::path err);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }  // for /proc/PID (memory, descriptors)
  const std::filesystem::path& out() const { return out_; }
  const std::filesystem::path& err() const { return err_; }

  // Whether the child still runs (reaps it once it has ended).
  bool Running();
  // Sends `signal` if the child still runs.
  void Signal(int signal);
  // Waits up to `timeout` for the child to end; false if it still runs.
  bool Wait(std::chrono::steady_clock::duration timeout);
  // Once reaped: whether it exited with `code` / was killed by `signal`.
  bool ExitedWith(int code) const;
  bool KilledBy(int signal) const;
  // "NAME exited 0", "NAME killed by signal 9" or "NAME (pid P) running".
  std::string Describe() const;

 private:
  std::string name_;
  std::filesystem::path out_, err_;
  pid_t pid_ = -1;
  std::optional<int> status_;  // raw waitpid status once reaped
};

}  // namespace edgefl
