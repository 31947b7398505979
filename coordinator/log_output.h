// Where edgefl-coordinator's log lines go (config keys log_format and
// log_file, docs/operations.md): stderr, or a file opened for appending, in
// text ("I 2026-03-14 18:20:01.123 text", coordinator/log.h) or JSON (one
// object per line, common/log_line.h, component "coordinator").
//
// Reopen() is what SIGHUP calls after logrotate moved the file away: the
// next lines go to a new file of the same name.
//
// Thread-safety: Write and Reopen may be called from any thread; a line is
// written with one call under a mutex, so lines never interleave.
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "common/log_line.h"
#include "coordinator/log.h"

namespace edgefl::coordinator {

class LogOutput {
 public:
  // `file` empty: stderr. Throws IoError naming the file when it cannot be
  // opened for appending.
  LogOutput(LogFormat format, std::filesystem::path file);
  ~LogOutput();
  LogOutput(const LogOutput&) = delete;
  LogOutput& operator=(const LogOutput&) = delete;

  void Write(LogLevel level, const std::string& line);
  // Closes and reopens the file (no-op for stderr). On failure keeps
  // writing to the file it had and returns the reason; "" on success.
  std::string Reopen();

  // A Logger writing here (it shares `output`).
  static Logger MakeLogger(const std::shared_ptr<LogOutput>& output);

 private:
  const LogFormat format_;
  const std::filesystem::path path_;  // empty: stderr
  std::mutex mutex_;
  std::FILE* file_ = nullptr;  // GUARDED_BY(mutex_); stderr when path_ is empty
};

}  // namespace edgefl::coordinator
