// Model spec strings: the architecture as it travels between coordinator and
// clients.
//
//   mlp:D0-D1-...-Dn   dense layers D0->D1->...->Dn with ReLU between them
//                      (n >= 1; D0 input features, Dn classes)
//   logreg:D-K         multinomial logistic regression (one dense layer)
//   cnn:lenet          LeNet-5 for 1x28x28 inputs, 10 classes
//                      (alias cnn:lenet5)
//   convex_relu:D-P-C[-K]  the convex program of a two-layer ReLU network
//                      over P sampled activation patterns, D features, C
//                      classes (one-vs-all), K client dual blocks (default
//                      0); cone-constrained, predicts with the recovered
//                      ReLU network (nn/convex_relu_layer.h)
//   gated_relu:D-P-C[-K]   the same, unconstrained (gated ReLU, the sampled
//                      convex program), predicts with the gates
//
//   rnn:gru-H[xL][-eE][-tT][-vV]   a character language model
//   rnn:lstm-H[xL][-eE][-tT][-vV]  (nn/char_rnn.h): an embedding of E
//                      dimensions (default 32), L stacked GRU or LSTM
//                      layers of H units
//                      (default 1), a softmax head over V tokens (default
//                      96, the data's vocabulary size, id 0 unknown), on
//                      windows of T + 1 tokens (default T = 64: the data's
//                      seq_len). Its input is a window (T + 1 features),
//                      its classes the V tokens (nn/language_model.h).
//   lm:transformer-dD-hA-lL[-tT][-vV]   a small causal transformer
//                      (nn/transformer_lm.h): width D, A heads (A divides
//                      D), L pre-norm blocks, learned positions, the same
//                      windows and vocabulary as rnn (defaults T 64, V 96).
//
// Any of them but rnn and lm may end in "+proj": the model then also carries a projection
// head P on its features (the input of the last layer, dimension d): an MLP
// d -> 2d -> 2d -> d with ReLU after the first two layers, as FedBR's
// authors' code builds it (networks.MLP with mlp_width = 2d). P is part of
// the flat parameter vector, so it travels and is aggregated with the
// model, but Forward, Backward and predictions never use it; an objective
// reads and writes it (algorithms/fedbr_objective.h). Needs at least two
// layers (a feature extractor).
//
// Widths are decimal integers in [1, 2^24].
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace edgefl::nn {

enum class ModelKind { kMlp, kLogReg, kLeNet, kConvexRelu, kGatedRelu, kGru, kLstm, kTransformer };

// True for the next-token models (rnn:, lm:), which nn::Model runs through
// nn/language_model.h instead of its layers.
bool IsLanguageModel(ModelKind kind);

// The sizes of a language model spec (zero for the other kinds).
struct LanguageModelShape {
  int vocab = 0;      // V: output classes, input ids in [0, V)
  int seq_len = 0;    // T: tokens read per window
  int embedding = 0;  // E
  int hidden = 0;     // H
  int layers = 0;     // L
  int heads = 0;      // transformer: attention heads (H above is its width d)
};

struct ModelSpec {
  std::string text;  // the spec as given
  ModelKind kind = ModelKind::kMlp;
  // mlp/logreg: D0..Dn; lenet: {784, 10}; convex_relu/gated_relu: {D, P, C, K};
  // rnn: {T + 1, V}.
  std::vector<int> widths;
  LanguageModelShape language_model;  // rnn and lm only
  bool projection_head = false;       // "+proj"
};

// The features a model of `spec` takes and the classes it predicts, without
// building it (mlp/logreg: D0 and Dn; lenet: 784 and 10; convex_relu and
// gated_relu: D and C; rnn: T + 1 and V).
int InputDim(const ModelSpec& spec);
int NumClasses(const ModelSpec& spec);

// Parses `spec`. Throws ConfigError naming the spec and what is wrong
// ("model spec \"mlp:784-\": empty layer width at position 5").
ModelSpec ParseModelSpec(std::string_view spec);

}  // namespace edgefl::nn
