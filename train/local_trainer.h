// LocalTrainer: runs a training recipe on a client's local data.
//
// Given the global parameters and a TrainRecipe it trains a copy of the
// model for the recipe's epochs or steps and returns the new parameters with
// what the coordinator records (samples, steps, loss before/after, compute
// time). The algorithm's client part plugs in through LocalObjective, the
// data order through DataOrder. An objective that asks for layer-wise
// training (LocalObjective::layerwise_training, tpSGD) is run by a
// TpsgdTrainer instead: then no nn::Model, and so no gradient or backward
// buffer, is ever built (the model is built on the first backprop round or
// evaluation). Deterministic: the same data, parameters,
// recipe (seed included) and objective give bit-identical results.
//
// Thread-safety: not thread-safe; one trainer per client (simulated clients
// on a thread pool each own one). The dataset must outlive the trainer.
#pragma once

#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "datasets/dataset.h"
#include "nn/model.h"
#include "train/data_order.h"
#include "train/local_objective.h"
#include "train/preconditioning.h"
#include "train/train_recipe.h"

namespace edgefl::train {

class TpsgdTrainer;

struct LocalTrainResult {
  Eigen::VectorXf parameters;     // the locally trained model
  size_t num_samples = 0;         // local dataset size (FedAvg's weight)
  int64_t steps = 0;              // minibatch steps taken
  int64_t samples_processed = 0;  // sum of batch sizes
  double loss_before = 0.0;       // mean loss of the received model on the local set
  double loss_after = 0.0;        // mean loss of the trained model on the local set
  double train_loss = 0.0;        // mean of the per-step minibatch losses
  double compute_seconds = 0.0;   // wall time of the training loop
  // What Preconditioning::statistic asked for, measured at the received
  // model on the first minibatch (one value per parameter); empty when
  // nothing was asked.
  Eigen::VectorXf scaling_statistic;
  // Mean over the local set of the received model's squared per-sample loss
  // (Oort's statistical utility is |B|·sqrt of it); NaN when measure_loss is
  // off. Not carried by the wire protocol (a remote client's result has NaN).
  double loss_sq_before = std::numeric_limits<double>::quiet_NaN();
};

struct EvalResult {
  size_t num_samples = 0;
  double loss = 0.0;
  double accuracy = 0.0;
  std::vector<double> per_class_accuracy;  // NaN for classes without samples
  double mean_squared_loss = 0.0;          // mean of the per-sample loss squared
};

class LocalTrainer {
 public:
  // Throws ConfigError for a malformed spec or if the data's feature count
  // differs from the model's input, DataError if a label is outside the
  // model's classes or the dataset is empty.
  LocalTrainer(std::string_view model_spec, const datasets::Dataset& data);
  ~LocalTrainer();

  // Trains from `global`. `objective` and `order` may be null (plain
  // cross-entropy, shuffled passes). With recipe.lr_schedule set, local step
  // k steps with lr_schedule->ValueAt(recipe.step_offset + k) (set before the
  // objective's BeforeStep, which may still change it); the objective is told
  // recipe.step_offset before BeginRound. `preconditioning` may be null
  // (none): with a diagonal D every step's gradient (after clipping and the
  // objective's BeforeStep) is replaced by D^-1 g before the optimizer step,
  // which must then be "sgd"; its statistic is measured on the first
  // minibatch at `global`. Throws ConfigError if `global` has the wrong size
  // or contains NaN/Inf, the recipe or the preconditioning is invalid
  // (ValidatePreconditioning), and Error if training diverges (a non-finite
  // loss), naming the step and the learning rate.
  LocalTrainResult Train(std::span<const float> global, const TrainRecipe& recipe,
                         LocalObjective* objective = nullptr, DataOrder* order = nullptr,
                         const Preconditioning* preconditioning = nullptr);

  // Loss and accuracy of `parameters` on the local data (or any dataset with
  // the same feature count). Throws as Train for bad parameters.
  EvalResult Evaluate(std::span<const float> parameters, int batch_size = 256);
  static EvalResult Evaluate(nn::Model& model, const datasets::Dataset& data, int batch_size = 256);

  const datasets::Dataset& data() const { return data_; }

  // Bytes of the training buffers held now (capacity): the model's
  // (nn::Model::held_bytes), the minibatch, the data order, the Hutchinson
  // probe, and the TpsgdTrainer's when one was built. Layer-internal scratch
  // and optimizer state are not counted.
  size_t held_bytes() const;

 private:
  // Fills result->scaling_statistic as `preconditioning` asks, with the
  // model at the received parameters and its gradient of `batch` computed.
  void MeasureScalingStatistic(const Preconditioning& preconditioning, const Batch& batch,
                               uint64_t seed, LocalTrainResult* result);

  // The model, built on first use (a tpSGD client never builds one).
  nn::Model& model();

  const datasets::Dataset& data_;
  std::string spec_;
  std::unique_ptr<nn::Model> model_;
  std::unique_ptr<TpsgdTrainer> layerwise_;   // built on the first tpSGD round
  std::unique_ptr<nn::Optimizer> optimizer_;  // kept for recipes that carry state
  OptimizerConfig optimizer_config_;          // what optimizer_ was built from
  Eigen::MatrixXf batch_x_;                   // input_dim x batch_size, reused
  std::vector<int32_t> batch_labels_;
  std::vector<uint32_t> order_;
  Eigen::VectorXf probe_;  // Hutchinson's z, reused
};

}  // namespace edgefl::train
