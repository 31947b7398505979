// Runs the real scripts/check-layers.sh: on this repository, and on small
// trees that plant includes against docs/architecture.md's layering table.
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "tests/test_util.h"

namespace edgefl::testing {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = edgefl::testing::SourceDir();

std::string CheckLayers(const fs::path& root, int* status) {
  std::string output;
  *status = RunCommand((kSource / "scripts/check-layers.sh").string() + " --root " + root.string(),
                       &output);
  return output;
}

// A tree with the repository's own layering table and nothing else.
struct PlantedTree {
  TempDir dir;
  PlantedTree() {
    fs::create_directories(dir / "docs");
    fs::copy_file(kSource / "docs/architecture.md", dir / "docs/architecture.md");
  }
  void Write(const std::string& path, const std::string& text) const {
    fs::create_directories((dir / path).parent_path());
    WriteFile(dir / path, text);
  }
};

TEST_CASE("check-layers: the repository follows its own layering table") {
  int status = -1;
  const std::string output = CheckLayers(kSource, &status);
  INFO(output);
  CHECK(status == 0);
  CHECK(output.find("every include follows the layering table") != std::string::npos);
}

TEST_CASE("check-layers: an upward include fails naming the file, the line and the rule") {
  PlantedTree tree;
  tree.Write("wire/messages.h",
             "#pragma once\n#include \"common/error.h\"\n#include \"train/fit.h\"\n"
             "#include \"algorithms/strategy.h\"\n");
  tree.Write("engine/round_engine.cpp",
             "#include \"algorithms/strategy.h\"\n#include \"sim/fleet.h\"\n");
  tree.Write("algorithms/fedavg.h", "#include \"client/local_data.h\"\n");
  int status = -1;
  const std::string output = CheckLayers(tree.dir.path(), &status);
  INFO(output);
  CHECK(status == 1);
  CHECK(output.find("wire/messages.h:4: includes \"algorithms/\"") != std::string::npos);
  CHECK(output.find("engine/round_engine.cpp:2: includes \"sim/\"") != std::string::npos);
  CHECK(output.find("algorithms/fedavg.h:1: includes \"client/\"") != std::string::npos);
  // The allowed ones are not reported.
  CHECK(output.find("messages.h:2") == std::string::npos);
  CHECK(output.find("messages.h:3") == std::string::npos);
  CHECK(output.find("round_engine.cpp:1") == std::string::npos);
}

TEST_CASE("check-layers: allowed includes pass") {
  PlantedTree tree;
  tree.Write("train/local_trainer.h", "#include \"nn/model.h\"\n#include \"datasets/dataset.h\"\n");
  tree.Write("coordinator/tls_server.cpp",
             "#include \"engine/client_proxy.h\"\n#include \"wire/frame.h\"\n");
  tree.Write("tests/sim/x_test.cpp", "#include \"coordinator/log.h\"\n#include \"sim/fleet.h\"\n");
  int status = -1;
  const std::string output = CheckLayers(tree.dir.path(), &status);
  INFO(output);
  CHECK(status == 0);
}

TEST_CASE("check-layers: a folder with code and no row in the table fails") {
  PlantedTree tree;
  tree.Write("market/bid.h", "#include \"common/error.h\"\n");
  int status = -1;
  const std::string output = CheckLayers(tree.dir.path(), &status);
  INFO(output);
  CHECK(status == 1);
  CHECK(output.find("market/ holds C++ code but has no row") != std::string::npos);
}

TEST_CASE("check-layers: a missing table is a usage error, not a pass") {
  TempDir dir;
  int status = -1;
  const std::string output = CheckLayers(dir.path(), &status);
  INFO(output);
  CHECK(status == 2);
  CHECK(output.find("architecture.md not found") != std::string::npos);
}

}  // namespace
}  // namespace edgefl::testing
