#include "nn/relu.h"

namespace edgefl::nn {

void ReluInPlace(MatrixRef x) {
  x = x.cwiseMax(0.0f);
}

void ReluMaskInPlace(const ConstMatrixRef& out, MatrixRef d) {
  d = (out.array() > 0.0f).select(d, 0.0f);
}

std::string Relu::Describe() const {
  return "relu " + std::to_string(size_);
}

void Relu::Forward(const float* /*params*/, const ConstMatrixRef& in, MatrixRef out) {
  out = in.cwiseMax(0.0f);
}

void Relu::Backward(const float* /*params*/, const ConstMatrixRef& /*in*/,
                    const ConstMatrixRef& out, MatrixRef dout, float* /*grads*/, MatrixRef* din) {
  if (din == nullptr) return;
  *din = (out.array() > 0.0f).select(dout, 0.0f);
}

}  // namespace edgefl::nn
