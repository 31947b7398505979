// Classification metrics from logits (classes x batch, one sample per column).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "nn/layer.h"

namespace edgefl::nn {

// Writes the arg-max class of each column into predictions (first maximum on
// ties). Throws ConfigError if predictions.size() != logits.cols().
void ArgmaxColumns(const ConstMatrixRef& logits, std::span<int32_t> predictions);

// Accuracy and per-class accuracy accumulated over batches.
class AccuracyCounter {
 public:
  explicit AccuracyCounter(int num_classes);

  // Counts one batch. Throws ConfigError if labels.size() != logits.cols() or
  // logits.rows() != num_classes, DataError if a label is out of range.
  void Add(const ConstMatrixRef& logits, std::span<const int32_t> labels);

  size_t total() const { return total_; }
  size_t correct() const { return correct_; }
  // correct / total; 0 when nothing was counted.
  double accuracy() const;
  // Per class k: correct_k / samples_k, NaN for a class with no samples.
  std::vector<double> per_class_accuracy() const;
  const std::vector<size_t>& class_totals() const { return class_total_; }

 private:
  int num_classes_;
  size_t total_ = 0;
  size_t correct_ = 0;
  std::vector<size_t> class_total_;
  std::vector<size_t> class_correct_;
};

// Fraction of columns whose arg-max equals the label.
double Accuracy(const ConstMatrixRef& logits, std::span<const int32_t> labels);

}  // namespace edgefl::nn
