// Runs the real `edgefl partition` binary, as a user would.
#include <regex>
#include <string>

#include <doctest/doctest.h>

#include "datasets/partition_file.h"
#include "tests/test_util.h"

namespace edgefl::tools {
namespace {

using edgefl::testing::EdgeflTool;
using edgefl::testing::RunCommand;
using edgefl::testing::TempDir;

}  // namespace

TEST_CASE("edgefl partition prints the per-client table for a Dirichlet split of Fashion-MNIST") {
  TempDir dir;
  const auto out = dir / "p.partition";
  std::string output;
  const int rc = RunCommand(EdgeflTool() +
                                " partition --dataset fmnist --scheme dirichlet --alpha 0.5"
                                " --clients 10 --seed 1 --out " +
                                out.string(),
                            &output);
  INFO(output);
  REQUIRE(rc == 0);
  CHECK(output.find("fmnist/train") != std::string::npos);
  CHECK(output.find("60000") != std::string::npos);
  CHECK(output.find("dirichlet") != std::string::npos);
  CHECK(output.find("median") != std::string::npos);
  CHECK(output.find("mean classes per client") != std::string::npos);
  // One table row per client: a line starting with the client id (right-aligned).
  for (int c = 0; c < 10; ++c) {
    CHECK(std::regex_search(output, std::regex("\n *" + std::to_string(c) + "  +[0-9]+ ")));
  }

  // The file it wrote is what a client loads by its id.
  const datasets::Partition partition = datasets::ReadPartitionFile(out);
  CHECK(partition.num_clients() == 10);
  CHECK(partition.num_samples == 60000);
  size_t total = 0;
  for (const auto& client : partition.clients)
    total += client.size();
  CHECK(total == 60000);
  const datasets::ClientShare share = datasets::ReadClientShare(out, 3);
  CHECK(share.indices == partition.clients[3]);

  // The same command again gives the same file, byte for byte.
  const auto again = dir / "again.partition";
  REQUIRE(RunCommand(EdgeflTool() +
                         " partition --dataset fmnist --scheme dirichlet --alpha 0.5"
                         " --clients 10 --seed 1 -q --out " +
                         again.string(),
                     &output) == 0);
  CHECK(edgefl::testing::ReadFile(out) == edgefl::testing::ReadFile(again));
}

TEST_CASE("edgefl partition rejects bad parameters with a message naming them") {
  std::string output;
  CHECK(RunCommand(EdgeflTool() + " partition --scheme dirichlet --alpha 0", &output) == 2);
  CHECK(output.find("alpha") != std::string::npos);

  CHECK(RunCommand(EdgeflTool() + " partition --scheme zipf", &output) == 2);
  CHECK(output.find("zipf") != std::string::npos);

  CHECK(RunCommand(EdgeflTool() + " partition --dataset fmnist-test --clients 20000", &output) ==
        2);
  CHECK(output.find("20000") != std::string::npos);

  CHECK(RunCommand(EdgeflTool() + " partition --dataset mnist3d", &output) == 2);
  CHECK(output.find("mnist3d") != std::string::npos);

  CHECK(RunCommand(EdgeflTool() + " partition --clients ten", &output) == 2);
  CHECK(output.find("clients") != std::string::npos);
}

TEST_CASE("edgefl partition reports a missing dataset directory as an I/O error") {
  TempDir dir;
  std::string output;
  CHECK(RunCommand(EdgeflTool() + " partition --data-dir " + (dir / "nowhere").string(), &output) ==
        4);
  CHECK(output.find("nowhere") != std::string::npos);
}

TEST_CASE("edgefl partition reads a user's CSV file") {
  TempDir dir;
  const auto csv = dir / "data.csv";
  std::string text = "label,a,b\n";
  for (int i = 0; i < 40; ++i) {
    text += std::to_string(i % 4) + "," + std::to_string(i) + ".5,-1\n";
  }
  edgefl::testing::WriteFile(csv, text);
  std::string output;
  const int rc = RunCommand(
      EdgeflTool() + " partition --dataset csv:" + csv.string() + " --scheme shards --clients 4",
      &output);
  INFO(output);
  CHECK(rc == 0);
  CHECK(output.find("40") != std::string::npos);

  edgefl::testing::WriteFile(csv, "label,a\n1,2\n0,oops\n");
  CHECK(RunCommand(EdgeflTool() + " partition --dataset csv:" + csv.string(), &output) == 3);
  CHECK(output.find("data.csv:3") != std::string::npos);
}

}  // namespace edgefl::tools
