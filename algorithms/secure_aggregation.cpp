#include "algorithms/secure_aggregation.h"

#include <algorithm>
#include <cmath>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include "common/error.h"
#include "common/random.h"
#include "privacy/secagg_graph.h"
#include "privacy/secagg_quantize.h"
#include "privacy/secagg_server.h"

namespace edgefl::algorithms {
namespace {

constexpr uint64_t kGraphStream = 0x5ec0a66;
constexpr uint64_t kRoundingStream = 0x5ec0a67;
constexpr uint64_t kDropStream = 0x5ec0a68;
constexpr uint64_t kClientNoiseStream = 0x5ec0a69;

}  // namespace

privacy::SecAggConfig MakeSecAggConfig(int64_t round, uint32_t n, uint64_t dimension,
                                       const SecureAggregationOptions& options) {
  const privacy::SecAggParams chosen = privacy::ChooseSecAggParams(privacy::SecAggParamRequest{
      n, options.dropout_rate, options.corrupt_fraction, 40, 20, options.adversary});
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
  config.dimension = dimension;
  config.clip = options.clip;
  config.max_weight = options.max_weight;
  config.levels = privacy::SecAggLevels(options.bits, n, options.max_weight);
  config.min_survivors = std::max<uint32_t>(2, config.t);
  if (options.dp_clip > 0) {
    // Distributed DP: the clients' noise is sized for min_survivors inputs,
    // and the server unmasks no fewer (a round with more drop-outs fails,
    // closed). t alone (2 of 10 with the parameter finder's choice) made
    // the noise ~2.2x central DP's; the survivors the choice of k and t
    // already plans for, n - ceil(dropout_rate * n), make it ~1.05x.
    const auto planned_dropouts =
        static_cast<uint32_t>(std::ceil(options.dropout_rate * static_cast<double>(n)));
    config.min_survivors =
        std::max(config.min_survivors, n > planned_dropouts ? n - planned_dropouts : n);
  }
  return config;
}

uint64_t SecAggRoundingSeed(const SecureAggregationOptions& options, int64_t round,
                            uint32_t client) {
  return Rng::Derive(options.seed, {kRoundingStream, static_cast<uint64_t>(round), client}).Next();
}

SecureAggregationResult RunSecureAggregation(int64_t round, const Eigen::VectorXf& global,
                                             std::span<const train::FitResult> results,
                                             std::span<SecAggParty* const> parties,
                                             const SecureAggregationOptions& options,
                                             std::span<const double> scales) {
  SecureAggregationResult out;
  const uint32_t n = static_cast<uint32_t>(results.size());
  if (parties.size() != results.size()) throw Error("secagg: one party per result is needed");
  if (!scales.empty() && scales.size() != results.size()) {
    throw Error("secagg: one scale per result is needed");
  }
  if (n < 2) {
    out.failure =
        "secagg: " + std::to_string(n) + " client(s) reported; secure aggregation needs at least 2";
    for (SecAggParty* p : parties)
      p->Finish(round, false, out.failure);
    return out;
  }
  const privacy::SecAggConfig config =
      MakeSecAggConfig(round, n, static_cast<uint64_t>(global.size()), options);
  out.k = config.k;
  out.t = config.t;
  // Distributed DP: each client's share of the noise, for m_min inputs.
  const double m_min = static_cast<double>(config.min_survivors);
  const double noise_std =
      options.dp_clip > 0 ? options.dp_noise_multiplier * options.dp_clip / std::sqrt(m_min) : 0.0;

  std::vector<int64_t> up(n, 0), down(n, 0);
  // Whose answer is missing, from which stage on (nullopt: answered all).
  std::vector<std::optional<std::string>> gone(n);
  std::vector<bool> contributed(n, false);
  const auto drop = [&](uint32_t u, const char* stage, const std::exception& e) {
    gone[u] = std::string("dropped out during secure aggregation (") + stage + "): " + e.what();
  };
  privacy::SecAggOutcome outcome;
  try {
    privacy::SecAggServer server(config);
    // 1. Advertise keys.
    std::vector<std::future<privacy::PublicKeys>> keys(n);
    for (uint32_t u = 0; u < n; ++u) {
      down[u] += static_cast<int64_t>(privacy::WireBytes(config));
      SecAggSetup setup;
      setup.config = config;
      setup.client = u;
      setup.rounding_seed = SecAggRoundingSeed(options, round, u);
      setup.dp_clip = options.dp_clip;
      setup.dp_noise_std = noise_std;
      setup.scale = scales.empty() ? 1.0 : scales[u];
      setup.uniform_weight = options.uniform_weight;
      setup.async_cohort = !scales.empty();
      if (options.dp_clip > 0 && options.dp_seeded_noise) {
        setup.noise_seed =
            Rng::Derive(options.seed, {kClientNoiseStream, static_cast<uint64_t>(round), u}).Next();
      }
      keys[u] = parties[u]->AdvertiseKeys(setup);
    }
    for (uint32_t u = 0; u < n; ++u) {
      try {
        const privacy::PublicKeys k = keys[u].get();
        if (k.client != u) throw Error("answered as client " + std::to_string(k.client));
        up[u] += static_cast<int64_t>(privacy::WireBytes(k));
        server.ReceiveKeys(k);
      } catch (const std::exception& e) {
        drop(u, "advertise keys", e);
      }
    }
    // 2. Share keys.
    std::map<uint32_t, privacy::NeighbourKeys> stage1 = server.FinishAdvertise();
    std::map<uint32_t, std::future<privacy::ShareKeys>> shares;
    for (const auto& [u, message] : stage1) {
      down[u] += static_cast<int64_t>(privacy::WireBytes(message));
      shares[u] = parties[u]->ShareKeys(message);
    }
    for (auto& [u, future] : shares) {
      try {
        const privacy::ShareKeys s = future.get();
        if (s.client != u) throw Error("answered as client " + std::to_string(s.client));
        for (const privacy::EncryptedShare& e : s.shares) {
          if (e.from != u)
            throw Error("sent a share in client " + std::to_string(e.from) + "'s name");
        }
        up[u] += static_cast<int64_t>(privacy::WireBytes(s));
        server.ReceiveShares(s);
      } catch (const std::exception& e) {
        drop(u, "share keys", e);
      }
    }
    // 3. Masked input.
    std::map<uint32_t, privacy::RoutedShares> stage2 = server.FinishShareKeys();
    std::map<uint32_t, std::future<privacy::MaskedInput>> masked;
    for (const auto& [u, message] : stage2) {
      down[u] += static_cast<int64_t>(privacy::WireBytes(message));
      masked[u] = parties[u]->MaskedInput(message);
    }
    for (auto& [u, future] : masked) {
      try {
        const privacy::MaskedInput m = future.get();
        if (m.client != u) throw Error("answered as client " + std::to_string(m.client));
        up[u] += static_cast<int64_t>(privacy::WireBytes(m, config.bits));
        server.ReceiveMaskedInput(m);
        contributed[u] = true;
      } catch (const std::exception& e) {
        drop(u, "masked input", e);
      }
    }
    // 4. Unmasking.
    std::map<uint32_t, privacy::UnmaskRequest> stage3 = server.FinishMaskedInput();
    std::map<uint32_t, std::future<privacy::UnmaskResponse>> unmask;
    for (const auto& [u, message] : stage3) {
      down[u] += static_cast<int64_t>(privacy::WireBytes(message));
      unmask[u] = parties[u]->Unmask(message);
    }
    for (auto& [u, future] : unmask) {
      try {
        const privacy::UnmaskResponse r = future.get();
        if (r.client != u) throw Error("answered as client " + std::to_string(r.client));
        up[u] += static_cast<int64_t>(privacy::WireBytes(r));
        server.ReceiveUnmask(r);
      } catch (const std::exception& e) {
        drop(u, "unmasking", e);
      }
    }
    outcome = server.FinishUnmask();
    out.ok = true;
  } catch (const privacy::SecAggError& e) {
    out.failure = e.what();
  }
  for (uint32_t u = 0; u < n; ++u)
    parties[u]->Finish(round, out.ok, out.failure);

  // Cost: bytes as counted, compute by the model above.
  const privacy::SecAggGraph graph(n, config.k, config.graph_seed);
  const double words = static_cast<double>(config.dimension + 1);
  int64_t total_up = 0;
  int64_t total_down = 0;
  int64_t max_client = 0;
  for (uint32_t u = 0; u < n; ++u) {
    const train::ClientId& id = results[u].client;
    out.bytes_up[id] = up[u];
    out.bytes_down[id] = down[u];
    total_up += up[u];
    total_down += down[u];
    max_client = std::max(max_client, up[u] + down[u]);
    const double degree = static_cast<double>(graph.Neighbours(u).size());
    out.client_seconds[id] =
        (degree + 1) * words * kSecAggSecondsPerWord + 3 * degree * kSecAggSecondsPerAgreement;
    // A client whose masked input is not in the sum delivered nothing.
    if (gone[u] && !contributed[u]) {
      out.dropped.push_back({id, train::FitFailure::Kind::kDropped, *gone[u]});
    }
  }
  out.metrics["secagg_k"] = config.k;
  out.metrics["secagg_t"] = config.t;
  out.metrics["secagg_bytes_up"] = static_cast<double>(total_up);
  out.metrics["secagg_bytes_down"] = static_cast<double>(total_down);
  out.metrics["secagg_max_client_bytes"] = static_cast<double>(max_client);
  if (!out.ok) return out;
  double server_words = static_cast<double>(outcome.contributors.size()) * words;
  for (uint32_t v : outcome.dropped) {
    server_words += static_cast<double>(graph.Neighbours(v).size()) * words;
  }
  out.server_seconds =
      server_words * kSecAggSecondsPerWord +
      static_cast<double>(outcome.dropped.size()) * config.k * kSecAggSecondsPerAgreement;
  out.metrics["secagg_contributors"] = static_cast<double>(outcome.contributors.size());
  if (options.dp_clip > 0) {
    // The noise on the mean: m inputs of std-dev z·C/√m_min, divided by m.
    const double m = static_cast<double>(outcome.contributors.size());
    out.metrics["dp_noise_std"] = noise_std * std::sqrt(m) / m;
    out.metrics["dp_min_inputs"] = m_min;
  }
  out.metrics["secagg_recovered"] = static_cast<double>(outcome.dropped.size());

  const privacy::DecodedSum decoded =
      privacy::DecodeSum(outcome.sum, static_cast<uint32_t>(outcome.contributors.size()), config);
  if (decoded.weight_sum <= 0) {
    out.ok = false;
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
  return out;
}

namespace {

// In-process parties for `deltas` (with `weights`), with secagg_stage_dropout's
// simulated drop-outs drawn from (seed, round), and the round run over them.
SecureAggregationResult RunInProcess(int64_t round, const Eigen::VectorXf& global,
                                     std::span<const train::FitResult> results,
                                     std::vector<std::vector<float>> deltas,
                                     const SecureAggregationOptions& options,
                                     std::span<const double> scales) {
  const uint32_t n = static_cast<uint32_t>(results.size());
  // Simulated drop-outs: each client at the first stage whose draw hits.
  std::vector<std::optional<SecAggStage>> drop_at(n);
  if (options.stage_dropout > 0) {
    Rng rng = Rng::Derive(options.seed, {kDropStream, static_cast<uint64_t>(round)});
    for (uint32_t u = 0; u < n; ++u) {
      for (SecAggStage stage : {SecAggStage::kAdvertise, SecAggStage::kShare, SecAggStage::kMask,
                                SecAggStage::kUnmask}) {
        if (rng.Uniform() < options.stage_dropout) {
          drop_at[u] = stage;
          break;
        }
      }
    }
  }
  std::vector<std::unique_ptr<InProcessSecAggParty>> owned;
  std::vector<SecAggParty*> parties;
  for (uint32_t u = 0; u < n; ++u) {
    owned.push_back(std::make_unique<InProcessSecAggParty>(
        std::move(deltas[u]), static_cast<int64_t>(results[u].train.num_samples), drop_at[u]));
    parties.push_back(owned.back().get());
  }
  return RunSecureAggregation(round, global, results, parties, options, scales);
}

std::vector<float> Difference(const Eigen::VectorXf& w, const Eigen::VectorXf& base) {
  if (w.size() != base.size()) {
    throw Error("secagg: an update of " + std::to_string(w.size()) + " values for a model of " +
                std::to_string(base.size()));
  }
  std::vector<float> delta(static_cast<size_t>(base.size()));
  for (Eigen::Index i = 0; i < base.size(); ++i)
    delta[static_cast<size_t>(i)] = w[i] - base[i];
  return delta;
}

}  // namespace

SecureAggregationResult SecureAggregate(int64_t round, const Eigen::VectorXf& global,
                                        std::span<const train::FitResult> results,
                                        const SecureAggregationOptions& options) {
  std::vector<std::vector<float>> deltas;
  for (const train::FitResult& r : results)
    deltas.push_back(Difference(r.train.parameters, global));
  return RunInProcess(round, global, results, std::move(deltas), options, {});
}

SecureAggregationResult SecureAggregateCohort(int64_t cohort, const Eigen::VectorXf& global,
                                              std::span<const train::FitResult> results,
                                              std::span<const Eigen::VectorXf* const> bases,
                                              std::span<const double> scales,
                                              const SecureAggregationOptions& options) {
  if (bases.size() != results.size() || scales.size() != results.size()) {
    throw Error("secagg: one base and one scale per result are needed");
  }
  std::vector<std::vector<float>> deltas;
  for (size_t u = 0; u < results.size(); ++u)
    deltas.push_back(Difference(results[u].train.parameters, *bases[u]));
  return RunInProcess(cohort, global, results, std::move(deltas), options, scales);
}

}  // namespace edgefl::algorithms
