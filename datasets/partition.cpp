#include "datasets/partition.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "common/error.h"
#include "datasets/partitioners.h"

namespace edgefl::datasets {
namespace {

struct SchemeName {
  PartitionScheme scheme;
  const char* name;
};

constexpr SchemeName kSchemeNames[] = {
    {PartitionScheme::kIid, "iid"},
    {PartitionScheme::kDirichlet, "dirichlet"},
    {PartitionScheme::kShards, "shards"},
    {PartitionScheme::kQuantitySkew, "quantity"},
    {PartitionScheme::kFeatureNoise, "noise"},
    {PartitionScheme::kKMeans, "kmeans"},
    {PartitionScheme::kBySource, "by_source"},
};

// Formats a double the way a user typed it ("0.5", "1e-05", "nan").
std::string FormatDouble(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

void RequirePositiveAlpha(const PartitionSpec& spec) {
  if (!(spec.alpha > 0.0) || !std::isfinite(spec.alpha)) {
    throw ConfigError("partition: alpha must be > 0, got " + FormatDouble(spec.alpha));
  }
}

void RequireMinClientSizeFits(const PartitionSpec& spec, size_t n) {
  const size_t min_size = std::max<size_t>(1, spec.min_client_size);
  if (min_size > n / spec.num_clients) {
    throw ConfigError("partition: min_client_size " + std::to_string(min_size) + " x " +
                      std::to_string(spec.num_clients) + " clients exceeds the " +
                      std::to_string(n) + " samples");
  }
}

void ValidateSpec(const PartitionSpec& spec, size_t n) {
  CheckPartitionParameters(spec);
  if (spec.num_clients > n) {
    throw ConfigError("partition: " + std::to_string(spec.num_clients) + " clients but only " +
                      std::to_string(n) + " samples");
  }
  switch (spec.scheme) {
    case PartitionScheme::kDirichlet:
    case PartitionScheme::kQuantitySkew:
      RequireMinClientSizeFits(spec, n);
      break;
    case PartitionScheme::kShards:
      if (spec.classes_per_client > n / spec.num_clients) {
        throw ConfigError("partition: classes_per_client " +
                          std::to_string(spec.classes_per_client) + " x " +
                          std::to_string(spec.num_clients) +
                          " clients needs more shards than the " + std::to_string(n) + " samples");
      }
      break;
    case PartitionScheme::kIid:
    case PartitionScheme::kFeatureNoise:
    case PartitionScheme::kKMeans:
    case PartitionScheme::kBySource:
      break;  // their checks need no data: CheckPartitionParameters
  }
}

void ValidateLabels(std::span<const int32_t> labels, int num_classes,
                    const std::string& dataset_name) {
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes) {
      throw DataError("partition of " + dataset_name + ": label " + std::to_string(labels[i]) +
                      " at index " + std::to_string(i) + " is outside [0, " +
                      std::to_string(num_classes) + ")");
    }
  }
}

}  // namespace

void CheckPartitionParameters(const PartitionSpec& spec) {
  if (spec.num_clients == 0) throw ConfigError("partition: num_clients must be > 0, got 0");
  switch (spec.scheme) {
    case PartitionScheme::kIid:
    case PartitionScheme::kBySource:
      break;
    case PartitionScheme::kDirichlet:
    case PartitionScheme::kQuantitySkew:
      RequirePositiveAlpha(spec);
      break;
    case PartitionScheme::kShards:
      if (spec.classes_per_client == 0) {
        throw ConfigError("partition: classes_per_client must be > 0, got 0");
      }
      break;
    case PartitionScheme::kFeatureNoise:
      if (!(spec.noise >= 0.0) || !std::isfinite(spec.noise)) {
        throw ConfigError("partition: noise must be >= 0, got " + FormatDouble(spec.noise));
      }
      break;
    case PartitionScheme::kKMeans:
      if (spec.clusters == 0 || spec.clusters > spec.num_clients) {
        throw ConfigError("partition: kmeans needs 1 to " + std::to_string(spec.num_clients) +
                          " clusters (one or more clients each), got " +
                          std::to_string(spec.clusters));
      }
      break;
  }
}

PartitionScheme ParsePartitionScheme(const std::string& name) {
  for (const SchemeName& entry : kSchemeNames) {
    if (name == entry.name) return entry.scheme;
  }
  throw ConfigError("partition: unknown scheme '" + name +
                    "' (expected iid, dirichlet, shards, quantity or noise)");
}

std::string PartitionSchemeName(PartitionScheme scheme) {
  for (const SchemeName& entry : kSchemeNames) {
    if (scheme == entry.scheme) return entry.name;
  }
  throw ConfigError("partition: unknown scheme value " + std::to_string(static_cast<int>(scheme)));
}

Partition MakePartition(const PartitionSpec& spec, std::span<const int32_t> labels, int num_classes,
                        const std::string& dataset_name) {
  const size_t n = labels.size();
  if (n > std::numeric_limits<uint32_t>::max()) {
    throw ConfigError("partition: " + std::to_string(n) + " samples exceed the limit of " +
                      std::to_string(std::numeric_limits<uint32_t>::max()));
  }
  if (num_classes <= 0) {
    throw ConfigError("partition: num_classes must be > 0, got " + std::to_string(num_classes));
  }
  ValidateSpec(spec, n);
  ValidateLabels(labels, num_classes, dataset_name);

  Partition partition;
  partition.spec = spec;
  partition.dataset = dataset_name;
  partition.num_samples = n;
  partition.noise_std.assign(spec.num_clients, 0.0f);
  switch (spec.scheme) {
    case PartitionScheme::kIid:
      partition.clients = internal::IidPartition(n, spec);
      break;
    case PartitionScheme::kDirichlet:
      partition.clients = internal::DirichletPartition(labels, num_classes, spec);
      break;
    case PartitionScheme::kShards:
      partition.clients = internal::ShardPartition(labels, num_classes, spec);
      break;
    case PartitionScheme::kQuantitySkew:
      partition.clients = internal::QuantitySkewPartition(n, spec);
      break;
    case PartitionScheme::kFeatureNoise:
      partition.clients = internal::FeatureNoisePartition(n, spec);
      partition.noise_std = internal::FeatureNoiseStd(spec.num_clients, spec.noise);
      break;
    case PartitionScheme::kKMeans:
      throw ConfigError(
          "partition: kmeans routes the features, not the labels (MakeKMeansPartition)");
    case PartitionScheme::kBySource:
      throw ConfigError(
          "partition: by_source needs a text dataset (text:PATH or fortunes), whose samples "
          "know their source file");
  }
  for (std::vector<uint32_t>& client : partition.clients) {
    std::sort(client.begin(), client.end());
  }
  return partition;
}

}  // namespace edgefl::datasets
