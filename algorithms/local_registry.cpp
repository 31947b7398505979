#include "algorithms/local_registry.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "algorithms/curriculum_order.h"
#include "algorithms/deltasgd_objective.h"
#include "algorithms/entropy_sgd_objective.h"
#include "algorithms/fedbr_objective.h"
#include "algorithms/fedbr_pseudo_data.h"
#include "algorithms/noisy_softmax_objective.h"
#include "algorithms/pacing.h"
#include "algorithms/tpsgd_objective.h"
#include "algorithms/wafl_objective.h"
#include "common/error.h"

namespace edgefl::algorithms {
namespace {

using Keys = std::vector<std::string>;

const Keys& ObjectiveKeys(const std::string& name) {
  static const Keys kNone;
  static const Keys kFedBr = {"mu",          "lambda",      "tau1",     "tau2",
                              "mixup_alpha", "mixture",     "decorr",   "head_lr",
                              "pool_size",   "pool_images", "pool_seed"};
  static const Keys kWafl = {"gamma", "adv_steps", "adv_step", "init_noise", "adv_tol"};
  static const Keys kDeltaSgd = {"eta0", "theta0", "gamma", "delta", "epsilon"};
  static const Keys kEntropySgd = {"langevin_steps", "langevin_lr", "langevin_noise",
                                   "beta1",          "gamma0",      "gamma1"};
  static const Keys kNoisySoftmax = {"noise_alpha"};
  static const Keys kTpsgd = {"layer_loss", "target_scale", "projection_seed"};
  if (name == "fedbr") return kFedBr;
  if (name == "wafl") return kWafl;
  if (name == "deltasgd") return kDeltaSgd;
  if (name == "entropy_sgd") return kEntropySgd;
  if (name == "noisy_softmax") return kNoisySoftmax;
  if (name == "tpsgd") return kTpsgd;
  return kNone;
}

bool Paced(const std::string& order) {
  return order == "curriculum" || order == "anti_curriculum" || order == "random";
}

const Keys& OrderKeys(const std::string& name) {
  static const Keys kNone;
  static const Keys kPacing = {"pacing", "pacing_a", "pacing_b", "pacing_c", "pacing_min"};
  return Paced(name) ? kPacing : kNone;
}

bool Contains(const Keys& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// Rejects keys that neither the objective nor the order of `local` takes.
void CheckKeys(const train::LocalAlgorithm& local) {
  const Keys& own = ObjectiveKeys(local.objective);
  const Keys& order = OrderKeys(local.data_order);
  for (const auto& [key, value] : local.params) {
    if (Contains(own, key) || Contains(order, key)) continue;
    Keys accepted = own;
    accepted.insert(accepted.end(), order.begin(), order.end());
    throw ConfigError("unknown parameter '" + key + "' for local objective '" + local.objective +
                      "' with data order '" + local.data_order + "' (accepted: " +
                      (accepted.empty() ? std::string("none") : JoinNames(accepted)) + ")");
  }
}

// Reads params by name; `what` prefixes error messages ("wafl: ...").
class Params {
 public:
  Params(const train::LocalAlgorithm& local, std::string what)
      : local_(local), what_(std::move(what)) {}

  double Get(const std::string& key, double fallback) const {
    const auto it = local_.params.find(key);
    if (it == local_.params.end()) return fallback;
    if (!std::isfinite(it->second)) {
      throw ConfigError(what_ + ": " + key + " must be finite, got " + std::to_string(it->second));
    }
    return it->second;
  }
  // An integer in [lo, hi].
  int64_t GetInt(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) const {
    const double value = Get(key, static_cast<double>(fallback));
    if (value != std::floor(value) || value < static_cast<double>(lo) ||
        value > static_cast<double>(hi)) {
      throw ConfigError(what_ + ": " + key + " must be an integer in [" + std::to_string(lo) +
                        ", " + std::to_string(hi) + "], got " + std::to_string(value));
    }
    return static_cast<int64_t>(value);
  }

 private:
  const train::LocalAlgorithm& local_;
  std::string what_;
};

constexpr int64_t kMaxInt = std::numeric_limits<int32_t>::max();
// Seeds travel as doubles: integers up to 2^53 are exact.
constexpr int64_t kMaxSeed = int64_t{1} << 53;

// FedBR's pool keys, read with their bounds in one place.
PseudoDataSpec ReadPseudoDataSpec(const Params& p) {
  PseudoDataSpec spec;
  spec.size = static_cast<int>(p.GetInt("pool_size", spec.size, 1, 1 << 16));
  spec.images = static_cast<int>(p.GetInt("pool_images", spec.images, 2, 1 << 20));
  spec.seed = static_cast<uint64_t>(p.GetInt("pool_seed", 0, 0, kMaxSeed));
  return spec;
}

}  // namespace

const std::vector<std::string>& LocalObjectiveNames() {
  static const std::vector<std::string> kNames = {
      "ce", "fedbr", "wafl", "deltasgd", "entropy_sgd", "noisy_softmax", "tpsgd"};
  return kNames;
}

const std::vector<std::string>& DataOrderNames() {
  static const std::vector<std::string> kNames = {"shuffle", "sequential", "curriculum",
                                                  "anti_curriculum", "random"};
  return kNames;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names)
    out += (out.empty() ? "" : ", ") + name;
  return out;
}

std::optional<PseudoDataSpec> PseudoDataSpecOf(const train::LocalAlgorithm& local) {
  if (local.objective != "fedbr") return std::nullopt;
  return ReadPseudoDataSpec(Params(local, "fedbr"));
}

std::unique_ptr<train::LocalObjective> MakeLocalObjective(const train::LocalAlgorithm& local,
                                                          const datasets::Dataset* local_data) {
  ObjectiveContext context;
  context.local_data = local_data;
  return MakeLocalObjective(local, context);
}

std::unique_ptr<train::LocalObjective> MakeLocalObjective(const train::LocalAlgorithm& local,
                                                          const ObjectiveContext& context) {
  const std::string& name = local.objective;
  if (!Contains(LocalObjectiveNames(), name)) {
    throw ConfigError("local objective: unknown name '" + name + "' (expected " +
                      JoinNames(LocalObjectiveNames()) + ")");
  }
  CheckKeys(local);
  const Params p(local, name);
  if (name == "ce") return std::make_unique<train::CrossEntropyObjective>();
  if (name == "fedbr") {
    FedBrOptions o;
    o.mu = p.Get("mu", o.mu);
    o.lambda = p.Get("lambda", o.lambda);
    o.tau1 = p.Get("tau1", o.tau1);
    o.tau2 = p.Get("tau2", o.tau2);
    o.mixup_alpha = p.Get("mixup_alpha", o.mixup_alpha);
    o.mixture = p.GetInt("mixture", 1, 0, 1) == 1;
    o.decorr = p.Get("decorr", o.decorr);
    // P's step is the client's lr, as the code's disc_opt (algorithms.py:984-986).
    if (context.recipe != nullptr) o.head_lr = context.recipe->optimizer.learning_rate;
    o.head_lr = p.Get("head_lr", o.head_lr);
    const PseudoDataSpec spec = ReadPseudoDataSpec(p);
    o.pool_size = spec.size;
    o.pool_images = spec.images;
    o.pool_seed = spec.seed;
    // Validate the options before taking or building the pool.
    FedBrObjective check(o, Eigen::MatrixXf(0, o.pool_size));
    if (context.pseudo_data != nullptr) {  // the coordinator's pool, built from every client
      return std::make_unique<FedBrObjective>(o, *context.pseudo_data);
    }
    if (context.local_data == nullptr && context.fleet_data.empty()) {
      throw ConfigError(
          "fedbr: needs the clients' data to build its pseudo-data pool "
          "(MakeLocalObjective(local, context) with local_data or fleet_data)");
    }
    const datasets::Dataset* own[] = {context.local_data};
    const std::span<const datasets::Dataset* const> sources =
        context.fleet_data.empty() ? std::span<const datasets::Dataset* const>(own)
                                   : context.fleet_data;
    return std::make_unique<FedBrObjective>(
        o, BuildPseudoDataPool(sources, o.pool_size, o.pool_images, o.pool_seed));
  }
  if (name == "wafl") {
    WaflOptions o;
    o.gamma = static_cast<float>(p.Get("gamma", o.gamma));
    o.adv_steps = static_cast<int>(p.GetInt("adv_steps", o.adv_steps, 0, kMaxInt));
    o.adv_step = static_cast<float>(p.Get("adv_step", o.adv_step));
    o.init_noise = static_cast<float>(p.Get("init_noise", o.init_noise));
    o.adv_tol = static_cast<float>(p.Get("adv_tol", o.adv_tol));
    return std::make_unique<WaflObjective>(o);
  }
  if (name == "deltasgd") {
    DeltaSgdOptions o;
    o.eta0 = p.Get("eta0", o.eta0);
    o.theta0 = p.Get("theta0", o.theta0);
    o.gamma = p.Get("gamma", o.gamma);
    o.delta = p.Get("delta", o.delta);
    o.epsilon = p.Get("epsilon", o.epsilon);
    return std::make_unique<DeltaSgdObjective>(o);
  }
  if (name == "entropy_sgd") {
    EntropySgdOptions o;
    o.langevin_steps = static_cast<int>(p.GetInt("langevin_steps", o.langevin_steps, 0, kMaxInt));
    o.langevin_lr = p.Get("langevin_lr", o.langevin_lr);
    o.noise = p.Get("langevin_noise", o.noise);
    o.beta1 = p.Get("beta1", o.beta1);
    o.gamma0 = p.Get("gamma0", o.gamma0);
    o.gamma1 = p.Get("gamma1", o.gamma1);
    return std::make_unique<EntropySgdObjective>(o);
  }
  if (name == "tpsgd") {
    if (Paced(local.data_order)) {
      throw ConfigError("tpsgd: data order '" + local.data_order +
                        "' scores samples with a backprop model; use shuffle or sequential");
    }
    train::TpsgdOptions o;
    o.layer_loss =
        p.GetInt("layer_loss", 2, 1, 2) == 1 ? train::LayerLoss::kL1 : train::LayerLoss::kL2;
    o.target_scale = p.Get("target_scale", o.target_scale);
    if (!(o.target_scale > 0.0) || o.target_scale > 1e3) {
      throw ConfigError("tpsgd: target_scale must be in (0, 1000], got " +
                        std::to_string(o.target_scale));
    }
    o.projection_seed = static_cast<uint64_t>(p.GetInt("projection_seed", 0, 0, kMaxSeed));
    return std::make_unique<TpsgdObjective>(o);
  }
  // noisy_softmax
  NoisySoftmaxOptions o;
  o.alpha = p.Get("noise_alpha", o.alpha);
  return std::make_unique<NoisySoftmaxObjective>(o);
}

std::unique_ptr<train::DataOrder> MakeDataOrder(const train::LocalAlgorithm& local,
                                                const train::TrainRecipe* recipe) {
  const std::string& name = local.data_order;
  if (!Contains(DataOrderNames(), name)) {
    throw ConfigError("data order: unknown name '" + name + "' (expected " +
                      JoinNames(DataOrderNames()) + ")");
  }
  CheckKeys(local);
  if (name == "shuffle") return std::make_unique<train::ShuffledOrder>();
  if (name == "sequential") return std::make_unique<train::SequentialOrder>();
  if (recipe == nullptr) {
    throw ConfigError(
        "data order '" + name +
        "': needs the training recipe for its pacing (MakeDataOrder(local, &recipe))");
  }
  const std::string what = "data order '" + name + "'";
  const Params p(local, what);
  CurriculumOptions o;
  o.kind = name == "curriculum"        ? CurriculumKind::kCurriculum
           : name == "anti_curriculum" ? CurriculumKind::kAntiCurriculum
                                       : CurriculumKind::kRandom;
  o.pacing.a = p.Get("pacing_a", o.pacing.a);
  o.pacing.b = p.Get("pacing_b", o.pacing.b);
  o.pacing.c = p.Get("pacing_c", o.pacing.c);
  o.min_samples =
      static_cast<size_t>(p.GetInt("pacing_min", static_cast<int64_t>(o.min_samples), 1, kMaxSeed));
  o.batch_size = recipe->batch_size;
  o.epochs = recipe->epochs;
  o.local_steps = recipe->local_steps;
  try {  // pacing.h and the order name the key; add the order
    o.pacing.kind = PacingFromValue(p.Get("pacing", static_cast<double>(o.pacing.kind)), "pacing");
    return std::make_unique<CurriculumOrder>(o);
  } catch (const ConfigError& e) {
    throw ConfigError(what + ": " + e.what());
  }
}

}  // namespace edgefl::algorithms
