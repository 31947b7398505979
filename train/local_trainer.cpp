#include "train/local_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "nn/adaptive.h"
#include "nn/batch.h"
#include "nn/gradient_clipping.h"
#include "nn/metrics.h"
#include "nn/model_spec.h"
#include "nn/softmax_cross_entropy.h"
#include "train/data_fit_check.h"
#include "train/tpsgd_trainer.h"

namespace edgefl::train {
namespace {

// Stream ids under the recipe's seed.
constexpr uint64_t kObjectiveStream = 2;
constexpr uint64_t kOptimizerStream = 3;
constexpr uint64_t kScalingStream = 4;  // the Hutchinson probe of a scaling statistic

bool SameOptimizer(const OptimizerConfig& a, const OptimizerConfig& b) {
  return a.name == b.name && a.momentum == b.momentum && a.nesterov == b.nesterov &&
         a.weight_decay == b.weight_decay && a.beta1 == b.beta1 && a.beta2 == b.beta2 &&
         a.epsilon == b.epsilon && a.oasis_alpha == b.oasis_alpha;
}

}  // namespace

LocalTrainer::LocalTrainer(std::string_view model_spec, const datasets::Dataset& data)
    : data_(data), spec_(model_spec) {
  // The data is checked against the spec without building the model.
  const nn::ModelSpec spec = nn::ParseModelSpec(model_spec);
  const int input_dim = nn::InputDim(spec);
  const int classes = nn::NumClasses(spec);
  CheckDataFitsModel(spec_, input_dim, classes, data);
}

LocalTrainer::~LocalTrainer() = default;

nn::Model& LocalTrainer::model() {
  if (model_ == nullptr) model_ = std::make_unique<nn::Model>(spec_);
  return *model_;
}

size_t LocalTrainer::held_bytes() const {
  size_t bytes = model_ != nullptr ? model_->held_bytes() : 0;
  bytes += static_cast<size_t>(batch_x_.size() + probe_.size()) * sizeof(float) +
           batch_labels_.capacity() * sizeof(int32_t) + order_.capacity() * sizeof(uint32_t);
  if (layerwise_ != nullptr) bytes += layerwise_->held_bytes();
  return bytes;
}

LocalTrainResult LocalTrainer::Train(std::span<const float> global, const TrainRecipe& recipe,
                                     LocalObjective* objective, DataOrder* order,
                                     const Preconditioning* preconditioning) {
  if (objective != nullptr && objective->layerwise_training() != nullptr) {
    if (nn::IsLanguageModel(nn::ParseModelSpec(spec_).kind)) {
      throw ConfigError("tpsgd trains layer by layer; model " + spec_ +
                        " is a language model (no layers): use the default objective");
    }
    if (preconditioning != nullptr && (preconditioning->has_diagonal() ||
                                       preconditioning->statistic != ScalingStatistic::kNone)) {
      throw ConfigError("tpsgd: a shared preconditioning (savic) needs backpropagation");
    }
    if (layerwise_ == nullptr) layerwise_ = std::make_unique<TpsgdTrainer>(spec_, data_);
    return layerwise_->Train(global, recipe, *objective->layerwise_training(), order);
  }
  ValidateRecipe(recipe);
  nn::Model& net = model();
  net.SetParameters(global);  // checks size and finiteness
  const Preconditioning none;
  if (preconditioning == nullptr) preconditioning = &none;
  ValidatePreconditioning(*preconditioning, net.num_parameters());
  if (preconditioning->has_diagonal() && recipe.optimizer.name != "sgd") {
    throw ConfigError("preconditioning: a shared diagonal needs optimizer sgd, got " +
                      recipe.optimizer.name);
  }

  CrossEntropyObjective default_objective;
  ShuffledOrder default_order;
  if (objective == nullptr) objective = &default_objective;
  if (order == nullptr) order = &default_order;

  if (optimizer_ == nullptr || recipe.reset_optimizer ||
      !SameOptimizer(recipe.optimizer, optimizer_config_)) {
    optimizer_ =
        MakeOptimizer(recipe.optimizer, Rng::Derive(recipe.seed, {kOptimizerStream}).Next());
    optimizer_config_ = recipe.optimizer;
  }
  optimizer_->set_learning_rate(recipe.optimizer.learning_rate);

  const size_t n = data_.size();
  const int64_t batch_size = recipe.batch_size;
  const int64_t total_steps =
      recipe.local_steps > 0
          ? recipe.local_steps
          : int64_t{recipe.epochs} * ((static_cast<int64_t>(n) + batch_size - 1) / batch_size);

  LocalTrainResult result;
  result.num_samples = n;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  result.loss_before = nan;
  if (recipe.measure_loss) {
    const EvalResult before = Evaluate(net, data_);
    result.loss_before = before.loss;
    result.loss_sq_before = before.mean_squared_loss;
  }

  Rng order_rng = Rng::Derive(recipe.seed, {kDataOrderStream});
  Rng objective_rng = Rng::Derive(recipe.seed, {kObjectiveStream});
  objective->SetStepOffset(recipe.step_offset);
  objective->BeginRound(net, objective_rng);
  order->BeginRound(net, data_);

  // OASIS needs Hessian-vector products on the current batch.
  auto* adaptive = dynamic_cast<nn::AdaptiveOptimizer*>(optimizer_.get());
  const Batch* current_batch = nullptr;
  if (adaptive != nullptr && adaptive->options().scaling == nn::Scaling::kOasis) {
    adaptive->set_hessian_vector_product(
        [&net, &current_batch](const Eigen::VectorXf& z, Eigen::VectorXf* hz) {
          net.HessianVectorProduct(current_batch->x, current_batch->labels, z, hz);
        });
  }

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
    nn::GatherColumns(data_.features, indices, &batch_x_, data_.labels, &batch_labels_);

    const Batch batch{
        Eigen::Map<const Eigen::MatrixXf>(batch_x_.data(), batch_x_.rows(), batch_x_.cols()),
        std::span<const int32_t>(batch_labels_.data(), take), indices};
    current_batch = &batch;
    if (recipe.lr_schedule) {
      optimizer_->set_learning_rate(
          static_cast<float>(recipe.lr_schedule->ValueAt(recipe.step_offset + step)));
    }
    const float loss = objective->LossAndGradient(net, batch, objective_rng);
    if (!std::isfinite(loss)) {
      throw Error("local training diverged at step " + std::to_string(step) + ": loss is " +
                  std::to_string(loss) + " (learning rate " +
                  std::to_string(optimizer_->learning_rate()) + " may be too large)");
    }
    if (recipe.clip_coordinate_fraction > 0.0f) {
      nn::ClipCoordinates(net.gradients(), recipe.clip_coordinate_fraction);
    }
    if (recipe.clip_norm > 0.0f) nn::ClipByGlobalNorm(net.gradients(), recipe.clip_norm);
    if (step == 0) MeasureScalingStatistic(*preconditioning, batch, recipe.seed, &result);
    objective->BeforeStep(net, batch, *optimizer_);
    if (preconditioning->has_diagonal()) {
      ApplyInverseDiagonal(*preconditioning->diagonal, net.gradients());
    }
    optimizer_->Step(net.parameters(), net.gradients());
    current_batch = nullptr;
    loss_sum += loss;
    result.samples_processed += static_cast<int64_t>(take);
  }
  result.compute_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (adaptive != nullptr) adaptive->set_hessian_vector_product(nullptr);

  if (!net.parameters().allFinite()) {
    throw Error("local training produced non-finite parameters after " +
                std::to_string(total_steps) + " steps (learning rate " +
                std::to_string(optimizer_->learning_rate()) + " may be too large)");
  }
  result.steps = total_steps;
  result.train_loss = total_steps > 0 ? loss_sum / static_cast<double>(total_steps) : nan;
  result.loss_after = recipe.measure_loss ? Evaluate(net, data_).loss : nan;
  result.parameters = net.parameters();
  return result;
}

void LocalTrainer::MeasureScalingStatistic(const Preconditioning& preconditioning,
                                           const Batch& batch, uint64_t seed,
                                           LocalTrainResult* result) {
  nn::Model& net = model();
  switch (preconditioning.statistic) {
    case ScalingStatistic::kNone:
      return;
    case ScalingStatistic::kGradient:
      result->scaling_statistic = net.gradients();
      return;
    case ScalingStatistic::kHutchinson: {
      Rng rng = Rng::Derive(seed, {kScalingStream});
      DrawRademacher(rng, net.num_parameters(), &probe_);
      // Restores the parameters and gradients bit-exactly.
      net.HessianVectorProduct(batch.x, batch.labels, probe_, &result->scaling_statistic);
      result->scaling_statistic.array() *= probe_.array();
      return;
    }
  }
}

namespace {

// A language model's loss is the mean next-token cross-entropy over every
// position of every window (so exp(loss) is the perplexity), its accuracy
// the fraction of positions whose arg-max is the next token; no per-class
// accuracy.
EvalResult EvaluateLanguageModel(nn::Model& model, const datasets::Dataset& data, int batch_size) {
  double loss_sum = 0.0, squared_sum = 0.0;
  int64_t correct_sum = 0;
  Eigen::VectorXd per_window;
  const Eigen::Index n = static_cast<Eigen::Index>(data.size());
  for (Eigen::Index start = 0; start < n; start += batch_size) {
    const Eigen::Index take = std::min<Eigen::Index>(batch_size, n - start);
    int64_t correct = 0;
    loss_sum +=
        model.SequenceLoss(nn::ColumnBlock(data.features, start, take), &per_window, &correct) *
        static_cast<double>(take);
    squared_sum += per_window.squaredNorm();
    correct_sum += correct;
  }
  EvalResult result;
  result.num_samples = data.size();
  result.loss = n > 0 ? loss_sum / static_cast<double>(n) : 0.0;
  result.mean_squared_loss = n > 0 ? squared_sum / static_cast<double>(n) : 0.0;
  const double positions = static_cast<double>(n) * static_cast<double>(model.input_dim() - 1);
  result.accuracy = n > 0 ? static_cast<double>(correct_sum) / positions : 0.0;
  return result;
}

}  // namespace

EvalResult LocalTrainer::Evaluate(std::span<const float> parameters, int batch_size) {
  model().SetParameters(parameters);
  return Evaluate(*model_, data_, batch_size);
}

EvalResult LocalTrainer::Evaluate(nn::Model& model, const datasets::Dataset& data, int batch_size) {
  if (batch_size <= 0) throw ConfigError("evaluate: batch_size must be > 0");
  if (model.is_language_model()) return EvaluateLanguageModel(model, data, batch_size);
  nn::AccuracyCounter counter(model.num_classes());
  double loss_sum = 0.0, squared_sum = 0.0;
  Eigen::VectorXd per_sample;
  const Eigen::Index n = static_cast<Eigen::Index>(data.size());
  for (Eigen::Index start = 0; start < n; start += batch_size) {
    const Eigen::Index take = std::min<Eigen::Index>(batch_size, n - start);
    const auto x = nn::ColumnBlock(data.features, start, take);  // no copy
    const std::span<const int32_t> labels(data.labels.data() + start, static_cast<size_t>(take));
    const auto logits = model.Forward(x);
    loss_sum += static_cast<double>(nn::SoftmaxCrossEntropy(logits, labels, nullptr)) *
                static_cast<double>(take);
    nn::SoftmaxCrossEntropyPerSample(logits, labels, &per_sample);
    squared_sum += per_sample.squaredNorm();
    counter.Add(logits, labels);
  }
  EvalResult result;
  result.num_samples = data.size();
  result.loss = n > 0 ? loss_sum / static_cast<double>(n) : 0.0;
  result.mean_squared_loss = n > 0 ? squared_sum / static_cast<double>(n) : 0.0;
  result.accuracy = counter.accuracy();
  result.per_class_accuracy = counter.per_class_accuracy();
  return result;
}

}  // namespace edgefl::train
