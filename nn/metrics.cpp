#include "nn/metrics.h"

#include <limits>
#include <string>

#include "common/error.h"

namespace edgefl::nn {

void ArgmaxColumns(const ConstMatrixRef& logits, std::span<int32_t> predictions) {
  if (static_cast<Eigen::Index>(predictions.size()) != logits.cols()) {
    throw ConfigError("argmax: " + std::to_string(logits.cols()) + " columns but room for " +
                      std::to_string(predictions.size()) + " predictions");
  }
  for (Eigen::Index b = 0; b < logits.cols(); ++b) {
    Eigen::Index best = 0;
    logits.col(b).maxCoeff(&best);
    predictions[b] = static_cast<int32_t>(best);
  }
}

AccuracyCounter::AccuracyCounter(int num_classes)
    : num_classes_(num_classes),
      class_total_(static_cast<size_t>(num_classes), 0),
      class_correct_(static_cast<size_t>(num_classes), 0) {}

void AccuracyCounter::Add(const ConstMatrixRef& logits, std::span<const int32_t> labels) {
  if (static_cast<Eigen::Index>(labels.size()) != logits.cols() || logits.rows() != num_classes_) {
    throw ConfigError("accuracy: logits are " + std::to_string(logits.rows()) + "x" +
                      std::to_string(logits.cols()) + ", expected " + std::to_string(num_classes_) +
                      " classes and " + std::to_string(labels.size()) + " samples");
  }
  for (Eigen::Index b = 0; b < logits.cols(); ++b) {
    const int32_t label = labels[b];
    if (label < 0 || label >= num_classes_) {
      throw DataError("accuracy: label " + std::to_string(label) + " is outside [0, " +
                      std::to_string(num_classes_) + ")");
    }
    Eigen::Index best = 0;
    logits.col(b).maxCoeff(&best);
    const bool hit = best == label;
    ++total_;
    ++class_total_[label];
    if (hit) {
      ++correct_;
      ++class_correct_[label];
    }
  }
}

double AccuracyCounter::accuracy() const {
  return total_ == 0 ? 0.0 : static_cast<double>(correct_) / static_cast<double>(total_);
}

std::vector<double> AccuracyCounter::per_class_accuracy() const {
  std::vector<double> result(class_total_.size());
  for (size_t k = 0; k < result.size(); ++k) {
    result[k] = class_total_[k] == 0
                    ? std::numeric_limits<double>::quiet_NaN()
                    : static_cast<double>(class_correct_[k]) / static_cast<double>(class_total_[k]);
  }
  return result;
}

double Accuracy(const ConstMatrixRef& logits, std::span<const int32_t> labels) {
  AccuracyCounter counter(static_cast<int>(logits.rows()));
  counter.Add(logits, labels);
  return counter.accuracy();
}

}  // namespace edgefl::nn
