#include "algorithms/dipaco.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "algorithms/aggregate.h"
#include "common/error.h"

namespace edgefl::algorithms {

DiPaCo::DiPaCo(DiPaCoOptions options)
    : options_(std::move(options)),
      inner_(options_.inner),
      grid_(ModuleGrid::ForModel(options_.model, options_.levels, options_.modules)) {
  ValidateServerOptimizer(options_.outer);
  outer_.reserve(grid_.levels() * grid_.modules());
  for (size_t i = 0; i < grid_.levels() * grid_.modules(); ++i)
    outer_.emplace_back(options_.outer);
}

std::vector<train::FitInstructions> DiPaCo::ConfigureFit(int64_t round,
                                                         std::span<const ClientInfo> cohort) {
  return inner_.ConfigureFit(round, cohort);
}

std::vector<train::FitInstructions> DiPaCo::ConfigureFitFrom(int64_t round,
                                                             std::span<const ClientInfo> cohort,
                                                             const Eigen::VectorXf& global) {
  if (global.size() != grid_.grid_size()) {
    throw Error("dipaco: the global model has " + std::to_string(global.size()) +
                " parameters, the module grid " + std::to_string(grid_.grid_size()));
  }
  std::vector<train::FitInstructions> out = inner_.ConfigureFit(round, cohort);
  // One copy per path taken this round, shared by its clients.
  std::map<size_t, std::shared_ptr<const Eigen::VectorXf>> paths;
  for (size_t i = 0; i < cohort.size(); ++i) {
    const size_t p = PathOfClient(cohort[i].id, grid_.paths());
    auto& shared = paths[p];
    if (!shared) shared = std::make_shared<const Eigen::VectorXf>(grid_.Gather(global, p));
    out[i].start_parameters = shared;
  }
  return out;
}

AggregateOutcome DiPaCo::AggregateFit(int64_t round, const Eigen::VectorXf& global,
                                      std::span<const train::FitResult> results,
                                      std::span<const train::FitFailure> /*failures*/) {
  AggregateOutcome outcome;
  const auto path_size = static_cast<size_t>(grid_.path_size());
  // Step 2: each path's clients, then their FedAvg mean.
  std::map<size_t, std::vector<const train::FitResult*>> by_path;
  for (const train::FitResult& r : results) {
    if (static_cast<size_t>(r.train.parameters.size()) != path_size) {
      outcome.rejected.push_back(
          {r.client, train::FitFailure::Kind::kRejected,
           "update from " + r.client + " has " + std::to_string(r.train.parameters.size()) +
               " parameters, expected a path's " + std::to_string(path_size)});
      continue;
    }
    by_path[PathOfClient(r.client, grid_.paths())].push_back(&r);
  }
  size_t accepted = 0;
  std::map<size_t, Eigen::VectorXf> means;
  for (const auto& [path, members] : by_path) {
    std::vector<ParameterSpan> vectors;
    std::vector<double> weights;
    double total = 0.0;
    for (const train::FitResult* r : members) {
      vectors.emplace_back(r->train.parameters.data(), path_size);
      weights.push_back(static_cast<double>(r->train.num_samples));
      total += weights.back();
    }
    if (total == 0.0) weights.assign(weights.size(), 1.0);
    means[path] = WeightedMean(vectors, weights);
    accepted += members.size();
  }
  outcome.metrics["num_results"] = static_cast<double>(accepted);
  outcome.metrics["paths_trained"] = static_cast<double>(means.size());
  outcome.metrics["client_lr"] =
      options_.inner.lr_schedule.ValueAt(std::max<int64_t>(round - 1, 0));
  if (means.empty()) return outcome;

  // Step 3: per module, the mean over its paths, then its outer step.
  Eigen::VectorXf next = global;
  size_t updated = 0;
  for (size_t l = 0; l < grid_.levels(); ++l) {
    const Eigen::Index begin = grid_.level_begin(l);
    const Eigen::Index size = grid_.level_size(l);
    for (size_t j = 0; j < grid_.modules(); ++j) {
      std::vector<const Eigen::VectorXf*> sharing;
      for (const auto& [path, mean] : means) {
        if (grid_.ModuleOf(path, l) == j) sharing.push_back(&mean);
      }
      if (sharing.empty()) continue;
      Eigen::VectorXf aggregate = sharing.front()->segment(begin, size);
      if (sharing.size() > 1) {
        for (size_t s = 1; s < sharing.size(); ++s)
          aggregate += sharing[s]->segment(begin, size);
        aggregate /= static_cast<float>(sharing.size());
      }
      const Eigen::Index offset = grid_.ModuleOffset(l, j);
      const Eigen::VectorXf current = global.segment(offset, size);
      next.segment(offset, size) = outer_[l * grid_.modules() + j].Step(current, aggregate);
      ++updated;
    }
  }
  outcome.metrics["modules_updated"] = static_cast<double>(updated);
  outcome.metrics["update_norm"] = static_cast<double>((next - global).norm());
  outcome.parameters = std::move(next);
  return outcome;
}

Eigen::VectorXf DiPaCo::InitialGlobal(const Eigen::VectorXf& model_initial) {
  if (model_initial.size() != grid_.path_size()) {
    throw ConfigError("dipaco: the initial model has " + std::to_string(model_initial.size()) +
                      " parameters, a path of " + options_.model + " " +
                      std::to_string(grid_.path_size()));
  }
  return grid_.Replicate(model_initial);
}

void DiPaCo::Prepare(const datasets::Dataset& train) {
  router_ = datasets::FitKMeansRouter(train, grid_.paths(), options_.inner.seed);
}

std::optional<train::EvalResult> DiPaCo::EvaluateGlobal(const Eigen::VectorXf& global,
                                                        const datasets::Dataset& test) {
  if (!router_) throw Error("dipaco: the router is not learned yet (Prepare)");
  if (!eval_model_) eval_model_ = std::make_unique<nn::Model>(options_.model);
  const std::vector<size_t> routes = router_->RouteAll(test);
  std::vector<std::vector<uint32_t>> members(grid_.paths());
  for (size_t i = 0; i < routes.size(); ++i)
    members[routes[i]].push_back(static_cast<uint32_t>(i));
  // One route with samples: that path's evaluation as it is (a one-path
  // grid evaluates exactly as the plain model).
  size_t nonempty = 0, only = 0;
  for (size_t p = 0; p < members.size(); ++p) {
    if (!members[p].empty()) {
      ++nonempty;
      only = p;
    }
  }
  if (nonempty == 1) {
    eval_model_->SetParameters(grid_.Gather(global, only));
    return train::LocalTrainer::Evaluate(*eval_model_, test);
  }
  train::EvalResult out;
  const auto classes = static_cast<size_t>(test.num_classes);
  std::vector<double> correct(classes, 0.0), counts(classes, 0.0);
  double loss = 0.0, squared = 0.0, hits = 0.0;
  for (size_t p = 0; p < members.size(); ++p) {
    if (members[p].empty()) continue;
    const datasets::Dataset part = datasets::Subset(test, members[p]);
    eval_model_->SetParameters(grid_.Gather(global, p));
    const train::EvalResult e = train::LocalTrainer::Evaluate(*eval_model_, part);
    const auto n = static_cast<double>(e.num_samples);
    loss += n * e.loss;
    squared += n * e.mean_squared_loss;
    hits += n * e.accuracy;
    const std::vector<size_t> class_counts = datasets::ClassCounts(part.labels, test.num_classes);
    for (size_t c = 0; c < classes && c < e.per_class_accuracy.size(); ++c) {
      if (class_counts[c] == 0) continue;
      correct[c] += e.per_class_accuracy[c] * static_cast<double>(class_counts[c]);
      counts[c] += static_cast<double>(class_counts[c]);
    }
    out.num_samples += e.num_samples;
  }
  const auto n = static_cast<double>(out.num_samples);
  out.loss = n > 0 ? loss / n : std::nan("");
  out.mean_squared_loss = n > 0 ? squared / n : std::nan("");
  out.accuracy = n > 0 ? hits / n : std::nan("");
  out.per_class_accuracy.resize(classes);
  for (size_t c = 0; c < classes; ++c) {
    out.per_class_accuracy[c] =
        counts[c] > 0 ? correct[c] / counts[c] : std::numeric_limits<double>::quiet_NaN();
  }
  return out;
}

Eigen::VectorXf DiPaCo::SaveState() const {
  std::vector<Eigen::VectorXf> states;
  Eigen::Index total = 1;
  bool any = false;
  for (const ServerOptimizer& o : outer_) {
    states.push_back(o.SaveState());
    total += 1 + states.back().size();
    any = any || states.back().size() > 0;
  }
  if (!any) return {};
  Eigen::VectorXf out(total);
  out[0] = static_cast<float>(outer_.size());
  Eigen::Index at = 1;
  for (const Eigen::VectorXf& s : states) {
    out[at++] = static_cast<float>(s.size());
    out.segment(at, s.size()) = s;
    at += s.size();
  }
  return out;
}

void DiPaCo::RestoreState(const Eigen::VectorXf& state) {
  if (state.size() == 0) {
    for (ServerOptimizer& o : outer_)
      o.Reset();
    return;
  }
  const auto misfit = [&]() {
    return ConfigError("dipaco: a state of " + std::to_string(state.size()) +
                       " values does not fit " + std::to_string(outer_.size()) + " modules");
  };
  if (state[0] != static_cast<float>(outer_.size())) throw misfit();
  Eigen::Index at = 1;
  for (ServerOptimizer& o : outer_) {
    if (at >= state.size()) throw misfit();
    const float size = state[at++];
    if (!(size >= 0.0f) || size != std::floor(size) ||
        at + static_cast<Eigen::Index>(size) > state.size()) {
      throw misfit();
    }
    const auto n = static_cast<Eigen::Index>(size);
    o.RestoreState(state.segment(at, n));
    at += n;
  }
  if (at != state.size()) throw misfit();
}

}  // namespace edgefl::algorithms
