#include "datasets/partition_stats.h"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"

namespace edgefl::datasets {
namespace {

// 9 samples of 3 classes.
const std::vector<int32_t> kLabels = {0, 1, 2, 0, 0, 1, 2, 2, 1};

Partition Clients(std::vector<std::vector<uint32_t>> clients) {
  Partition p;
  p.num_samples = kLabels.size();
  p.spec.num_clients = clients.size();
  p.noise_std.assign(clients.size(), 0.0f);
  p.clients = std::move(clients);
  return p;
}

}  // namespace

TEST_CASE("ComputePartitionStats: hand-computed example with 3 clients") {
  // client 0: labels 0 0 0; client 1: 1 2 1 2; client 2: 2 1.
  const PartitionStats stats =
      ComputePartitionStats(Clients({{0, 3, 4}, {1, 2, 5, 6}, {7, 8}}), kLabels, 3);
  CHECK(stats.class_counts == std::vector<std::vector<size_t>>{{3, 0, 0}, {0, 2, 2}, {0, 1, 1}});
  CHECK(stats.sizes == std::vector<size_t>{3, 4, 2});
  CHECK(stats.min_size == 2);
  CHECK(stats.median_size == 3.0);
  CHECK(stats.max_size == 4);
  CHECK(stats.mean_classes_per_client == doctest::Approx(5.0 / 3.0));
}

TEST_CASE("ComputePartitionStats: the median of an even number of clients is the mean of two") {
  const PartitionStats stats =
      ComputePartitionStats(Clients({{0, 1, 2}, {3, 4, 5, 6, 7, 8}}), kLabels, 3);
  CHECK(stats.median_size == 4.5);
  CHECK(stats.min_size == 3);
  CHECK(stats.max_size == 6);
  CHECK(stats.mean_classes_per_client == 3.0);
}

TEST_CASE("ComputePartitionStats: bad indices and labels are reported") {
  CHECK_THROWS_WITH_AS(ComputePartitionStats(Clients({{0, 9}}), kLabels, 3),
                       doctest::Contains("client 0 lists index 9"), ConfigError);
  CHECK_THROWS_WITH_AS(ComputePartitionStats(Clients({{0, 2}}), kLabels, 2),
                       doctest::Contains("label 2 at index 2"), DataError);
}

TEST_CASE("FormatPartitionTable: one fixed-width row per client - then the summary") {
  const PartitionStats stats =
      ComputePartitionStats(Clients({{0, 3, 4}, {1, 2, 5, 6}, {7, 8}}), kLabels, 3);
  const std::string expected =
      "client  size  c0  c1  c2  #classes\n"
      "     0     3   3   .   .         1\n"
      "     1     4   .   2   2         2\n"
      "     2     2   .   1   1         2\n"
      "clients: 3  samples: 9\n"
      "size: min 2  median 3  max 4\n"
      "mean classes per client: 1.67\n";
  CHECK(FormatPartitionTable(stats) == expected);
}

TEST_CASE("FormatPartitionTable: columns stay aligned for 10 classes and hundreds of clients") {
  std::vector<int32_t> labels(60000);
  for (size_t i = 0; i < labels.size(); ++i)
    labels[i] = static_cast<int32_t>(i % 10);
  PartitionSpec spec;
  spec.scheme = PartitionScheme::kDirichlet;
  spec.num_clients = 300;
  spec.alpha = 0.3;
  const Partition p = MakePartition(spec, labels, 10, "synthetic");
  const PartitionStats stats = ComputePartitionStats(p, labels, 10);
  const std::string table = FormatPartitionTable(stats);

  // Header + 300 rows of the same width, then 3 summary lines.
  std::vector<std::string> lines;
  for (size_t begin = 0, end; (end = table.find('\n', begin)) != std::string::npos;
       begin = end + 1) {
    lines.push_back(table.substr(begin, end - begin));
  }
  REQUIRE(lines.size() == 304);
  CHECK(lines[0].find("client") == 0);
  CHECK(lines[0].find("c9") != std::string::npos);
  CHECK(lines[0].find("#classes") != std::string::npos);
  for (size_t i = 1; i <= 300; ++i)
    CHECK(lines[i].size() == lines[0].size());
  CHECK(lines[300].find("   299  ") == 0);
  CHECK(lines[301] == "clients: 300  samples: 60000");
  CHECK(lines[302].find("size: min ") == 0);
  CHECK(lines[303].find("mean classes per client: ") == 0);
}

}  // namespace edgefl::datasets
