// The data of a lazily drawn population (population = "lazy",
// docs/algorithms.md, "Large populations"): what client k's share is drawn from, and the test
// split. Nothing here is sized by the number of clients.
//
// fmnist / csv: the training split (train_subset applies) is the pool;
// client k's share is datasets::DrawShareRows(pool, law, k) with the law
// from share_size, share_size_alpha and, for partition = "dirichlet",
// alpha. The test split is the dataset's own (test_subset applies).
// synthetic (partition = "natural"): client k's share is the train part of
// datasets::GenerateSyntheticClient(k) — the same rows the eager
// generator gives client k; the test split is the held-out part of clients
// 0 .. min(clients, kSyntheticTestClients) - 1, where the eager run pools
// every client's held-out part (test_subset does not apply, as in the
// eager run: its first rows would be a few clients' only).
#pragma once

#include <cstdint>
#include <optional>

#include "datasets/dataset.h"
#include "datasets/population_share.h"
#include "datasets/synthetic.h"
#include "engine/experiment_config.h"

namespace edgefl::sim {

inline constexpr uint64_t kSyntheticTestClients = 100;

class PopulationData {
 public:
  // Loads the pool (or sets up the generator) and the test split. Throws
  // ConfigError / DataError / IoError as engine::LoadExperimentData.
  explicit PopulationData(const engine::ExperimentConfig& config);

  // Client k's training share (k < config.clients): the same whichever
  // round or caller asks.
  datasets::Dataset Share(uint64_t client) const;
  const datasets::Dataset& test() const { return test_; }
  // The pool clients draw from (empty for synthetic).
  const datasets::Dataset& pool() const { return pool_; }
  // Bytes this object holds (pool, its class index, test split): the
  // population's fixed cost, whatever its size.
  size_t held_bytes() const;

 private:
  datasets::Dataset pool_;
  datasets::Dataset test_;
  std::optional<datasets::ClassPools> classes_;
  datasets::ShareLaw law_;
  std::optional<datasets::SyntheticOptions> synthetic_;
};

// Bytes a dataset's features and labels hold.
size_t DatasetBytes(const datasets::Dataset& data);

}  // namespace edgefl::sim
