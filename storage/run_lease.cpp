#include "storage/run_lease.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <utility>

#include "common/error.h"

namespace edgefl::storage {
namespace {

// FNV-1a of the run name, kept positive for off_t: the byte the run's lock
// covers. Two names sharing a byte (probability ~2^-62 per pair) would
// merely refuse each other's concurrent start.
off_t OffsetOf(std::string_view run_name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : run_name) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return static_cast<off_t>(h & 0x3fffffffffffffffull);
}

struct flock LockOf(std::string_view run_name, short type) {
  struct flock lock;
  std::memset(&lock, 0, sizeof lock);
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = OffsetOf(run_name);
  lock.l_len = 1;
  lock.l_pid = 0;  // required by OFD locks
  return lock;
}

std::string ThisProcess() {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "unknown");
  return "pid " + std::to_string(::getpid()) + " on host " + host;
}

}  // namespace

std::filesystem::path RunLease::LockFileOf(const std::filesystem::path& log_path) {
  return log_path.string() + "-runs.lock";
}

std::optional<RunLease> RunLease::TryAcquire(const std::filesystem::path& log_path,
                                             std::string_view run_name) {
  const std::filesystem::path file = LockFileOf(log_path);
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EROFS) {
      throw IoError("experiment log " + log_path.string() + ": cannot take the lock of run '" +
                    std::string(run_name) + "' (" + file.string() +
                    "): the file system is mounted read-only; nothing was written: make it "
                    "writable and start again to resume the run");
    }
    throw IoError("run lock " + file.string() + ": cannot open: " + std::strerror(errno) +
                  " (it sits beside the experiment log; its directory must be writable)");
  }
  struct flock lock = LockOf(run_name, F_WRLCK);
  if (::fcntl(fd, F_OFD_SETLK, &lock) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EAGAIN || error == EACCES) return std::nullopt;
    throw IoError("run lock " + file.string() + ": cannot lock run '" + std::string(run_name) +
                  "': " + std::strerror(error) + " (put the log on a local file system)");
  }
  return RunLease(fd, ThisProcess());
}

bool RunLease::IsHeld(const std::filesystem::path& log_path, std::string_view run_name) {
  const int fd = ::open(LockFileOf(log_path).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock lock = LockOf(run_name, F_WRLCK);
  const bool held = ::fcntl(fd, F_OFD_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
  ::close(fd);
  return held;
}

RunLease::RunLease(RunLease&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), owner_(std::move(other.owner_)) {}

RunLease& RunLease::operator=(RunLease&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    owner_ = std::move(other.owner_);
  }
  return *this;
}

RunLease::~RunLease() {
  if (fd_ >= 0) ::close(fd_);  // closing the description releases its locks
}

}  // namespace edgefl::storage
