// Splitting a dataset across federated clients.
//
// A Partition assigns every sample index of a dataset to exactly one client
// (each partitioner guarantees this: every index appears once, and every
// client gets at least one sample). All partitioners are deterministic given
// the seed: the same spec, labels and seed give the same partition on every
// platform.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace edgefl::datasets {

enum class PartitionScheme {
  kIid,           // uniform random, equal sizes (+-1)
  kDirichlet,     // label skew: per class, client shares ~ Dir(alpha)
  kShards,        // pathological: sort by label, each client gets k shards
  kQuantitySkew,  // IID labels, client sizes ~ Dir(alpha) * n
  kFeatureNoise,  // IID split; client i adds N(0, (noise * i/(N-1))^2) to features
  kKMeans,        // shards of a k-means router on the inputs (kmeans_partition.h)
  kBySource,      // text corpora: clients by source file (source_partition.h)
};

// Parses "iid", "dirichlet", "shards", "quantity", "noise", "kmeans", "by_source".
// Throws ConfigError naming the accepted values otherwise.
PartitionScheme ParsePartitionScheme(const std::string& name);
std::string PartitionSchemeName(PartitionScheme scheme);

struct PartitionSpec {
  PartitionScheme scheme = PartitionScheme::kIid;
  size_t num_clients = 10;  // > 0 and <= number of samples
  uint64_t seed = 1;
  double alpha = 0.5;             // kDirichlet, kQuantitySkew: > 0
  size_t classes_per_client = 2;  // kShards: shards per client, > 0
  double noise = 0.1;             // kFeatureNoise: max noise std-dev, >= 0
  size_t min_client_size = 1;  // kDirichlet, kQuantitySkew: redraw until every client has this many
  size_t clusters = 1;         // kKMeans: the router's routes, in [1, num_clients]
};

struct Partition {
  PartitionSpec spec;
  std::string dataset;                         // what was split, e.g. "fmnist/train"
  size_t num_samples = 0;                      // size of the dataset split
  std::vector<std::vector<uint32_t>> clients;  // sample indices per client, sorted ascending
  std::vector<float> noise_std;                // per client; all 0 except kFeatureNoise

  size_t num_clients() const { return clients.size(); }
};

// The checks of `spec` that need no data: zero clients, alpha <= 0 for
// dirichlet and quantity, zero classes_per_client for shards, a negative
// noise, kmeans clusters outside [1, num_clients]. Throws ConfigError naming
// the parameter, so a command can refuse one before it reads a dataset.
// MakePartition and its siblings run these checks too.
void CheckPartitionParameters(const PartitionSpec& spec);

// Splits a dataset with the given labels according to `spec`.
// Throws ConfigError for invalid parameters (alpha <= 0, zero clients, more
// clients than samples, ...) naming the parameter, and DataError for a label
// outside [0, num_classes). kKMeans needs the features: ConfigError here
// (use MakeKMeansPartition); kBySource the samples' sources
// (MakeSourcePartition).
Partition MakePartition(const PartitionSpec& spec, std::span<const int32_t> labels, int num_classes,
                        const std::string& dataset_name);

}  // namespace edgefl::datasets
