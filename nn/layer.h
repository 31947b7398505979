// The layer interface of nn::Model.
//
// A batch is a column-major Eigen::MatrixXf with one sample per COLUMN
// (features x batch). Image-shaped data is flattened channel-major, as in
// PyTorch: feature index = (c * H + h) * W + w.
//
// Layers own no parameters: the model owns one flat vector of all parameters
// (and one of the same size for gradients) and hands each layer a pointer to
// its slice, at an offset fixed when the model is built. A layer may keep
// scratch buffers (im2col columns, argmax indices) that grow to the largest
// batch seen and are reused, so a training step allocates nothing once the
// batch size is stable.
//
// A subclass overrides Describe, input_size, output_size, Forward and
// Backward; layers with parameters also override num_parameters and
// Initialize. Layers are not thread-safe (they reuse scratch buffers).
#pragma once

#include <string>

#include <Eigen/Core>

#include "common/random.h"

namespace edgefl::nn {

using ConstMatrixRef = Eigen::Ref<const Eigen::MatrixXf>;
using MatrixRef = Eigen::Ref<Eigen::MatrixXf>;

// Initialisation scheme for a layer's weights (biases are always zero).
enum class Init {
  kKaimingUniform,  // He et al. 2015: U(-b, b), b = sqrt(6 / fan_in); for layers followed by ReLU
  kXavierUniform,   // Glorot & Bengio 2010: b = sqrt(6 / (fan_in + fan_out)); for the output layer
};

// Channels x height x width of an image-shaped sample.
struct ImageShape {
  int channels = 0;
  int height = 0;
  int width = 0;
  Eigen::Index size() const { return Eigen::Index{channels} * height * width; }
};

// The stream of a model's seed its layers' initial weights are drawn from
// (Rng::Derive(seed, {kInitStream, layer})): every model kind ("init").
inline constexpr uint64_t kInitStream = 0x696e6974;

class Layer {
 public:
  virtual ~Layer() = default;

  // E.g. "dense 784->200 +relu".
  virtual std::string Describe() const = 0;
  // Features per sample consumed and produced.
  virtual Eigen::Index input_size() const = 0;
  virtual Eigen::Index output_size() const = 0;
  // Length of this layer's slice of the flat parameter vector.
  virtual Eigen::Index num_parameters() const { return 0; }

  // Layers of the plain architecture this layer computes (2 for a
  // convolution with a fused max-pool). Model numbers its per-layer random
  // streams by it, so fusing layers does not change initial parameters.
  virtual int depth() const { return 1; }

  // Writes initial values into params[0, num_parameters()).
  virtual void Initialize(Init /*init*/, Rng& /*rng*/, float* /*params*/) const {}

  // out = f(in). REQUIRES: in is input_size() x B, out is output_size() x B,
  // params points at num_parameters() floats.
  virtual void Forward(const float* params, const ConstMatrixRef& in, MatrixRef out) = 0;

  // Given in and out of the last Forward and dout = dL/dout, ADDS dL/dparams
  // to grads[0, num_parameters()) and, if din is not null, writes dL/din
  // into *din (input_size() x B). dout may be overwritten (used as scratch).
  // With din null a layer must not read params, so grads may BE params: with
  // dout scaled by -lr that is an SGD step in place (train/tpsgd_trainer.h).
  // grads may be null when din is not: only dL/din is wanted (adversarial
  // inputs), and a layer with parameters skips their gradient. Dense and
  // Conv2d do; the other layers with parameters are not on that path.
  virtual void Backward(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& out,
                        MatrixRef dout, float* grads, MatrixRef* din) = 0;

  // As Backward, but SETS grads[0, num_parameters()) to dL/dparams instead of
  // adding to them (no separate zeroing pass). The default zeroes the slice
  // and calls Backward; a layer overrides it when it can write directly.
  virtual void BackwardOverwrite(const float* params, const ConstMatrixRef& in,
                                 const ConstMatrixRef& out, MatrixRef dout, float* grads,
                                 MatrixRef* din);
};

// Fills n floats with U(-bound, bound) drawn from rng.
void FillUniform(Rng& rng, float bound, float* values, Eigen::Index n);

// The bound of `init` for a layer with the given fans.
float InitBound(Init init, Eigen::Index fan_in, Eigen::Index fan_out);

}  // namespace edgefl::nn
