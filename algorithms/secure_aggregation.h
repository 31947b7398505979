// Secure aggregation (SecAgg+, privacy/secagg_*.h) of a sync round's
// updates for the FedAvg family: the clients' updates Δ_k = w_k − w are
// quantised with their sample weights, masked, summed and unmasked, and the
// strategy sees only the result — one FitResult whose parameters are
// w + Σ ω_k Δ_k / Σ ω_k and whose num_samples is Σ min(n_k, W) — so its
// weighted mean of that single result is the FedAvg mean, and FedAvgM /
// FedAdam / FedYogi step on it as on a plain round.
//
// One driver, RunSecureAggregation, runs the stages over SecAggParty
// handles (secagg_party.h): in the simulator the parties are in-process
// (SecureAggregate), in the deployment they are the coordinator's TLS
// sessions and the client code runs in edgefl-client; both run the same
// privacy::SecAggServer and SecAggClient. The byte counts are the wire
// sizes of every stage message and the compute is a deterministic cost
// model (kSecAggSecondsPer*).
//
// Strategies that need the individual updates (median, trimmed mean,
// norm_clip, centered_clip, bucketing, DP-FedAvg's per-client clipping,
// FedBR, SAVIC's statistics, DiPaCo's paths) are refused by name when the
// strategy is built (strategy_registry.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "algorithms/secagg_party.h"
#include "privacy/secagg_graph.h"
#include "privacy/secagg_messages.h"
#include "train/fit.h"

namespace edgefl::algorithms {

struct SecureAggregationOptions {
  uint32_t bits = 32;          // secagg_bits: the modulus 2^bits
  double clip = 8.0;           // secagg_clip_range: ω·Δ is clipped to [−c, c]
  uint32_t max_weight = 1000;  // secagg_max_weight W: ω = min(n_k, W)/W
  // For the choice of k and t (ChooseSecAggParams): the expected drop-out
  // rate and colluding fraction of a round's clients.
  double dropout_rate = 0.1;       // secagg_dropout_rate
  double corrupt_fraction = 0.05;  // secagg_corrupt_fraction
  // secagg_adversary: "curious" (semi-honest server, the default) or
  // "semi_malicious" (t above (k + corrupt neighbours)/2).
  privacy::SecAggAdversary adversary = privacy::SecAggAdversary::kCuriousServer;
  uint32_t k = 0;  // secagg_k: override of the degree (0 = chosen)
  uint32_t t = 0;  // secagg_t: override of the threshold (0 = chosen)
  // Simulation: each client drops out at each of the four stages with this
  // probability (independently, seeded), to exercise the recovery.
  double stage_dropout = 0.0;  // secagg_stage_dropout
  uint64_t seed = 0;           // the run seed
  // Distributed DP (dp = true): the clients clip to dp_clip = C and each
  // adds N(0, (z·C)²/m_min) per coordinate, m_min = the round's
  // min_survivors = max(2, t, n − ⌈dropout_rate·n⌉), so the sum of the
  // ≥ m_min inputs that can be unmasked carries noise of std-dev ≥ z·C; a
  // round with fewer masked inputs is not unmasked (fails closed). 0 = off.
  double dp_clip = 0.0;
  double dp_noise_multiplier = 0.0;  // z (as calibrated)
  bool dp_seeded_noise = false;      // simulator only: noise from the run seed
  // Every client counts with weight W (the mean is over updates, not
  // samples): buffered asynchronous FedBuff's 1/K (fedbuff.h).
  bool uniform_weight = false;
};

// The deterministic virtual-clock cost model of the stages: every mask
// value a party expands (AES-256-CTR, 4 bytes) costs kSecAggSecondsPerWord,
// every key agreement kSecAggSecondsPerAgreement (P-256 ECDH + HKDF).
inline constexpr double kSecAggSecondsPerWord = 1e-9;
inline constexpr double kSecAggSecondsPerAgreement = 1e-4;

struct SecureAggregationResult {
  bool ok = false;
  std::string failure;                     // the stage's reason when !ok
  train::FitResult sum;                    // the single result the strategy aggregates (when ok)
  std::vector<train::FitFailure> dropped;  // clients that dropped during the stages
  uint32_t k = 0;
  uint32_t t = 0;
  // Per client (by id): the stages' wire bytes up and down and the modelled
  // compute seconds; the server's modelled compute seconds.
  std::map<train::ClientId, int64_t> bytes_up;
  std::map<train::ClientId, int64_t> bytes_down;
  std::map<train::ClientId, double> client_seconds;
  double server_seconds = 0;
  std::map<std::string, double> metrics;  // "secagg_k", "secagg_t", "secagg_bytes_up", ...
};

// The round's configuration for n clients and d = dimension (k and t by
// ChooseSecAggParams unless overridden, the graph seed from the run seed).
// Throws ConfigError when the options do not fit (secagg_bits too small).
privacy::SecAggConfig MakeSecAggConfig(int64_t round, uint32_t n, uint64_t dimension,
                                       const SecureAggregationOptions& options);

// The seed of client `client`'s stochastic rounding in round `round`.
uint64_t SecAggRoundingSeed(const SecureAggregationOptions& options, int64_t round,
                            uint32_t client);

// Runs one secure round with parties[u] as client u (u = its index in
// `results`, whose client ids and base_version are used, not their
// parameters): setup and the four stages, each stage's answers awaited in
// order; a party whose future throws has dropped out from that stage on
// (listed in `dropped` if its masked input is not in the sum, with the
// stage and the reason). Every party is told Finish at the end. A stage
// that cannot go on ends the round with ok = false and the server's reason.
// `scales` (empty = all 1) is each party's SecAggSetup::scale: a buffered
// asynchronous cohort's staleness weights, `round` then the cohort's number.
// Throws ConfigError as MakeSecAggConfig.
SecureAggregationResult RunSecureAggregation(int64_t round, const Eigen::VectorXf& global,
                                             std::span<const train::FitResult> results,
                                             std::span<SecAggParty* const> parties,
                                             const SecureAggregationOptions& options,
                                             std::span<const double> scales = {});

// The simulator's secure round: RunSecureAggregation over in-process
// parties holding `results`' updates (finite, of the global's size: the
// engine's accepted ones), with secagg_stage_dropout's simulated drop-outs.
SecureAggregationResult SecureAggregate(int64_t round, const Eigen::VectorXf& global,
                                        std::span<const train::FitResult> results,
                                        const SecureAggregationOptions& options);

// The simulator's secure cohort of buffered asynchronous FedBuff: as
// SecureAggregate with `cohort` as the round, but client u trained from its
// own base (its update is results[u] − *bases[u]) and scales it by
// scales[u], its staleness weight, before quantising. The result's sum is
// global + the cohort's (weighted) mean update.
SecureAggregationResult SecureAggregateCohort(int64_t cohort, const Eigen::VectorXf& global,
                                              std::span<const train::FitResult> results,
                                              std::span<const Eigen::VectorXf* const> bases,
                                              std::span<const double> scales,
                                              const SecureAggregationOptions& options);

}  // namespace edgefl::algorithms
