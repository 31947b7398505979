#include "algorithms/savic.h"

#include <cmath>
#include <utility>
#include <vector>

#include "algorithms/aggregate.h"
#include "common/error.h"
#include "common/number_text.h"

namespace edgefl::algorithms {
namespace {

constexpr double kTwo24 = 16777216.0;  // 2^24: the largest count a float holds exactly

FedAvgOptions Checked(FedAvgOptions base, const SavicOptions& options) {
  const std::string context = base.name + ": ";
  if (base.recipe.optimizer.name != "sgd") {
    throw ConfigError(context + "optimizer must be sgd (the shared scaling D̂ replaces the " +
                      "client optimizer's own), got " + base.recipe.optimizer.name);
  }
  if (!(options.beta >= 0.0 && options.beta < 1.0)) {
    throw ConfigError(context + "savic_beta must be in [0, 1), got " + ShortNumber(options.beta));
  }
  if (!(options.epsilon > 0.0) || !std::isfinite(options.epsilon)) {
    throw ConfigError(context + "savic_eps must be > 0, got " + ShortNumber(options.epsilon));
  }
  if (!(options.alpha > 0.0) || !std::isfinite(options.alpha)) {
    throw ConfigError(context + "savic_alpha must be > 0, got " + ShortNumber(options.alpha));
  }
  return base;
}

// Why `r`'s statistic cannot be used, or "" if it can.
std::string StatisticProblem(const train::FitResult& r, Eigen::Index size) {
  const Eigen::VectorXf& s = r.train.scaling_statistic;
  if (s.size() != size) {
    return "scaling statistic from " + r.client + " has " + std::to_string(s.size()) +
           " values, expected " + std::to_string(size);
  }
  if (!s.allFinite()) return "scaling statistic from " + r.client + " contains NaN or Inf";
  return "";
}

}  // namespace

SavicEstimator ParseSavicEstimator(const std::string& name, const std::string& key) {
  if (name == "adam") return SavicEstimator::kAdam;
  if (name == "rmsprop") return SavicEstimator::kRmsProp;
  if (name == "oasis") return SavicEstimator::kOasis;
  throw ConfigError(key + ": unknown estimator \"" + name + "\" (accepted: adam, rmsprop, oasis)");
}

std::string SavicEstimatorName(SavicEstimator estimator) {
  switch (estimator) {
    case SavicEstimator::kAdam:
      return "adam";
    case SavicEstimator::kRmsProp:
      return "rmsprop";
    case SavicEstimator::kOasis:
      return "oasis";
  }
  return "?";
}

Eigen::VectorXf SavicCurvature(SavicEstimator estimator, const Eigen::VectorXf& mean_statistic) {
  if (estimator == SavicEstimator::kOasis) return mean_statistic;
  return mean_statistic.cwiseAbs2();
}

Eigen::VectorXf SavicScaling(const SavicOptions& options, const Eigen::VectorXf& d) {
  const float e = static_cast<float>(options.epsilon);
  switch (options.estimator) {
    case SavicEstimator::kAdam:
      return (d.array().sqrt() + e).matrix();
    case SavicEstimator::kRmsProp:
      return (d.array() + e).matrix();
    case SavicEstimator::kOasis:
      return d.array().abs().max(static_cast<float>(options.alpha)).matrix();
  }
  return d;
}

Savic::Savic(FedAvgOptions base, SavicOptions options)
    : fedavg_(Checked(std::move(base), options)), options_(options) {}

std::vector<train::FitInstructions> Savic::ConfigureFit(int64_t round,
                                                        std::span<const ClientInfo> cohort) {
  std::vector<train::FitInstructions> out = fedavg_.ConfigureFit(round, cohort);
  const train::ScalingStatistic statistic = options_.estimator == SavicEstimator::kOasis
                                                ? train::ScalingStatistic::kHutchinson
                                                : train::ScalingStatistic::kGradient;
  for (train::FitInstructions& instructions : out) {
    instructions.preconditioning.diagonal = scaling_;  // one D̂, shared
    instructions.preconditioning.statistic = statistic;
  }
  return out;
}

AggregateOutcome Savic::AggregateFit(int64_t round, const Eigen::VectorXf& global,
                                     std::span<const train::FitResult> results,
                                     std::span<const train::FitFailure> failures) {
  const Eigen::Index size = global.size();
  std::vector<train::FitFailure> refused;
  std::vector<train::FitResult> usable;
  for (const train::FitResult& r : results) {
    const std::string problem = StatisticProblem(r, size);
    if (!problem.empty())
      refused.push_back({r.client, train::FitFailure::Kind::kRejected, problem});
  }
  std::span<const train::FitResult> kept = results;
  if (!refused.empty()) {
    for (const train::FitResult& r : results) {
      if (StatisticProblem(r, size).empty()) usable.push_back(r);
    }
    kept = usable;
  }

  AggregateOutcome outcome = fedavg_.AggregateFit(round, global, kept, failures);
  outcome.rejected.insert(outcome.rejected.begin(), refused.begin(), refused.end());

  // The statistics of the results FedAvg averaged (it rejects mis-sized models).
  std::vector<ParameterSpan> statistics;
  std::vector<double> weights;
  double total = 0.0;
  for (const train::FitResult& r : kept) {
    if (r.train.parameters.size() != size) continue;
    statistics.emplace_back(r.train.scaling_statistic.data(), static_cast<size_t>(size));
    weights.push_back(static_cast<double>(r.train.num_samples));
    total += weights.back();
  }
  outcome.metrics["num_statistics"] = static_cast<double>(statistics.size());
  if (!statistics.empty()) {
    if (total == 0.0) weights.assign(weights.size(), 1.0);
    const Eigen::VectorXf h = SavicCurvature(options_.estimator, WeightedMean(statistics, weights));
    const float beta = static_cast<float>(options_.beta);
    if (d_.size() == 0) {
      d_ = h;
    } else {
      d_ = beta * d_ + (1.0f - beta) * h;
    }
    scaling_ = std::make_shared<const Eigen::VectorXf>(SavicScaling(options_, d_));
  }
  if (scaling_ != nullptr) {
    outcome.metrics["scaling_min"] = static_cast<double>(scaling_->minCoeff());
    outcome.metrics["scaling_max"] = static_cast<double>(scaling_->maxCoeff());
  }
  return outcome;
}

Eigen::VectorXf Savic::SaveState() const {
  const Eigen::VectorXf inner = fedavg_.SaveState();
  const Eigen::Index n = d_.size();
  if (n == 0 && inner.size() == 0) return {};
  Eigen::VectorXf state(3 + 2 * n + inner.size());
  state[0] = n > 0 ? 1.0f : 0.0f;
  state[1] = static_cast<float>(std::floor(static_cast<double>(n) / kTwo24));
  state[2] = static_cast<float>(std::fmod(static_cast<double>(n), kTwo24));
  if (n > 0) {
    state.segment(3, n) = d_;
    state.segment(3 + n, n) = *scaling_;
  }
  state.tail(inner.size()) = inner;
  return state;
}

void Savic::RestoreState(const Eigen::VectorXf& state) {
  if (state.size() == 0) {
    d_.resize(0);
    scaling_.reset();
    fedavg_.RestoreState(state);
    return;
  }
  const auto whole = [](float v) { return v >= 0.0f && v < kTwo24 && v == std::floor(v); };
  const bool header_ok = state.size() >= 3 && (state[0] == 0.0f || state[0] == 1.0f) &&
                         whole(state[1]) && whole(state[2]);
  const double n_double = header_ok ? static_cast<double>(state[1]) * kTwo24 + state[2] : -1.0;
  const bool has_d = header_ok && state[0] == 1.0f;
  if (!header_ok || (has_d != (n_double > 0.0)) ||
      3.0 + 2.0 * n_double > static_cast<double>(state.size())) {
    throw ConfigError(name() + ": a state of " + std::to_string(state.size()) +
                      " values does not fit (expected [has_D, n div 2^24, n mod 2^24, D, D̂, "
                      "server optimizer state])");
  }
  const auto n = static_cast<Eigen::Index>(n_double);
  fedavg_.RestoreState(state.tail(state.size() - 3 - 2 * n));
  if (n == 0) {
    d_.resize(0);
    scaling_.reset();
    return;
  }
  d_ = state.segment(3, n);
  scaling_ = std::make_shared<const Eigen::VectorXf>(state.segment(3 + n, n));
}

}  // namespace edgefl::algorithms
