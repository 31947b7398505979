#include "analysis/model_loss.h"

#include <algorithm>
#include <span>

#include "nn/batch.h"
#include "nn/softmax_cross_entropy.h"

namespace edgefl::analysis {

double MeanLoss(nn::Model& model, const Eigen::VectorXf& params, const datasets::Dataset& data) {
  constexpr Eigen::Index kBatch = 1000;
  model.SetParameters(params);
  const auto n = static_cast<Eigen::Index>(data.size());
  double sum = 0.0;
  for (Eigen::Index start = 0; start < n; start += kBatch) {
    const Eigen::Index take = std::min(kBatch, n - start);
    const auto x = nn::ColumnBlock(data.features, start, take);
    const std::span<const int32_t> labels(data.labels.data() + start, static_cast<size_t>(take));
    sum += static_cast<double>(nn::SoftmaxCrossEntropy(model.Forward(x), labels, nullptr)) *
           static_cast<double>(take);
  }
  return n > 0 ? sum / static_cast<double>(n) : 0.0;
}

}  // namespace edgefl::analysis
