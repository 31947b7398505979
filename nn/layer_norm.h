// Layer normalisation over each column (Ba et al. 2016), as
// torch.nn.LayerNorm(d, eps=1e-5): y = γ ⊙ (x − μ) / sqrt(σ² + eps) + β, with
// μ and σ² (biased) the mean and variance of the column.
//
// Parameter slice layout: γ (d), then β (d). Initialised γ = 1, β = 0.
// Keeps the normalised input and 1/σ of the last Forward for Backward.
#pragma once

#include "nn/layer.h"

namespace edgefl::nn {

class LayerNorm {
 public:
  explicit LayerNorm(Eigen::Index dim) : dim_(dim) {}

  Eigen::Index num_parameters() const { return 2 * dim_; }
  void Initialize(float* params) const;
  // out (d x N) = LN(in) column by column.
  void Forward(const float* params, const ConstMatrixRef& in, MatrixRef out);
  // Given dout of the last Forward, ADDS dγ, dβ to grads and SETS din.
  void Backward(const float* params, const ConstMatrixRef& dout, float* grads, MatrixRef din);

 private:
  Eigen::Index dim_;
  Eigen::MatrixXf normalized_;     // (x − μ) / σ
  Eigen::RowVectorXf inv_stddev_;  // 1 / σ per column
};

}  // namespace edgefl::nn
