#include "engine/progress.h"

#include <algorithm>
#include <cmath>
#include <sys/ioctl.h>
#include <unistd.h>
#include <utility>

namespace edgefl::engine {

namespace {

bool IsTerminal(std::FILE* out) {
  return out != nullptr && ::isatty(::fileno(out)) == 1;
}

// Columns of the terminal behind `out`, 0 if unknown.
size_t TerminalWidth(std::FILE* out) {
  struct winsize size {};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &size) == 0) return size.ws_col;
  return 0;
}

}  // namespace

std::string FormatSeconds(double seconds) {
  char buffer[32];
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  if (seconds < 60) {
    std::snprintf(buffer, sizeof buffer, "%.1fs", seconds);
  } else if (seconds < 3600) {
    const auto s = static_cast<long long>(std::lround(seconds));
    std::snprintf(buffer, sizeof buffer, "%lldm%02llds", s / 60, s % 60);
  } else {
    const auto m = static_cast<long long>(std::lround(seconds / 60));
    std::snprintf(buffer, sizeof buffer, "%lldh%02lldm", m / 60, m % 60);
  }
  return buffer;
}

std::string FormatEta(double elapsed_seconds, int64_t done, int64_t left) {
  if (done <= 0) return "";
  if (left <= 0) left = 0;
  return "ETA " +
         FormatSeconds(elapsed_seconds / static_cast<double>(done) * static_cast<double>(left));
}

ProgressLine::ProgressLine(std::FILE* out, std::string unit)
    : ProgressLine(out, std::move(unit), IsTerminal(out)) {}

ProgressLine::ProgressLine(std::FILE* out, std::string unit, bool interactive)
    : out_(out),
      unit_(std::move(unit)),
      interactive_(interactive),
      start_(std::chrono::steady_clock::now()) {}

ProgressLine::~ProgressLine() {
  Finish();
}

void ProgressLine::Start(int64_t done, int64_t total) {
  first_ = done;
  total_ = total;
  start_ = std::chrono::steady_clock::now();
}

void ProgressLine::Step(int64_t step, const std::string& details) {
  if (out_ == nullptr) return;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::string head = unit_ + " " + std::to_string(step) + "/" + std::to_string(total_);
  std::string tail = "  elapsed " + FormatSeconds(elapsed);
  if (step < total_) {
    const std::string eta = FormatEta(elapsed, step - first_, total_ - step);
    if (!eta.empty()) tail += "  " + eta;
  }
  std::string middle = details.empty() ? "" : "  " + details;
  if (interactive_) {
    // Cut the caller's figures, not the round or the ETA, to the width.
    const size_t width = TerminalWidth(out_);
    if (width > 1 && head.size() + middle.size() + tail.size() >= width) {
      const size_t room =
          width - 1 > head.size() + tail.size() ? width - 1 - head.size() - tail.size() : 0;
      middle.resize(std::min(middle.size(), room));
    }
    const std::string line = head + middle + tail;
    // '\r' back to the start, the new text, then clear what is left of the
    // previous (longer) line.
    std::fprintf(out_, "\r%s\x1b[K", line.c_str());
    line_open_ = true;
  } else {
    std::fprintf(out_, "%s%s%s\n", head.c_str(), middle.c_str(), tail.c_str());
  }
  std::fflush(out_);
}

void ProgressLine::Message(const std::string& text) {
  if (out_ == nullptr) return;
  Finish();
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

void ProgressLine::Finish() {
  if (out_ == nullptr || !line_open_) return;
  std::fputc('\n', out_);
  std::fflush(out_);
  line_open_ = false;
}

}  // namespace edgefl::engine
