// A lookup table of token vectors: out.col(j) = E.col(ids[j]).
//
// Parameter slice layout: E (dim x vocab, column-major: token v's vector at
// v * dim). Initialised N(0, 1), as torch.nn.Embedding.
#pragma once

#include <cstdint>
#include <span>

#include "common/random.h"
#include "nn/layer.h"

namespace edgefl::nn {

class Embedding {
 public:
  // REQUIRES: vocab > 0, dim > 0.
  Embedding(Eigen::Index vocab, Eigen::Index dim) : vocab_(vocab), dim_(dim) {}

  Eigen::Index vocab() const { return vocab_; }
  Eigen::Index dim() const { return dim_; }
  Eigen::Index num_parameters() const { return vocab_ * dim_; }
  void Initialize(Rng& rng, float* params) const;

  // out (dim x ids.size()) = the vectors of ids. REQUIRES: ids in [0, vocab).
  void Forward(const float* params, std::span<const int32_t> ids, MatrixRef out) const;
  // ADDS dL/dE to grads: grads.col(ids[j]) += dout.col(j).
  void Backward(std::span<const int32_t> ids, const ConstMatrixRef& dout, float* grads) const;

 private:
  Eigen::Index vocab_;
  Eigen::Index dim_;
};

}  // namespace edgefl::nn
