#include "train/tpsgd_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "common/random.h"
#include "nn/batch.h"
#include "nn/conv2d.h"
#include "nn/model.h"
#include "nn/model_spec.h"
#include "nn/softmax_cross_entropy.h"
#include "train/data_fit_check.h"

namespace edgefl::train {
namespace {

using Eigen::Index;
using Eigen::Map;
using Eigen::MatrixXf;

constexpr uint64_t kOrderStream = 1;                // as LocalTrainer's: the same data order
constexpr uint64_t kProjectionStream = 0x74707367;  // "tpsg"

void Grow(Eigen::VectorXf& buffer, Index size) {
  if (buffer.size() < size) buffer.resize(size);
}

}  // namespace

MatrixXf TargetProjection(uint64_t projection_seed, size_t layer, Index rows, int classes,
                          double target_scale) {
  Rng rng = Rng::Derive(projection_seed, {kProjectionStream, static_cast<uint64_t>(layer)});
  MatrixXf p(rows, classes);
  for (Index c = 0; c < classes; ++c) {
    for (Index r = 0; r < rows; ++r)
      p(r, c) = static_cast<float>(target_scale * rng.Normal());
  }
  return p;
}

TpsgdTrainer::TpsgdTrainer(std::string_view model_spec, const datasets::Dataset& data)
    : spec_text_(model_spec), data_(data) {
  const nn::ModelSpec spec = nn::ParseModelSpec(model_spec);
  if (spec.projection_head) {
    throw ConfigError("tpsgd: model " + spec_text_ +
                      " has a projection head (+proj), which tpsgd does not train");
  }
  layers_ = nn::BuildLayers(spec);
  for (const auto& layer : layers_) {
    offsets_.push_back(total_);
    total_ += layer->num_parameters();
    Eigen::Index& parity = widest_[(offsets_.size() - 1) % 2];  // layer i's output buffer
    parity = std::max(parity, layer->output_size());
    widest_error_ = std::max(widest_error_, layer->output_size());
    const auto* conv = dynamic_cast<const nn::Conv2d*>(layer.get());
    spatial_.push_back(
        conv != nullptr ? Index{conv->output_shape().height} * conv->output_shape().width : 1);
  }
  classes_ = static_cast<int>(layers_.back()->output_size());
  CheckDataFitsModel(spec_text_, static_cast<int>(layers_.front()->input_size()), classes_, data);
}

TpsgdTrainer::~TpsgdTrainer() = default;

void TpsgdTrainer::BuildProjections(const TpsgdOptions& options) {
  if (have_projections_ && projected_.projection_seed == options.projection_seed &&
      projected_.target_scale == options.target_scale) {
    return;
  }
  projections_.clear();
  for (size_t i = 0; i + 1 < layers_.size(); ++i) {
    projections_.push_back(TargetProjection(options.projection_seed, i,
                                            layers_[i]->output_size() / spatial_[i], classes_,
                                            options.target_scale));
  }
  projected_ = options;
  have_projections_ = true;
}

int TpsgdTrainer::ForwardAll(const nn::ConstMatrixRef& x) {
  const Index b = x.cols();
  Grow(buffers_[0], widest_[0] * b);
  Grow(buffers_[1], widest_[1] * b);
  int cur = 0;
  for (size_t i = 0; i < layers_.size(); ++i) {
    nn::Layer& layer = *layers_[i];
    Map<MatrixXf> out(buffers_[cur].data(), layer.output_size(), b);
    const float* w = params_.data() + offsets_[i];
    if (i == 0) {
      layer.Forward(w, x, out);
    } else {
      layer.Forward(w, Map<const MatrixXf>(buffers_[1 - cur].data(), layer.input_size(), b), out);
    }
    cur = 1 - cur;
  }
  return 1 - cur;
}

void TpsgdTrainer::MeasureLoss(Index batch, double* loss, double* mean_squared) {
  const Index n = static_cast<Index>(data_.size());
  double sum = 0.0, squared = 0.0;
  for (Index start = 0; start < n; start += batch) {
    const Index take = std::min(batch, n - start);
    const auto x = nn::ColumnBlock(data_.features, start, take);  // no copy
    const std::span<const int32_t> labels(data_.labels.data() + start, static_cast<size_t>(take));
    const int logits_at = ForwardAll(x);
    const Map<const MatrixXf> logits(buffers_[logits_at].data(), classes_, take);
    nn::SoftmaxCrossEntropyPerSample(logits, labels, &per_sample_);
    sum += per_sample_.sum();
    squared += per_sample_.squaredNorm();
  }
  *loss = sum / static_cast<double>(n);
  *mean_squared = squared / static_cast<double>(n);
}

LocalTrainResult TpsgdTrainer::Train(std::span<const float> global, const TrainRecipe& recipe,
                                     const TpsgdOptions& options, DataOrder* order) {
  ValidateRecipe(recipe);
  const OptimizerConfig& opt = recipe.optimizer;
  if (opt.name != "sgd" || opt.momentum != 0.0f) {
    throw ConfigError("tpsgd: needs plain sgd without momentum (no optimizer state), got " +
                      opt.name + " with momentum " + std::to_string(opt.momentum));
  }
  if (recipe.clip_norm > 0.0f || recipe.clip_coordinate_fraction > 0.0f) {
    throw ConfigError(
        "tpsgd: gradient clipping (clip_norm, clip_coordinate_fraction) is not "
        "supported: each layer steps on its own local gradient");
  }
  if (!(options.target_scale > 0.0) || !std::isfinite(options.target_scale)) {
    throw ConfigError("tpsgd: target_scale must be > 0, got " +
                      std::to_string(options.target_scale));
  }
  if (static_cast<Index>(global.size()) != total_) {
    throw ConfigError("model " + spec_text_ + " has " + std::to_string(total_) +
                      " parameters, got " + std::to_string(global.size()));
  }
  nn::ThrowIfNotFinite(global, "parameters");
  params_ = Map<const Eigen::VectorXf>(global.data(), total_);
  BuildProjections(options);
  ShuffledOrder default_order;
  if (order == nullptr) order = &default_order;

  const size_t n = data_.size();
  const int64_t batch_size = recipe.batch_size;
  const int64_t total_steps =
      recipe.local_steps > 0
          ? recipe.local_steps
          : int64_t{recipe.epochs} * ((static_cast<int64_t>(n) + batch_size - 1) / batch_size);
  const Index eval_batch = std::min<Index>(batch_size, static_cast<Index>(n));

  LocalTrainResult result;
  result.num_samples = n;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  result.loss_before = nan;
  result.loss_after = nan;
  if (recipe.measure_loss) MeasureLoss(eval_batch, &result.loss_before, &result.loss_sq_before);

  Rng order_rng = Rng::Derive(recipe.seed, {kOrderStream});
  const auto start = std::chrono::steady_clock::now();
  double loss_sum = 0.0;
  size_t position = 0;
  order_.clear();
  const size_t last = layers_.size() - 1;
  for (int64_t step = 0; step < total_steps; ++step) {
    if (position >= order_.size()) {
      order->NextPass(step, n, order_rng, &order_);
      if (order_.empty()) throw Error("data order returned an empty pass");
      position = 0;
    }
    const size_t take = std::min<size_t>(static_cast<size_t>(batch_size), order_.size() - position);
    const std::span<const uint32_t> indices(order_.data() + position, take);
    position += take;
    nn::GatherColumns(data_.features, indices, &batch_x_, data_.labels, &batch_labels_);
    const Index b = static_cast<Index>(take);
    const std::span<const int32_t> labels(batch_labels_.data(), take);
    const float lr =
        recipe.lr_schedule
            ? static_cast<float>(recipe.lr_schedule->ValueAt(recipe.step_offset + step))
            : opt.learning_rate;
    Grow(buffers_[0], widest_[0] * b);
    Grow(buffers_[1], widest_[1] * b);
    Grow(error_, widest_error_ * b);
    const float inv_b = 1.0f / static_cast<float>(b);

    int cur = 0;
    float loss = 0.0f;
    for (size_t i = 0; i <= last; ++i) {
      nn::Layer& layer = *layers_[i];
      const Index rows = layer.output_size();
      const Map<const MatrixXf> in(i == 0 ? batch_x_.data() : buffers_[1 - cur].data(),
                                   layer.input_size(), b);
      Map<MatrixXf> out(buffers_[cur].data(), rows, b);
      float* w = params_.data() + offsets_[i];
      layer.Forward(w, in, out);
      Map<MatrixXf> delta(error_.data(), rows, b);
      if (i < last) {
        // A convolution's target is one value per channel, the same at
        // every position of its (pooled) feature map.
        const MatrixXf& p = projections_[i];
        const Index spatial = spatial_[i];
        for (Index c = 0; c < b; ++c) {
          const auto target = p.col(labels[static_cast<size_t>(c)]);
          Eigen::Map<MatrixXf> o(out.col(c).data(), spatial, rows / spatial);
          Eigen::Map<MatrixXf> d(delta.col(c).data(), spatial, rows / spatial);
          d = o - Eigen::VectorXf::Ones(spatial) * target.transpose();
          if (options.layer_loss == LayerLoss::kL1) d = d.array().sign().matrix();
          d *= inv_b / static_cast<float>(spatial);
        }
      } else {
        loss = nn::SoftmaxCrossEntropy(out, labels, &dlogits_);  // δ = (softmax − y*) / B
        delta = dlogits_;
      }
      // The step on this layer's own loss, in place: Backward ADDS the
      // gradient of its error argument to its last argument and, without an
      // input gradient, never reads the parameters, so handing it −η·δ and
      // the parameters themselves adds −η·∇W (σ' gates δ inside). No gradient
      // buffer, no input gradient.
      const Index count = layer.num_parameters();
      if (count > 0) {
        if (opt.weight_decay != 0.0f)
          Map<Eigen::VectorXf>(w, count) *= 1.0f - lr * opt.weight_decay;
        delta *= -lr;
        layer.Backward(w, in, out, delta, w, nullptr);
      }
      cur = 1 - cur;
    }
    if (!std::isfinite(loss)) {
      throw Error("local training diverged at step " + std::to_string(step) + ": loss is " +
                  std::to_string(loss) + " (learning rate " + std::to_string(lr) +
                  " may be too large)");
    }
    loss_sum += loss;
    result.samples_processed += static_cast<int64_t>(take);
  }
  result.compute_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!params_.allFinite()) {
    throw Error("local training produced non-finite parameters after " +
                std::to_string(total_steps) + " steps (learning rate may be too large)");
  }
  result.steps = total_steps;
  result.train_loss = total_steps > 0 ? loss_sum / static_cast<double>(total_steps) : nan;
  if (recipe.measure_loss) {
    double squared = 0.0;
    MeasureLoss(eval_batch, &result.loss_after, &squared);
  }
  result.parameters = params_;
  return result;
}

size_t TpsgdTrainer::held_bytes() const {
  Index floats = params_.size() + buffers_[0].size() + buffers_[1].size() + error_.size() +
                 dlogits_.size() + batch_x_.size();
  for (const auto& p : projections_)
    floats += p.size();
  return static_cast<size_t>(floats) * sizeof(float) + batch_labels_.capacity() * sizeof(int32_t) +
         order_.capacity() * sizeof(uint32_t) +
         static_cast<size_t>(per_sample_.size()) * sizeof(double);
}

}  // namespace edgefl::train
