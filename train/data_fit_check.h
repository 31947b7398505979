// The one check that local data fits a model before training on it: the
// same messages for every trainer (LocalTrainer, TpsgdTrainer).
#pragma once

#include <string>

#include "datasets/dataset.h"

namespace edgefl::train {

// Throws DataError if `data` is empty or a label is outside [0, classes),
// ConfigError if its feature count is not `input_dim`; messages name the
// model `spec` and the data.
void CheckDataFitsModel(const std::string& spec, int input_dim, int classes,
                        const datasets::Dataset& data);

}  // namespace edgefl::train
