#include "algorithms/fedasync.h"

#include <cmath>

#include "common/error.h"
#include "common/number_text.h"

namespace edgefl::algorithms {

FedAsync::FedAsync(FedAsyncOptions options) : options_(std::move(options)) {
  ValidateAsyncTask(options_.task, "strategy fedasync");
  if (!(options_.mixing > 0.0 && options_.mixing <= 1.0)) {
    throw ConfigError("strategy fedasync: mixing (α) must be in (0, 1], got " +
                      ShortNumber(options_.mixing));
  }
  const StalenessWeight& w = options_.weight;
  if (!(w.exponent >= 0.0 && w.hinge_a >= 0.0 && w.hinge_b >= 0.0)) {
    throw ConfigError("strategy fedasync: staleness_exponent, hinge_a and hinge_b must be >= 0");
  }
}

train::FitInstructions FedAsync::ConfigureFit(int64_t version, const ClientInfo& client,
                                              int64_t task, std::span<const ClientInfo> fleet) {
  return MakeAsyncTask(options_.task, version, client, task, fleet);
}

ArrivalOutcome FedAsync::OnArrival(const Eigen::VectorXf& global, const Eigen::VectorXf& /*base*/,
                                   const train::FitResult& result, int64_t staleness) {
  ArrivalOutcome out;
  const double s = options_.weight(staleness);
  const double alpha = options_.mixing * s;
  const float a = static_cast<float>(alpha);
  Eigen::VectorXf next = (1.0f - a) * global + a * result.train.parameters;
  out.metrics["update_norm"] = static_cast<double>((next - global).norm());
  out.metrics["weight"] = s;
  out.metrics["mixing"] = alpha;
  out.parameters = std::move(next);
  return out;
}

}  // namespace edgefl::algorithms
