// Where a hidden layer's neurons sit in an mlp's flat parameter vector
// (nn/dense.h: W (out x in, column-major), then b). Hidden layer l (0-based)
// is the output of dense layer l; neuron j has
//   input weights  : row j of layer l's W and b[j] (in + 1 values),
//   output weights : column j of layer l + 1's W (num_outputs values).
// A neuron whose output weights are all zero does not affect the model's
// output, whatever its input weights (the dropout path's "free" moves).
#pragma once

#include <string>

#include <Eigen/Core>

#include "nn/model_spec.h"

namespace edgefl::analysis {

class HiddenLayer {
 public:
  // Throws ConfigError unless `spec` is an mlp without "+proj" and `layer`
  // is one of its hidden layers (0 <= layer < widths.size() - 2), naming
  // the spec and the valid range.
  HiddenLayer(const nn::ModelSpec& spec, int layer);

  int layer() const { return layer_; }
  // How many hidden layers the mlp has (widths.size() - 2).
  int hidden_layers() const { return hidden_layers_; }
  Eigen::Index neurons() const { return neurons_; }
  Eigen::Index inputs() const { return inputs_; }
  Eigen::Index outputs() const { return outputs_; }
  Eigen::Index num_parameters() const { return total_; }

  // Index in the flat vector of neuron j's input weight from input i, of its
  // bias, and of its output weight to unit k of the next layer.
  Eigen::Index InputWeight(Eigen::Index j, Eigen::Index i) const {
    return in_offset_ + j + neurons_ * i;
  }
  Eigen::Index Bias(Eigen::Index j) const { return in_offset_ + neurons_ * inputs_ + j; }
  Eigen::Index OutputWeight(Eigen::Index j, Eigen::Index k) const {
    return out_offset_ + k + outputs_ * j;
  }

  // Copies neuron j's input weights and bias from `from` into `to`.
  void CopyInputWeights(Eigen::Index j, const Eigen::VectorXf& from, Eigen::VectorXf& to) const;
  // Multiplies neuron j's output weights in `params` by `factor` (0 drops it).
  void ScaleOutputWeights(Eigen::Index j, float factor, Eigen::VectorXf& params) const;

 private:
  int layer_;
  int hidden_layers_ = 0;
  Eigen::Index neurons_ = 0, inputs_ = 0, outputs_ = 0;
  Eigen::Index in_offset_ = 0, out_offset_ = 0, total_ = 0;
};

}  // namespace edgefl::analysis
