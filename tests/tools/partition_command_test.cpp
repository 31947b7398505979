// Runs the real `edgefl partition` binary, as a user would.
#include <regex>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "datasets/csv_reader.h"
#include "datasets/kmeans_partition.h"
#include "datasets/partition_file.h"
#include "tests/test_util.h"

namespace edgefl::tools {
namespace {

using edgefl::testing::EdgeflTool;
using edgefl::testing::FashionMnistDir;
using edgefl::testing::RunCommand;
using edgefl::testing::TempDir;

}  // namespace

TEST_CASE("edgefl partition prints the per-client table for a Dirichlet split of Fashion-MNIST") {
  TempDir dir;
  const auto out = dir / "p.partition";
  std::string output;
  const int rc = RunCommand(EdgeflTool() + " partition --dataset fmnist --data-dir " +
                                FashionMnistDir().string() +
                                " --scheme dirichlet --alpha 0.5"
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
  REQUIRE(RunCommand(EdgeflTool() + " partition --dataset fmnist --data-dir " +
                         FashionMnistDir().string() +
                         " --scheme dirichlet --alpha 0.5"
                         " --clients 10 --seed 1 -q --out " +
                         again.string(),
                     &output) == 0);
  CHECK(edgefl::testing::ReadFile(out) == edgefl::testing::ReadFile(again));
}

TEST_CASE("edgefl partition rejects bad parameters with a message naming them") {
  std::string output;
  CHECK(RunCommand(EdgeflTool() + " partition --scheme dirichlet --alpha 0", &output) == 2);
  CHECK(output.find("alpha") != std::string::npos);
  // Refused before any data is read: a data directory that does not exist
  // is not what the message is about.
  CHECK(
      RunCommand(EdgeflTool() + " partition --scheme dirichlet --alpha -1 --data-dir /nonexistent",
                 &output) == 2);
  CHECK(output.find("alpha must be > 0") != std::string::npos);
  CHECK(output.find("/nonexistent") == std::string::npos);

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

TEST_CASE("edgefl partition kmeans writes the simulator's routed shards of the first N samples") {
  // Two routes on a CSV of two far-apart blobs: the k-means router splits
  // them, and client k holds route k mod 2, as MakeKMeansPartition does.
  TempDir dir;
  const auto csv = dir / "blobs.csv";
  std::string text = "label,a,b\n";
  for (int i = 0; i < 40; ++i) {
    const int blob = (i * 7) % 2;
    text += std::to_string(blob) + "," + std::to_string(blob * 100 + i % 5) + ",0.5\n";
  }
  edgefl::testing::WriteFile(csv, text);
  const auto out = dir / "k.partition";
  std::string output;
  const int rc =
      RunCommand(EdgeflTool() + " partition --dataset csv:" + csv.string() +
                     " --scheme kmeans --clusters 2 --clients 4 --seed 3 --out " + out.string(),
                 &output);
  INFO(output);
  REQUIRE(rc == 0);
  CHECK(output.find("client k holds route k mod 2") != std::string::npos);
  const datasets::Partition written = datasets::ReadPartitionFile(out);
  CHECK(written.spec.scheme == datasets::PartitionScheme::kKMeans);
  datasets::Dataset data = edgefl::datasets::ReadCsv(csv.string());
  data.name = "csv:" + csv.string();
  datasets::PartitionSpec spec;
  spec.scheme = datasets::PartitionScheme::kKMeans;
  spec.num_clients = 4;
  spec.clusters = 2;
  spec.seed = 3;
  const datasets::Partition expected = datasets::MakeKMeansPartition(spec, data);
  REQUIRE(written.num_clients() == 4);
  const std::vector<size_t> routes = datasets::PartitionRouter(spec, data).RouteAll(data);
  for (size_t k = 0; k < 4; ++k) {
    CAPTURE(k);
    CHECK(written.clients[k] == expected.clients[k]);
    // Each blob is one route: a client's samples all share one label.
    for (uint32_t i : written.clients[k]) {
      CHECK(routes[i] == routes[written.clients[k][0]]);
      CHECK(data.labels[i] == data.labels[written.clients[k][0]]);
    }
  }
  CHECK(routes[written.clients[0][0]] == routes[written.clients[2][0]]);
  CHECK(routes[written.clients[0][0]] != routes[written.clients[1][0]]);

  // --train-subset is the run key's first N samples: Fashion-MNIST and text only.
  CHECK(RunCommand(EdgeflTool() + " partition --dataset csv:" + csv.string() +
                       " --scheme kmeans --train-subset 10",
                   &output) == 2);
  CHECK(output.find("--train-subset") != std::string::npos);
}

}  // namespace edgefl::tools
