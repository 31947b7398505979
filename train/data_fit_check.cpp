#include "train/data_fit_check.h"

#include "common/error.h"

namespace edgefl::train {

void CheckDataFitsModel(const std::string& spec, int input_dim, int classes,
                        const datasets::Dataset& data) {
  if (data.size() == 0) throw DataError("local data " + data.name + " is empty");
  if (data.dim() != static_cast<size_t>(input_dim)) {
    throw ConfigError("model " + spec + " expects " + std::to_string(input_dim) +
                      " features, but " + data.name + " has " + std::to_string(data.dim()));
  }
  for (size_t i = 0; i < data.labels.size(); ++i) {
    if (data.labels[i] < 0 || data.labels[i] >= classes) {
      throw DataError(data.name + ": label " + std::to_string(data.labels[i]) + " of sample " +
                      std::to_string(i) + " is outside the model's " + std::to_string(classes) +
                      " classes");
    }
  }
}

}  // namespace edgefl::train
