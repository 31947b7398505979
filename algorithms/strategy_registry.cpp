#include "algorithms/strategy_registry.h"

#include <variant>

#include "algorithms/convex_relu.h"
#include "algorithms/curriculum_selector.h"
#include "algorithms/dipaco.h"
#include "algorithms/fedavg.h"
#include "algorithms/local_config.h"
#include "algorithms/oort_selector.h"
#include "algorithms/pacing.h"
#include "algorithms/savic.h"
#include "algorithms/speed_aware_selector.h"
#include "algorithms/uniform_selector.h"
#include "common/error.h"
#include "common/number_text.h"

namespace edgefl::algorithms {
namespace {

struct Preset {
  const char* name;
  ServerOptimizerKind server;
  double server_lr;
  const char* objective;  // the LocalAlgorithm objective
  bool nesterov = false;  // server_nesterov's default (momentum only)
};

// Server learning-rate defaults: 1 for FedAvg/FedAvgM (algorithms.md §1);
// Flower's FedAdam (0.1) and FedYogi (0.01) defaults for the adaptive ones.
constexpr Preset kPresets[] = {
    {"fedavg", ServerOptimizerKind::kNone, 1.0, "ce"},
    {"fedavgm", ServerOptimizerKind::kMomentum, 1.0, "ce"},
    {"fedadam", ServerOptimizerKind::kAdam, 0.1, "ce"},
    {"fedyogi", ServerOptimizerKind::kYogi, 0.01, "ce"},
    {"fedbr", ServerOptimizerKind::kNone, 1.0, "fedbr"},
    {"wafl", ServerOptimizerKind::kNone, 1.0, "wafl"},
    {"deltasgd", ServerOptimizerKind::kNone, 1.0, "deltasgd"},
    // FedAvg whose clients step with the server's shared diagonal (savic.h).
    {"savic", ServerOptimizerKind::kNone, 1.0, "ce"},
    // Paths through a module grid, each module with DiLoCo's outer Nesterov
    // step (lr 0.7, β 0.9; dipaco.h).
    {"dipaco", ServerOptimizerKind::kMomentum, 0.7, "ce", true},
};

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

void ReadServer(train::ParamReader& reader, const Preset& preset, ServerOptimizerConfig* server) {
  server->kind =
      ParseServerOptimizer(reader.GetString("server_optimizer", ServerOptimizerName(preset.server)),
                           reader.context() + ": server_optimizer");
  server->learning_rate = reader.GetDoubleIn("server_lr", preset.server_lr, 0.0, 1e3);
  if (server->kind == ServerOptimizerKind::kMomentum) {
    server->momentum = reader.GetDouble("server_momentum", 0.9);
    server->nesterov = reader.GetBool("server_nesterov", preset.nesterov);
  } else if (server->kind == ServerOptimizerKind::kAdam ||
             server->kind == ServerOptimizerKind::kYogi) {
    server->beta1 = reader.GetDouble("beta1", 0.9);
    server->beta2 = reader.GetDouble("beta2", 0.99);
    server->tau = reader.GetDoubleIn("tau", 1e-3, 0.0, 10.0);
    server->bias_correction = reader.GetBool("bias_correction", false);
  }
  if (preset.server != server->kind && server->kind != ServerOptimizerKind::kNone &&
      preset.server != ServerOptimizerKind::kNone) {
    throw ConfigError(reader.context() + ": server_optimizer " + ServerOptimizerName(server->kind) +
                      " contradicts the strategy (use " +
                      "fedavg with server_optimizer = " + ServerOptimizerName(server->kind) + ")");
  }
}

void ReadAggregator(train::ParamReader& reader, FedAvgOptions* options) {
  options->aggregator =
      ParseAggregator(reader.GetString("aggregator", "mean"), reader.context() + ": aggregator");
  if (options->aggregator == AggregatorKind::kTrimmedMean) {
    options->trim_fraction = reader.GetDouble("trim_fraction", 0.1);
  } else if (options->aggregator == AggregatorKind::kNormClip) {
    options->clip.bound = reader.GetDouble("clip_bound", 0.0);
    options->clip.median_factor = reader.GetDouble("clip_median_factor", 1.0);
  } else if (options->aggregator == AggregatorKind::kCenteredClip) {
    // Defaults of the authors' code (Karimireddy et al. 2022, utils.py): τ = 10, L = 3.
    options->centered_clip.tau = reader.GetDoubleIn("cc_tau", 10.0, 0.0, 1e6);
    options->centered_clip.iterations =
        static_cast<int>(reader.GetIntIn("cc_iterations", 3, 1, 100));
  } else if (options->aggregator == AggregatorKind::kMultiKrum) {
    options->krum_byzantine = static_cast<size_t>(reader.GetIntIn("krum_byzantine", 1, 1, 1000000));
    options->krum_keep = static_cast<size_t>(reader.GetIntIn("krum_keep", 0, 0, 1000000));
  }
  if (options->aggregator == AggregatorKind::kMedian ||
      options->aggregator == AggregatorKind::kTrimmedMean ||
      options->aggregator == AggregatorKind::kCenteredClip ||
      options->aggregator == AggregatorKind::kMultiKrum) {
    options->bucket_size = static_cast<size_t>(reader.GetIntIn("bucket_size", 1, 1, 1000000));
  }
  if (options->aggregator != AggregatorKind::kMean) {
    options->nnm_byzantine = static_cast<size_t>(reader.GetIntIn("nnm_byzantine", 0, 0, 1000000));
  }
}

// The schedule runs on rounds, or on global steps with QSR (`per_step`):
// its counts are then lr_step_steps and lr_warmup_steps, and the cosine
// horizon is qsr_total_steps (FedAvg sets it).
void ReadSchedule(train::ParamReader& reader, int64_t rounds, bool per_step,
                  train::LrSchedule* schedule) {
  const std::string unit = per_step ? "steps" : "rounds";
  const std::string other = per_step ? "rounds" : "steps";
  for (const std::string& key : {"lr_step_" + other, "lr_warmup_" + other}) {
    if (reader.Has(key)) {
      throw ConfigError(reader.context() + ": " + key + " does not apply: " +
                        (per_step ? "with qsr the schedule runs on global steps"
                                  : "without qsr the schedule runs on rounds") +
                        " (use " + key.substr(0, key.size() - other.size()) + unit + ")");
    }
  }
  const int64_t max_count = per_step ? int64_t{1} << 40 : 1000000;
  schedule->kind = train::ParseLrSchedule(reader.GetString("lr_schedule", "constant"),
                                          reader.context() + ": lr_schedule");
  if (schedule->kind == train::LrScheduleKind::kStep) {
    schedule->decay = reader.GetDouble("lr_decay", 0.1);
    schedule->step_every = reader.GetIntIn("lr_step_" + unit, 10, 1, max_count);
  } else if (schedule->kind == train::LrScheduleKind::kCosine) {
    schedule->floor = reader.GetDouble("lr_floor", 0.0);
  }
  schedule->warmup = reader.GetIntIn("lr_warmup_" + unit, 0, 0, max_count);
  schedule->total = rounds;
}

void ReadQsr(train::ParamReader& reader, std::optional<QsrOptions>* qsr) {
  if (!reader.GetBool("qsr", false)) return;
  QsrOptions q;
  q.base_steps = reader.GetIntIn("qsr_h_base", 4, 1, 1000000);
  q.alpha = reader.GetDoubleIn("qsr_alpha", 0.0175, 0.0, 1e3);
  q.gamma = reader.GetDoubleIn("qsr_gamma", 2.0, 0.0, 1e3);
  q.total_steps = reader.GetIntIn("qsr_total_steps", 0, 0, 1000000000000);
  q.max_steps = reader.GetIntIn("qsr_max_steps", 0, 0, 100000000);
  *qsr = q;
}

// The clients' optimizer keys beyond the common [train] ones: whether its
// state (momentum, Adam moments) is kept on each client across rounds, and
// Nesterov momentum for SGD (Entropy-SGD's outer loop uses it).
void ReadClientOptimizer(train::ParamReader& reader, train::TrainRecipe* recipe) {
  recipe->reset_optimizer = reader.GetBool("reset_optimizer", recipe->reset_optimizer);
  recipe->optimizer.nesterov = reader.GetBool("nesterov", recipe->optimizer.nesterov);
  if (recipe->optimizer.nesterov &&
      (recipe->optimizer.name != "sgd" || !(recipe->optimizer.momentum > 0.0f))) {
    throw ConfigError(reader.context() + ": nesterov = true needs optimizer = \"sgd\" and " +
                      "momentum > 0 (got optimizer \"" + recipe->optimizer.name + "\", momentum " +
                      ShortNumber(recipe->optimizer.momentum) + ")");
  }
}

// SAVIC's keys (savic.h); range checks beyond the bounds are Savic's.
SavicOptions ReadSavic(train::ParamReader& reader) {
  SavicOptions options;
  options.estimator = ParseSavicEstimator(reader.GetString("savic_estimator", "adam"),
                                          reader.context() + ": savic_estimator");
  options.beta = reader.GetDoubleIn("savic_beta", options.beta, 0.0, 1.0);
  if (options.estimator == SavicEstimator::kOasis) {
    options.alpha = reader.GetDoubleIn("savic_alpha", options.alpha, 0.0, 1e3);
  } else {
    options.epsilon = reader.GetDoubleIn("savic_eps", options.epsilon, 0.0, 1e3);
  }
  return options;
}

// convex_relu's keys (convex_relu.h); the model spec carries P, the
// classes and the number of client dual blocks.
std::unique_ptr<Strategy> MakeConvexRelu(const StrategyConfig& config) {
  train::ParamReader reader(config.params, "strategy " + config.name);
  if (!config.config_keys.empty()) reader.SetOuterKeys("the experiment config", config.config_keys);
  ConvexReluOptions options;
  options.beta = reader.GetDoubleIn("convex_beta", options.beta, 1e-12, 1e6);
  options.rho = reader.GetDoubleIn("convex_rho", options.rho, 1e-9, 1e9);
  options.inner_iters =
      static_cast<int>(reader.GetIntIn("convex_inner_iters", options.inner_iters, 1, 10000));
  options.adversarial_eps =
      reader.GetDoubleIn("convex_adversarial_eps", options.adversarial_eps, 0.0, 10.0);
  options.seed = config.seed;
  reader.CheckAllUsed();
  return std::make_unique<ConvexRelu>(config.model, options);
}

}  // namespace

std::vector<std::string> StrategyNames() {
  std::vector<std::string> names;
  for (const Preset& p : kPresets)
    names.emplace_back(p.name);
  names.emplace_back("convex_relu");
  return names;
}

std::vector<std::string> SelectorNames() {
  return {"uniform", "curriculum", "speed_aware", "oort"};
}

// DP-FedAvg's keys (docs/settings.md), read only when dp = true.
std::optional<DpFedAvgOptions> ReadDp(train::ParamReader& reader, const StrategyConfig& config) {
  if (!reader.GetBool("dp", false)) return std::nullopt;
  DpFedAvgOptions dp;
  dp.noise_multiplier = reader.GetDoubleIn("dp_noise_multiplier", dp.noise_multiplier, 0.0, 1e3);
  dp.clip_norm = reader.GetDoubleIn("dp_clip", dp.clip_norm, 1e-9, 1e6);
  dp.adaptive_clip = reader.GetBool("dp_adaptive_clip", false);
  if (dp.adaptive_clip) {
    dp.adaptive.target_quantile =
        reader.GetDoubleIn("dp_target_quantile", dp.adaptive.target_quantile, 1e-6, 1.0 - 1e-6);
    dp.adaptive.learning_rate =
        reader.GetDoubleIn("dp_clip_lr", dp.adaptive.learning_rate, 1e-9, 10.0);
    dp.adaptive.count_stddev = reader.GetDoubleIn("dp_count_stddev", 0.0, 0.0, 1e6);
  }
  dp.delta = reader.GetDoubleIn("dp_delta", 0.0, 0.0, 0.5);
  dp.target_epsilon = reader.GetDoubleIn("dp_target_epsilon", 0.0, 0.0, 1e4);
  if (reader.GetBool("dp_calibrate_noise", false)) dp.calibrate_rounds = config.rounds;
  const std::string noise = reader.GetString("dp_noise", "secure");
  if (noise != "secure" && noise != "seeded") {
    throw ConfigError(reader.context() + ": dp_noise must be \"secure\" or \"seeded\", got \"" +
                      noise + "\"");
  }
  dp.seeded_noise = noise == "seeded";
  dp.clients_per_round = config.clients_per_round;
  dp.population = config.clients;
  return dp;
}

// Secure aggregation's keys (docs/settings.md), read only with
// secure_aggregation = true; refused by name for what needs the individual
// updates (secure_aggregation.h).
std::optional<SecureAggregationOptions> ReadSecureAggregation(train::ParamReader& reader,
                                                              const StrategyConfig& config,
                                                              const FedAvgOptions& options) {
  if (!reader.GetBool("secure_aggregation", false)) return std::nullopt;
  const std::string refused = reader.context() + ": secure_aggregation is refused: ";
  if (config.name == "fedbr" || config.name == "savic" || config.name == "dipaco") {
    throw ConfigError(refused + config.name +
                      " needs the individual updates (or per-client statistics); secure "
                      "aggregation gives the server only their sum (use fedavg, fedavgm, "
                      "fedadam or fedyogi)");
  }
  if (options.aggregator != AggregatorKind::kMean) {
    throw ConfigError(refused + "aggregator " + AggregatorName(options.aggregator) +
                      " needs the individual updates; secure aggregation gives the server only "
                      "their sum (use aggregator = \"mean\")");
  }
  if (options.bucket_size > 1) {
    throw ConfigError(refused + "bucketing needs the individual updates");
  }
  if (options.dp && options.dp->adaptive_clip) {
    throw ConfigError(refused +
                      "dp_adaptive_clip needs each client's clipped-count bit on the "
                      "server; distributed DP under secure aggregation uses a fixed "
                      "dp_clip");
  }
  return ReadSecureAggregationKeys(reader, config.seed);
}

SecureAggregationOptions ReadSecureAggregationKeys(train::ParamReader& reader, uint64_t seed) {
  SecureAggregationOptions sa;
  sa.bits = static_cast<uint32_t>(reader.GetIntIn("secagg_bits", sa.bits, 8, 32));
  sa.clip = reader.GetDoubleIn("secagg_clip_range", sa.clip, 1e-6, 1e6);
  sa.max_weight =
      static_cast<uint32_t>(reader.GetIntIn("secagg_max_weight", sa.max_weight, 1, 1'000'000));
  sa.dropout_rate = reader.GetDoubleIn("secagg_dropout_rate", sa.dropout_rate, 0.0, 0.9);
  sa.corrupt_fraction =
      reader.GetDoubleIn("secagg_corrupt_fraction", sa.corrupt_fraction, 0.0, 0.5);
  const std::string adversary = reader.GetString("secagg_adversary", "curious");
  if (adversary == "semi_malicious") {
    sa.adversary = privacy::SecAggAdversary::kSemiMaliciousServer;
  } else if (adversary != "curious") {
    throw ConfigError(reader.context() + ": secagg_adversary must be \"curious\" or " +
                      "\"semi_malicious\", got \"" + adversary + "\"");
  }
  sa.k = static_cast<uint32_t>(reader.GetIntIn("secagg_k", 0, 0, 1'000'000));
  sa.t = static_cast<uint32_t>(reader.GetIntIn("secagg_t", 0, 0, 1'000'000));
  sa.stage_dropout = reader.GetDoubleIn("secagg_stage_dropout", 0.0, 0.0, 1.0);
  sa.seed = seed;
  return sa;
}

bool IsDecentralizedStrategy(const std::string& name) {
  return name == "dsgd";
}

DsgdOptions ReadDsgdOptions(const StrategyConfig& config) {
  if (!IsDecentralizedStrategy(config.name)) {
    throw ConfigError("mode decentralized: strategy \"" + config.name +
                      "\" has a server model; the decentralized strategy is dsgd");
  }
  train::ParamReader reader(config.params, "strategy " + config.name);
  if (!config.config_keys.empty()) reader.SetOuterKeys("the experiment config", config.config_keys);
  DsgdOptions options;
  options.recipe = config.recipe;
  options.seed = config.seed;
  options.topology.kind =
      ParseTopology(reader.GetString("topology", "ring"), reader.context() + ": topology");
  options.topology.edge_probability =
      reader.GetDoubleIn("topology_p", options.topology.edge_probability, 1e-9, 1.0);
  options.topology.seed = config.seed;
  options.update =
      ParseDsgdUpdate(reader.GetString("dsgd_update", "atc"), reader.context() + ": dsgd_update");
  options.schedule = ParseDsgdSchedule(reader.GetString("dsgd_schedule", "constant"),
                                       reader.context() + ": dsgd_schedule");
  options.beta = reader.GetDoubleIn("dsgd_beta", options.beta, 1e-9, 1.0);
  options.tau_alpha = reader.GetDoubleIn("dsgd_tau_alpha", options.tau_alpha, 0.0, 1.0);
  options.tau_beta = reader.GetDoubleIn("dsgd_tau_beta", options.tau_beta, 0.0, 1.0);
  options.global_metrics = reader.GetBool("dsgd_global_metrics", options.global_metrics);
  ReadClientOptimizer(reader, &options.recipe);
  ReadLocalAlgorithm(reader, "ce", config.seed, &options.local);
  reader.CheckAllUsed();
  return options;
}

std::unique_ptr<Strategy> MakeStrategy(const StrategyConfig& config) {
  if (IsDecentralizedStrategy(config.name)) {
    throw ConfigError("strategy " + config.name +
                      " is decentralized (no server model): set mode = \"decentralized\"");
  }
  if (config.name == "convex_relu") return MakeConvexRelu(config);
  const Preset* preset = nullptr;
  for (const Preset& p : kPresets) {
    if (config.name == p.name) preset = &p;
  }
  if (preset == nullptr) {
    throw ConfigError("strategy: unknown strategy \"" + config.name +
                      "\" (accepted: " + Join(StrategyNames()) + ")");
  }
  train::ParamReader reader(config.params, "strategy " + config.name);
  if (!config.config_keys.empty()) reader.SetOuterKeys("the experiment config", config.config_keys);
  FedAvgOptions options;
  options.name = config.name;
  options.recipe = config.recipe;
  options.seed = config.seed;
  ReadAggregator(reader, &options);
  ReadServer(reader, *preset, &options.server);
  ReadQsr(reader, &options.qsr);
  options.dp = ReadDp(reader, config);
  if (options.dp && config.name == "savic") {
    throw ConfigError("strategy savic: dp is not available (use a FedAvg-family strategy)");
  }
  ReadSchedule(reader, config.rounds, options.qsr.has_value(), &options.lr_schedule);
  options.secure_aggregation = ReadSecureAggregation(reader, config, options);
  ReadClientOptimizer(reader, &options.recipe);
  ReadLocalAlgorithm(reader, preset->objective, config.seed, &options.local);
  std::optional<SavicOptions> savic;
  if (config.name == "savic") savic = ReadSavic(reader);
  std::optional<DiPaCoOptions> dipaco;
  if (config.name == "dipaco") {
    if (options.aggregator != AggregatorKind::kMean || options.qsr) {
      throw ConfigError(reader.context() +
                        ": aggregator and qsr do not apply (each path's clients are averaged)");
    }
    dipaco.emplace();
    dipaco->levels = static_cast<size_t>(reader.GetIntIn("levels", 2, 1, 16));
    dipaco->modules = static_cast<size_t>(reader.GetIntIn("modules", 2, 1, 1024));
    dipaco->model = config.model;
    dipaco->outer = options.server;
    options.server = ServerOptimizerConfig{};
  }
  reader.CheckAllUsed();
  try {
    if (savic) return std::make_unique<Savic>(std::move(options), *savic);
    if (dipaco) {
      dipaco->inner = std::move(options);
      return std::make_unique<DiPaCo>(std::move(*dipaco));
    }
    return std::make_unique<FedAvg>(std::move(options));
  } catch (const ConfigError& e) {
    throw ConfigError("strategy " + config.name + ": " + e.what());
  }
}

std::unique_ptr<ClientSelector> MakeSelector(const SelectorConfig& config) {
  train::ParamReader reader(config.params, "selector " + config.name);
  if (config.name == "uniform") {
    reader.CheckAllUsed();
    return std::make_unique<UniformSelector>();
  }
  if (config.name == "curriculum") {
    CurriculumSelectorOptions options;
    options.order =
        ParseSelectionOrder(reader.GetString("order", "curriculum"), reader.context() + ": order");
    options.pacing.kind =
        ParsePacing(reader.GetString("pacing", "linear"), reader.context() + ": pacing");
    options.pacing.a = reader.GetDoubleIn("pacing_a", 0.2, 0.0, 1e6);
    options.pacing.b = reader.GetDouble("pacing_b", 0.4);
    const int64_t group = reader.GetIntIn("group_size", 0, 0, 1000000);
    if (group < 0) {
      throw ConfigError(reader.context() +
                        ": group_size must be >= 0 (0 = clients per round), got " +
                        std::to_string(group));
    }
    options.group_size = static_cast<size_t>(group);
    options.rounds = config.rounds;
    reader.CheckAllUsed();
    options.pacing.Validate(reader.context() + ": pacing_");
    if (options.rounds <= 0) {
      throw ConfigError(reader.context() + ": rounds must be > 0, got " +
                        std::to_string(options.rounds));
    }
    return std::make_unique<CurriculumSelector>(options);
  }
  if (config.name == "speed_aware") {
    SpeedAwareOptions options;
    options.overcommit = reader.GetDoubleIn("overcommit", 1.3, 0.0, 100.0);
    options.fairness = reader.GetDouble("fairness", 0.1);
    options.target = reader.GetDoubleIn("target", config.deadline, 0.0, 3.1536e7);
    options.recipe = config.recipe;
    reader.CheckAllUsed();
    return std::make_unique<SpeedAwareSelector>(options);
  }
  if (config.name == "oort") {
    OortOptions o;
    o.exploration_factor = reader.GetDoubleIn("exploration_factor", o.exploration_factor, 0.0, 1.0);
    o.exploration_decay = reader.GetDoubleIn("exploration_decay", o.exploration_decay, 0.0, 1.0);
    o.exploration_min = reader.GetDoubleIn("exploration_min", o.exploration_min, 0.0, 1.0);
    o.round_threshold = reader.GetDoubleIn("round_threshold", o.round_threshold, 0.0, 100.0);
    o.round_penalty = reader.GetDoubleIn("round_penalty", o.round_penalty, 0.0, 100.0);
    o.pacer_step = reader.GetIntIn("pacer_step", o.pacer_step, 1, 1000000);
    o.pacer_delta = reader.GetDoubleIn("pacer_delta", o.pacer_delta, 0.0, 100.0);
    o.sample_window = reader.GetDoubleIn("sample_window", o.sample_window, 1.0, 1e6);
    o.clip_bound = reader.GetDoubleIn("clip_bound", o.clip_bound, 0.0, 1.0);
    o.cut_off_util = reader.GetDoubleIn("cut_off_util", o.cut_off_util, 0.0, 1.0);
    o.blacklist_rounds = reader.GetIntIn("blacklist_rounds", o.blacklist_rounds, -1, 1000000);
    o.blacklist_max_len = reader.GetDoubleIn("blacklist_max_len", o.blacklist_max_len, 0.0, 1.0);
    o.overcommit = reader.GetDoubleIn("overcommit", o.overcommit, 1.0, 100.0);
    o.recipe = config.recipe;
    reader.CheckAllUsed();
    return std::make_unique<OortSelector>(o);
  }
  throw ConfigError("selector: unknown selector \"" + config.name +
                    "\" (accepted: " + Join(SelectorNames()) + ")");
}

}  // namespace edgefl::algorithms
