// TpsgdTrainer: tpSGD local training — every layer trained on its own, from
// forward passes only (Lomnitz et al., arXiv 2208.08503; docs/algorithms.md
// "tpsgd" says what was followed and where this deviates).
//
// Per minibatch (x, y*), with h_0 = x and layers i = 0..L-1 in order:
//   y_i = f_i(W_i; h_{i-1})                        the layer's forward pass
//   hidden layer (i < L-1): e_i = (y_i − P_i y*) (ℓ2) or sign(y_i − P_i y*) (ℓ1)
//   output layer:           e_i = softmax(y_i) − y*   (the task loss, cross-entropy)
//   δ_i = e_i ⊙ σ_i'(z_i) / B,  W_i −= η δ_i h_{i-1}ᵀ (b_i −= η Σ δ_i),
// then h_i = y_i (the output computed before the layer's update) feeds the next
// layer. For a convolution (with its fused ReLU and max-pool) P_i y* gives one
// target per output CHANNEL, the same at every position of the pooled feature
// map, and the layer loss is the mean over the positions (so e_i is divided by
// them); the update is the gradient of that loss with respect to the layer's
// own kernel and biases only. (A per-position target, P_i of the map's full
// size, measured worse: LeNet did not learn at all.)
//
// P_i (rows × classes: a dense layer's outputs, a convolution's channels) is
// drawn once from
// Rng::Derive(projection_seed, {stream, i}), N(0, target_scale²): identical on
// every client of a run, never sent, never trained.
//
// No error crosses a layer: the trainer keeps the parameters, two activation
// buffers (the current layer's input and output) and one error buffer — no
// gradient buffer at all (each layer's step is added to its parameters in
// place, nn::Layer::Backward with grads == params), nor the activations of
// the other layers.
// held_bytes() counts them. Plain SGD only (optimizer "sgd" without momentum;
// weight decay allowed): the method's point is no per-parameter state.
//
// Deterministic given the data, parameters, recipe and options. Not
// thread-safe; one trainer per client. The dataset must outlive the trainer.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "datasets/dataset.h"
#include "nn/layer.h"
#include "train/data_order.h"
#include "train/local_trainer.h"
#include "train/tpsgd_options.h"
#include "train/train_recipe.h"

namespace edgefl::train {

// P_i of layer `layer` with `rows` outputs for `classes` classes (rows ×
// classes, column c = the target of class c).
Eigen::MatrixXf TargetProjection(uint64_t projection_seed, size_t layer, Eigen::Index rows,
                                 int classes, double target_scale);

class TpsgdTrainer {
 public:
  // Throws ConfigError for a malformed spec or a "+proj" spec, or if the
  // data's feature count differs from the model's input; DataError if a label
  // is outside the model's classes or the data is empty.
  TpsgdTrainer(std::string_view model_spec, const datasets::Dataset& data);
  ~TpsgdTrainer();

  // Trains from `global` as the recipe says (epochs or steps, batch size, lr
  // or per-step schedule, seed for the data order). `order` may be null
  // (shuffled passes); its BeginRound is not called (it needs a Model), so
  // only orders that do not score samples work. Throws ConfigError for a bad
  // recipe, parameters of the wrong size or not finite, an optimizer other
  // than plain SGD, clipping, or bad options; Error if training diverges.
  LocalTrainResult Train(std::span<const float> global, const TrainRecipe& recipe,
                         const TpsgdOptions& options, DataOrder* order = nullptr);

  // Bytes of the buffers this trainer holds (capacity): parameters,
  // activation, error and gradient buffers, projections, the minibatch and
  // the data order. Layer-internal scratch is not counted.
  size_t held_bytes() const;

  Eigen::Index num_parameters() const { return total_; }

 private:
  // The mean cross-entropy (and mean squared per-sample loss) of params_ on
  // the local data, forward only, `batch` samples at a time.
  void MeasureLoss(Eigen::Index batch, double* loss, double* mean_squared);
  // Runs the layers forward on x (input_dim × B); returns the logits' buffer index.
  int ForwardAll(const nn::ConstMatrixRef& x);
  void BuildProjections(const TpsgdOptions& options);

  std::string spec_text_;
  const datasets::Dataset& data_;
  std::vector<std::unique_ptr<nn::Layer>> layers_;
  std::vector<Eigen::Index> offsets_;
  std::vector<Eigen::Index> spatial_;  // positions per channel of a layer's output (1: dense)
  Eigen::Index total_ = 0;
  Eigen::Index widest_[2] = {0, 0};  // largest output_size() of the even and the odd layers
  Eigen::Index widest_error_ = 0;    // largest output_size() of any layer
  int classes_ = 0;

  Eigen::VectorXf params_;
  Eigen::VectorXf buffers_[2];  // outputs of the even and the odd layers, widest_[·] × B
  Eigen::VectorXf error_;       // the current layer's δ, widest_error_ × B
  Eigen::MatrixXf dlogits_;     // the output layer's δ, classes × B
  std::vector<Eigen::MatrixXf> projections_;  // P_i of the hidden layers
  bool have_projections_ = false;
  TpsgdOptions projected_;  // what projections_ were built from
  Eigen::MatrixXf batch_x_;
  std::vector<int32_t> batch_labels_;
  std::vector<uint32_t> order_;
  Eigen::VectorXd per_sample_;
};

}  // namespace edgefl::train
