#include "nn/dense.h"

#include "nn/relu.h"

namespace edgefl::nn {

using Eigen::Map;
using Eigen::MatrixXf;
using Eigen::VectorXf;

Dense::Dense(Eigen::Index in, Eigen::Index out, bool relu) : in_(in), out_(out), relu_(relu) {}

std::string Dense::Describe() const {
  return "dense " + std::to_string(in_) + "->" + std::to_string(out_) + (relu_ ? " +relu" : "");
}

void Dense::Initialize(Init init, Rng& rng, float* params) const {
  FillUniform(rng, InitBound(init, in_, out_), params, out_ * in_);
  Map<VectorXf>(params + out_ * in_, out_).setZero();
}

void Dense::Forward(const float* params, const ConstMatrixRef& in, MatrixRef out) {
  Map<const MatrixXf> w(params, out_, in_);
  Map<const VectorXf> b(params + out_ * in_, out_);
  MultiplyInto(w, in, out, Accumulate::kOverwrite);
  if (relu_) {
    out = (out.colwise() + b).cwiseMax(0.0f);
  } else {
    out.colwise() += b;
  }
}

void Dense::Backward(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& out,
                     MatrixRef dout, float* grads, MatrixRef* din) {
  Backward(params, in, out, dout, grads, din, Accumulate::kAdd);
}

void Dense::BackwardOverwrite(const float* params, const ConstMatrixRef& in,
                              const ConstMatrixRef& out, MatrixRef dout, float* grads,
                              MatrixRef* din) {
  Backward(params, in, out, dout, grads, din, Accumulate::kOverwrite);
}

void Dense::Backward(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& out,
                     MatrixRef dout, float* grads, MatrixRef* din, Accumulate accumulate) {
  if (relu_) ReluMaskInPlace(out, dout);
  if (grads != nullptr) {
    Map<MatrixXf> dw(grads, out_, in_);
    Map<VectorXf> db(grads + out_ * in_, out_);
    MultiplyTransposedInto(dout, in, dw, accumulate);
    if (accumulate == Accumulate::kAdd) {
      db += dout.rowwise().sum();
    } else {
      db = dout.rowwise().sum();
    }
  }
  if (din != nullptr) {
    Map<const MatrixXf> w(params, out_, in_);
    TransposedMultiplyInto(w, dout, *din, Accumulate::kOverwrite, &transposed_weights_);
  }
}

}  // namespace edgefl::nn
