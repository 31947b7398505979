#include "algorithms/secure_aggregation.h"

#include <algorithm>
#include <set>
#include <string>

#include "common/error.h"
#include "common/random.h"
#include "privacy/secagg_graph.h"
#include "privacy/secagg_quantize.h"
#include "privacy/secagg_round.h"

namespace edgefl::algorithms {
namespace {

constexpr uint64_t kGraphStream = 0x5ec0a66;
constexpr uint64_t kRoundingStream = 0x5ec0a67;
constexpr uint64_t kDropStream = 0x5ec0a68;

}  // namespace

SecureAggregationResult SecureAggregate(int64_t round, const Eigen::VectorXf& global,
                                        std::span<const train::FitResult> results,
                                        const SecureAggregationOptions& options) {
  SecureAggregationResult out;
  const uint32_t n = static_cast<uint32_t>(results.size());
  if (n < 2) {
    out.failure =
        "secagg: " + std::to_string(n) + " client(s) reported; secure aggregation needs at least 2";
    return out;
  }
  const privacy::SecAggParams chosen = privacy::ChooseSecAggParams(
      privacy::SecAggParamRequest{n, options.dropout_rate, options.corrupt_fraction, 40, 20});
  privacy::SecAggConfig config;
  config.round = round;
  config.n = n;
  config.k = options.k > 0 ? std::min(options.k, n - 1) : chosen.k;
  if (config.k < n - 1 && config.k % 2 != 0) --config.k;  // the Harary graph's k is even
  config.k = std::max<uint32_t>(config.k, std::min<uint32_t>(2, n - 1));
  config.t = options.t > 0 ? std::min(options.t, config.k) : std::min(chosen.t, config.k);
  config.graph_seed =
      Rng::Derive(options.seed, {kGraphStream, static_cast<uint64_t>(round)}).Next();
  config.bits = options.bits;
  config.dimension = static_cast<uint64_t>(global.size());
  config.clip = options.clip;
  config.max_weight = options.max_weight;
  config.levels = privacy::SecAggLevels(options.bits, n, options.max_weight);
  config.min_survivors = std::max<uint32_t>(2, config.t);
  out.k = config.k;
  out.t = config.t;

  std::vector<std::vector<uint32_t>> inputs(n);
  std::vector<float> delta(static_cast<size_t>(global.size()));
  for (uint32_t u = 0; u < n; ++u) {
    const Eigen::VectorXf& w = results[u].train.parameters;
    for (Eigen::Index i = 0; i < global.size(); ++i)
      delta[static_cast<size_t>(i)] = w[i] - global[i];
    Rng rounding = Rng::Derive(options.seed, {kRoundingStream, static_cast<uint64_t>(round), u});
    inputs[u] = privacy::QuantizeUpdate(delta, static_cast<int64_t>(results[u].train.num_samples),
                                        config, rounding);
  }
  privacy::SecAggDropouts drops;
  if (options.stage_dropout > 0) {
    Rng rng = Rng::Derive(options.seed, {kDropStream, static_cast<uint64_t>(round)});
    for (uint32_t u = 0; u < n; ++u) {
      std::set<uint32_t>* stages[] = {&drops.before_advertise, &drops.before_sharing,
                                      &drops.before_masking, &drops.before_unmasking};
      for (std::set<uint32_t>* stage : stages) {
        if (rng.Uniform() < options.stage_dropout) {
          stage->insert(u);
          break;
        }
      }
    }
  }
  const privacy::SecAggRoundResult run = privacy::RunSecAggRound(config, inputs, drops);

  // Cost: bytes as counted, compute by the model above.
  const privacy::SecAggGraph graph(n, config.k, config.graph_seed);
  const double words = static_cast<double>(config.dimension + 1);
  int64_t total_up = 0;
  int64_t max_client = 0;
  for (uint32_t u = 0; u < n; ++u) {
    const train::ClientId& id = results[u].client;
    out.bytes_up[id] = run.bytes_up[u];
    out.bytes_down[id] = run.bytes_down[u];
    total_up += run.bytes_up[u];
    max_client = std::max(max_client, run.bytes_up[u] + run.bytes_down[u]);
    const double degree = static_cast<double>(graph.Neighbours(u).size());
    out.client_seconds[id] =
        (degree + 1) * words * kSecAggSecondsPerWord + 3 * degree * kSecAggSecondsPerAgreement;
  }
  const auto name_of = [&](uint32_t u) { return results[u].client; };
  for (const std::set<uint32_t>* stage :
       {&drops.before_advertise, &drops.before_sharing, &drops.before_masking}) {
    for (uint32_t u : *stage) {
      out.dropped.push_back({name_of(u), train::FitFailure::Kind::kDropped,
                             "dropped out during secure aggregation (simulated)"});
    }
  }
  out.metrics["secagg_k"] = config.k;
  out.metrics["secagg_t"] = config.t;
  out.metrics["secagg_bytes_up"] = static_cast<double>(total_up);
  out.metrics["secagg_max_client_bytes"] = static_cast<double>(max_client);
  if (!run.ok) {
    out.failure = run.failure;
    return out;
  }
  double server_words = static_cast<double>(run.outcome.contributors.size()) * words;
  for (uint32_t v : run.outcome.dropped) {
    server_words += static_cast<double>(graph.Neighbours(v).size()) * words;
  }
  out.server_seconds =
      server_words * kSecAggSecondsPerWord +
      static_cast<double>(run.outcome.dropped.size()) * config.k * kSecAggSecondsPerAgreement;
  out.metrics["secagg_contributors"] = static_cast<double>(run.outcome.contributors.size());
  out.metrics["secagg_recovered"] = static_cast<double>(run.outcome.dropped.size());

  const privacy::DecodedSum decoded = privacy::DecodeSum(
      run.outcome.sum, static_cast<uint32_t>(run.outcome.contributors.size()), config);
  if (decoded.weight_sum <= 0) {
    out.failure = "secagg: the contributors' total weight is 0";
    return out;
  }
  const std::vector<double> mean = decoded.Mean();
  out.sum.client = "secagg-sum";
  out.sum.base_version = results[0].base_version;
  out.sum.train.parameters = global;
  for (Eigen::Index i = 0; i < global.size(); ++i) {
    out.sum.train.parameters[i] += static_cast<float>(mean[static_cast<size_t>(i)]);
  }
  out.sum.train.num_samples = static_cast<size_t>(decoded.sample_sum);
  out.ok = true;
  return out;
}

}  // namespace edgefl::algorithms
