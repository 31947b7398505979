#include "algorithms/dp_fedavg.h"

#include <cmath>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/number_text.h"
#include "common/random.h"
#include "privacy/secure_seed.h"

namespace edgefl::algorithms {
namespace {

constexpr uint64_t kServerNoiseStream = 0x64706e6f697365;  // "dpnoise"

DpFedAvgOptions Checked(DpFedAvgOptions o) {
  if (o.clients_per_round < 1) {
    throw ConfigError("dp: clients_per_round must be >= 1, got " +
                      std::to_string(o.clients_per_round));
  }
  if (o.population < o.clients_per_round) {
    throw ConfigError(
        "dp: the population (clients = " + std::to_string(o.population) +
        ") must be at least clients_per_round = " + std::to_string(o.clients_per_round));
  }
  if (!(o.clip_norm > 0.0) || std::isinf(o.clip_norm)) {
    throw ConfigError("dp: dp_clip must be finite and > 0, got " + ShortNumber(o.clip_norm));
  }
  if (o.delta == 0.0) o.delta = 1.0 / static_cast<double>(o.population);
  if (!(o.delta > 0.0 && o.delta < 1.0)) {
    throw ConfigError("dp: dp_delta must be in (0, 1), got " + ShortNumber(o.delta));
  }
  if (!(o.target_epsilon >= 0.0)) {
    throw ConfigError("dp: dp_target_epsilon must be >= 0, got " + ShortNumber(o.target_epsilon));
  }
  if (o.calibrate_rounds > 0) {
    if (o.target_epsilon <= 0.0) {
      throw ConfigError("dp: dp_calibrate_noise = true needs dp_target_epsilon > 0");
    }
    o.noise_multiplier = privacy::NoiseMultiplierFor(
        static_cast<double>(o.clients_per_round) / static_cast<double>(o.population),
        o.calibrate_rounds, o.target_epsilon, o.delta);
  }
  if (o.adaptive_clip && o.adaptive.count_stddev == 0.0) {
    o.adaptive.count_stddev = static_cast<double>(o.clients_per_round) / 20.0;
  }
  return o;
}

}  // namespace

DpFedAvg::DpFedAvg(DpFedAvgOptions options, uint64_t run_seed)
    : options_(Checked(std::move(options))),
      noise_seed_(options_.seeded_noise ? run_seed : privacy::SecureRandomSeed()),
      delta_(options_.delta),
      update_multiplier_(privacy::UpdateNoiseMultiplier(
          options_.noise_multiplier,
          options_.adaptive_clip ? options_.adaptive.count_stddev : 0.0)),
      count_stddev_(options_.adaptive_clip ? options_.adaptive.count_stddev : 0.0),
      clip_(static_cast<float>(options_.clip_norm)),
      accountant_(static_cast<double>(options_.clients_per_round) /
                      static_cast<double>(options_.population),
                  options_.noise_multiplier) {
  if (options_.target_epsilon > 0.0) {
    const double one = accountant_.SpentAfter(1, delta_).epsilon;
    if (one > options_.target_epsilon) {
      throw ConfigError("dp: one round already spends ε = " + std::to_string(one) +
                        " at δ = " + ShortNumber(delta_) +
                        ", over dp_target_epsilon = " + ShortNumber(options_.target_epsilon) +
                        "; raise dp_noise_multiplier or lower clients_per_round");
    }
  }
}

Eigen::VectorXf DpFedAvg::Aggregate(int64_t round, const Eigen::VectorXf& global,
                                    std::span<const ParameterSpan> models,
                                    std::map<std::string, double>* metrics) {
  const Eigen::Index size = global.size();
  Eigen::VectorXf sum = Eigen::VectorXf::Zero(size);
  Eigen::VectorXf update(size);
  int unclipped = 0;
  for (const ParameterSpan& model : models) {
    if (static_cast<Eigen::Index>(model.size()) != size) {
      throw Error("dp: an update of " + std::to_string(model.size()) + " values for a model of " +
                  std::to_string(size));
    }
    update = Eigen::Map<const Eigen::VectorXf>(model.data(), size) - global;
    if (Clip(std::span<float>(update.data(), static_cast<size_t>(size)))) ++unclipped;
    sum += update;
  }
  return global +
         NoisedMean(round, std::move(sum), unclipped, static_cast<int>(models.size()), metrics);
}

bool DpFedAvg::Clip(std::span<float> update) const {
  return privacy::ClipToNorm(update, clip_);
}

Eigen::VectorXf DpFedAvg::NoisedMean(int64_t step, Eigen::VectorXf sum, int unclipped, int count,
                                     std::map<std::string, double>* metrics) {
  Rng rng = Rng::Derive(noise_seed_, {kServerNoiseStream, static_cast<uint64_t>(step)});
  const double stddev = update_multiplier_ * clip_;
  for (Eigen::Index i = 0; i < sum.size(); ++i)
    sum[i] += static_cast<float>(stddev * rng.Normal());
  const auto m = static_cast<double>(options_.clients_per_round);
  (*metrics)["dp_clip"] = clip_;
  (*metrics)["dp_unclipped"] = unclipped;
  (*metrics)["dp_noise_std"] = stddev / m;
  if (options_.adaptive_clip) {
    const double count_noise = count_stddev_ * rng.Normal();
    // Kept at float precision so SaveState holds it exactly.
    clip_ = static_cast<float>(
        privacy::NextClipNorm(clip_, unclipped, count, m, count_noise, options_.adaptive));
  }
  accountant_.Compose(1);
  (*metrics)["epsilon"] = Epsilon();
  (*metrics)["dp_delta"] = delta_;
  (*metrics)["dp_noise_multiplier"] = options_.noise_multiplier;
  return sum / static_cast<float>(m);
}

void DpFedAvg::ArmSecureAggregation(SecureAggregationOptions& sa) const {
  sa.dp_clip = clip_;
  sa.dp_noise_multiplier = options_.noise_multiplier;
  sa.dp_seeded_noise = options_.seeded_noise;
  const double needed = sa.dp_clip * (1.0 + 6.0 * sa.dp_noise_multiplier / std::sqrt(2.0));
  if (sa.clip < needed) {
    throw ConfigError("dp with secure_aggregation: secagg_clip_range " + ShortNumber(sa.clip) +
                      " is below dp_clip·(1 + 6·z/√2) = " + std::to_string(needed) +
                      ", so the quantiser would clip the clients' noised updates; raise "
                      "secagg_clip_range");
  }
}

void DpFedAvg::ChargeDistributedRound(std::map<std::string, double>* metrics) {
  accountant_.Compose(1);
  (*metrics)["epsilon"] = Epsilon();
  (*metrics)["dp_delta"] = delta_;
  (*metrics)["dp_noise_multiplier"] = options_.noise_multiplier;
  (*metrics)["dp_clip"] = clip_;
}

std::optional<std::string> DpFedAvg::BudgetSpentAfter(int64_t /*round*/) const {
  return BudgetSpentAfterSteps(accountant_.steps());
}

std::optional<std::string> DpFedAvg::BudgetSpentAfterSteps(int64_t steps) const {
  if (options_.target_epsilon <= 0.0) return std::nullopt;
  const double next = accountant_.SpentAfter(steps + 1, delta_).epsilon;
  if (next <= options_.target_epsilon) return std::nullopt;
  return "privacy budget: another round would reach ε = " + std::to_string(next) + " > " +
         "dp_target_epsilon = " + ShortNumber(options_.target_epsilon) +
         " at δ = " + ShortNumber(delta_) +
         " (spent ε = " + ShortNumber(accountant_.SpentAfter(steps, delta_).epsilon) + " in " +
         std::to_string(steps) + " rounds)";
}

Eigen::VectorXf DpFedAvg::SaveState() const {
  Eigen::VectorXf state(kStateSize);
  state << static_cast<float>(accountant_.steps()), static_cast<float>(clip_);
  return state;
}

void DpFedAvg::RestoreState(std::span<const float> state) {
  if (state.size() != static_cast<size_t>(kStateSize) || !(state[0] >= 0.0f) ||
      state[0] != std::floor(state[0]) || !(state[1] > 0.0f) || std::isinf(state[1])) {
    throw ConfigError("dp: a saved state of " + std::to_string(state.size()) +
                      " values does not fit (expected [rounds composed, clip norm])");
  }
  accountant_ = privacy::RdpAccountant(
      accountant_.sampling_probability(), accountant_.noise_multiplier(),
      std::vector<double>(accountant_.orders().begin(), accountant_.orders().end()));
  accountant_.Compose(static_cast<int64_t>(state[0]));
  clip_ = state[1];
}

}  // namespace edgefl::algorithms
