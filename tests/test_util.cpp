#include "tests/test_util.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

#ifndef EDGEFL_TEST_TIME_SCALE
#define EDGEFL_TEST_TIME_SCALE 1  // set by tests/CMakeLists.txt
#endif

namespace edgefl::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "edgefl-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void WriteFile(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

bool HasSubstr(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

bool FashionMnistDirSet() {
  const char* dir = std::getenv("EDGEFL_FMNIST_DIR");
  return dir != nullptr && *dir != '\0';
}

}  // namespace

std::filesystem::path FashionMnistPackageDir() {
  return FashionMnistDirSet() ? std::getenv("EDGEFL_FMNIST_DIR")
                              : "/usr/share/datasets/fashion-mnist";
}

std::filesystem::path FashionMnistDir() {
  if (FashionMnistDirSet()) return FashionMnistPackageDir();
  const std::filesystem::path copy = std::filesystem::path(BinaryDir()) / "fashion-mnist-idx";
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    if (!std::filesystem::exists(copy / name)) return FashionMnistPackageDir();
  }
  return copy;
}

int RunCommand(const std::string& command, std::string* output) {
  std::string full = command + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  std::array<char, 4096> buf;
  output->clear();
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0)
    output->append(buf.data(), n);
  int status = pclose(pipe);
  if (status == -1) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string EdgeflTool() {
  return BinaryDir() + "/tools/edgefl";
}

double TimeScale() {
  static const double scale = [] {
    const char* env = std::getenv("EDGEFL_TEST_TIME_SCALE");
    if (env == nullptr || *env == '\0') return double{EDGEFL_TEST_TIME_SCALE};
    char* end = nullptr;
    const double value = std::strtod(env, &end);
    if (*end != '\0' || !std::isfinite(value) || value < 1.0)
      throw std::runtime_error("EDGEFL_TEST_TIME_SCALE must be a number >= 1, got '" +
                               std::string(env) + "'");
    return value;
  }();
  return scale;
}

std::chrono::steady_clock::duration Scaled(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(d * TimeScale());
}

std::string ScaledSeconds(double seconds) {
  std::ostringstream out;
  out << seconds * TimeScale();
  return out.str();
}

}  // namespace edgefl::testing
