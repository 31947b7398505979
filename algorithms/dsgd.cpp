#include "algorithms/dsgd.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "algorithms/aggregate.h"
#include "algorithms/fedavg.h"
#include "common/error.h"
#include "common/number_text.h"

namespace edgefl::algorithms {

DsgdUpdate ParseDsgdUpdate(const std::string& name, const std::string& key) {
  if (name == "atc") return DsgdUpdate::kAdaptThenCombine;
  if (name == "dgd") return DsgdUpdate::kDgd;
  throw ConfigError(key + ": unknown update \"" + name + "\" (accepted: atc, dgd)");
}

DsgdSchedule ParseDsgdSchedule(const std::string& name, const std::string& key) {
  if (name == "constant") return DsgdSchedule::kConstant;
  if (name == "paper") return DsgdSchedule::kPaper;
  throw ConfigError(key + ": unknown schedule \"" + name + "\" (accepted: constant, paper)");
}

Dsgd::Dsgd(DsgdOptions options, size_t num_nodes) : options_(std::move(options)) {
  if (!(options_.beta > 0.0 && options_.beta <= 1.0)) {
    throw ConfigError("dsgd_beta must be in (0, 1], got " + ShortNumber(options_.beta));
  }
  if (options_.schedule == DsgdSchedule::kPaper) {
    if (!(options_.tau_alpha > 0.5 && options_.tau_alpha <= 1.0)) {
      throw ConfigError(
          "dsgd_tau_alpha must be in (0.5, 1] (the step-size window of Swenson et "
          "al.), got " +
          ShortNumber(options_.tau_alpha));
    }
    if (!(options_.tau_beta >= 0.0 && options_.tau_beta < options_.tau_alpha)) {
      throw ConfigError("dsgd_tau_beta must be in [0, dsgd_tau_alpha) = [0, " +
                        ShortNumber(options_.tau_alpha) +
                        ") (consensus must decay more slowly than the step size), got " +
                        ShortNumber(options_.tau_beta));
    }
  }
  if (!(options_.recipe.optimizer.learning_rate >= 0.0f)) {
    throw ConfigError("dsgd: lr must be >= 0");
  }
  graph_ = MakeTopology(options_.topology, num_nodes);
}

double Dsgd::Alpha(int64_t round) const {
  const double lr = static_cast<double>(options_.recipe.optimizer.learning_rate);
  if (options_.schedule == DsgdSchedule::kConstant) return lr;
  return lr / std::pow(static_cast<double>(std::max<int64_t>(round, 1)), options_.tau_alpha);
}

double Dsgd::Beta(int64_t round) const {
  if (options_.schedule == DsgdSchedule::kConstant) return options_.beta;
  return options_.beta /
         std::pow(static_cast<double>(std::max<int64_t>(round, 1)), options_.tau_beta);
}

train::FitInstructions Dsgd::Instructions(int64_t round, const ClientInfo& info) const {
  train::FitInstructions out;
  out.model_version = round;
  out.recipe = options_.recipe;
  out.local = options_.local;
  const int64_t before = std::max<int64_t>(round - 1, 0);
  out.recipe.optimizer.learning_rate = options_.schedule == DsgdSchedule::kConstant
                                           ? options_.recipe.optimizer.learning_rate
                                           : static_cast<float>(Alpha(round));
  out.recipe.step_offset = before * options_.recipe.local_steps;
  if (options_.recipe.local_steps == 0) {
    const auto n = static_cast<int64_t>(info.num_samples);
    const int64_t batch = options_.recipe.batch_size;
    out.recipe.step_offset = before * options_.recipe.epochs * ((n + batch - 1) / batch);
  }
  out.recipe.seed = ClientSeed(options_.seed, round, info.id);
  return out;
}

MixingMatrix Dsgd::Mixing(int64_t round, const std::vector<bool>& live) const {
  return WithConsensusWeight(MetropolisHastings(graph_, live), Beta(round));
}

std::vector<Eigen::VectorXf> Dsgd::Step(int64_t round, std::span<const Eigen::VectorXf> models,
                                        std::span<const Eigen::VectorXf> trained,
                                        const std::vector<bool>& live) const {
  const size_t n = graph_.size();
  if (models.size() != n || trained.size() != n || live.size() != n) {
    throw ConfigError("dsgd: " + std::to_string(models.size()) + " models, " +
                      std::to_string(trained.size()) + " trained and " +
                      std::to_string(live.size()) + " live flags for " + std::to_string(n) +
                      " nodes");
  }
  for (size_t i = 0; i < n; ++i) {
    if (live[i] && trained[i].size() != models[i].size()) {
      throw ConfigError("dsgd: node " + std::to_string(i) + " trained " +
                        std::to_string(trained[i].size()) + " parameters from " +
                        std::to_string(models[i].size()));
    }
  }
  const MixingMatrix w = Mixing(round, live);
  const bool atc = options_.update == DsgdUpdate::kAdaptThenCombine;
  std::vector<Eigen::VectorXf> next(n);
  std::vector<ParameterSpan> vectors;
  for (size_t i = 0; i < n; ++i) {
    if (!live[i]) {
      next[i] = models[i];
      continue;
    }
    vectors.clear();
    for (size_t j : w[i].nodes) {
      const Eigen::VectorXf& v = atc ? trained[j] : models[j];
      vectors.emplace_back(v.data(), static_cast<size_t>(v.size()));
    }
    next[i].resize(models[i].size());
    WeightedSum(vectors, w[i].weights, std::span<float>(next[i].data(), vectors[0].size()));
    if (!atc) next[i] += trained[i] - models[i];
  }
  return next;
}

Eigen::VectorXf AverageModel(std::span<const Eigen::VectorXf> models) {
  if (models.empty()) throw ConfigError("AverageModel: no models");
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(models[0].size());
  for (const Eigen::VectorXf& x : models)
    sum += x.cast<double>();
  return (sum / static_cast<double>(models.size())).cast<float>();
}

double ConsensusDistance(std::span<const Eigen::VectorXf> models) {
  if (models.empty()) return 0.0;
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(models[0].size());
  for (const Eigen::VectorXf& x : models)
    mean += x.cast<double>();
  mean /= static_cast<double>(models.size());
  double total = 0.0;
  for (const Eigen::VectorXf& x : models)
    total += (x.cast<double>() - mean).squaredNorm();
  return total / static_cast<double>(models.size());
}

}  // namespace edgefl::algorithms
