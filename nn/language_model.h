// A next-token language model on a slice of the flat parameter vector, the
// form nn::Model takes for the "rnn:" specs (model_spec.h).
//
// A batch is B windows of T + 1 token ids, one per COLUMN of a (T+1) x B
// float matrix (the ids as floats, as datasets/text_corpus.h stores them):
// the model reads tokens 0..T-1 of each window and predicts tokens 1..T.
// Logits are V x T·B, time-major: column t * B + b scores token t + 1 of
// window b, so the last position's logits are the last B columns.
#pragma once

#include <cstdint>
#include <memory>

#include <Eigen/Core>

#include "nn/layer.h"
#include "nn/model_spec.h"

namespace edgefl::nn {

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;

  virtual Eigen::Index num_parameters() const = 0;
  virtual int seq_len() const = 0;     // T
  virtual int vocab_size() const = 0;  // V
  // E.g. "embedding 96x32, gru 32->128 x2, dense 128->96".
  virtual std::string Describe() const = 0;

  // Deterministic initialisation from `seed`, each part from its own
  // Rng::Derive stream.
  virtual void Initialize(uint64_t seed, float* params) const = 0;

  // The logits of every position (V x T·B, valid until the next Forward).
  // Throws DataError if an id is not an integer in [0, V), ConfigError if
  // windows.rows() != T + 1.
  virtual const Eigen::MatrixXf& Forward(const float* params, const ConstMatrixRef& windows) = 0;

  // Backpropagates dlogits (V x T·B) through the last Forward, ADDING
  // dL/dparams to grads.
  virtual void Backward(const float* params, const ConstMatrixRef& dlogits, float* grads) = 0;

  // Windows per Forward/Backward pass when a batch is trained
  // (Model::LossAndGradient): a model whose activations outgrow the cache
  // at full batch asks for smaller passes, their gradients summed. The
  // windows are independent, so the gradient is the same up to rounding.
  // 0 = the whole batch in one pass.
  virtual Eigen::Index windows_per_pass() const { return 0; }
};

// The model of an "rnn:" spec. REQUIRES: IsLanguageModel(spec.kind).
std::unique_ptr<LanguageModel> MakeLanguageModel(const ModelSpec& spec);

// Mean next-token cross-entropy of `logits` (V x T·B, time-major) against
// the targets windows(t + 1, b), over all T·B positions. If dlogits is not
// null it receives (softmax − onehot) / (T·B). If per_window is not null,
// (*per_window)(b) is the mean over t of window b's losses. If correct is
// not null it receives the number of positions whose arg-max (first on
// ties) is the target.
double SequenceCrossEntropy(const ConstMatrixRef& logits, const ConstMatrixRef& windows,
                            Eigen::MatrixXf* dlogits, Eigen::VectorXd* per_window,
                            int64_t* correct);

}  // namespace edgefl::nn
