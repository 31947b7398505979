#include "coordinator/log_output.h"

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/error.h"

namespace edgefl::coordinator {
namespace {

std::FILE* OpenForAppend(const std::filesystem::path& path, std::string* error) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) *error = "log_file " + path.string() + ": " + std::strerror(errno);
  return f;
}

}  // namespace

LogOutput::LogOutput(LogFormat format, std::filesystem::path file)
    : format_(format), path_(std::move(file)) {
  if (path_.empty()) {
    file_ = stderr;
    return;
  }
  std::string error;
  file_ = OpenForAppend(path_, &error);
  if (file_ == nullptr) throw IoError(error + " (cannot open it for appending)");
}

LogOutput::~LogOutput() {
  if (file_ != nullptr && file_ != stderr) std::fclose(file_);
}

void LogOutput::Write(LogLevel level, const std::string& line) {
  const std::string text =
      (format_ == LogFormat::kJson ? FormatJsonLogLine(static_cast<char>(level), "coordinator",
                                                       line, std::chrono::system_clock::now())
                                   : FormatLogLine(level, line)) +
      "\n";
  std::lock_guard lock(mutex_);
  std::fwrite(text.data(), 1, text.size(), file_);
  std::fflush(file_);
}

std::string LogOutput::Reopen() {
  if (path_.empty()) return "";
  std::string error;
  std::FILE* next = OpenForAppend(path_, &error);
  if (next == nullptr) return error;
  std::lock_guard lock(mutex_);
  std::fclose(file_);
  file_ = next;
  return "";
}

Logger LogOutput::MakeLogger(const std::shared_ptr<LogOutput>& output) {
  return Logger([output](LogLevel level, const std::string& line) { output->Write(level, line); });
}

}  // namespace edgefl::coordinator
