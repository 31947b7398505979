#include "nn/model.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "common/error.h"
#include "nn/conv2d.h"
#include "nn/convex_relu_layer.h"
#include "nn/dense.h"
#include "nn/metrics.h"
#include "nn/softmax_cross_entropy.h"

namespace edgefl::nn {

using Eigen::Index;
using Eigen::Map;
using Eigen::MatrixXf;
using Eigen::VectorXf;

namespace {

constexpr uint64_t kHeadStream = 0x68656164;  // "head"

// Windows per Forward/Backward pass over a batch of `total` (>= 1).
Index WindowsPerPass(const LanguageModel& model, Index total) {
  const Index per_pass = model.windows_per_pass();
  return per_pass > 0 ? std::min(per_pass, total) : total;
}

void Grow(VectorXf& buffer, Index size) {
  if (buffer.size() < size) buffer.resize(size);
}

}  // namespace

void ThrowIfNotFinite(std::span<const float> values, std::string_view what) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      throw ConfigError(std::string(what) + " contain " + (std::isnan(values[i]) ? "NaN" : "Inf") +
                        " at index " + std::to_string(i));
    }
  }
}

Model::Model(std::string_view spec) : spec_(ParseModelSpec(spec)) {
  Build();
}
Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

std::vector<std::unique_ptr<Layer>> BuildLayers(const ModelSpec& spec) {
  std::vector<std::unique_ptr<Layer>> layers;
  switch (spec.kind) {
    case ModelKind::kMlp:
    case ModelKind::kLogReg: {
      const size_t n = spec.widths.size();
      for (size_t i = 0; i + 1 < n; ++i) {
        layers.push_back(
            std::make_unique<Dense>(spec.widths[i], spec.widths[i + 1], /*relu=*/i + 2 < n));
      }
      break;
    }
    case ModelKind::kLeNet: {
      // conv 5x5x6 (padding 2) + ReLU + max-pool 2, conv 5x5x16 + ReLU +
      // max-pool 2 (each pool fused into its convolution), fc 120, 84, 10.
      auto conv1 = std::make_unique<Conv2d>(
          ImageShape{1, 28, 28},
          Conv2dOptions{
              .filters = 6, .kernel = 5, .stride = 1, .padding = 2, .relu = true, .pool = 2});
      auto conv2 = std::make_unique<Conv2d>(
          conv1->output_shape(),
          Conv2dOptions{
              .filters = 16, .kernel = 5, .stride = 1, .padding = 0, .relu = true, .pool = 2});
      const Index flat = conv2->output_size();
      layers.push_back(std::move(conv1));
      layers.push_back(std::move(conv2));
      layers.push_back(std::make_unique<Dense>(flat, 120, true));
      layers.push_back(std::make_unique<Dense>(120, 84, true));
      layers.push_back(std::make_unique<Dense>(84, 10, false));
      break;
    }
    case ModelKind::kConvexRelu:
    case ModelKind::kGatedRelu: {
      ConvexReluLayout layout;
      layout.features = spec.widths[0];
      layout.patterns = spec.widths[1];
      layout.classes = spec.widths[2];
      layout.duals = spec.widths[3];
      layout.gated = spec.kind == ModelKind::kGatedRelu;
      layers.push_back(std::make_unique<ConvexReluLayer>(layout));
      break;
    }
    case ModelKind::kGru:
    case ModelKind::kLstm:
    case ModelKind::kTransformer:
      break;  // a language model has no layers (nn/language_model.h)
  }
  return layers;
}

void Model::Build() {
  if (IsLanguageModel(spec_.kind)) {
    language_model_ = MakeLanguageModel(spec_);
    total_ = head_offset_ = language_model_->num_parameters();
    parameters_ = VectorXf::Zero(total_);
    gradients_ = VectorXf::Zero(total_);
    return;
  }
  layers_ = BuildLayers(spec_);
  Index total = 0;
  for (const auto& layer : layers_) {
    offsets_.push_back(total);
    total += layer->num_parameters();
  }
  head_offset_ = total;
  if (spec_.projection_head) {
    const Index d = layers_.back()->input_size();
    total += 8 * d * d + 5 * d;  // d -> 2d -> 2d -> d
  }
  total_ = total;
  parameters_ = VectorXf::Zero(total);
  gradients_ = VectorXf::Zero(total);
  activations_.resize(layers_.size());
}

Index Model::input_dim() const {
  if (language_model_ != nullptr) return language_model_->seq_len() + 1;
  return layers_.front()->input_size();
}
int Model::num_classes() const {
  if (language_model_ != nullptr) return language_model_->vocab_size();
  return static_cast<int>(layers_.back()->output_size());
}

void Model::Initialize(uint64_t seed) {
  if (language_model_ != nullptr) {
    language_model_->Initialize(seed, parameters_.data());
    return;
  }
  size_t last = 0;
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (layers_[i]->num_parameters() > 0) last = i;
  }
  uint64_t stream = 0;  // the layer's index in the unfused architecture
  for (size_t i = 0; i < layers_.size(); stream += static_cast<uint64_t>(layers_[i++]->depth())) {
    if (layers_[i]->num_parameters() == 0) continue;
    Rng rng = Rng::Derive(seed, {kInitStream, stream});
    layers_[i]->Initialize(i == last ? Init::kXavierUniform : Init::kKaimingUniform, rng,
                           parameters_.data() + offsets_[i]);
  }
  if (spec_.projection_head) {
    const Index d = layers_.back()->input_size();
    Rng rng = Rng::Derive(seed, {kInitStream, kHeadStream});
    const float bound_d = 1.0f / std::sqrt(static_cast<float>(d));
    const float bound_2d = 1.0f / std::sqrt(static_cast<float>(2 * d));
    float* p = parameters_.data() + head_offset_;
    FillUniform(rng, bound_d, p, 2 * d * d + 2 * d);  // W1, b1: fan_in d
    p += 2 * d * d + 2 * d;
    FillUniform(rng, bound_2d, p, 4 * d * d + 2 * d);  // W2, b2: fan_in 2d
    p += 4 * d * d + 2 * d;
    FillUniform(rng, bound_2d, p, 2 * d * d + d);  // W3, b3: fan_in 2d
  }
}

void Model::SetParameters(std::span<const float> values) {
  if (static_cast<Index>(values.size()) != num_parameters()) {
    throw ConfigError("model " + spec_.text + " has " + std::to_string(num_parameters()) +
                      " parameters, got " + std::to_string(values.size()));
  }
  ThrowIfNotFinite(values, "parameters");
  std::copy(values.begin(), values.end(), parameters_.data());
}

void Model::SetParameters(const VectorXf& values) {
  SetParameters(std::span<const float>(values.data(), static_cast<size_t>(values.size())));
}

void Model::CheckInput(const ConstMatrixRef& x) const {
  if (x.rows() != input_dim()) {
    throw ConfigError("model " + spec_.text + " expects " + std::to_string(input_dim()) +
                      " features, got " + std::to_string(x.rows()));
  }
  if (parameters_.size() != gradients_.size() || parameters_.size() != total_) {
    throw ConfigError("model " + spec_.text + ": parameters() or gradients() was resized");
  }
}

Map<MatrixXf> Model::Activation(size_t i) {
  return Map<MatrixXf>(activations_[i].data(), layers_[i]->output_size(), batch_);
}

Map<const MatrixXf> Model::Activation(size_t i) const {
  return Map<const MatrixXf>(activations_[i].data(), layers_[i]->output_size(), batch_);
}

Map<const MatrixXf> Model::Forward(const ConstMatrixRef& x) {
  CheckInput(x);
  batch_ = x.cols();
  if (language_model_ != nullptr) {
    const MatrixXf& logits = language_model_->Forward(parameters_.data(), x);
    return Map<const MatrixXf>(logits.data() + (logits.cols() - batch_) * logits.rows(),
                               logits.rows(), batch_);
  }
  for (size_t i = 0; i < layers_.size(); ++i) {
    Grow(activations_[i], layers_[i]->output_size() * batch_);
    const float* params = parameters_.data() + offsets_[i];
    if (i == 0) {
      layers_[i]->Forward(params, x, Activation(i));
    } else {
      layers_[i]->Forward(params, Activation(i - 1), Activation(i));
    }
  }
  return std::as_const(*this).Activation(layers_.size() - 1);
}

Map<const MatrixXf> Model::features() const {
  if (language_model_ != nullptr) {
    throw ConfigError("model " + spec_.text + ": a language model has no features()");
  }
  return Activation(layers_.size() - 2);
}

void Model::Backward(const ConstMatrixRef& x, const ConstMatrixRef& dlogits,
                     const BackwardOptions& options) {
  CheckInput(x);
  if (x.cols() != batch_ || dlogits.rows() != num_classes() || dlogits.cols() != batch_) {
    throw ConfigError("model " + spec_.text + ": Backward got a " + std::to_string(x.cols()) +
                      "-sample batch and " + std::to_string(dlogits.rows()) + "x" +
                      std::to_string(dlogits.cols()) + " dlogits after a Forward of " +
                      std::to_string(batch_) + " samples");
  }
  if (language_model_ != nullptr) {
    if (options.dinput != nullptr || options.dfeatures != nullptr || !options.parameter_gradients) {
      throw ConfigError(
          "model " + spec_.text +
          ": a language model takes token ids; no dinput, dfeatures or input-only backward");
    }
    // Only the last position's logits came out of Forward.
    sequence_dlogits_.setZero(num_classes(), Index{language_model_->seq_len()} * batch_);
    sequence_dlogits_.rightCols(batch_) = dlogits;
    if (options.overwrite_gradients) gradients_.setZero();
    language_model_->Backward(parameters_.data(), sequence_dlogits_, gradients_.data());
    return;
  }
  const size_t n = layers_.size();
  if (options.dfeatures != nullptr && (options.dfeatures->rows() != layers_.back()->input_size() ||
                                       options.dfeatures->cols() != batch_)) {
    throw ConfigError("model " + spec_.text + ": dfeatures must be " +
                      std::to_string(layers_.back()->input_size()) + "x" + std::to_string(batch_));
  }
  for (auto& buffer : backward_buffers_) {
    Index largest = 0;
    for (const auto& layer : layers_)
      largest = std::max(largest, layer->output_size());
    Grow(buffer, largest * batch_);
  }
  if (options.overwrite_gradients && options.parameter_gradients) {
    gradients_.tail(projection_head_size()).setZero();
  }
  int cur = 0;
  Map<MatrixXf>(backward_buffers_[cur].data(), num_classes(), batch_) = dlogits;
  for (size_t i = n; i-- > 0;) {
    Layer& layer = *layers_[i];
    Map<MatrixXf> dout(backward_buffers_[cur].data(), layer.output_size(), batch_);
    float* grads = options.parameter_gradients ? gradients_.data() + offsets_[i] : nullptr;
    const float* params = parameters_.data() + offsets_[i];
    auto backward = [&](const ConstMatrixRef& in, MatrixRef* din) {
      if (options.overwrite_gradients) {
        layer.BackwardOverwrite(params, in, Activation(i), dout, grads, din);
      } else {
        layer.Backward(params, in, Activation(i), dout, grads, din);
      }
    };
    if (i > 0) {
      MatrixRef din = Map<MatrixXf>(backward_buffers_[1 - cur].data(), layer.input_size(), batch_);
      backward(Activation(i - 1), &din);
      if (i == n - 1 && options.dfeatures != nullptr) din += *options.dfeatures;
    } else if (options.dinput != nullptr) {
      options.dinput->resize(layer.input_size(), batch_);
      MatrixRef din = *options.dinput;
      backward(x, &din);
      if (n == 1 && options.dfeatures != nullptr) din += *options.dfeatures;
    } else if (options.parameter_gradients) {
      backward(x, nullptr);
    }
    cur = 1 - cur;
  }
}

size_t Model::held_bytes() const {
  Index floats = parameters_.size() + gradients_.size() + dlogits_.size() +
                 saved_parameters_.size() + saved_gradients_.size() + plus_gradients_.size();
  for (const auto& a : activations_)
    floats += a.size();
  for (const auto& b : backward_buffers_)
    floats += b.size();
  return static_cast<size_t>(floats) * sizeof(float);
}

float Model::LossAndGradient(const ConstMatrixRef& x, std::span<const int32_t> labels) {
  if (language_model_ != nullptr) {
    // The labels are the windows' last tokens, already in x.
    // In passes of the model's windows_per_pass(), each pass's mean loss
    // and gradient weighted by its share of the windows.
    CheckInput(x);
    const Index total = x.cols(), pass = WindowsPerPass(*language_model_, total);
    gradients_.setZero();
    double loss = 0.0;
    for (Index first = 0; first < total; first += pass) {
      const Index n = std::min(pass, total - first);
      const auto windows = x.middleCols(first, n);
      batch_ = n;
      const MatrixXf& logits = language_model_->Forward(parameters_.data(), windows);
      const double share = static_cast<double>(n) / static_cast<double>(total);
      loss += share * SequenceCrossEntropy(logits, windows, &sequence_dlogits_, nullptr, nullptr);
      if (n < total) sequence_dlogits_ *= static_cast<float>(share);
      language_model_->Backward(parameters_.data(), sequence_dlogits_, gradients_.data());
    }
    return static_cast<float>(loss);
  }
  const auto logits = Forward(x);
  const float loss = SoftmaxCrossEntropy(logits, labels, &dlogits_);
  Backward(x, dlogits_, {.overwrite_gradients = true});
  return loss;
}

double Model::SequenceLoss(const ConstMatrixRef& x, Eigen::VectorXd* per_window, int64_t* correct) {
  if (language_model_ == nullptr) {
    throw ConfigError("model " + spec_.text + " is not a language model (SequenceLoss)");
  }
  // In passes of windows_per_pass(), as LossAndGradient.
  CheckInput(x);
  const Index total = x.cols(), pass = WindowsPerPass(*language_model_, total);
  if (per_window != nullptr) per_window->resize(total);
  if (correct != nullptr) *correct = 0;
  double loss = 0.0;
  Eigen::VectorXd pass_windows;
  int64_t pass_correct = 0;
  for (Index first = 0; first < total; first += pass) {
    const Index n = std::min(pass, total - first);
    const auto windows = x.middleCols(first, n);
    batch_ = n;
    const MatrixXf& logits = language_model_->Forward(parameters_.data(), windows);
    loss += static_cast<double>(n) / static_cast<double>(total) *
            SequenceCrossEntropy(logits, windows, nullptr,
                                 per_window != nullptr ? &pass_windows : nullptr,
                                 correct != nullptr ? &pass_correct : nullptr);
    if (per_window != nullptr) per_window->segment(first, n) = pass_windows;
    if (correct != nullptr) *correct += pass_correct;
  }
  return loss;
}

std::vector<int32_t> Model::Predict(const ConstMatrixRef& x) {
  std::vector<int32_t> predictions(static_cast<size_t>(x.cols()));
  ArgmaxColumns(Forward(x), predictions);
  return predictions;
}

void Model::HessianVectorProduct(const ConstMatrixRef& x, std::span<const int32_t> labels,
                                 const VectorXf& v, VectorXf* hv, float epsilon) {
  if (v.size() != num_parameters()) {
    throw ConfigError("model " + spec_.text + ": Hessian-vector product of a vector of size " +
                      std::to_string(v.size()) + ", expected " + std::to_string(num_parameters()));
  }
  const float v_norm = v.norm();
  hv->resize(num_parameters());
  if (v_norm == 0.0f) {
    hv->setZero();
    return;
  }
  saved_parameters_ = parameters_;
  saved_gradients_ = gradients_;
  const float h = epsilon * (1.0f + parameters_.norm()) / v_norm;
  parameters_ = saved_parameters_ + h * v;
  LossAndGradient(x, labels);
  plus_gradients_ = gradients_;
  parameters_ = saved_parameters_ - h * v;
  LossAndGradient(x, labels);
  *hv = (plus_gradients_ - gradients_) / (2.0f * h);
  parameters_ = saved_parameters_;
  gradients_ = saved_gradients_;
}

}  // namespace edgefl::nn
