#include "coordinator/group_round.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <utility>
#include <vector>

#include "algorithms/client_selector.h"
#include "algorithms/fedavg.h"
#include "algorithms/strategy.h"
#include "common/random.h"

namespace edgefl::coordinator {
namespace {

// Every candidate, in the order given (the registry's: by client id).
class EveryClient final : public algorithms::ClientSelector {
 public:
  std::string name() const override { return "every_client"; }
  std::vector<size_t> Select(int64_t, std::span<const algorithms::ClientInfo> candidates, size_t k,
                             Rng&) override {
    std::vector<size_t> all(std::min(k, candidates.size()));
    std::iota(all.begin(), all.end(), size_t{0});
    return all;
  }
};

// The relay as a strategy: the task's instructions for each device, and
// the sum of the accepted updates (the "new model" it returns is their
// mean, for the aggregator's log).
class GroupSumStrategy final : public algorithms::Strategy {
 public:
  GroupSumStrategy(const wire::TrainTask& task, uint64_t run_seed,
                   const std::optional<algorithms::SecureAggregationOptions>& secure)
      : task_(task), run_seed_(run_seed), secure_(secure) {}

  std::string name() const override { return "group_sum"; }

  // With secure aggregation the engine hands AggregateFit the unmasked
  // result (w + Σ ω_i Δ_i / Σ ω_i, num_samples Σ min(n_i, W)) and any
  // further aggregators' group sums, never a device's update.
  const algorithms::SecureAggregationOptions* secure_aggregation() const override {
    return secure_ ? &*secure_ : nullptr;
  }

  std::vector<train::FitInstructions> ConfigureFit(
      int64_t, std::span<const algorithms::ClientInfo> cohort) override {
    std::vector<train::FitInstructions> out;
    for (const algorithms::ClientInfo& c : cohort)
      out.push_back(DeviceInstructions(task_, run_seed_, c.id, c.num_samples));
    return out;
  }

  algorithms::AggregateOutcome AggregateFit(int64_t, const Eigen::VectorXf& global,
                                            std::span<const train::FitResult> results,
                                            std::span<const train::FitFailure>) override {
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(global.size());
    uint64_t weight = 0;
    for (const train::FitResult& r : results) {
      sum += static_cast<double>(r.train.num_samples) * r.train.parameters.cast<double>();
      weight += r.train.num_samples;
    }
    algorithms::AggregateOutcome outcome;
    if (weight == 0) return outcome;  // nothing to send: the round keeps the model
    sum_ = std::move(sum);
    weight_ = weight;
    outcome.parameters = (*sum_ / static_cast<double>(weight)).cast<float>();
    outcome.metrics["group_weight"] = static_cast<double>(weight);
    return outcome;
  }

  const std::optional<Eigen::VectorXd>& sum() const { return sum_; }
  uint64_t weight() const { return weight_; }

 private:
  const wire::TrainTask& task_;
  const uint64_t run_seed_;
  const std::optional<algorithms::SecureAggregationOptions>& secure_;
  std::optional<Eigen::VectorXd> sum_;
  uint64_t weight_ = 0;
};

// Σ n_i·x_i / Σ n_i over the results (NaN when a client did not measure).
double WeightedMean(std::span<const train::FitResult> results,
                    double train::LocalTrainResult::*field) {
  double sum = 0.0, weight = 0.0;
  for (const train::FitResult& r : results) {
    sum += static_cast<double>(r.train.num_samples) * (r.train.*field);
    weight += static_cast<double>(r.train.num_samples);
  }
  return weight > 0.0 ? sum / weight : std::nan("");
}

}  // namespace

train::FitInstructions DeviceInstructions(const wire::TrainTask& task, uint64_t run_seed,
                                          const train::ClientId& id, size_t num_samples) {
  train::FitInstructions i;
  i.model_version = task.model_version;
  i.recipe = task.recipe;
  i.local = task.local;
  i.preconditioning = task.preconditioning;
  i.pseudo_data = task.pseudo_data;
  i.recipe.seed = algorithms::ClientSeed(run_seed, task.round, id);
  if (task.recipe.local_steps == 0) {
    // Epochs: a device's step offset counts its own steps per round (QSR's
    // and fixed local_steps' offsets are the same for every device).
    const auto n = static_cast<int64_t>(num_samples);
    const int64_t batch = std::max<int64_t>(task.recipe.batch_size, 1);
    const int64_t before = std::max<int64_t>(task.round - 1, 0);
    i.recipe.step_offset = before * task.recipe.epochs * ((n + batch - 1) / batch);
  }
  return i;
}

GroupRound RunGroupRound(const wire::TrainTask& task, std::span<engine::ClientProxy* const> clients,
                         const GroupRoundOptions& options) {
  GroupSumStrategy strategy(task, options.run_seed, options.secure);
  EveryClient selector;
  engine::RoundOptions round;
  round.clients_per_round = std::max<size_t>(clients.size(), 1);
  round.deadline = options.deadline;
  round.quorum = options.quorum;
  round.seed = options.run_seed;
  engine::RoundEngine engine(strategy, selector, round, task.parameters, task.model_version);
  GroupRound out;
  out.report = engine.RunRound(task.round, clients);
  if (!out.report.model_updated || !strategy.sum()) return out;

  const std::span<const train::FitResult> results = out.report.results;
  wire::GroupSum sum;
  sum.round = task.round;
  sum.clients = static_cast<uint32_t>(results.size());
  sum.dropped = static_cast<uint32_t>(out.report.failures.size());
  sum.weight = strategy.weight();
  sum.sum = strategy.sum()->cast<float>();
  out.sum = std::move(sum);
  out.mean = engine.global();

  wire::TrainResult& r = out.result;
  r.round = task.round;
  r.base_version = task.model_version;
  r.train.num_samples = static_cast<size_t>(strategy.weight());
  for (const train::FitResult& f : results) {
    r.train.steps += f.train.steps;
    r.train.samples_processed += f.train.samples_processed;
    r.train.compute_seconds = std::max(r.train.compute_seconds, f.train.compute_seconds);
  }
  r.train.loss_before = WeightedMean(results, &train::LocalTrainResult::loss_before);
  r.train.loss_after = WeightedMean(results, &train::LocalTrainResult::loss_after);
  r.train.train_loss = WeightedMean(results, &train::LocalTrainResult::train_loss);
  r.train.loss_sq_before = WeightedMean(results, &train::LocalTrainResult::loss_sq_before);
  return out;
}

}  // namespace edgefl::coordinator
