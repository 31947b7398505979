// The data an experiment config names (`dataset`, `data_path`, `partition`
// and their keys, `train_subset`, `test_subset`), loaded the same way for
// the simulator and the daemon: Fashion-MNIST from its IDX files, the
// synthetic(α, β) federation, or a CSV file split 80/20 with the seed; the
// training split partitioned across `clients` clients.
#pragma once

#include "datasets/dataset.h"
#include "datasets/partition.h"
#include "engine/experiment_config.h"

namespace edgefl::engine {

struct ExperimentData {
  datasets::Dataset train;
  datasets::Dataset test;
  datasets::Partition partition;  // of `train` across config.clients clients
};

// Loads (or generates) the data and splits it. Throws ConfigError, DataError
// or IoError naming what is wrong.
ExperimentData LoadExperimentData(const ExperimentConfig& config);

// The test split alone, for the global evaluation of a run whose clients
// hold the training data (edgefl-coordinator). Fashion-MNIST reads only the
// test files; the other datasets go through LoadExperimentData (a CSV split
// and the synthetic test set depend on the whole data).
datasets::Dataset LoadTestSet(const ExperimentConfig& config);

}  // namespace edgefl::engine
