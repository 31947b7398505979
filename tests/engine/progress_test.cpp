#include "engine/progress.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <doctest/doctest.h>

namespace edgefl::engine {
namespace {

// What a ProgressLine wrote to a memory stream.
class Capture {
 public:
  Capture() : file_(open_memstream(&buffer_, &size_)) { REQUIRE(file_ != nullptr); }
  ~Capture() {
    if (file_ != nullptr) std::fclose(file_);
    std::free(buffer_);
  }
  std::FILE* file() { return file_; }
  std::string text() {
    std::fflush(file_);
    return std::string(buffer_, size_);
  }

 private:
  char* buffer_ = nullptr;
  size_t size_ = 0;
  std::FILE* file_;
};

size_t Count(const std::string& text, char c) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), c));
}

}  // namespace

TEST_CASE("ProgressLine writes one plain line per round when not on a terminal") {
  Capture out;
  {
    ProgressLine progress(out.file(), "round");
    CHECK_FALSE(progress.interactive());  // a memory stream is not a terminal
    progress.Start(0, 3);
    progress.Step(1, "test_acc 0.5000");
    progress.Step(2, "test_acc 0.6000");
    progress.Step(3, "test_acc 0.7000");
  }
  const std::string text = out.text();
  CHECK(Count(text, '\n') == 3);
  CHECK(Count(text, '\r') == 0);
  CHECK(text.find("round 1/3  test_acc 0.5000  elapsed ") != std::string::npos);
  CHECK(text.find("round 3/3  test_acc 0.7000") != std::string::npos);
  // An ETA while rounds are left, none on the last.
  CHECK(text.find("ETA ") < text.find("round 3/3"));
  CHECK(text.substr(text.find("round 3/3")).find("ETA") == std::string::npos);
}

TEST_CASE("ProgressLine rewrites a single line on a terminal and ends it once") {
  Capture out;
  {
    ProgressLine progress(out.file(), "round", /*interactive=*/true);
    progress.Start(4, 10);  // resumed after round 4
    progress.Step(5, "test_acc 0.5000");
    progress.Step(6, "test_acc 0.6000");
    CHECK(Count(out.text(), '\n') == 0);
    CHECK(Count(out.text(), '\r') == 2);
    progress.Message("a note");  // ends the line first
    progress.Step(7, "");
    progress.Finish();
    progress.Finish();  // idempotent
  }
  const std::string text = out.text();
  CHECK(text.find("\rround 5/10  test_acc 0.5000") != std::string::npos);
  CHECK(text.find("\x1b[K\na note\n\rround 7/10") != std::string::npos);
  CHECK(text.back() == '\n');
  CHECK(Count(text, '\n') == 3);
}

TEST_CASE("ProgressLine with no stream prints nothing") {
  ProgressLine progress(nullptr, "round");
  progress.Start(0, 2);
  progress.Step(1, "x");
  progress.Message("y");
  progress.Finish();
}

TEST_CASE("FormatEta extrapolates the mean time per round") {
  CHECK(FormatEta(10.0, 2, 3) == "ETA 15.0s");
  CHECK(FormatEta(60.0, 1, 2) == "ETA 2m00s");
  CHECK(FormatEta(3600.0, 1, 2) == "ETA 2h00m");
  CHECK(FormatEta(5.0, 0, 3).empty());
  CHECK(FormatSeconds(65.4) == "1m05s");
}

}  // namespace edgefl::engine
