#include "nn/causal_self_attention.h"

#include <cmath>
#include <limits>

namespace edgefl::nn {

using Eigen::Index;
using Eigen::MatrixXf;
using Eigen::OuterStride;

namespace {

// Rows [row, row + height) of sequence b's T columns in a time-major
// (rows x T·B) matrix.
Eigen::Map<MatrixXf, 0, OuterStride<>> SequenceRows(float* data, Index rows, Index batch, Index b,
                                                    Index row, Index height, Index steps) {
  return {data + b * rows + row, height, steps, OuterStride<>(rows * batch)};
}

Eigen::Map<const MatrixXf, 0, OuterStride<>> SequenceRowsConst(const float* data, Index rows,
                                                               Index batch, Index b, Index row,
                                                               Index height, Index steps) {
  return {data + b * rows + row, height, steps, OuterStride<>(rows * batch)};
}

}  // namespace

void CausalSelfAttention::Forward(const MatrixXf& qkv, Index steps, MatrixXf* out) {
  const Index batch = qkv.cols() / steps, dh = dim_ / heads_, rows = 3 * dim_;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  steps_ = steps;
  probabilities_.resize(static_cast<size_t>(batch * heads_));
  out->resize(dim_, qkv.cols());
  for (Index b = 0; b < batch; ++b) {
    for (Index h = 0; h < heads_; ++h) {
      const auto q = SequenceRowsConst(qkv.data(), rows, batch, b, h * dh, dh, steps);
      const auto k = SequenceRowsConst(qkv.data(), rows, batch, b, dim_ + h * dh, dh, steps);
      const auto v = SequenceRowsConst(qkv.data(), rows, batch, b, 2 * dim_ + h * dh, dh, steps);
      MatrixXf& p = probabilities_[static_cast<size_t>(b * heads_ + h)];
      p.noalias() = scale * (q.transpose() * k);  // p(i, j) = q_i · k_j
      for (Index i = 0; i < steps; ++i) {
        const float max = p.row(i).head(i + 1).maxCoeff();
        p.row(i).head(i + 1) = (p.row(i).head(i + 1).array() - max).exp().matrix();
        p.row(i).head(i + 1) /= p.row(i).head(i + 1).sum();
        p.row(i).tail(steps - i - 1).setZero();
      }
      auto o = SequenceRows(out->data(), dim_, batch, b, h * dh, dh, steps);
      o.noalias() = v * p.transpose();
    }
  }
}

void CausalSelfAttention::Backward(const MatrixXf& qkv, const MatrixXf& dout, MatrixXf* dqkv) {
  const Index steps = steps_, batch = qkv.cols() / steps, dh = dim_ / heads_, rows = 3 * dim_;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  dqkv->resize(3 * dim_, qkv.cols());
  MatrixXf dp, ds;
  for (Index b = 0; b < batch; ++b) {
    for (Index h = 0; h < heads_; ++h) {
      const auto q = SequenceRowsConst(qkv.data(), rows, batch, b, h * dh, dh, steps);
      const auto k = SequenceRowsConst(qkv.data(), rows, batch, b, dim_ + h * dh, dh, steps);
      const auto v = SequenceRowsConst(qkv.data(), rows, batch, b, 2 * dim_ + h * dh, dh, steps);
      const auto d_o = SequenceRowsConst(dout.data(), dim_, batch, b, h * dh, dh, steps);
      const MatrixXf& p = probabilities_[static_cast<size_t>(b * heads_ + h)];
      auto dq = SequenceRows(dqkv->data(), rows, batch, b, h * dh, dh, steps);
      auto dk = SequenceRows(dqkv->data(), rows, batch, b, dim_ + h * dh, dh, steps);
      auto dv = SequenceRows(dqkv->data(), rows, batch, b, 2 * dim_ + h * dh, dh, steps);
      dv.noalias() = d_o * p;              // dv_j = Σ_i p(i, j) do_i
      dp.noalias() = d_o.transpose() * v;  // dp(i, j) = do_i · v_j
      ds = p.cwiseProduct(dp);
      const Eigen::VectorXf row_dot = ds.rowwise().sum();
      ds -= p.cwiseProduct(row_dot.replicate(1, steps));
      ds *= scale;                        // dS of the scaled scores
      dq.noalias() = k * ds.transpose();  // dq_i = Σ_j ds(i, j) k_j
      dk.noalias() = q * ds;              // dk_j = Σ_i ds(i, j) q_i
    }
  }
}

}  // namespace edgefl::nn
