#include "nn/lstm.h"

namespace edgefl::nn {

using Eigen::ArrayXXf;
using Eigen::Index;
using Eigen::MatrixXf;

void Lstm::Forward(const float* params, const ConstMatrixRef& x, Index steps, MatrixRef h) {
  const Index hs = hidden_, cols = x.cols(), batch = cols / steps;
  const GateSlices<const float> w = Weights(params);
  steps_ = steps;
  gates_.resize(4 * hs, cols);
  cells_.resize(hs, cols);
  cells_tanh_.resize(hs, cols);
  // Input-side pre-activations of every step in one product, kept in gates_;
  // both biases are added here (they only ever appear summed).
  gates_.noalias() = w.wi * x;
  gates_.colwise() += w.bi + w.bh;
  for (Index t = 0; t < steps; ++t) {
    const Index c = t * batch;
    auto g = gates_.middleCols(c, batch);
    if (t > 0) g.noalias() += w.wh * h.middleCols(c - batch, batch);
    // i and f (rows 0..2H) and o (rows 3H..4H) are sigmoids, g a tanh.
    g.topRows(2 * hs) = (1.0f + (-g.topRows(2 * hs)).array().exp()).inverse().matrix();
    g.bottomRows(hs) = (1.0f + (-g.bottomRows(hs)).array().exp()).inverse().matrix();
    g.middleRows(2 * hs, hs) = g.middleRows(2 * hs, hs).array().tanh().matrix();
    auto cell = cells_.middleCols(c, batch);
    cell = (g.topRows(hs).array() * g.middleRows(2 * hs, hs).array()).matrix();
    if (t > 0) {
      cell.array() += g.middleRows(hs, hs).array() * cells_.middleCols(c - batch, batch).array();
    }
    auto cell_tanh = cells_tanh_.middleCols(c, batch);
    cell_tanh = cell.array().tanh().matrix();
    h.middleCols(c, batch) = (g.bottomRows(hs).array() * cell_tanh.array()).matrix();
  }
}

void Lstm::Backward(const float* params, const ConstMatrixRef& x, const ConstMatrixRef& h,
                    const ConstMatrixRef& dh, float* grads, MatrixRef* dx) {
  const Index hs = hidden_, cols = x.cols(), steps = steps_, batch = cols / steps;
  const GateSlices<const float> w = Weights(params);
  const Index g4 = 4 * hs;
  dgates_.resize(g4, cols);
  carry_h_ = MatrixXf::Zero(hs, batch);
  carry_c_ = MatrixXf::Zero(hs, batch);
  for (Index t = steps; t-- > 0;) {
    const Index c = t * batch;
    const auto g = gates_.middleCols(c, batch);
    const auto i = g.topRows(hs).array();
    const auto f = g.middleRows(hs, hs).array();
    const auto gg = g.middleRows(2 * hs, hs).array();
    const auto o = g.bottomRows(hs).array();
    const auto tc = cells_tanh_.middleCols(c, batch).array();
    const ArrayXXf d = dh.middleCols(c, batch).array() + carry_h_.array();
    const ArrayXXf dc = carry_c_.array() + d * o * (1.0f - tc * tc);
    auto dg = dgates_.middleCols(c, batch);
    dg.topRows(hs) = (dc * gg * i * (1.0f - i)).matrix();
    if (t > 0) {
      dg.middleRows(hs, hs) =
          (dc * cells_.middleCols(c - batch, batch).array() * f * (1.0f - f)).matrix();
    } else {
      dg.middleRows(hs, hs).setZero();  // c_{-1} = 0
    }
    dg.middleRows(2 * hs, hs) = (dc * i * (1.0f - gg * gg)).matrix();
    dg.bottomRows(hs) = (d * tc * o * (1.0f - o)).matrix();
    if (t > 0) {
      carry_c_ = (dc * f).matrix();
      carry_h_.noalias() = w.wh.transpose() * dg;
    }
  }
  // Both biases get the same gradient: they only ever appear summed.
  AddWeightGradients(params, x, h, dgates_, dgates_, batch, grads, dx);
}

}  // namespace edgefl::nn
