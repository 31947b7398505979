#include "algorithms/secagg_party.h"

#include <exception>
#include <utility>

#include "common/random.h"
#include "privacy/dp_clipping.h"
#include "privacy/secagg_quantize.h"
#include "privacy/secure_seed.h"

namespace edgefl::algorithms {

const char* SecAggStageName(SecAggStage stage) {
  switch (stage) {
    case SecAggStage::kAdvertise:
      return "advertise";
    case SecAggStage::kShare:
      return "share";
    case SecAggStage::kMask:
      return "mask";
    case SecAggStage::kUnmask:
      return "unmask";
  }
  return "?";
}

std::optional<SecAggStage> ParseSecAggStage(const std::string& name) {
  for (SecAggStage s :
       {SecAggStage::kAdvertise, SecAggStage::kShare, SecAggStage::kMask, SecAggStage::kUnmask}) {
    if (name == SecAggStageName(s)) return s;
  }
  return std::nullopt;
}

SecAggClientUpdate::SecAggClientUpdate(std::vector<float> delta, int64_t weight)
    : delta_(std::move(delta)), weight_(weight) {}

privacy::PublicKeys SecAggClientUpdate::AdvertiseKeys(const SecAggSetup& setup) {
  if (client_) throw privacy::SecAggError("secagg: a second setup for the same update");
  if (setup.config.dimension != delta_.size()) {
    throw privacy::SecAggError("secagg: the round sums " + std::to_string(setup.config.dimension) +
                               " values but this client's update has " +
                               std::to_string(delta_.size()));
  }
  if (!(setup.scale > 0.0 && setup.scale <= 1.0)) {
    throw privacy::SecAggError("secagg: a staleness scale outside (0, 1]");
  }
  int64_t weight = setup.uniform_weight ? int64_t{setup.config.max_weight} : weight_;
  // Distributed DP: clip first, so a scale <= 1 keeps the sensitivity C.
  if (setup.dp_clip > 0.0) privacy::ClipToNorm(delta_, setup.dp_clip);
  if (setup.scale != 1.0) {
    for (float& x : delta_)
      x = static_cast<float>(setup.scale * x);
  }
  if (setup.dp_clip > 0.0) {
    // This client's share of the noise (not scaled: the sum's noise stays z·C).
    Rng noise(setup.noise_seed ? *setup.noise_seed : privacy::SecureRandomSeed());
    for (float& x : delta_)
      x += static_cast<float>(setup.dp_noise_std * noise.Normal());
    weight = setup.config.max_weight;
  }
  Rng rounding(setup.rounding_seed);
  quantized_ = privacy::QuantizeUpdate(delta_, weight, setup.config, rounding);
  round_ = setup.config.round;
  client_.emplace(setup.config, setup.client);
  return client_->AdvertiseKeys();
}

privacy::ShareKeys SecAggClientUpdate::ShareKeys(const privacy::NeighbourKeys& keys) {
  if (!client_) throw privacy::SecAggError("secagg: share keys before the setup");
  return client_->ShareSecrets(keys);
}

privacy::MaskedInput SecAggClientUpdate::MaskedInput(const privacy::RoutedShares& shares) {
  if (!client_) throw privacy::SecAggError("secagg: masked input before the setup");
  return client_->MaskInput(shares, quantized_);
}

privacy::UnmaskResponse SecAggClientUpdate::Unmask(const privacy::UnmaskRequest& request) {
  if (!client_) throw privacy::SecAggError("secagg: unmasking before the setup");
  return client_->Unmask(request);
}

InProcessSecAggParty::InProcessSecAggParty(std::vector<float> delta, int64_t weight,
                                           std::optional<SecAggStage> drop_at)
    : update_(std::move(delta), weight), drop_at_(drop_at) {}

template <typename T, typename F>
std::future<T> InProcessSecAggParty::Run(SecAggStage stage, F&& step) {
  std::promise<T> promise;
  if (drop_at_ && static_cast<int>(stage) >= static_cast<int>(*drop_at_)) {
    promise.set_exception(std::make_exception_ptr(
        Error(std::string("dropped out before stage '") + SecAggStageName(stage) + "'")));
  } else {
    try {
      promise.set_value(step());
    } catch (...) {
      promise.set_exception(std::current_exception());
    }
  }
  return promise.get_future();
}

std::future<privacy::PublicKeys> InProcessSecAggParty::AdvertiseKeys(const SecAggSetup& setup) {
  return Run<privacy::PublicKeys>(SecAggStage::kAdvertise,
                                  [&] { return update_.AdvertiseKeys(setup); });
}

std::future<privacy::ShareKeys> InProcessSecAggParty::ShareKeys(
    const privacy::NeighbourKeys& keys) {
  return Run<privacy::ShareKeys>(SecAggStage::kShare, [&] { return update_.ShareKeys(keys); });
}

std::future<privacy::MaskedInput> InProcessSecAggParty::MaskedInput(
    const privacy::RoutedShares& shares) {
  return Run<privacy::MaskedInput>(SecAggStage::kMask, [&] { return update_.MaskedInput(shares); });
}

std::future<privacy::UnmaskResponse> InProcessSecAggParty::Unmask(
    const privacy::UnmaskRequest& request) {
  return Run<privacy::UnmaskResponse>(SecAggStage::kUnmask,
                                      [&] { return update_.Unmask(request); });
}

}  // namespace edgefl::algorithms
