#include "common/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>

#include "common/error.h"

namespace edgefl {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

bool PollUntil(const std::function<bool()>& done, Clock::duration timeout, Clock::duration every) {
  const auto until = Clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(every);
  }
}

ChildProcess::ChildProcess(std::string name, std::vector<std::string> argv, fs::path out,
                           fs::path err)
    : name_(std::move(name)), out_(std::move(out)), err_(std::move(err)) {
  // Everything the child needs is prepared before fork (only
  // async-signal-safe calls after it).
  std::vector<char*> args;
  for (std::string& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  const std::string out_path = out_.string(), err_path = err_.string();
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw IoError("fork failed for " + name_ + " (too many processes?)");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int in = ::open("/dev/null", O_RDONLY);
    const int o = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || o < 0 || e < 0) ::_exit(127);
    ::dup2(in, 0);
    ::dup2(o, 1);
    ::dup2(e, 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (Running()) {
    Signal(SIGKILL);
    Wait(std::chrono::seconds(10));
  }
}

bool ChildProcess::Running() {
  if (status_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
  return !status_.has_value();
}

void ChildProcess::Signal(int signal) {
  if (Running()) ::kill(pid_, signal);
}

bool ChildProcess::Wait(Clock::duration timeout) {
  return PollUntil([this] { return !Running(); }, timeout);
}

bool ChildProcess::ExitedWith(int code) const {
  return status_ && WIFEXITED(*status_) && WEXITSTATUS(*status_) == code;
}

bool ChildProcess::KilledBy(int signal) const {
  return status_ && WIFSIGNALED(*status_) && WTERMSIG(*status_) == signal;
}

std::string ChildProcess::Describe() const {
  if (!status_) return name_ + " (pid " + std::to_string(pid_) + ") running";
  if (WIFEXITED(*status_)) return name_ + " exited " + std::to_string(WEXITSTATUS(*status_));
  return name_ + " killed by signal " + std::to_string(WTERMSIG(*status_));
}

}  // namespace edgefl
