#include "algorithms/fedavg.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "algorithms/bucketing.h"
#include "algorithms/multi_krum.h"
#include "algorithms/nearest_neighbor_mixing.h"
#include "common/error.h"
#include "common/number_text.h"
#include "common/random.h"

namespace edgefl::algorithms {
namespace {

// Rng stream of the per-client recipe seeds ("fit").
constexpr uint64_t kClientSeedStream = 0x666974;
// Rng stream of the per-round bucketing permutation ("bkt").
constexpr uint64_t kBucketStream = 0x626b74;

FedAvgOptions Prepared(FedAvgOptions options) {
  train::ValidateRecipe(options.recipe);
  options.lr_schedule.base = options.recipe.optimizer.learning_rate;
  if (options.qsr) {
    // The schedule runs on global steps; a cosine over the step budget.
    if (options.lr_schedule.kind == train::LrScheduleKind::kCosine) {
      if (options.qsr->total_steps <= 0) {
        throw ConfigError(
            "qsr: lr_schedule = cosine runs over the step budget: set qsr_total_steps > 0");
      }
      options.lr_schedule.total = options.qsr->total_steps;
    }
    options.lr_schedule.Validate("steps");
  } else {
    options.lr_schedule.Validate("rounds");
  }
  if (options.aggregator == AggregatorKind::kTrimmedMean &&
      !(options.trim_fraction >= 0.0 && options.trim_fraction < 0.5)) {
    throw ConfigError("fedavg: trim_fraction must be in [0, 0.5), got " +
                      std::to_string(options.trim_fraction));
  }
  if (options.aggregator == AggregatorKind::kNormClip) {
    if (!(std::isfinite(options.clip.bound) && options.clip.bound >= 0.0)) {
      throw ConfigError("fedavg: clip_bound must be >= 0 (0 = adaptive), got " +
                        std::to_string(options.clip.bound));
    }
    if (!(std::isfinite(options.clip.median_factor) && options.clip.median_factor > 0.0)) {
      throw ConfigError("fedavg: clip_median_factor must be > 0, got " +
                        std::to_string(options.clip.median_factor));
    }
  }
  if (options.aggregator == AggregatorKind::kCenteredClip) {
    if (!(std::isfinite(options.centered_clip.tau) && options.centered_clip.tau > 0.0)) {
      throw ConfigError("fedavg: cc_tau must be > 0, got " +
                        std::to_string(options.centered_clip.tau));
    }
    if (options.centered_clip.iterations < 1) {
      throw ConfigError("fedavg: cc_iterations must be >= 1, got " +
                        std::to_string(options.centered_clip.iterations));
    }
  }
  if (options.aggregator == AggregatorKind::kMultiKrum && options.krum_byzantine < 1) {
    throw ConfigError(
        "fedavg: multi_krum needs krum_byzantine >= 1 (with f = 0 it is the plain mean)");
  }
  if (options.bucket_size < 1) throw ConfigError("fedavg: bucket_size must be >= 1, got 0");
  if (options.bucket_size > 1 && (options.aggregator == AggregatorKind::kMean ||
                                  options.aggregator == AggregatorKind::kNormClip)) {
    throw ConfigError(
        "fedavg: bucket_size applies to median, trimmed_mean, centered_clip and multi_krum, not " +
        AggregatorName(options.aggregator));
  }
  if (options.qsr) options.qsr->Validate();
  if (options.nnm_byzantine > 0 && options.aggregator == AggregatorKind::kMean) {
    throw ConfigError(
        "fedavg: nnm_byzantine (nearest-neighbour mixing) applies to median, trimmed_mean, "
        "norm_clip, centered_clip and multi_krum, not mean");
  }
  if (options.nnm_byzantine > 0 && options.bucket_size > 1) {
    throw ConfigError(
        "fedavg: nnm_byzantine and bucket_size are two pre-aggregations; pick one (set "
        "bucket_size = 1 or nnm_byzantine = 0)");
  }
  if (options.dp && (options.aggregator != AggregatorKind::kMean || options.bucket_size > 1)) {
    throw ConfigError(
        "fedavg: dp (DP-FedAvg's clipped, noised mean) replaces the aggregator; it "
        "cannot be combined with aggregator = " +
        AggregatorName(options.aggregator) +
        (options.bucket_size > 1 ? " and bucket_size > 1" : ""));
  }
  return options;
}

}  // namespace

AggregatorKind ParseAggregator(const std::string& name, const std::string& key) {
  if (name == "mean") return AggregatorKind::kMean;
  if (name == "median") return AggregatorKind::kMedian;
  if (name == "trimmed_mean") return AggregatorKind::kTrimmedMean;
  if (name == "norm_clip") return AggregatorKind::kNormClip;
  if (name == "centered_clip") return AggregatorKind::kCenteredClip;
  if (name == "multi_krum") return AggregatorKind::kMultiKrum;
  throw ConfigError(
      key + ": unknown aggregator \"" + name +
      "\" (accepted: mean, median, trimmed_mean, norm_clip, centered_clip, multi_krum)");
}

std::string AggregatorName(AggregatorKind kind) {
  switch (kind) {
    case AggregatorKind::kMean:
      return "mean";
    case AggregatorKind::kMedian:
      return "median";
    case AggregatorKind::kTrimmedMean:
      return "trimmed_mean";
    case AggregatorKind::kNormClip:
      return "norm_clip";
    case AggregatorKind::kCenteredClip:
      return "centered_clip";
    case AggregatorKind::kMultiKrum:
      return "multi_krum";
  }
  return "?";
}

uint64_t ClientSeed(uint64_t run_seed, int64_t round, const train::ClientId& client) {
  return Rng::Derive(run_seed, {kClientSeedStream, static_cast<uint64_t>(round), HashText(client)})
      .Next();
}

FedAvg::FedAvg(FedAvgOptions options)
    : options_(Prepared(std::move(options))), optimizer_(options_.server) {
  if (options_.dp) dp_.emplace(*options_.dp, options_.seed);
  // Distributed DP: the clients add the noise of the calibrated z.
  if (dp_ && options_.secure_aggregation) dp_->ArmSecureAggregation(*options_.secure_aggregation);
}

void FedAvg::ExtendQsr(int64_t round) {
  const QsrOptions& qsr = *options_.qsr;
  const train::LrSchedule& schedule = options_.lr_schedule;
  while (static_cast<int64_t>(qsr_steps_.size()) < round) {
    const int64_t start = qsr_steps_.empty() ? 0 : qsr_starts_.back() + qsr_steps_.back();
    const int64_t left =
        qsr.total_steps > 0 ? std::max<int64_t>(qsr.total_steps - start, 0) : int64_t{-1};
    // H from the learning rate at the step the period starts (adjust_h runs
    // right after the averaging, once the lr is set for the next step).
    qsr_starts_.push_back(start);
    qsr_steps_.push_back(
        QsrLocalSteps(qsr, schedule.ValueAt(start), left, schedule.InWarmup(start)));
  }
}

int64_t FedAvg::LocalStepsAt(int64_t round) {
  if (!options_.qsr) return options_.recipe.local_steps;
  const int64_t r = std::max<int64_t>(round, 1);
  ExtendQsr(r);
  return qsr_steps_[static_cast<size_t>(r - 1)];
}

int64_t FedAvg::QsrStartAt(int64_t round) {
  if (!options_.qsr) return 0;
  const int64_t r = std::max<int64_t>(round, 1);
  ExtendQsr(r);
  return qsr_starts_[static_cast<size_t>(r - 1)];
}

std::optional<std::string> FedAvg::BudgetSpentAfter(int64_t round) {
  if (dp_) {
    if (std::optional<std::string> spent = dp_->BudgetSpentAfter(round)) return spent;
  }
  if (!options_.qsr || options_.qsr->total_steps <= 0 || round < 1) return std::nullopt;
  if (QsrStartAt(round) + LocalStepsAt(round) < options_.qsr->total_steps) return std::nullopt;
  return "QSR step budget of " + std::to_string(options_.qsr->total_steps) +
         " local steps spent after round " + std::to_string(round);
}

std::vector<train::FitInstructions> FedAvg::ConfigureFit(int64_t round,
                                                         std::span<const ClientInfo> cohort) {
  train::FitInstructions base;
  base.model_version = round;
  base.recipe = options_.recipe;
  base.local = options_.local;
  const int64_t before = std::max<int64_t>(round - 1, 0);  // rounds before this one
  if (options_.qsr) {
    const int64_t h = LocalStepsAt(round);
    if (h == 0) {
      throw Error("qsr: the step budget of " + std::to_string(options_.qsr->total_steps) +
                  " local steps was spent before round " + std::to_string(round) +
                  "; the run should have ended (Strategy::BudgetSpentAfter)");
    }
    const int64_t start = QsrStartAt(round);
    base.recipe.local_steps = h;
    base.recipe.step_offset = start;
    base.recipe.lr_schedule = options_.lr_schedule;
    base.recipe.optimizer.learning_rate = static_cast<float>(options_.lr_schedule.ValueAt(start));
  } else {
    base.recipe.optimizer.learning_rate = static_cast<float>(options_.lr_schedule.ValueAt(before));
    base.recipe.step_offset = before * options_.recipe.local_steps;
  }
  std::vector<train::FitInstructions> out(cohort.size(), base);
  for (size_t i = 0; i < cohort.size(); ++i) {
    out[i].recipe.seed = ClientSeed(options_.seed, round, cohort[i].id);
    if (!options_.qsr && options_.recipe.local_steps == 0) {
      // Epochs: the client's own steps per round, from its reported size.
      const auto n = static_cast<int64_t>(cohort[i].num_samples);
      const int64_t batch = options_.recipe.batch_size;
      out[i].recipe.step_offset = before * options_.recipe.epochs * ((n + batch - 1) / batch);
    }
  }
  return out;
}

Eigen::VectorXf FedAvg::SaveState() const {
  if (dp_) {
    const Eigen::VectorXf optimizer = optimizer_.SaveState();
    const Eigen::VectorXf dp = dp_->SaveState();
    Eigen::VectorXf state(optimizer.size() + dp.size());
    state << optimizer, dp;
    return state;
  }
  Eigen::VectorXf optimizer = optimizer_.SaveState();
  if (options_.aggregator != AggregatorKind::kCenteredClip || cc_center_.size() == 0) {
    return optimizer;
  }
  Eigen::VectorXf state(optimizer.size() + cc_center_.size());
  state << optimizer, cc_center_;
  return state;
}

void FedAvg::RestoreState(const Eigen::VectorXf& state) {
  if (dp_ && state.size() > 0) {
    if (state.size() < DpFedAvg::kStateSize) {
      throw ConfigError("fedavg with dp: a state of " + std::to_string(state.size()) +
                        " values does not fit (expected the server optimizer's state and " +
                        "[rounds composed, clip norm])");
    }
    const Eigen::Index rest = state.size() - DpFedAvg::kStateSize;
    optimizer_.RestoreState(state.head(rest));
    dp_->RestoreState(std::span<const float>(state.data() + rest, DpFedAvg::kStateSize));
    return;
  }
  if (options_.aggregator != AggregatorKind::kCenteredClip || state.size() == 0) {
    optimizer_.RestoreState(state);
    cc_center_.resize(0);
    return;
  }
  // [optimizer state of P parameters, center of P]: solve for P. The
  // optimizer's state is 0 or 1 + blocks·P values.
  const Eigen::Index per_p = optimizer_.StateSizeFor(1) == 0 ? 0 : optimizer_.StateSizeFor(1) - 1;
  const Eigen::Index fixed = per_p == 0 ? 0 : 1;
  const Eigen::Index p = (state.size() - fixed) / (per_p + 1);
  if (p <= 0 || fixed + (per_p + 1) * p != state.size()) {
    throw ConfigError("fedavg with centered_clip: a state of " + std::to_string(state.size()) +
                      " values does not fit (expected the server optimizer's state and the " +
                      "center, " + std::to_string(per_p + 1) + "·P" + (fixed != 0 ? " + 1" : "") +
                      " values)");
  }
  optimizer_.RestoreState(state.head(fixed + per_p * p));
  cc_center_ = state.tail(p);
}

AggregateOutcome FedAvg::AggregateFit(int64_t round, const Eigen::VectorXf& global,
                                      std::span<const train::FitResult> results,
                                      std::span<const train::FitFailure> failures) {
  AggregateOutcome outcome;
  const size_t size = static_cast<size_t>(global.size());
  std::vector<ParameterSpan> vectors;
  std::vector<double> weights;
  std::vector<const train::FitResult*> sources;  // the result behind vectors[i]
  vectors.reserve(results.size());
  weights.reserve(results.size());
  for (const train::FitResult& r : results) {
    const Eigen::VectorXf& p = r.train.parameters;
    if (static_cast<size_t>(p.size()) != size) {
      outcome.rejected.push_back({r.client, train::FitFailure::Kind::kRejected,
                                  "update from " + r.client + " has " + std::to_string(p.size()) +
                                      " parameters, expected " + std::to_string(size)});
      continue;
    }
    vectors.emplace_back(p.data(), size);
    weights.push_back(static_cast<double>(r.train.num_samples));
    sources.push_back(&r);
  }
  outcome.metrics["num_results"] = static_cast<double>(vectors.size());
  if (options_.qsr) {
    const int64_t start = QsrStartAt(round);
    const int64_t h = LocalStepsAt(round);
    outcome.metrics["client_lr"] = options_.lr_schedule.ValueAt(start);
    outcome.metrics["local_steps"] = static_cast<double>(h);
    outcome.metrics["global_step"] = static_cast<double>(start + h);
  } else {
    outcome.metrics["client_lr"] = options_.lr_schedule.ValueAt(std::max<int64_t>(round - 1, 0));
  }
  if (vectors.empty()) return outcome;

  double total = 0.0;
  for (double w : weights)
    total += w;
  if (total == 0.0) weights.assign(weights.size(), 1.0);

  Eigen::VectorXf aggregate;
  const ParameterSpan global_span(global.data(), size);
  // Bucketing: the robust rule sees the means of shuffled buckets.
  std::vector<Eigen::VectorXf> buckets;
  if (options_.bucket_size > 1) {
    Rng rng = Rng::Derive(options_.seed, {kBucketStream, static_cast<uint64_t>(round)});
    buckets = BucketMeans(vectors, options_.bucket_size, rng);
    vectors.clear();
    for (const Eigen::VectorXf& b : buckets)
      vectors.emplace_back(b.data(), size);
    outcome.metrics["num_buckets"] = static_cast<double>(buckets.size());
  }
  // At most f of the cohort are Byzantine; the engine's rejections (NaN,
  // wrong size) are some of them, caught already: at most f − rejected
  // remain among the results.
  size_t engine_rejected = 0;
  for (const train::FitFailure& f : failures) {
    if (f.kind == train::FitFailure::Kind::kRejected) ++engine_rejected;
  }
  auto remaining_byzantine = [&](size_t f) { return f - std::min(f, engine_rejected); };
  // Nearest-neighbour mixing: the rule sees y_i in place of result i.
  std::vector<Eigen::VectorXf> mixed;
  if (options_.nnm_byzantine > 0) {
    const size_t f = remaining_byzantine(options_.nnm_byzantine);
    outcome.metrics["nnm_f"] = static_cast<double>(f);
    if (vectors.size() <= 2 * f) {
      // Fewer honest results than the mixtures need: fail closed.
      outcome.metrics["nnm_too_few"] = 1.0;
      return outcome;
    }
    mixed = NearestNeighborMixing(vectors, f);
    for (size_t i = 0; i < mixed.size(); ++i)
      vectors[i] = ParameterSpan(mixed[i].data(), size);
  }
  if (dp_ && options_.secure_aggregation) {
    // Distributed DP: the one result is already the clipped, noised mean.
    aggregate = WeightedMean(vectors, weights);
    dp_->ChargeDistributedRound(&outcome.metrics);
  } else if (dp_) {
    // Uniform weights: each client's clipped update counts once (the bound
    // on one client's influence is what the noise is calibrated to).
    aggregate = dp_->Aggregate(round, global, vectors, &outcome.metrics);
  } else {
    switch (options_.aggregator) {
      case AggregatorKind::kMean:
        aggregate = WeightedMean(vectors, weights);
        break;
      case AggregatorKind::kMedian:
        aggregate = CoordinateMedian(vectors);
        break;
      case AggregatorKind::kTrimmedMean:
        aggregate = TrimmedMean(vectors, options_.trim_fraction);
        break;
      case AggregatorKind::kNormClip: {
        NormClipOutcome clipped = NormClippedMean(global_span, vectors, weights, options_.clip);
        outcome.metrics["clip_bound"] = clipped.bound;
        outcome.metrics["num_clipped"] = static_cast<double>(clipped.num_clipped);
        aggregate = std::move(clipped.mean);
        break;
      }
      case AggregatorKind::kCenteredClip: {
        // On the updates x_k − w from v: the same as on the models from w + v
        // (the rule commutes with a shift), which needs no copies.
        if (cc_center_.size() == 0) cc_center_ = Eigen::VectorXf::Zero(global.size());
        if (cc_center_.size() != global.size()) {
          throw ConfigError("fedavg with centered_clip: the restored center of " +
                            std::to_string(cc_center_.size()) + " values does not fit a model of " +
                            std::to_string(global.size()) + " parameters");
        }
        const Eigen::VectorXf start = global + cc_center_;
        CenteredClipOutcome clipped =
            CenteredClip(vectors, ParameterSpan(start.data(), size), options_.centered_clip);
        outcome.metrics["num_clipped"] = static_cast<double>(clipped.num_clipped);
        aggregate = std::move(clipped.center);
        cc_center_ = aggregate - global;
        break;
      }
      case AggregatorKind::kMultiKrum: {
        const size_t n = vectors.size();
        const size_t f = remaining_byzantine(options_.krum_byzantine);
        outcome.metrics["krum_f"] = static_cast<double>(f);
        if (n < 2 * f + 3) {
          // No neighbour set: fail closed, keep the model.
          outcome.metrics["krum_too_few"] = 1.0;
          return outcome;
        }
        const size_t m = options_.krum_keep == 0 ? n - f : std::min(options_.krum_keep, n);
        MultiKrumOutcome krum = MultiKrum(vectors, f, m);
        outcome.metrics["num_selected"] = static_cast<double>(m);
        if (buckets.empty() && mixed.empty()) {
          // Rank r + 1 for order[r]; the first m are kept.
          for (size_t r = m; r < n; ++r) {
            const size_t i = krum.order[r];
            outcome.rejected.push_back({sources[i]->client, train::FitFailure::Kind::kRejected,
                                        "left out by multi_krum: score " +
                                            ShortNumber(krum.scores[i]) + " ranks " +
                                            std::to_string(r + 1) + " of " + std::to_string(n) +
                                            " (keeps " + std::to_string(m) + ")"});
          }
        }
        aggregate = std::move(krum.mean);
        break;
      }
    }
  }
  Eigen::VectorXf next = optimizer_.Step(global, aggregate);
  outcome.metrics["update_norm"] = static_cast<double>((next - global).norm());
  outcome.parameters = std::move(next);
  return outcome;
}

}  // namespace edgefl::algorithms
