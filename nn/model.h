// A feed-forward classifier built from a spec string (see model_spec.h),
// owning ONE contiguous vector of all parameters and one of the same size
// for gradients. The parameter vector is what travels over the network; the
// spec is the architecture.
//
// Typical step:
//   auto logits = model.Forward(x);                 // x: input_dim() x B
//   float loss = SoftmaxCrossEntropy(logits, y, &dlogits);
//   dlogits += extra;                               // an algorithm's own term
//   model.ZeroGradients();
//   model.Backward(x, dlogits);                     // accumulates into gradients()
//   optimizer.Step(model.parameters(), model.gradients());
//
// Buffers (activations, backward ping-pong, layer scratch) grow to the
// largest batch seen and are reused: once the batch size has been seen, a
// step allocates nothing. Not thread-safe; use one Model per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "nn/language_model.h"
#include "nn/layer.h"
#include "nn/model_spec.h"

namespace edgefl::nn {

// Optional extras of Model::Backward.
struct BackwardOptions {
  // If set, receives dL/dX (input_dim() x B), e.g. for adversarial inputs.
  Eigen::MatrixXf* dinput = nullptr;
  // If set, an extra gradient dL/dfeatures (shape of features()) added at the
  // input of the last layer, for loss terms on the representation.
  const Eigen::MatrixXf* dfeatures = nullptr;
  // If true, gradients() is SET to dL/dparameters rather than added to: the
  // same as ZeroGradients() first, without the separate pass over it.
  bool overwrite_gradients = false;
  // If false, only dinput (and what dfeatures adds) is computed: gradients()
  // is left as it was and no layer forms its parameter gradient (an
  // adversarial ascent on the inputs). Not for language models (ConfigError).
  bool parameter_gradients = true;
};

// Throws ConfigError "<what> contain NaN at index i" (or Inf) if a value is
// not finite.
void ThrowIfNotFinite(std::span<const float> values, std::string_view what);

// The layers of `spec` in order (without a "+proj" head; none for a
// language model), as Model builds them: for a trainer that runs the layers itself and keeps only
// the buffers it needs (train/tpsgd_trainer.h). Layer i's parameters are the slice at the sum of
// the num_parameters() of the layers before it.
std::vector<std::unique_ptr<Layer>> BuildLayers(const ModelSpec& spec);

class Model {
 public:
  // Throws ConfigError for a malformed spec. Parameters start at zero: call
  // Initialize or SetParameters before training.
  explicit Model(std::string_view spec);
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  const ModelSpec& spec() const { return spec_; }
  Eigen::Index input_dim() const;
  int num_classes() const;
  Eigen::Index num_parameters() const { return parameters_.size(); }
  size_t num_layers() const { return layers_.size(); }
  const Layer& layer(size_t i) const { return *layers_[i]; }
  // Offset of layer i's slice in parameters().
  Eigen::Index parameter_offset(size_t i) const { return offsets_[i]; }
  // The projection head of a "+proj" spec (model_spec.h): the LAST
  // projection_head_size() entries of parameters(), laid out W1 (2d x d),
  // b1 (2d), W2 (2d x 2d), b2 (2d), W3 (d x 2d), b3 (d), matrices
  // column-major, d = the features' dimension. Size 0 without "+proj".
  // Forward/Backward ignore it; Backward with overwrite_gradients sets its
  // gradient slice to zero.
  bool has_projection_head() const { return spec_.projection_head; }
  Eigen::Index projection_head_offset() const { return head_offset_; }
  Eigen::Index projection_head_size() const { return total_ - head_offset_; }

  // The flat vectors. Do not resize them (Forward throws ConfigError if their
  // size changed); use SetParameters for checked assignment.
  Eigen::VectorXf& parameters() { return parameters_; }
  const Eigen::VectorXf& parameters() const { return parameters_; }
  Eigen::VectorXf& gradients() { return gradients_; }
  const Eigen::VectorXf& gradients() const { return gradients_; }

  // Deterministic initialisation from `seed` (edgefl::Rng only): Kaiming
  // uniform for layers followed by ReLU, Xavier uniform for the last layer,
  // biases 0. Each layer draws from its own derived stream. The projection
  // head, if any, from its own stream with PyTorch's nn.Linear default (as
  // the authors' code): weights and biases U(±1/√fan_in).
  void Initialize(uint64_t seed);
  // Copies `values` into parameters(). Throws ConfigError if the size differs
  // from num_parameters() or a value is NaN/Inf; parameters() is unchanged then.
  void SetParameters(std::span<const float> values);
  void SetParameters(const Eigen::VectorXf& values);
  void ZeroGradients() { gradients_.setZero(); }

  // Bytes of the buffers the model holds (capacity, not use): parameters,
  // gradients, the activations and backward buffers of the largest batch
  // seen, and the loss and Hessian-vector scratch. Layer-internal scratch
  // (im2col columns, arg-maxes) is not counted.
  size_t held_bytes() const;

  // A language model (an "rnn:" spec; nn/language_model.h) has no layers():
  // its input is a batch of windows of T + 1 token ids, Forward returns the
  // logits of the LAST position (the next token after the first T, which a
  // text dataset's label is), Backward takes the gradient of those, and
  // LossAndGradient is the mean next-token cross-entropy over ALL T
  // positions. dinput and dfeatures are refused (ConfigError).
  bool is_language_model() const { return language_model_ != nullptr; }
  // Forward-only mean cross-entropy over all positions of the windows x
  // (SequenceCrossEntropy's per_window and correct). REQUIRES:
  // is_language_model() (ConfigError otherwise).
  double SequenceLoss(const ConstMatrixRef& x, Eigen::VectorXd* per_window, int64_t* correct);

  // Logits (num_classes() x B) for the batch x (input_dim() x B). The view
  // stays valid until the next Forward. Throws ConfigError if x.rows() !=
  // input_dim() ("model mlp:784-10 expects 784 features, got 60").
  Eigen::Map<const Eigen::MatrixXf> Forward(const ConstMatrixRef& x);
  // Input of the last layer in the last Forward (e.g. 84 x B for lenet).
  // REQUIRES: num_layers() >= 2 and a Forward has run.
  Eigen::Map<const Eigen::MatrixXf> features() const;

  // Backpropagates dlogits (num_classes() x B) through the last Forward,
  // ADDING dL/dparameters to gradients() (setting them with
  // options.overwrite_gradients). REQUIRES: x is the same batch as in
  // that Forward. Throws ConfigError on shape mismatch.
  void Backward(const ConstMatrixRef& x, const ConstMatrixRef& dlogits,
                const BackwardOptions& options = {});

  // Runs Forward and Backward of the mean softmax cross-entropy against
  // `labels`, SETS gradients() to its gradient (as ZeroGradients() then
  // Backward would), and returns that loss.
  float LossAndGradient(const ConstMatrixRef& x, std::span<const int32_t> labels);

  // Arg-max class per column of x.
  std::vector<int32_t> Predict(const ConstMatrixRef& x);

  // hv = H v, the Hessian of the mean cross-entropy on (x, labels) at the
  // current parameters times v, by central differences of gradients with
  // step h = epsilon * (1 + |w|) / |v|. parameters() and gradients() are
  // restored bit-exactly afterwards. REQUIRES: v.size() == num_parameters().
  void HessianVectorProduct(const ConstMatrixRef& x, std::span<const int32_t> labels,
                            const Eigen::VectorXf& v, Eigen::VectorXf* hv, float epsilon = 1e-3f);

 private:
  void Build();
  void CheckInput(const ConstMatrixRef& x) const;
  Eigen::Map<Eigen::MatrixXf> Activation(size_t i);
  Eigen::Map<const Eigen::MatrixXf> Activation(size_t i) const;

  ModelSpec spec_;
  std::unique_ptr<LanguageModel> language_model_;  // instead of layers_ for "rnn:"
  Eigen::MatrixXf sequence_dlogits_;               // its all-position gradient
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<Eigen::Index> offsets_;
  Eigen::Index head_offset_ = 0;  // == total_ without a head
  Eigen::Index total_ = 0;        // the parameters' count
  Eigen::VectorXf parameters_;
  Eigen::VectorXf gradients_;

  Eigen::Index batch_ = 0;                    // columns of the last Forward
  std::vector<Eigen::VectorXf> activations_;  // layer outputs, grown to the largest batch
  Eigen::VectorXf backward_buffers_[2];       // ping-pong dL/d(activation)
  Eigen::MatrixXf dlogits_;                   // LossAndGradient scratch
  Eigen::VectorXf saved_parameters_, saved_gradients_, plus_gradients_;  // HVP scratch
};

}  // namespace edgefl::nn
