// TpsgdTrainer: tpSGD local training — every layer trained on its own, from
// forward passes only (Lomnitz et al., arXiv 2208.08503; docs/algorithms.md
// "tpsgd" says what was followed and where this deviates).
//
// Per minibatch (x, y*) of B samples, with h_0 = x and layers i = 0..L-1 in
// order:
//   a_i = σ_i(z_i), z_i = W_i h_{i-1} + b_i       the layer's forward pass
//   hidden layer (i < L-1): e_i = a_i − P_i y* (ℓ2: ½‖a_i − P_i y*‖²)
//                           or sign(a_i − P_i y*) (ℓ1: ‖a_i − P_i y*‖₁)
//   output layer:           e_i = softmax(z_i) − y*   (the task loss, cross-entropy)
//   δ_i = e_i ⊙ σ_i'(z_i) / B,  W_i −= η δ_i h_{i-1}ᵀ (b_i −= η Σ δ_i),
// then h_i = a_i (computed before the layer's update) feeds the next layer.
// A convolution (LeNet's, with ReLU and a q x q max-pool) is trained as
// DRTP trains one (Frenkel et al., github.com/ChFrenkel/
// DirectRandomTargetProjection@b84e3fe, models.py:81 and 162-167, module.py:83-101,
// function.py:61-62): its target is P_i y* over the FULL pre-pool map
// (channels x height x width, one target per unit and position), the loss is
// on the ReLU's output before the pool (ours: averaged over the map's
// positions, where DRTP sums), the step is the kernel's and biases' gradient
// of that loss (σ' = the ReLU's gate at every unit); h_i = pool(a_i).
//
// P_i (target rows × classes: a dense layer's outputs, a convolution's pre-pool
// map) has N(0, target_scale²) entries, column c drawn from
// Rng::Derive(projection_seed, {stream, i, c}): identical on every client of a
// run, never sent, never trained, and never stored whole — the trainer draws
// the columns of the classes in the minibatch when it needs them.
//
// No error crosses a layer and no gradient of the model is formed: the
// trainer keeps the parameters, the current layer's input and output (B
// columns each), an error buffer of kChunk columns (each layer's step is
// added to its parameters in place, kChunk samples at a time, by
// nn::Layer::Backward with grads == params — the same step as the whole
// minibatch at once, up to float rounding), one sample's pre-pool map and
// target column, and a convolution's weight gradient (a convolution is run
// one sample at a time and its step applied after the minibatch). The
// minibatch itself is never copied whole: the first layer reads kChunk
// gathered samples at a time. held_bytes() counts all of it.
// Plain SGD only (optimizer "sgd" without momentum; weight decay allowed):
// the method's point is no per-parameter state.
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

// Column `label` of P_i (layer `layer`, `rows` target rows) written to
// out[0, rows).
void TargetColumn(uint64_t projection_seed, size_t layer, int label, double target_scale,
                  std::span<float> out);

// P_i of layer `layer` with `rows` target rows for `classes` classes (rows ×
// classes, column c = TargetColumn(..., c, ...)). For tests and tools: the
// trainer never builds it.
Eigen::MatrixXf TargetProjection(uint64_t projection_seed, size_t layer, Eigen::Index rows,
                                 int classes, double target_scale);

class TpsgdTrainer {
 public:
  // Samples per in-place step of a dense layer (and per gathered block of the
  // first layer's input).
  static constexpr Eigen::Index kChunk = 8;

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
  // activation and error buffers, a convolution's pre-pool map, target and
  // weight gradient, the first layer's input block, labels, the data order and
  // the per-sample losses. Layer-internal scratch is not counted.
  size_t held_bytes() const;

  Eigen::Index num_parameters() const { return total_; }

  // Rows of layer i's target: its outputs (dense) or pre-pool map (conv).
  Eigen::Index target_rows(size_t layer) const { return stages_.at(layer).target_rows; }

 private:
  // How the trainer runs layer i. A convolution's layer is built without its
  // ReLU and pool (they are applied here, so the pre-pool map is at hand).
  struct Stage {
    Eigen::Index offset = 0;       // into the parameters
    Eigen::Index out_rows = 0;     // what the next layer reads (conv: after the pool)
    Eigen::Index target_rows = 0;  // dense: out_rows; conv: F x Ho x Wo before the pool
    bool conv = false;
    bool relu = false;                                  // conv: a ReLU before the pool
    int channels = 0, height = 0, width = 0, pool = 1;  // conv: the pre-pool map, pool q
  };

  // The mean cross-entropy (and mean squared per-sample loss) of params_ on
  // the local data, forward only, `batch` samples at a time.
  void MeasureLoss(Eigen::Index batch, double* loss, double* mean_squared);
  // out = layer i of params_ on in (B columns; for i == 0 `indices` name the
  // samples of data_ instead and `in` is unused). With `step` the layer also
  // takes its tpSGD step (lr, weight decay, loss options) on `labels`;
  // returns the output layer's mean cross-entropy (0 for a hidden layer).
  struct Step {
    float lr = 0.0f;
    float weight_decay = 0.0f;
    const TpsgdOptions* options = nullptr;
  };
  float RunLayer(size_t i, const float* in, std::span<const uint32_t> indices,
                 std::span<const int32_t> labels, Eigen::Index b, float* out, const Step* step);
  // The first layer's input columns [start, start + count) of the minibatch.
  Eigen::Map<const Eigen::MatrixXf> InputBlock(std::span<const uint32_t> indices,
                                               Eigen::Index start, Eigen::Index count);
  // Writes relu(z) pooled (conv stage s) for one sample into out.
  void ReluPool(const Stage& s, const float* z, float* out) const;
  // Column `label` of layer i's P for `options`, drawn again only when it is
  // not the column the last call returned.
  const float* Target(size_t i, int label, const TpsgdOptions& options);

  std::string spec_text_;
  const datasets::Dataset& data_;
  std::vector<std::unique_ptr<nn::Layer>> layers_;
  std::vector<Stage> stages_;
  Eigen::Index total_ = 0;
  Eigen::Index widest_[2] = {0, 0};  // largest output_size() of the even and the odd layers
  Eigen::Index widest_dense_ = 0;    // largest output of a dense layer
  Eigen::Index widest_map_ = 0;      // largest pre-pool map of a convolution
  Eigen::Index widest_conv_params_ = 0;
  Eigen::Index widest_target_ = 0;
  int classes_ = 0;

  Eigen::VectorXf params_;
  Eigen::VectorXf buffers_[2];  // outputs of the even and the odd layers, widest_[·] × B
  Eigen::VectorXf error_;       // a dense layer's δ, widest_dense_ × kChunk
  Eigen::VectorXf map_;         // a convolution's pre-pool map (then δ) of one sample
  Eigen::VectorXf target_;      // one target column, widest target rows
  size_t target_layer_ = 0;     // whose column target_ holds (label -1: none)
  int target_label_ = -1;
  double target_scale_ = 0.0;
  uint64_t target_seed_ = 0;
  std::vector<uint32_t> by_label_;  // a convolution's visiting order: the minibatch by label
  Eigen::VectorXf conv_grad_;       // a convolution's weight gradient over the minibatch
  Eigen::MatrixXf block_x_;         // the first layer's input, kChunk gathered samples
  std::vector<int32_t> batch_labels_;
  std::vector<uint32_t> order_;
  Eigen::VectorXd per_sample_;
};

}  // namespace edgefl::train
