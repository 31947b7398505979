// The small causal transformer of "lm:transformer-dD-hA-lL" (model_spec.h),
// GPT-2's pre-norm layout (Radford et al. 2019) at toy size:
//   x_0 = E[token] + P[position]                       (learned positions)
//   for each of the L blocks:
//     x = x + W_o Attn(W_qkv LN_1(x) + b_qkv) + b_o   (causal, A heads)
//     x = x + W_2 GELU(W_1 LN_2(x) + b_1) + b_2       (MLP of width 4d)
//   logits = W_out LN_f(x) + b_out
// GELU is the tanh approximation (as GPT-2). No dropout.
//
// Parameter layout: E (d x V), P (d x T); per block LN_1 (γ, β), W_qkv
// (3d x d), b_qkv (3d), W_o (d x d), b_o (d), LN_2 (γ, β), W_1 (4d x d),
// b_1 (4d), W_2 (d x 4d), b_2 (d); LN_f (γ, β); W_out (V x d), b_out (V);
// matrices column-major. Initialised as GPT-2: weights N(0, 0.02²), W_o and
// W_2 N(0, (0.02 / sqrt(2L))²), biases 0, LN γ = 1, β = 0.
#pragma once

#include <vector>

#include "nn/causal_self_attention.h"
#include "nn/language_model.h"
#include "nn/layer_norm.h"

namespace edgefl::nn {

class TransformerLm final : public LanguageModel {
 public:
  // REQUIRES: all sizes > 0, heads divides dim.
  TransformerLm(int vocab, int seq_len, int dim, int heads, int layers);

  Eigen::Index num_parameters() const override { return total_; }
  int seq_len() const override { return seq_len_; }
  int vocab_size() const override { return vocab_; }
  std::string Describe() const override;
  void Initialize(uint64_t seed, float* params) const override;
  const Eigen::MatrixXf& Forward(const float* params, const ConstMatrixRef& windows) override;
  void Backward(const float* params, const ConstMatrixRef& dlogits, float* grads) override;
  // Passes of about 2^16 / dim tokens (512 at d = 128): a 2,048-token batch
  // trained in passes of 512 ran ~14 % faster on a 2-core AVX2 host with
  // 512 KB of L2 a core (BENCHMARKS.md, issue 22).
  Eigen::Index windows_per_pass() const override;

 private:
  // One block's offsets in the parameter vector and its activations.
  struct Block {
    Eigen::Index ln1, wqkv, bqkv, wo, bo, ln2, w1, b1, w2, b2;
    LayerNorm norm1, norm2;
    CausalSelfAttention attention;
    Eigen::MatrixXf in, h1, qkv, att, mid, h2, u, g;  // activations of the last Forward
  };

  int vocab_, seq_len_, dim_, heads_;
  std::vector<Block> blocks_;
  Eigen::Index positions_offset_ = 0, final_norm_offset_ = 0, head_offset_ = 0, total_ = 0;
  LayerNorm final_norm_;

  std::vector<int32_t> ids_;  // T·B, time-major
  Eigen::MatrixXf out_, hf_, logits_;
  Eigen::MatrixXf dx_, dtmp_, dh_, dqkv_, datt_, dg_;  // backward scratch
};

}  // namespace edgefl::nn
