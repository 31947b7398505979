// Multi-head causal self-attention (Vaswani et al. 2017, with GPT's causal
// mask) on time-major sequence batches: column t * B + b is step t of
// sequence b. Parameter-free: the projections around it live in the
// transformer block (nn/transformer_lm.h).
//
// Given qkv (3d x T·B: rows [0, d) the queries, [d, 2d) the keys, [2d, 3d)
// the values) and A heads of width dh = d / A, head h of sequence b
// computes S = Q_hᵀ K_h / sqrt(dh) (T x T), masks S(i, j) for j > i,
// P = row-wise softmax(S), and writes O_h = V_h Pᵀ (dh x T) into rows
// [h dh, (h+1) dh) of the output (d x T·B). Keeps every P for Backward.
#pragma once

#include <vector>

#include "nn/layer.h"

namespace edgefl::nn {

class CausalSelfAttention {
 public:
  // REQUIRES: heads divides dim.
  CausalSelfAttention(Eigen::Index dim, Eigen::Index heads) : dim_(dim), heads_(heads) {}

  // out is resized to d x T·B.
  void Forward(const Eigen::MatrixXf& qkv, Eigen::Index steps, Eigen::MatrixXf* out);
  // Given qkv of the last Forward and dout, SETS dqkv (resized to 3d x T·B).
  void Backward(const Eigen::MatrixXf& qkv, const Eigen::MatrixXf& dout, Eigen::MatrixXf* dqkv);

 private:
  Eigen::Index dim_, heads_, steps_ = 0;
  std::vector<Eigen::MatrixXf> probabilities_;  // per (sequence, head): T x T
};

}  // namespace edgefl::nn
