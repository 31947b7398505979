#include "nn/char_rnn.h"

#include <string>

#include "common/error.h"
#include "nn/gru.h"
#include "nn/lstm.h"

namespace edgefl::nn {

using Eigen::Index;
using Eigen::Map;
using Eigen::MatrixXf;
using Eigen::VectorXf;

CharRnn::CharRnn(RnnCell cell, int vocab, int seq_len, int embedding_dim, int hidden, int layers)
    : cell_(cell),
      vocab_(vocab),
      seq_len_(seq_len),
      hidden_(hidden),
      embedding_(vocab, embedding_dim) {
  Index offset = embedding_.num_parameters();
  for (int l = 0; l < layers; ++l) {
    const Index in = l == 0 ? embedding_dim : hidden;
    if (cell == RnnCell::kLstm) {
      layers_.push_back(std::make_unique<Lstm>(in, hidden));
    } else {
      layers_.push_back(std::make_unique<Gru>(in, hidden));
    }
    layer_offsets_.push_back(offset);
    offset += layers_.back()->num_parameters();
  }
  head_offset_ = offset;
  total_ = offset + Index{vocab} * hidden + vocab;
  states_.resize(layers_.size());
}

std::string CharRnn::Describe() const {
  return "embedding " + std::to_string(vocab_) + "x" + std::to_string(embedding_.dim()) +
         (cell_ == RnnCell::kLstm ? ", lstm " : ", gru ") + std::to_string(embedding_.dim()) +
         "->" + std::to_string(hidden_) + " x" + std::to_string(layers_.size()) + ", dense " +
         std::to_string(hidden_) + "->" + std::to_string(vocab_) + ", T " +
         std::to_string(seq_len_);
}

void CharRnn::Initialize(uint64_t seed, float* params) const {
  Rng embedding_rng = Rng::Derive(seed, {kInitStream, 0});
  embedding_.Initialize(embedding_rng, params);
  for (size_t l = 0; l < layers_.size(); ++l) {
    Rng rng = Rng::Derive(seed, {kInitStream, l + 1});
    layers_[l]->Initialize(rng, params + layer_offsets_[l]);
  }
  Rng head_rng = Rng::Derive(seed, {kInitStream, layers_.size() + 1});
  const Index w = Index{vocab_} * hidden_;
  FillUniform(head_rng, InitBound(Init::kXavierUniform, hidden_, vocab_), params + head_offset_, w);
  Map<VectorXf>(params + head_offset_ + w, vocab_).setZero();
}

const MatrixXf& CharRnn::Forward(const float* params, const ConstMatrixRef& windows) {
  if (windows.rows() != seq_len_ + 1) {
    throw ConfigError("language model (" + Describe() + ") expects windows of " +
                      std::to_string(seq_len_ + 1) + " tokens, got " +
                      std::to_string(windows.rows()));
  }
  const Index batch = windows.cols(), cols = Index{seq_len_} * batch;
  ids_.resize(static_cast<size_t>(cols));
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
    }
  }
  embedded_.resize(embedding_.dim(), cols);
  embedding_.Forward(params, ids_, embedded_);
  for (size_t l = 0; l < layers_.size(); ++l) {
    states_[l].resize(hidden_, cols);
    layers_[l]->Forward(params + layer_offsets_[l], l == 0 ? embedded_ : states_[l - 1], seq_len_,
                        states_[l]);
  }
  Map<const MatrixXf> w(params + head_offset_, vocab_, hidden_);
  Map<const VectorXf> bias(params + head_offset_ + Index{vocab_} * hidden_, vocab_);
  logits_.resize(vocab_, cols);
  logits_.noalias() = w * states_.back();
  logits_.colwise() += bias;
  return logits_;
}

void CharRnn::Backward(const float* params, const ConstMatrixRef& dlogits, float* grads) {
  Map<const MatrixXf> w(params + head_offset_, vocab_, hidden_);
  Map<MatrixXf> dw(grads + head_offset_, vocab_, hidden_);
  Map<VectorXf> dbias(grads + head_offset_ + Index{vocab_} * hidden_, vocab_);
  dw.noalias() += dlogits * states_.back().transpose();
  dbias += dlogits.rowwise().sum();
  dh_.noalias() = w.transpose() * dlogits;
  for (size_t l = layers_.size(); l-- > 0;) {
    const MatrixXf& in = l == 0 ? embedded_ : states_[l - 1];
    dx_.resize(in.rows(), in.cols());
    MatrixRef dx = dx_;
    layers_[l]->Backward(params + layer_offsets_[l], in, states_[l], dh_, grads + layer_offsets_[l],
                         &dx);
    std::swap(dh_, dx_);
  }
  embedding_.Backward(ids_, dh_, grads);
}

}  // namespace edgefl::nn
