// The bookkeeping both asynchronous loops share: the global model and its
// version, and the AsyncUpdate being built from arrivals. An arrival whose
// future failed is a dropped update, a non-finite or mis-sized one a
// rejected update (with the reason), anything else goes to the strategy
// with its staleness (versions made since its base); when the strategy
// makes a new model, the update is complete and waits in TakeReady().
// The loops decide only when tasks are sent and in which order results are
// taken.
//
// Thread-safety: one loop, one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <future>
#include <optional>
#include <string>

#include <Eigen/Core>

#include "algorithms/async_strategy.h"
#include "engine/async_update.h"
#include "engine/client_proxy.h"

namespace edgefl::engine {

class AsyncFold {
 public:
  // Throws ConfigError for an empty model.
  AsyncFold(algorithms::AsyncStrategy& strategy, Eigen::VectorXf initial, int64_t initial_version);

  const SharedParameters& global() const { return global_; }
  int64_t version() const { return version_; }
  algorithms::AsyncStrategy& strategy() { return strategy_; }

  // A task was sent (counted in the next version's `dispatched`).
  void Dispatched() { ++building_.dispatched; }
  // A task of `client` was lost before it delivered: a dropped update.
  void Lost(const train::ClientId& client, const std::string& reason);
  // Takes the result of `client`'s task trained from `base` (version
  // `base_version`); `clock` is the loop's time now (the version's
  // virtual_time if this arrival makes one). Updates the client's
  // rounds_participated/last_round when the update is accepted. Returns
  // false when the future failed (the client did not deliver). Throws
  // edgefl::Error if the strategy makes a non-finite or mis-sized model.
  bool Arrive(ClientProxy& client, std::future<train::FitResult>& result,
              const SharedParameters& base, int64_t base_version, double clock);

  // The next completed version, oldest first; nullopt when none is.
  std::optional<AsyncUpdate> TakeReady();
  bool ready() const { return !ready_.empty(); }

 private:
  algorithms::AsyncStrategy& strategy_;
  SharedParameters global_;
  int64_t version_;
  AsyncUpdate building_;  // the next version's report so far
  double loss_sum_ = 0.0, loss_weight_ = 0.0;
  double host_mark_ = 0.0;  // host time of the previous version
  std::deque<AsyncUpdate> ready_;
};

}  // namespace edgefl::engine
