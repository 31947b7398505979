#include "nn/embedding.h"

namespace edgefl::nn {

using Eigen::Map;
using Eigen::MatrixXf;

void Embedding::Initialize(Rng& rng, float* params) const {
  for (Eigen::Index i = 0; i < num_parameters(); ++i) {
    params[i] = static_cast<float>(rng.Normal());
  }
}

void Embedding::Forward(const float* params, std::span<const int32_t> ids, MatrixRef out) const {
  Map<const MatrixXf> table(params, dim_, vocab_);
  for (size_t j = 0; j < ids.size(); ++j) {
    out.col(static_cast<Eigen::Index>(j)) = table.col(ids[j]);
  }
}

void Embedding::Backward(std::span<const int32_t> ids, const ConstMatrixRef& dout,
                         float* grads) const {
  Map<MatrixXf> dtable(grads, dim_, vocab_);
  for (size_t j = 0; j < ids.size(); ++j) {
    dtable.col(ids[j]) += dout.col(static_cast<Eigen::Index>(j));
  }
}

}  // namespace edgefl::nn
