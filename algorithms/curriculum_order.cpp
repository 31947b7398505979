#include "algorithms/curriculum_order.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "common/error.h"

namespace edgefl::algorithms {

CurriculumOrder::CurriculumOrder(const CurriculumOptions& options) : options_(options) {
  options.pacing.Validate("pacing_");
  if (options.min_samples < 1) throw ConfigError("pacing_min must be >= 1, got 0");
  if (options.batch_size <= 0) {
    throw ConfigError("curriculum: batch_size must be > 0, got " +
                      std::to_string(options.batch_size));
  }
  if (options.epochs < 0 || options.local_steps < 0) {
    throw ConfigError("curriculum: epochs and local_steps must be >= 0");
  }
}

void CurriculumOrder::PerSampleLoss(nn::Model& model, const datasets::Dataset& data,
                                    std::vector<float>* losses) {
  constexpr Eigen::Index kBatch = 256;
  const Eigen::Index n = static_cast<Eigen::Index>(data.size());
  losses->resize(data.size());
  for (Eigen::Index start = 0; start < n; start += kBatch) {
    const Eigen::Index take = std::min(kBatch, n - start);
    const Eigen::Map<const Eigen::MatrixXf> x(data.features.data() + start * data.features.cols(),
                                              data.features.cols(), take);
    const auto logits = model.Forward(x);
    for (Eigen::Index b = 0; b < take; ++b) {
      const auto column = logits.col(b);
      const float top = column.maxCoeff();
      const float log_sum = top + std::log((column.array() - top).exp().sum());
      const size_t i = static_cast<size_t>(start + b);
      (*losses)[i] = log_sum - column(data.labels[i]);
    }
  }
}

void CurriculumOrder::BeginRound(nn::Model& model, const datasets::Dataset& data) {
  const size_t n = data.size();
  const int64_t passes_steps =
      (static_cast<int64_t>(n) / options_.batch_size + 1) * int64_t{options_.epochs};
  total_steps_ = options_.local_steps > 0 ? options_.local_steps : passes_steps;
  ranking_.resize(n);
  std::iota(ranking_.begin(), ranking_.end(), 0u);
  ranked_ = options_.kind != CurriculumKind::kRandom;
  if (!ranked_) {
    scores_.clear();
    return;
  }
  PerSampleLoss(model, data, &scores_);
  std::stable_sort(ranking_.begin(), ranking_.end(),
                   [this](uint32_t a, uint32_t b) { return scores_[a] < scores_[b]; });
  if (options_.kind == CurriculumKind::kAntiCurriculum) {
    std::reverse(ranking_.begin(), ranking_.end());
  }
}

void CurriculumOrder::NextPass(int64_t steps_done, size_t num_samples, Rng& rng,
                               std::vector<uint32_t>* order) {
  if (ranking_.size() != num_samples || num_samples == 0) {
    throw Error("curriculum order: NextPass for " + std::to_string(num_samples) +
                " samples without BeginRound on that data");
  }
  if (!ranked_) {  // random: the round's permutation
    rng.Shuffle(ranking_);
    ranked_ = true;
  }
  const size_t paced = options_.pacing.Size(steps_done, total_steps_, num_samples);
  const size_t take = std::min(num_samples, std::max(paced, options_.min_samples));
  last_subset_size_ = take;
  order->assign(ranking_.begin(), ranking_.begin() + static_cast<std::ptrdiff_t>(take));
  std::sort(order->begin(), order->end());
  rng.Shuffle(*order);
}

}  // namespace edgefl::algorithms
