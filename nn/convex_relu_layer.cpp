#include "nn/convex_relu_layer.h"

#include "common/error.h"

namespace edgefl::nn {

using Eigen::Index;
using Eigen::Map;
using Eigen::MatrixXf;

ConvexReluLayer::ConvexReluLayer(ConvexReluLayout layout) : layout_(layout) {}

std::string ConvexReluLayer::Describe() const {
  return std::string(layout_.gated ? "gated_relu " : "convex_relu ") +
         std::to_string(layout_.features) + "->" + std::to_string(layout_.classes) + " (" +
         std::to_string(layout_.patterns) + " patterns, " + std::to_string(layout_.duals) +
         " dual blocks)";
}

void ConvexReluLayer::Initialize(Init /*init*/, Rng& rng, float* params) const {
  for (Index i = 0; i < layout_.gates_size(); ++i)
    params[i] = static_cast<float>(rng.Normal());
  std::fill(params + layout_.gates_size(), params + layout_.num_parameters(), 0.0f);
}

void ConvexReluLayer::Forward(const float* params, const ConstMatrixRef& in, MatrixRef out) {
  const Index d = layout_.features;
  const Index a = layout_.augmented();
  const Index p = layout_.patterns;
  const Index batch = in.cols();
  const Map<const MatrixXf> z(params + layout_.z_offset(), layout_.block_rows(), layout_.classes);
  out.setZero();
  if (layout_.gated) {
    const Map<const MatrixXf> gates(params, a, p);
    scratch_.noalias() = gates.topRows(d).transpose() * in;
    scratch_.colwise() += gates.row(d).transpose();
    for (Index c = 0; c < layout_.classes; ++c) {
      for (Index i = 0; i < p; ++i) {
        const auto v = z.col(c).segment(i * a, a);
        const auto w = z.col(c).segment((p + i) * a, a);
        const Eigen::VectorXf u = v - w;
        for (Index b = 0; b < batch; ++b) {
          if (scratch_(i, b) >= 0.0f) out(c, b) += in.col(b).dot(u.head(d)) + u(d);
        }
      }
    }
    return;
  }
  for (Index c = 0; c < layout_.classes; ++c) {
    for (Index j = 0; j < 2 * p; ++j) {
      const auto u = z.col(c).segment(j * a, a);
      const float sign = j < p ? 1.0f : -1.0f;
      const Eigen::RowVectorXf pre = u.head(d).transpose() * in;
      for (Index b = 0; b < batch; ++b) {
        const float h = pre(b) + u(d);
        if (h > 0.0f) out(c, b) += sign * h;
      }
    }
  }
}

void ConvexReluLayer::Backward(const float* /*params*/, const ConstMatrixRef& /*in*/,
                               const ConstMatrixRef& /*out*/, MatrixRef /*dout*/, float* /*grads*/,
                               MatrixRef* /*din*/) {
  throw Error(
      "convex_relu/gated_relu models are solved by ADMM (strategy convex_relu), not trained by "
      "gradient steps");
}

}  // namespace edgefl::nn
