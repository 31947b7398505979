#include "client/local_data.h"

#include <doctest/doctest.h>

#include "common/error.h"
#include "datasets/fashion_mnist.h"
#include "datasets/feature_noise.h"
#include "datasets/partition.h"
#include "datasets/partition_file.h"
#include "tests/test_util.h"

namespace edgefl::client {

TEST_CASE("LoadClientData gives exactly the client's rows of Fashion-MNIST with its noise") {
  edgefl::testing::TempDir dir;
  datasets::FashionMnistOptions options;
  options.dir = edgefl::testing::FashionMnistDir();
  const datasets::Dataset test = datasets::LoadFashionMnist(datasets::Split::kTest, options);
  datasets::PartitionSpec spec;
  spec.scheme = datasets::PartitionScheme::kFeatureNoise;
  spec.num_clients = 4;
  spec.noise = 0.2;
  spec.seed = 5;
  const datasets::Partition partition =
      datasets::MakePartition(spec, test.labels, test.num_classes, "fmnist/test");
  datasets::WritePartitionFile(partition, dir / "p.partition");

  const datasets::Dataset mine = LoadClientData(dir / "p.partition", 2, options.dir);
  datasets::Dataset expected = datasets::Subset(test, partition.clients[2]);
  datasets::AddFeatureNoise(expected, partition.noise_std[2], spec.seed, 2);
  REQUIRE(mine.size() == expected.size());
  CHECK(mine.labels == expected.labels);
  CHECK(mine.features == expected.features);

  CHECK_THROWS_AS(LoadClientData(dir / "p.partition", 4, options.dir), ConfigError);
  CHECK_THROWS_AS(LoadClientData(dir / "missing.partition", 0, options.dir), IoError);
}

}  // namespace edgefl::client

#include "client/speed_probe.h"

namespace edgefl::client {

TEST_CASE("MeasureTrainingSpeed reports a positive samples per second") {
  datasets::FashionMnistOptions options;
  options.dir = edgefl::testing::FashionMnistDir();
  const datasets::Dataset test = datasets::LoadFashionMnist(datasets::Split::kTest, options);
  CHECK(MeasureTrainingSpeed(test, 512) > 100.0);
  CHECK(MeasureTrainingSpeed(datasets::Dataset{}) == 0.0);
}

}  // namespace edgefl::client
