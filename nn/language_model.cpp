#include "nn/language_model.h"

#include <cmath>
#include <string>

#include "common/error.h"
#include "nn/char_rnn.h"
#include "nn/transformer_lm.h"

namespace edgefl::nn {

std::unique_ptr<LanguageModel> MakeLanguageModel(const ModelSpec& spec) {
  const LanguageModelShape& s = spec.language_model;
  switch (spec.kind) {
    case ModelKind::kGru:
      return std::make_unique<CharRnn>(RnnCell::kGru, s.vocab, s.seq_len, s.embedding, s.hidden,
                                       s.layers);
    case ModelKind::kLstm:
      return std::make_unique<CharRnn>(RnnCell::kLstm, s.vocab, s.seq_len, s.embedding, s.hidden,
                                       s.layers);
    case ModelKind::kTransformer:
      return std::make_unique<TransformerLm>(s.vocab, s.seq_len, s.hidden, s.heads, s.layers);
    default:
      throw ConfigError("model spec \"" + spec.text + "\" is not a language model");
  }
}

double SequenceCrossEntropy(const ConstMatrixRef& logits, const ConstMatrixRef& windows,
                            Eigen::MatrixXf* dlogits, Eigen::VectorXd* per_window,
                            int64_t* correct) {
  const Eigen::Index vocab = logits.rows(), batch = windows.cols(), steps = windows.rows() - 1;
  if (steps < 1 || logits.cols() != steps * batch) {
    throw ConfigError("sequence cross-entropy: " + std::to_string(logits.cols()) +
                      " logit columns for " + std::to_string(batch) + " windows of " +
                      std::to_string(windows.rows()) + " tokens");
  }
  if (dlogits != nullptr) dlogits->resize(vocab, logits.cols());
  if (per_window != nullptr) per_window->setZero(batch);
  if (correct != nullptr) *correct = 0;
  if (batch == 0) return 0.0;
  const float inv = 1.0f / static_cast<float>(steps * batch);
  double total = 0.0;
  for (Eigen::Index t = 0; t < steps; ++t) {
    for (Eigen::Index b = 0; b < batch; ++b) {
      const Eigen::Index c = t * batch + b;
      const float target_value = windows(t + 1, b);
      const auto target = static_cast<Eigen::Index>(target_value);
      if (!(target_value >= 0.0f) || target >= vocab ||
          static_cast<float>(target) != target_value) {
        throw DataError("sequence cross-entropy: target " + std::to_string(target_value) +
                        " at position " + std::to_string(t + 1) + " of window " +
                        std::to_string(b) + " is not an id in [0, " + std::to_string(vocab) + ")");
      }
      const auto z = logits.col(c);
      Eigen::Index arg = 0;
      const float max = z.maxCoeff(&arg);
      float sum;
      if (dlogits != nullptr) {
        auto d = dlogits->col(c);
        d = (z.array() - max).exp();
        sum = d.sum();
        d *= inv / sum;
        d(target) -= inv;
      } else {
        sum = (z.array() - max).exp().sum();
      }
      const double loss = static_cast<double>(max) + std::log(static_cast<double>(sum)) - z(target);
      total += loss;
      if (per_window != nullptr) (*per_window)(b) += loss / static_cast<double>(steps);
      if (correct != nullptr && arg == target) ++*correct;
    }
  }
  return total / static_cast<double>(steps * batch);
}

}  // namespace edgefl::nn
