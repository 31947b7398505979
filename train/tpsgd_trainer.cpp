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

constexpr uint64_t kProjectionStream = 0x74707367;  // "tpsg"

void Grow(Eigen::VectorXf& buffer, Index size) {
  if (buffer.size() < size) buffer.resize(size);
}

}  // namespace

void TargetColumn(uint64_t projection_seed, size_t layer, int label, double target_scale,
                  std::span<float> out) {
  Rng rng = Rng::Derive(projection_seed, {kProjectionStream, static_cast<uint64_t>(layer),
                                          static_cast<uint64_t>(label)});
  for (float& v : out)
    v = static_cast<float>(target_scale * rng.Normal());
}

MatrixXf TargetProjection(uint64_t projection_seed, size_t layer, Index rows, int classes,
                          double target_scale) {
  MatrixXf p(rows, classes);
  for (int c = 0; c < classes; ++c)
    TargetColumn(projection_seed, layer, c, target_scale,
                 std::span<float>(p.col(c).data(), static_cast<size_t>(rows)));
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
  for (size_t i = 0; i < layers_.size(); ++i) {
    Stage s;
    s.offset = total_;
    total_ += layers_[i]->num_parameters();
    s.out_rows = layers_[i]->output_size();
    if (const auto* conv = dynamic_cast<const nn::Conv2d*>(layers_[i].get())) {
      // The same parameters without the fused ReLU and pool: its output is
      // the pre-pool map z + b, which the target is about.
      nn::Conv2dOptions linear = conv->options();
      s.conv = true;
      s.pool = linear.pool;
      s.relu = linear.relu;
      linear.relu = false;
      linear.pool = 1;
      auto twin = std::make_unique<nn::Conv2d>(conv->input_shape(), linear);
      const nn::ImageShape map = twin->output_shape();
      s.channels = map.channels;
      s.height = map.height;
      s.width = map.width;
      layers_[i] = std::move(twin);
      widest_map_ = std::max(widest_map_, layers_[i]->output_size());
      widest_conv_params_ = std::max(widest_conv_params_, layers_[i]->num_parameters());
    } else {
      widest_dense_ = std::max(widest_dense_, s.out_rows);
    }
    s.target_rows = layers_[i]->output_size();
    widest_target_ = std::max(widest_target_, s.target_rows);
    Index& parity = widest_[i % 2];  // layer i's output buffer
    parity = std::max(parity, s.out_rows);
    stages_.push_back(s);
  }
  classes_ = static_cast<int>(stages_.back().out_rows);
  CheckDataFitsModel(spec_text_, static_cast<int>(layers_.front()->input_size()), classes_, data);
}

TpsgdTrainer::~TpsgdTrainer() = default;

const float* TpsgdTrainer::Target(size_t i, int label, const TpsgdOptions& options) {
  if (target_label_ != label || target_layer_ != i || target_seed_ != options.projection_seed ||
      target_scale_ != options.target_scale) {
    TargetColumn(options.projection_seed, i, label, options.target_scale,
                 std::span<float>(target_.data(), static_cast<size_t>(stages_[i].target_rows)));
    target_layer_ = i;
    target_label_ = label;
    target_seed_ = options.projection_seed;
    target_scale_ = options.target_scale;
  }
  return target_.data();
}

Map<const MatrixXf> TpsgdTrainer::InputBlock(std::span<const uint32_t> indices, Index start,
                                             Index count) {
  const Index d = data_.features.cols();
  if (count == 1) {  // a row of the row-major features is one contiguous column
    return Map<const MatrixXf>(data_.features.row(indices[static_cast<size_t>(start)]).data(), d,
                               1);
  }
  for (Index j = 0; j < count; ++j)
    block_x_.col(j) = data_.features.row(indices[static_cast<size_t>(start + j)]).transpose();
  return Map<const MatrixXf>(block_x_.data(), d, count);
}

void TpsgdTrainer::ReluPool(const Stage& s, const float* z, float* out) const {
  const int q = s.pool, h = s.height / q, w = s.width / q;
  for (int f = 0; f < s.channels; ++f) {
    const float* plane = z + Index{f} * s.height * s.width;
    for (int r = 0; r < h; ++r) {
      for (int c = 0; c < w; ++c) {
        float m = plane[Index{r} * q * s.width + Index{c} * q];
        for (int a = 0; a < q; ++a)
          for (int b = 0; b < q; ++b)
            m = std::max(m, plane[(Index{r} * q + a) * s.width + Index{c} * q + b]);
        *out++ = s.relu ? std::max(m, 0.0f) : m;
      }
    }
  }
}

float TpsgdTrainer::RunLayer(size_t i, const float* in, std::span<const uint32_t> indices,
                             std::span<const int32_t> labels, Index b, float* out,
                             const Step* step) {
  nn::Layer& layer = *layers_[i];
  const Stage& s = stages_[i];
  float* w = params_.data() + s.offset;
  const Index in_rows = layer.input_size(), count_params = layer.num_parameters();
  const bool gathered = i == 0 && !indices.empty();
  auto input = [&](Index start, Index count) -> Map<const MatrixXf> {
    if (gathered) return InputBlock(indices, start, count);
    return Map<const MatrixXf>(in + start * in_rows, in_rows, count);
  };
  const float inv_b = 1.0f / static_cast<float>(b);
  const bool l1 = step != nullptr && step->options->layer_loss == LayerLoss::kL1;

  if (s.conv) {
    // One sample at a time: its pre-pool map z + b in map_, pooled into out;
    // with a step, the map becomes δ and the weight gradient accumulates in
    // conv_grad_ (the parameters must not move before the last sample).
    if (step != nullptr) {
      by_label_.resize(static_cast<size_t>(b));
      for (Index j = 0; j < b; ++j)
        by_label_[static_cast<size_t>(j)] = static_cast<uint32_t>(j);
      std::stable_sort(by_label_.begin(), by_label_.end(), [&](uint32_t x, uint32_t y) {
        return labels[x] < labels[y];  // one target column per class present
      });
      conv_grad_.head(count_params).setZero();
    }
    Map<MatrixXf> z(map_.data(), s.target_rows, 1);
    // The layer loss is averaged over the map's positions (summed over its
    // channels), so that one η suits dense and convolutional layers alike.
    const float scale = inv_b / static_cast<float>(Index{s.height} * s.width);
    for (Index k = 0; k < b; ++k) {
      const Index j = step != nullptr ? Index{by_label_[static_cast<size_t>(k)]} : k;
      const Map<const MatrixXf> x = input(j, 1);
      layer.Forward(w, x, z);
      ReluPool(s, z.data(), out + j * s.out_rows);
      if (step == nullptr) continue;
      const float* t = Target(i, labels[static_cast<size_t>(j)], *step->options);
      for (Index r = 0; r < s.target_rows; ++r) {
        const float zr = z(r);
        if (zr <= 0.0f && s.relu) {
          z(r) = 0.0f;  // the ReLU's gate
          continue;
        }
        const float e = zr - t[r];  // a − t where the gate is open
        z(r) = (l1 ? static_cast<float>((e > 0.0f) - (e < 0.0f)) : e) * scale;
      }
      layer.Backward(w, x, z, z, conv_grad_.data(), nullptr);
    }
    if (step != nullptr) {
      Map<Eigen::VectorXf> wv(w, count_params);
      if (step->weight_decay != 0.0f) wv *= 1.0f - step->lr * step->weight_decay;
      wv -= step->lr * conv_grad_.head(count_params);
    }
    return 0.0f;
  }

  Map<MatrixXf> y(out, s.out_rows, b);
  if (gathered) {
    for (Index start = 0; start < b; start += kChunk) {
      const Index count = std::min(kChunk, b - start);
      layer.Forward(w, input(start, count), y.middleCols(start, count));
    }
  } else {
    layer.Forward(w, input(0, b), y);
  }
  if (step == nullptr) return 0.0f;

  // The step on this layer's own loss, in place, kChunk samples at a time:
  // Backward ADDS the gradient of its error argument to its last argument
  // and, without an input gradient, never reads the parameters, so handing it
  // −η·δ and the parameters themselves adds −η·∇W (σ' gates δ inside). Every
  // output was computed above, before the first chunk's step.
  const bool last = i + 1 == layers_.size();
  if (step->weight_decay != 0.0f)
    Map<Eigen::VectorXf>(w, count_params) *= 1.0f - step->lr * step->weight_decay;
  double loss = 0.0;
  for (Index start = 0; start < b; start += kChunk) {
    const Index count = std::min(kChunk, b - start);
    Map<MatrixXf> delta(error_.data(), s.out_rows, count);
    const auto yb = y.middleCols(start, count);
    for (Index c = 0; c < count; ++c) {
      const int label = labels[static_cast<size_t>(start + c)];
      if (last) {  // cross-entropy: δ = softmax(z) − y*
        const float top = yb.col(c).maxCoeff();
        delta.col(c) = (yb.col(c).array() - top).exp().matrix();
        const float sum = delta.col(c).sum();
        loss += static_cast<double>(std::log(sum) + top - yb(label, c));
        delta.col(c) /= sum;
        delta(label, c) -= 1.0f;
      } else {
        const Map<const Eigen::VectorXf> t(Target(i, label, *step->options), s.out_rows);
        delta.col(c) = yb.col(c) - t;
        if (l1) delta.col(c) = delta.col(c).array().sign().matrix();
      }
    }
    delta *= -step->lr * inv_b;
    layer.Backward(w, input(start, count), yb, delta, w, nullptr);
  }
  return static_cast<float>(loss / static_cast<double>(b));
}

void TpsgdTrainer::MeasureLoss(Index batch, double* loss, double* mean_squared) {
  const Index n = static_cast<Index>(data_.size());
  double sum = 0.0, squared = 0.0;
  for (Index start = 0; start < n; start += batch) {
    const Index take = std::min(batch, n - start);
    // Consecutive rows of the row-major features: a column-major d x take block.
    const float* in = data_.features.row(start).data();
    int cur = 0;
    for (size_t i = 0; i < layers_.size(); ++i) {
      RunLayer(i, in, {}, {}, take, buffers_[cur].data(), nullptr);
      in = buffers_[cur].data();
      cur = 1 - cur;
    }
    const std::span<const int32_t> labels(data_.labels.data() + start, static_cast<size_t>(take));
    nn::SoftmaxCrossEntropyPerSample(Map<const MatrixXf>(in, classes_, take), labels, &per_sample_);
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
  ShuffledOrder default_order;
  if (order == nullptr) order = &default_order;

  const size_t n = data_.size();
  const int64_t batch_size = recipe.batch_size;
  const int64_t total_steps =
      recipe.local_steps > 0
          ? recipe.local_steps
          : int64_t{recipe.epochs} * ((static_cast<int64_t>(n) + batch_size - 1) / batch_size);
  const Index widest_batch = std::min<Index>(batch_size, static_cast<Index>(n));
  Grow(buffers_[0], widest_[0] * widest_batch);
  Grow(buffers_[1], widest_[1] * widest_batch);
  Grow(error_, widest_dense_ * std::min(kChunk, widest_batch));
  Grow(map_, widest_map_);
  Grow(target_, widest_target_);
  Grow(conv_grad_, widest_conv_params_);
  const Index d = data_.features.cols();
  const Index chunk = std::min(kChunk, widest_batch);
  if (block_x_.rows() != d || block_x_.cols() < chunk) block_x_.resize(d, chunk);
  target_label_ = -1;

  LocalTrainResult result;
  result.num_samples = n;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  result.loss_before = nan;
  result.loss_after = nan;
  if (recipe.measure_loss) MeasureLoss(widest_batch, &result.loss_before, &result.loss_sq_before);

  Rng order_rng = Rng::Derive(recipe.seed, {kDataOrderStream});
  const auto start = std::chrono::steady_clock::now();
  double loss_sum = 0.0;
  size_t position = 0;
  order_.clear();
  for (int64_t step = 0; step < total_steps; ++step) {
    if (position >= order_.size()) {
      order->NextPass(step, n, order_rng, &order_);
      if (order_.empty()) throw Error("data order returned an empty pass");
      position = 0;
    }
    const size_t take = std::min<size_t>(static_cast<size_t>(batch_size), order_.size() - position);
    const std::span<const uint32_t> indices(order_.data() + position, take);
    position += take;
    batch_labels_.resize(take);
    for (size_t j = 0; j < take; ++j)
      batch_labels_[j] = data_.labels[indices[j]];
    const Index b = static_cast<Index>(take);
    const Step how{recipe.lr_schedule
                       ? static_cast<float>(recipe.lr_schedule->ValueAt(recipe.step_offset + step))
                       : opt.learning_rate,
                   opt.weight_decay, &options};
    int cur = 0;
    float loss = 0.0f;
    const float* in = nullptr;
    for (size_t i = 0; i < layers_.size(); ++i) {
      loss = RunLayer(i, in, indices, batch_labels_, b, buffers_[cur].data(), &how);
      in = buffers_[cur].data();
      cur = 1 - cur;
    }
    if (!std::isfinite(loss)) {
      throw Error("local training diverged at step " + std::to_string(step) + ": loss is " +
                  std::to_string(loss) + " (learning rate " + std::to_string(how.lr) +
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
    MeasureLoss(widest_batch, &result.loss_after, &squared);
  }
  result.parameters = params_;
  return result;
}

size_t TpsgdTrainer::held_bytes() const {
  const Index floats = params_.size() + buffers_[0].size() + buffers_[1].size() + error_.size() +
                       map_.size() + target_.size() + conv_grad_.size() + block_x_.size();
  return static_cast<size_t>(floats) * sizeof(float) + batch_labels_.capacity() * sizeof(int32_t) +
         by_label_.capacity() * sizeof(uint32_t) + order_.capacity() * sizeof(uint32_t) +
         static_cast<size_t>(per_sample_.size()) * sizeof(double);
}

}  // namespace edgefl::train
