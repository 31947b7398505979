// Softmax cross-entropy on a batch of logits (classes x batch, one sample
// per column), averaged over the batch, computed with the log-sum-exp trick
// so large logits neither overflow nor lose precision.
#pragma once

#include <cstdint>
#include <span>

#include <Eigen/Core>

#include "nn/layer.h"

namespace edgefl::nn {

// Hard labels: loss = mean_b [logsumexp(z_b) - z_b[y_b]].
// If dlogits is not null it is resized to logits' shape (no allocation when
// the shape is unchanged) and receives (softmax(z) - onehot(y)) / B.
// Throws ConfigError if labels.size() != B, DataError if a label is outside
// [0, classes). An empty batch has loss 0.
float SoftmaxCrossEntropy(const ConstMatrixRef& logits, std::span<const int32_t> labels,
                          Eigen::MatrixXf* dlogits);

// Per-sample losses of hard labels: (*losses)[b] = logsumexp(z_b) - z_b[y_b],
// resized to B (their mean is SoftmaxCrossEntropy's loss). Throws as above.
void SoftmaxCrossEntropyPerSample(const ConstMatrixRef& logits, std::span<const int32_t> labels,
                                  Eigen::VectorXd* losses);

// Soft labels (e.g. mixup targets): `targets` has logits' shape, column b a
// distribution t_b (not checked to sum to 1). loss = mean_b -sum_k t_bk log
// softmax(z_b)_k; dlogits = (sum_k t_bk * softmax(z_b) - t_b) / B.
// Throws ConfigError if the shapes differ.
float SoftmaxCrossEntropy(const ConstMatrixRef& logits, const ConstMatrixRef& targets,
                          Eigen::MatrixXf* dlogits);

}  // namespace edgefl::nn
