// The progress of a long run (sim or coordinator): "round i/N", the caller's
// figures (losses, accuracy, clients), elapsed time and an ETA.
//
// On a terminal it is ONE line rewritten in place ('\r', cleared to the end,
// cut to the terminal's width); otherwise (a file, a pipe, a test) one plain
// line per step, so logs stay greppable. Not thread-safe: one owner.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace edgefl::engine {

class ProgressLine {
 public:
  // Writes to `out` (null: prints nothing); interactive when `out` is a
  // terminal (isatty).
  ProgressLine(std::FILE* out, std::string unit);
  // As above with the mode given (tests).
  ProgressLine(std::FILE* out, std::string unit, bool interactive);
  // Ends an updating line (Finish).
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // Starts the clock: `done` of `total` steps were done before (a resumed
  // run), so the ETA counts only the steps timed here.
  void Start(int64_t done, int64_t total);
  // Step `step` of the total finished; `details` follows "round 7/10" on the
  // line, then "elapsed 12.3s  ETA 5.2s".
  void Step(int64_t step, const std::string& details);
  // Prints `text` on a line of its own (the updating line is ended first).
  void Message(const std::string& text);
  // Ends an updating line with a newline; nothing otherwise. Idempotent.
  void Finish();

  bool interactive() const { return interactive_; }

 private:
  std::FILE* out_;
  std::string unit_;
  bool interactive_;
  bool line_open_ = false;  // an interactive line was written and not ended
  int64_t first_ = 0;       // steps done before Start
  int64_t total_ = 0;
  std::chrono::steady_clock::time_point start_;
};

// "ETA 1m05s" for `left` steps at the mean rate of `done` steps that took
// `elapsed_seconds`; "" when done <= 0.
std::string FormatEta(double elapsed_seconds, int64_t done, int64_t left);
// "4.2s", "3m07s", "2h05m".
std::string FormatSeconds(double seconds);

}  // namespace edgefl::engine
