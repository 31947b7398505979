// Helpers shared by the test suites.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

namespace edgefl::testing {

// A fresh directory under the system temp dir, removed with its contents on
// destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Writes `bytes` to `path` (binary), replacing any existing file.
void WriteFile(const std::filesystem::path& path, std::string_view bytes);
// Reads the whole file at `path`.
std::string ReadFile(const std::filesystem::path& path);

// Whether `text` contains `part`.
bool HasSubstr(std::string_view text, std::string_view part);

// Directory of the real Fashion-MNIST IDX files the tests read:
// $EDGEFL_FMNIST_DIR, else the build tree's uncompressed copy of the Debian
// package's files (fashion-mnist-idx/, made by tests/CMakeLists.txt), else
// the package's FashionMnistPackageDir().
std::filesystem::path FashionMnistDir();
// The package's gzip files as a user has them: $EDGEFL_FMNIST_DIR or
// /usr/share/datasets/fashion-mnist.
std::filesystem::path FashionMnistPackageDir();

// Runs a shell command, returns its exit status; stdout+stderr go to *output.
int RunCommand(const std::string& command, std::string* output);

// The `edgefl` command-line tool of this build tree.
std::string EdgeflTool();

// The source tree and the build tree the suite was configured for. Only
// tests/test_paths.cpp sees them as macros, so every other test object is
// the same in any clone and comes from the compiler cache.
std::string SourceDir();
std::string BinaryDir();

// How much slower than a normal build this test build runs: the factor every
// deadline a test gives the code under test, and every wait for it, is
// multiplied by. 1 in a normal build; larger under sanitizers (TSan slows
// training ~10x), set by CMake from EDGEFL_SANITIZE. $EDGEFL_TEST_TIME_SCALE
// (a number >= 1) overrides it, e.g. for a slow device.
double TimeScale();

// `d` multiplied by TimeScale().
std::chrono::steady_clock::duration Scaled(std::chrono::steady_clock::duration d);

// `seconds` multiplied by TimeScale(), as a config value ("deadline=" +
// ScaledSeconds(20)).
std::string ScaledSeconds(double seconds);

}  // namespace edgefl::testing
