// Model spec strings: the architecture as it travels between coordinator and
// clients.
//
//   mlp:D0-D1-...-Dn   dense layers D0->D1->...->Dn with ReLU between them
//                      (n >= 1; D0 input features, Dn classes)
//   logreg:D-K         multinomial logistic regression (one dense layer)
//   cnn:lenet          LeNet-5 for 1x28x28 inputs, 10 classes
//                      (alias cnn:lenet5)
//
// Widths are decimal integers in [1, 2^24].
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace edgefl::nn {

enum class ModelKind { kMlp, kLogReg, kLeNet };

struct ModelSpec {
  std::string text;  // the spec as given
  ModelKind kind = ModelKind::kMlp;
  std::vector<int> widths;  // mlp/logreg: D0..Dn; lenet: {784, 10}
};

// Parses `spec`. Throws ConfigError naming the spec and what is wrong
// ("model spec \"mlp:784-\": empty layer width at position 5").
ModelSpec ParseModelSpec(std::string_view spec);

}  // namespace edgefl::nn
