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
// Any of them may end in "+proj": the model then also carries a projection
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

enum class ModelKind { kMlp, kLogReg, kLeNet, kConvexRelu, kGatedRelu };

struct ModelSpec {
  std::string text;  // the spec as given
  ModelKind kind = ModelKind::kMlp;
  // mlp/logreg: D0..Dn; lenet: {784, 10}; convex_relu/gated_relu: {D, P, C, K}.
  std::vector<int> widths;
  bool projection_head = false;  // "+proj"
};

// The features a model of `spec` takes and the classes it predicts, without
// building it (mlp/logreg: D0 and Dn; lenet: 784 and 10; convex_relu and
// gated_relu: D and C).
int InputDim(const ModelSpec& spec);
int NumClasses(const ModelSpec& spec);

// Parses `spec`. Throws ConfigError naming the spec and what is wrong
// ("model spec \"mlp:784-\": empty layer width at position 5").
ModelSpec ParseModelSpec(std::string_view spec);

}  // namespace edgefl::nn
