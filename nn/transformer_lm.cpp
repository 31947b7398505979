#include "nn/transformer_lm.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"

namespace edgefl::nn {

using Eigen::Index;
using Eigen::Map;
using Eigen::MatrixXf;
using Eigen::VectorXf;

namespace {

constexpr float kGeluC = 0.7978845608f;  // sqrt(2 / pi)

void FillNormal(Rng& rng, float stddev, float* values, Index n) {
  for (Index i = 0; i < n; ++i)
    values[i] = static_cast<float>(stddev * rng.Normal());
}

// y = W x + b for W (rows x cols) at params + w, b at params + b.
void Affine(const float* params, Index w, Index b, Index rows, Index cols, const MatrixXf& x,
            MatrixXf* y) {
  y->resize(rows, x.cols());
  y->noalias() = Map<const MatrixXf>(params + w, rows, cols) * x;
  y->colwise() += Map<const VectorXf>(params + b, rows);
}

// Adds dW = dy xᵀ and db = Σ dy to grads; SETS dx = Wᵀ dy if dx is not null.
void AffineBackward(const float* params, Index w, Index b, Index rows, Index cols,
                    const MatrixXf& x, const MatrixXf& dy, float* grads, MatrixXf* dx) {
  Map<MatrixXf>(grads + w, rows, cols).noalias() += dy * x.transpose();
  Map<VectorXf>(grads + b, rows) += dy.rowwise().sum();
  if (dx != nullptr) {
    dx->resize(cols, dy.cols());
    dx->noalias() = Map<const MatrixXf>(params + w, rows, cols).transpose() * dy;
  }
}

}  // namespace

TransformerLm::TransformerLm(int vocab, int seq_len, int dim, int heads, int layers)
    : vocab_(vocab), seq_len_(seq_len), dim_(dim), heads_(heads), final_norm_(dim) {
  const Index d = dim;
  Index offset = d * vocab;
  positions_offset_ = offset;
  offset += d * seq_len;
  for (int l = 0; l < layers; ++l) {
    Block b{.ln1 = offset,
            .wqkv = offset + 2 * d,
            .bqkv = offset + 2 * d + 3 * d * d,
            .wo = offset + 5 * d + 3 * d * d,
            .bo = offset + 5 * d + 4 * d * d,
            .ln2 = offset + 6 * d + 4 * d * d,
            .w1 = offset + 8 * d + 4 * d * d,
            .b1 = offset + 8 * d + 8 * d * d,
            .w2 = offset + 12 * d + 8 * d * d,
            .b2 = offset + 12 * d + 12 * d * d,
            .norm1 = LayerNorm(d),
            .norm2 = LayerNorm(d),
            .attention = CausalSelfAttention(d, heads),
            .in = {},
            .h1 = {},
            .qkv = {},
            .att = {},
            .mid = {},
            .h2 = {},
            .u = {},
            .g = {}};
    blocks_.push_back(std::move(b));
    offset += 13 * d + 12 * d * d;
  }
  final_norm_offset_ = offset;
  offset += 2 * d;
  head_offset_ = offset;
  total_ = offset + Index{vocab} * d + vocab;
}

std::string TransformerLm::Describe() const {
  return "transformer d" + std::to_string(dim_) + " h" + std::to_string(heads_) + " l" +
         std::to_string(blocks_.size()) + ", V " + std::to_string(vocab_) + ", T " +
         std::to_string(seq_len_);
}

void TransformerLm::Initialize(uint64_t seed, float* params) const {
  const Index d = dim_;
  Rng rng = Rng::Derive(seed, {kInitStream, 0});
  FillNormal(rng, 0.02f, params, d * vocab_ + d * seq_len_);  // E, P
  const float residual = 0.02f / std::sqrt(2.0f * static_cast<float>(blocks_.size()));
  for (size_t l = 0; l < blocks_.size(); ++l) {
    const Block& b = blocks_[l];
    Rng block_rng = Rng::Derive(seed, {kInitStream, l + 1});
    b.norm1.Initialize(params + b.ln1);
    b.norm2.Initialize(params + b.ln2);
    FillNormal(block_rng, 0.02f, params + b.wqkv, 3 * d * d);
    Map<VectorXf>(params + b.bqkv, 3 * d).setZero();
    FillNormal(block_rng, residual, params + b.wo, d * d);
    Map<VectorXf>(params + b.bo, d).setZero();
    FillNormal(block_rng, 0.02f, params + b.w1, 4 * d * d);
    Map<VectorXf>(params + b.b1, 4 * d).setZero();
    FillNormal(block_rng, residual, params + b.w2, 4 * d * d);
    Map<VectorXf>(params + b.b2, d).setZero();
  }
  final_norm_.Initialize(params + final_norm_offset_);
  Rng head_rng = Rng::Derive(seed, {kInitStream, blocks_.size() + 1});
  FillNormal(head_rng, 0.02f, params + head_offset_, Index{vocab_} * d);
  Map<VectorXf>(params + head_offset_ + Index{vocab_} * d, vocab_).setZero();
}

Index TransformerLm::windows_per_pass() const {
  constexpr Index kPassFloats = Index{1} << 16;  // one d-wide activation of a pass
  return std::max<Index>(1, kPassFloats / (Index{dim_} * seq_len_));
}

const MatrixXf& TransformerLm::Forward(const float* params, const ConstMatrixRef& windows) {
  if (windows.rows() != seq_len_ + 1) {
    throw ConfigError("language model (" + Describe() + ") expects windows of " +
                      std::to_string(seq_len_ + 1) + " tokens, got " +
                      std::to_string(windows.rows()));
  }
  const Index d = dim_, batch = windows.cols(), cols = Index{seq_len_} * batch;
  ids_.resize(static_cast<size_t>(cols));
  out_.resize(d, cols);
  Map<const MatrixXf> table(params, d, vocab_), positions(params + positions_offset_, d, seq_len_);
  for (Index t = 0; t < seq_len_; ++t) {
    for (Index b = 0; b < batch; ++b) {
      const float v = windows(t, b);
      const auto id = static_cast<int32_t>(v);
      if (!(v >= 0.0f && v < static_cast<float>(vocab_)) || static_cast<float>(id) != v) {
        throw DataError("language model: token " + std::to_string(v) + " at position " +
                        std::to_string(t) + " of window " + std::to_string(b) +
                        " is not an id in [0, " + std::to_string(vocab_) + ")");
      }
      ids_[static_cast<size_t>(t * batch + b)] = id;
      out_.col(t * batch + b) = table.col(id) + positions.col(t);
    }
  }
  for (Block& b : blocks_) {
    b.in = out_;
    b.h1.resize(d, cols);
    b.norm1.Forward(params + b.ln1, b.in, b.h1);
    Affine(params, b.wqkv, b.bqkv, 3 * d, d, b.h1, &b.qkv);
    b.attention.Forward(b.qkv, seq_len_, &b.att);
    Affine(params, b.wo, b.bo, d, d, b.att, &b.mid);
    b.mid += b.in;
    b.h2.resize(d, cols);
    b.norm2.Forward(params + b.ln2, b.mid, b.h2);
    Affine(params, b.w1, b.b1, 4 * d, d, b.h2, &b.u);
    const auto u = b.u.array();
    b.g = (0.5f * u * (1.0f + (kGeluC * (u + 0.044715f * u.cube())).tanh())).matrix();
    Affine(params, b.w2, b.b2, d, 4 * d, b.g, &out_);
    out_ += b.mid;
  }
  hf_.resize(d, cols);
  final_norm_.Forward(params + final_norm_offset_, out_, hf_);
  Affine(params, head_offset_, head_offset_ + Index{vocab_} * d, vocab_, d, hf_, &logits_);
  return logits_;
}

void TransformerLm::Backward(const float* params, const ConstMatrixRef& dlogits, float* grads) {
  const Index d = dim_, cols = dlogits.cols();
  const MatrixXf dl = dlogits;
  AffineBackward(params, head_offset_, head_offset_ + Index{vocab_} * d, vocab_, d, hf_, dl, grads,
                 &dh_);
  dx_.resize(d, cols);
  final_norm_.Backward(params + final_norm_offset_, dh_, grads + final_norm_offset_, dx_);
  for (size_t l = blocks_.size(); l-- > 0;) {
    Block& b = blocks_[l];
    // x_out = mid + W_2 g + b_2: dx_ flows to mid unchanged.
    AffineBackward(params, b.w2, b.b2, d, 4 * d, b.g, dx_, grads, &dg_);
    const auto u = b.u.array();
    const Eigen::ArrayXXf th = (kGeluC * (u + 0.044715f * u.cube())).tanh();
    dg_ = (dg_.array() * (0.5f * (1.0f + th) +
                          0.5f * u * (1.0f - th * th) * kGeluC * (1.0f + 3.0f * 0.044715f * u * u)))
              .matrix();
    AffineBackward(params, b.w1, b.b1, 4 * d, d, b.h2, dg_, grads, &dh_);
    dtmp_.resize(d, cols);
    b.norm2.Backward(params + b.ln2, dh_, grads + b.ln2, dtmp_);
    dx_ += dtmp_;  // dL/dmid
    // mid = in + W_o att + b_o.
    AffineBackward(params, b.wo, b.bo, d, d, b.att, dx_, grads, &datt_);
    b.attention.Backward(b.qkv, datt_, &dqkv_);
    AffineBackward(params, b.wqkv, b.bqkv, 3 * d, d, b.h1, dqkv_, grads, &dh_);
    b.norm1.Backward(params + b.ln1, dh_, grads + b.ln1, dtmp_);
    dx_ += dtmp_;  // dL/din
  }
  Map<MatrixXf> dtable(grads, d, vocab_), dpositions(grads + positions_offset_, d, seq_len_);
  const Index batch = cols / seq_len_;
  for (Index t = 0; t < seq_len_; ++t) {
    for (Index b = 0; b < batch; ++b) {
      const Index c = t * batch + b;
      dtable.col(ids_[static_cast<size_t>(c)]) += dx_.col(c);
      dpositions.col(t) += dx_.col(c);
    }
  }
}

}  // namespace edgefl::nn
