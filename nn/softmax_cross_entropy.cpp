#include "nn/softmax_cross_entropy.h"

#include <cmath>
#include <string>

#include "common/error.h"

namespace edgefl::nn {

float SoftmaxCrossEntropy(const ConstMatrixRef& logits, std::span<const int32_t> labels,
                          Eigen::MatrixXf* dlogits) {
  const Eigen::Index classes = logits.rows(), batch = logits.cols();
  if (static_cast<Eigen::Index>(labels.size()) != batch) {
    throw ConfigError("softmax cross-entropy: " + std::to_string(batch) + " logit columns but " +
                      std::to_string(labels.size()) + " labels");
  }
  for (Eigen::Index b = 0; b < batch; ++b) {
    if (labels[b] < 0 || labels[b] >= classes) {
      throw DataError("softmax cross-entropy: label " + std::to_string(labels[b]) + " of sample " +
                      std::to_string(b) + " is outside [0, " + std::to_string(classes) + ")");
    }
  }
  if (dlogits != nullptr) dlogits->resize(classes, batch);
  if (batch == 0) return 0.0f;
  const float inv_batch = 1.0f / static_cast<float>(batch);
  double total = 0.0;
  for (Eigen::Index b = 0; b < batch; ++b) {
    const auto z = logits.col(b);
    const float max = z.maxCoeff();
    float sum;
    if (dlogits != nullptr) {
      auto d = dlogits->col(b);
      d = (z.array() - max).exp();
      sum = d.sum();
      d *= inv_batch / sum;
      d(labels[b]) -= inv_batch;
    } else {
      sum = (z.array() - max).exp().sum();
    }
    total += static_cast<double>(max) + std::log(static_cast<double>(sum)) - z(labels[b]);
  }
  return static_cast<float>(total / static_cast<double>(batch));
}

void SoftmaxCrossEntropyPerSample(const ConstMatrixRef& logits, std::span<const int32_t> labels,
                                  Eigen::VectorXd* losses) {
  const Eigen::Index classes = logits.rows(), batch = logits.cols();
  if (static_cast<Eigen::Index>(labels.size()) != batch) {
    throw ConfigError("softmax cross-entropy: " + std::to_string(batch) + " logit columns but " +
                      std::to_string(labels.size()) + " labels");
  }
  losses->resize(batch);
  for (Eigen::Index b = 0; b < batch; ++b) {
    if (labels[b] < 0 || labels[b] >= classes) {
      throw DataError("softmax cross-entropy: label " + std::to_string(labels[b]) + " of sample " +
                      std::to_string(b) + " is outside [0, " + std::to_string(classes) + ")");
    }
    const auto z = logits.col(b);
    const float max = z.maxCoeff();
    const float sum = (z.array() - max).exp().sum();
    (*losses)(b) = static_cast<double>(max) + std::log(static_cast<double>(sum)) - z(labels[b]);
  }
}

float SoftmaxCrossEntropy(const ConstMatrixRef& logits, const ConstMatrixRef& targets,
                          Eigen::MatrixXf* dlogits) {
  const Eigen::Index classes = logits.rows(), batch = logits.cols();
  if (targets.rows() != classes || targets.cols() != batch) {
    throw ConfigError("softmax cross-entropy: logits are " + std::to_string(classes) + "x" +
                      std::to_string(batch) + " but soft targets are " +
                      std::to_string(targets.rows()) + "x" + std::to_string(targets.cols()));
  }
  if (dlogits != nullptr) dlogits->resize(classes, batch);
  if (batch == 0) return 0.0f;
  const float inv_batch = 1.0f / static_cast<float>(batch);
  double total = 0.0;
  for (Eigen::Index b = 0; b < batch; ++b) {
    const auto z = logits.col(b);
    const auto t = targets.col(b);
    const float max = z.maxCoeff();
    const float t_sum = t.sum();
    float sum;
    if (dlogits != nullptr) {
      auto d = dlogits->col(b);
      d = (z.array() - max).exp();
      sum = d.sum();
      d = (d * (t_sum / sum) - t) * inv_batch;
    } else {
      sum = (z.array() - max).exp().sum();
    }
    const double lse = static_cast<double>(max) + std::log(static_cast<double>(sum));
    total += lse * t_sum - static_cast<double>(t.dot(z));
  }
  return static_cast<float>(total / static_cast<double>(batch));
}

}  // namespace edgefl::nn
