#include "nn/gru.h"

namespace edgefl::nn {

using Eigen::Index;
using Eigen::MatrixXf;

void Gru::Forward(const float* params, const ConstMatrixRef& x, Index steps, MatrixRef h) {
  const Index hs = hidden_, cols = x.cols(), batch = cols / steps;
  const GateSlices<const float> w = Weights(params);
  steps_ = steps;
  gates_.resize(3 * hs, cols);
  hidden_n_.resize(hs, cols);
  // Input-side pre-activations of every step in one product, kept in gates_.
  gates_.noalias() = w.wi * x;
  gates_.colwise() += w.bi;
  for (Index t = 0; t < steps; ++t) {
    const Index c = t * batch;
    auto g = gates_.middleCols(c, batch);
    if (t == 0) {
      gh_ = w.bh.replicate(1, batch);
    } else {
      gh_.noalias() = w.wh * h.middleCols(c - batch, batch);
      gh_.colwise() += w.bh;
    }
    auto r = g.topRows(hs);
    auto z = g.middleRows(hs, hs);
    auto n = g.bottomRows(hs);
    r = (1.0f + (-(r + gh_.topRows(hs))).array().exp()).inverse().matrix();
    z = (1.0f + (-(z + gh_.middleRows(hs, hs))).array().exp()).inverse().matrix();
    hidden_n_.middleCols(c, batch) = gh_.bottomRows(hs);
    n = (n.array() + r.array() * gh_.bottomRows(hs).array()).tanh().matrix();
    auto out = h.middleCols(c, batch);
    if (t == 0) {
      out = ((1.0f - z.array()) * n.array()).matrix();
    } else {
      out = ((1.0f - z.array()) * n.array() + z.array() * h.middleCols(c - batch, batch).array())
                .matrix();
    }
  }
}

void Gru::Backward(const float* params, const ConstMatrixRef& x, const ConstMatrixRef& h,
                   const ConstMatrixRef& dh, float* grads, MatrixRef* dx) {
  const Index hs = hidden_, cols = x.cols(), steps = steps_, batch = cols / steps;
  const GateSlices<const float> w = Weights(params);
  const Index g3 = 3 * hs;
  dgi_.resize(g3, cols);
  dgh_.resize(g3, cols);
  carry_ = MatrixXf::Zero(hs, batch);
  for (Index t = steps; t-- > 0;) {
    const Index c = t * batch;
    const auto g = gates_.middleCols(c, batch);
    const auto r = g.topRows(hs).array();
    const auto z = g.middleRows(hs, hs).array();
    const auto n = g.bottomRows(hs).array();
    const Eigen::ArrayXXf d = dh.middleCols(c, batch).array() + carry_.array();
    const Eigen::ArrayXXf dan = d * (1.0f - z) * (1.0f - n * n);
    auto dgi = dgi_.middleCols(c, batch);
    auto dgh = dgh_.middleCols(c, batch);
    dgi.topRows(hs) = (dan * hidden_n_.middleCols(c, batch).array() * r * (1.0f - r)).matrix();
    if (t > 0) {
      dgi.middleRows(hs, hs) =
          (d * (h.middleCols(c - batch, batch).array() - n) * z * (1.0f - z)).matrix();
    } else {
      dgi.middleRows(hs, hs) = (d * (-n) * z * (1.0f - z)).matrix();
    }
    dgi.bottomRows(hs) = dan.matrix();
    dgh.topRows(2 * hs) = dgi.topRows(2 * hs);
    dgh.bottomRows(hs) = (dan * r).matrix();
    if (t > 0) {
      carry_ = (d * z).matrix();
      carry_.noalias() += w.wh.transpose() * dgh;
    }
  }
  AddWeightGradients(params, x, h, dgi_, dgh_, batch, grads, dx);
}

}  // namespace edgefl::nn
