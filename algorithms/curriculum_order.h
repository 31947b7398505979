// Client-side curriculum data ordering (Vahidian et al., "When Do Curricula
// Work in Federated Learning?", ICCV 2023, arXiv 2212.12712; code:
// sreevatsank1999/Curriculum-FL; docs/algorithms.md §5 of the spec).
//
// BeginRound scores every local sample with the received global model:
// s_i = its softmax cross-entropy (lower = easier), and ranks them:
//   curriculum       ascending score (ties by index: a stable sort);
//   anti_curriculum  the exact reverse of the curriculum ranking;
//   random           a random permutation (drawn at the round's first pass
//                    from the order's stream; no scoring).
// Pacing: before each pass, with t = steps done this round, N samples and
// T = (⌊N/B⌋ + 1)·E local iterations (T = local_steps when the recipe is
// step-based), the pass uses the first min(N, max(g(t), min_samples))
// ranked samples, g from algorithms/pacing.h, and visits them in a fresh
// shuffle. g is recomputed after each full pass over the current subset.
// The subset is put in index order before shuffling, so when it holds all
// N samples (e.g. b = 1) a pass is exactly client::ShuffledOrder's.
#pragma once

#include <cstdint>
#include <vector>

#include "algorithms/pacing.h"
#include "train/data_order.h"

namespace edgefl::algorithms {

enum class CurriculumKind { kCurriculum, kAntiCurriculum, kRandom };

struct CurriculumOptions {
  CurriculumKind kind = CurriculumKind::kCurriculum;
  // "pacing" (PacingKind value), "pacing_a", "pacing_b", "pacing_c".
  // Defaults: linear, a = 0.2, b = 0.2 (the code's data pacing).
  Pacing pacing;
  size_t min_samples = 32;  // "pacing_min": the code's floor of 32 samples, >= 1
  // Length of the round, from the TrainRecipe: local_steps if > 0, else
  // (⌊N/batch_size⌋ + 1)·epochs.
  int batch_size = 32;
  int epochs = 1;
  int64_t local_steps = 0;
};

class CurriculumOrder final : public train::DataOrder {
 public:
  // Throws ConfigError naming the out-of-range option (pacing_a, ...).
  explicit CurriculumOrder(const CurriculumOptions& options);

  void BeginRound(nn::Model& model, const datasets::Dataset& data) override;
  // Throws Error if BeginRound was not called for num_samples samples.
  void NextPass(int64_t steps_done, size_t num_samples, Rng& rng,
                std::vector<uint32_t>* order) override;

  const CurriculumOptions& options() const { return options_; }
  // Per-sample losses of the last BeginRound (empty for random).
  const std::vector<float>& scores() const { return scores_; }
  // The ranking of the round (for random: after the first NextPass).
  const std::vector<uint32_t>& ranking() const { return ranking_; }
  // T of the round and the subset size of the last pass.
  int64_t total_steps() const { return total_steps_; }
  size_t last_subset_size() const { return last_subset_size_; }

  // Per-sample softmax cross-entropy of `model` on `data` into *losses.
  static void PerSampleLoss(nn::Model& model, const datasets::Dataset& data,
                            std::vector<float>* losses);

 private:
  CurriculumOptions options_;
  std::vector<float> scores_;
  std::vector<uint32_t> ranking_;
  bool ranked_ = false;
  int64_t total_steps_ = 0;
  size_t last_subset_size_ = 0;
};

}  // namespace edgefl::algorithms
