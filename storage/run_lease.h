// One process owns a run. A RunLease is an exclusive lock on one run name of
// one experiment log, held from before the run is begun or resumed until it
// ends: a second coordinator or `edgefl sim` pointed at the same log and
// run is refused at start instead of "resuming" a live run.
//
// The lock is an open-file-description lock (F_OFD_SETLK) on one byte of
// the file "<log>-runs.lock" beside the log, at an offset hashed from the
// run name. The kernel releases it when the process ends however it ends
// (kill -9 included), so a dead owner never leaves a stale lease, and a
// restarted process takes the run over at once. The log must be on a local
// file system, as SQLite's WAL already requires; all owners are then on
// this host.
//
// Thread-safety: a RunLease is a value owned by one thread. Two leases of
// the same run conflict even within one process.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace edgefl::storage {

class RunLease {
 public:
  // Takes the lease of run `run_name` in the log at `log_path`, or returns
  // nullopt when another lease holds it. Throws IoError naming the lock file
  // when it cannot be created or locked for another reason (read-only
  // directory, no locks on this file system).
  static std::optional<RunLease> TryAcquire(const std::filesystem::path& log_path,
                                            std::string_view run_name);

  // Whether some process holds the lease of `run_name` now, without taking
  // it (for readers: a run marked running whose lease is free has lost its
  // owner). False when the lock file does not exist.
  static bool IsHeld(const std::filesystem::path& log_path, std::string_view run_name);

  // The lock file of the log at `log_path`.
  static std::filesystem::path LockFileOf(const std::filesystem::path& log_path);

  RunLease(RunLease&& other) noexcept;
  RunLease& operator=(RunLease&& other) noexcept;
  RunLease(const RunLease&) = delete;
  RunLease& operator=(const RunLease&) = delete;
  ~RunLease();  // releases the lease

  // "pid 1234 on host h": who holds this lease, for runs.owner.
  const std::string& owner() const { return owner_; }

 private:
  RunLease(int fd, std::string owner) : fd_(fd), owner_(std::move(owner)) {}

  int fd_ = -1;
  std::string owner_;
};

}  // namespace edgefl::storage
