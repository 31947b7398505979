#include "algorithms/fedasync.h"

#include <cmath>

#include "common/error.h"

namespace edgefl::algorithms {

FedAsync::FedAsync(FedAsyncOptions options) : options_(std::move(options)) {
  ValidateAsyncTask(options_.task, "strategy fedasync");
  if (!(options_.server_lr > 0.0 && std::isfinite(options_.server_lr))) {
    throw ConfigError("strategy fedasync: server_lr must be > 0, got " +
                      std::to_string(options_.server_lr));
  }
  if (!(options_.weight.exponent >= 0.0)) {
    throw ConfigError("strategy fedasync: staleness_exponent must be >= 0");
  }
}

train::FitInstructions FedAsync::ConfigureFit(int64_t version, const ClientInfo& client,
                                              int64_t task, std::span<const ClientInfo> fleet) {
  return MakeAsyncTask(options_.task, version, client, task, fleet);
}

ArrivalOutcome FedAsync::OnArrival(const Eigen::VectorXf& global, const Eigen::VectorXf& base,
                                   const train::FitResult& result, int64_t staleness) {
  ArrivalOutcome out;
  const double w = options_.weight(staleness);
  const float scale = static_cast<float>(options_.server_lr * w);
  Eigen::VectorXf next = global + scale * (result.train.parameters - base);
  out.metrics["update_norm"] = static_cast<double>((next - global).norm());
  out.metrics["weight"] = w;
  out.parameters = std::move(next);
  return out;
}

}  // namespace edgefl::algorithms
