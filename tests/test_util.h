// Helpers shared by the test suites.
#pragma once

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

// Directory of the real Fashion-MNIST IDX files: $EDGEFL_FMNIST_DIR or the
// Debian package's /usr/share/datasets/fashion-mnist.
std::filesystem::path FashionMnistDir();

// Runs a shell command, returns its exit status; stdout+stderr go to *output.
int RunCommand(const std::string& command, std::string* output);

// The `edgefl` command-line tool of this build tree.
std::string EdgeflTool();

}  // namespace edgefl::testing
