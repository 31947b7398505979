#include "sim/population_data.h"

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/experiment_data.h"

namespace edgefl::sim {

size_t DatasetBytes(const datasets::Dataset& data) {
  return static_cast<size_t>(data.features.size()) * sizeof(float) +
         data.labels.capacity() * sizeof(int32_t);
}

PopulationData::PopulationData(const engine::ExperimentConfig& config) {
  if (config.dataset == "synthetic") {
    datasets::SyntheticOptions options;
    options.alpha = config.synthetic_alpha;
    options.beta = config.synthetic_beta;
    options.seed = static_cast<uint64_t>(config.seed);
    synthetic_ = options;
    const uint64_t clients =
        std::min<uint64_t>(static_cast<uint64_t>(config.clients), kSyntheticTestClients);
    for (uint64_t k = 0; k < clients; ++k) {
      datasets::SyntheticClient c = datasets::GenerateSyntheticClient(options, k);
      if (k == 0) {
        test_ = std::move(c.test);
        continue;
      }
      const Eigen::Index rows = test_.features.rows();
      test_.features.conservativeResize(rows + c.test.features.rows(), Eigen::NoChange);
      test_.features.bottomRows(c.test.features.rows()) = c.test.features;
      test_.labels.insert(test_.labels.end(), c.test.labels.begin(), c.test.labels.end());
    }
    return;
  }
  // The eager loader with one client: the training split and the test
  // split, without a partition sized by the population.
  engine::ExperimentConfig one = config;
  one.clients = 1;
  one.clients_per_round = 1;
  one.partition = "iid";
  one.population = "eager";
  engine::ExperimentData data = engine::LoadExperimentData(one);
  pool_ = std::move(data.train);
  test_ = std::move(data.test);
  classes_.emplace(pool_.labels, pool_.num_classes);
  law_.label_skew = config.partition == "dirichlet";
  law_.alpha = config.alpha;
  law_.mean_size = static_cast<size_t>(config.share_size);
  law_.size_alpha = config.share_size_alpha;
  law_.seed = static_cast<uint64_t>(config.seed);
  (void)datasets::DrawShareRows(*classes_, law_, 0);  // a bad law fails here, not in round 1
}

datasets::Dataset PopulationData::Share(uint64_t client) const {
  if (synthetic_) return datasets::GenerateSyntheticClient(*synthetic_, client).train;
  datasets::Dataset share =
      datasets::Subset(pool_, datasets::DrawShareRows(*classes_, law_, client));
  share.name = pool_.name;
  return share;
}

size_t PopulationData::held_bytes() const {
  return DatasetBytes(pool_) + DatasetBytes(test_) + (classes_ ? classes_->held_bytes() : 0);
}

}  // namespace edgefl::sim
