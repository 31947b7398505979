// The two ends of one client's part in a SecAgg+ round, as the round
// engine's driver (secure_aggregation.h, RunSecureAggregation) sees them:
//
//  - SecAggParty: the driver's handle on a client for the stages. Each call
//    sends that stage's message and yields the client's answer; a future
//    that throws means the client dropped out at that stage. Two
//    implementations: InProcessSecAggParty (the simulator: the client's
//    code runs in the call) and the coordinator's TLS session (the stages as
//    frames 17-25 of docs/protocol.md, answered by edgefl-client).
//  - SecAggClientUpdate: what a client runs: it holds its update Δ = w − w_global
//    and sample count from training, quantises them when the setup arrives
//    (privacy/secagg_quantize.h) and answers each stage with
//    privacy::SecAggClient. edgefl-client and InProcessSecAggParty both use
//    it, so the simulator and the deployment run the same client code.
//
// The stochastic rounding of the quantiser draws from Rng(setup.rounding_seed),
// a seed the driver derives from the run seed, the round and the client's
// index: a real-process run then sums exactly the values the simulator sums
// for the same updates. Rounding is not a privacy mechanism (the masks hide
// each input whatever its rounding), so a server that knows the seed learns
// nothing more than the sum.
#pragma once

#include <cstdint>
#include <future>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "privacy/secagg_client.h"
#include "privacy/secagg_messages.h"

namespace edgefl::algorithms {

// What the driver tells client `client` (its index 0 … n−1 in the round)
// before the first stage.
struct SecAggSetup {
  privacy::SecAggConfig config;
  uint32_t client = 0;
  uint64_t rounding_seed = 0;
  // Distributed DP (dp = true with secure aggregation; docs/algorithms.md):
  // with dp_clip > 0 the client clips Δ to L2 norm dp_clip, adds Gaussian
  // noise of std-dev dp_noise_std to every coordinate and counts with
  // weight W (uniform weights, as DP-FedAvg). The noise is drawn from
  // Rng(noise_seed) when set (the simulator's dp_noise = "seeded", research
  // only), else from a generator seeded by OpenSSL's CSPRNG (always over
  // TLS: the coordinator cannot know or choose it).
  double dp_clip = 0.0;
  double dp_noise_std = 0.0;
  std::optional<uint64_t> noise_seed;
  // Buffered asynchronous FedBuff (a secure cohort; docs/algorithms.md):
  // the client multiplies its (clipped) update by `scale`, its staleness
  // weight s(τ) in (0, 1], after clipping and before its DP noise and the
  // quantisation; with `uniform_weight` it counts with weight W (the
  // cohort's mean is over updates, not samples, as FedBuff's 1/K).
  double scale = 1.0;
  bool uniform_weight = false;
  // Set for an async cohort (the driver was given scales): over TLS the
  // session then sends SecAggCohort before the setup (wire/secagg_messages.h).
  bool async_cohort = false;
};

// The stages a SecAggParty can be told to stop at (tests, simulation).
enum class SecAggStage { kAdvertise, kShare, kMask, kUnmask };

// "advertise", "share", "mask", "unmask"; ParseSecAggStage is its inverse
// (nullopt for any other text).
const char* SecAggStageName(SecAggStage stage);
std::optional<SecAggStage> ParseSecAggStage(const std::string& name);

class SecAggParty {
 public:
  virtual ~SecAggParty() = default;
  // Stage 1: the client quantises its kept update and advertises its keys.
  virtual std::future<privacy::PublicKeys> AdvertiseKeys(const SecAggSetup& setup) = 0;
  // Stage 2.
  virtual std::future<privacy::ShareKeys> ShareKeys(const privacy::NeighbourKeys& keys) = 0;
  // Stage 3.
  virtual std::future<privacy::MaskedInput> MaskedInput(const privacy::RoutedShares& shares) = 0;
  // Stage 4.
  virtual std::future<privacy::UnmaskResponse> Unmask(const privacy::UnmaskRequest& request) = 0;
  // The round is over for this client (aggregated when `ok`, else `reason`
  // says why not): it forgets its update and secrets. Never blocks.
  virtual void Finish(int64_t round, bool ok, const std::string& reason) = 0;
};

// A client's side of one secure round.
class SecAggClientUpdate {
 public:
  // `delta` = trained − global parameters, `weight` its sample count.
  SecAggClientUpdate(std::vector<float> delta, int64_t weight);

  int64_t round() const { return round_; }
  // Each stage throws privacy::SecAggError when it cannot go on safely
  // (out of order, a setup that does not fit the update, too few
  // neighbours, a refused unmasking request) and ConfigError-free otherwise.
  privacy::PublicKeys AdvertiseKeys(const SecAggSetup& setup);
  privacy::ShareKeys ShareKeys(const privacy::NeighbourKeys& keys);
  privacy::MaskedInput MaskedInput(const privacy::RoutedShares& shares);
  privacy::UnmaskResponse Unmask(const privacy::UnmaskRequest& request);

 private:
  std::vector<float> delta_;
  int64_t weight_;
  int64_t round_ = 0;
  std::optional<privacy::SecAggClient> client_;
  std::vector<uint32_t> quantized_;  // d + 1 values, after the setup
};

// The simulator's party: runs a SecAggClientUpdate in the calling thread
// and returns ready futures; from `drop_at` on (nullopt: never) every
// call fails, as a client that dropped out there.
class InProcessSecAggParty final : public SecAggParty {
 public:
  InProcessSecAggParty(std::vector<float> delta, int64_t weight,
                       std::optional<SecAggStage> drop_at = std::nullopt);

  std::future<privacy::PublicKeys> AdvertiseKeys(const SecAggSetup& setup) override;
  std::future<privacy::ShareKeys> ShareKeys(const privacy::NeighbourKeys& keys) override;
  std::future<privacy::MaskedInput> MaskedInput(const privacy::RoutedShares& shares) override;
  std::future<privacy::UnmaskResponse> Unmask(const privacy::UnmaskRequest& request) override;
  void Finish(int64_t, bool, const std::string&) override {}

 private:
  template <typename T, typename F>
  std::future<T> Run(SecAggStage stage, F&& step);

  SecAggClientUpdate update_;
  std::optional<SecAggStage> drop_at_;
};

}  // namespace edgefl::algorithms
