// The recurrent character model of "rnn:gru-H[xL]" and "rnn:lstm-H[xL]"
// (model_spec.h): a token embedding (V x E), L stacked GRU (gru.h) or LSTM
// (lstm.h) layers (the first E -> H, the others H -> H) and a dense head
// H -> V applied at every position; trained by backpropagation through time
// over the T steps of a window.
//
// Parameter layout: the embedding, then each recurrent layer's slice, then the
// head's W (V x H, column-major) and b (V). The head starts Xavier-uniform
// with zero bias.
#pragma once

#include <memory>
#include <vector>

#include "nn/embedding.h"
#include "nn/language_model.h"
#include "nn/recurrent_layer.h"

namespace edgefl::nn {

// The recurrent cell of every layer.
enum class RnnCell { kGru, kLstm };

class CharRnn final : public LanguageModel {
 public:
  // REQUIRES: all sizes > 0.
  CharRnn(RnnCell cell, int vocab, int seq_len, int embedding_dim, int hidden, int layers);

  Eigen::Index num_parameters() const override { return total_; }
  int seq_len() const override { return seq_len_; }
  int vocab_size() const override { return vocab_; }
  std::string Describe() const override;
  void Initialize(uint64_t seed, float* params) const override;
  const Eigen::MatrixXf& Forward(const float* params, const ConstMatrixRef& windows) override;
  void Backward(const float* params, const ConstMatrixRef& dlogits, float* grads) override;

 private:
  RnnCell cell_;
  int vocab_, seq_len_, hidden_;
  Embedding embedding_;
  std::vector<std::unique_ptr<RecurrentLayer>> layers_;
  std::vector<Eigen::Index> layer_offsets_;
  Eigen::Index head_offset_ = 0, total_ = 0;

  std::vector<int32_t> ids_;             // T·B input ids, time-major
  Eigen::MatrixXf embedded_;             // E x T·B
  std::vector<Eigen::MatrixXf> states_;  // per layer, H x T·B
  Eigen::MatrixXf logits_;               // V x T·B
  Eigen::MatrixXf dh_, dx_;              // backward scratch
};

}  // namespace edgefl::nn
