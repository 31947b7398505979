#include "engine/async_fold.h"

#include <chrono>
#include <limits>
#include <map>

#include "algorithms/aggregate.h"
#include "common/error.h"

namespace edgefl::engine {
namespace {

using train::FitFailure;
using train::FitResult;

double HostSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

AsyncFold::AsyncFold(algorithms::AsyncStrategy& strategy, Eigen::VectorXf initial,
                     int64_t initial_version)
    : strategy_(strategy),
      global_(std::make_shared<const Eigen::VectorXf>(std::move(initial))),
      version_(initial_version),
      host_mark_(HostSeconds()) {
  if (global_->size() == 0) throw ConfigError("the initial model has no parameters");
}

void AsyncFold::Lost(const train::ClientId& client, const std::string& reason) {
  building_.failures.push_back({client, FitFailure::Kind::kDropped, reason});
}

bool AsyncFold::Arrive(ClientProxy& proxy, std::future<FitResult>& future,
                       const SharedParameters& base, int64_t base_version, double clock,
                       bool kept) {
  const train::ClientId& id = proxy.info().id;
  FitResult result;
  try {
    result = future.get();
  } catch (const std::exception& e) {
    Lost(id, e.what());
    return false;
  }
  result.base_version = base_version;
  const std::optional<std::string> problem = algorithms::CheckUpdate(
      id, {result.train.parameters.data(), static_cast<size_t>(result.train.parameters.size())},
      kept ? size_t{0} : static_cast<size_t>(global_->size()));
  if (problem) {
    building_.failures.push_back({id, FitFailure::Kind::kRejected, *problem});
    return true;
  }
  const int64_t staleness = version_ - base_version;
  if (secure()) {
    // A ready report: it waits for its cohort (FinishCohort records it).
    cohort_.push_back({&proxy, std::move(result), base, staleness});
    return true;
  }
  algorithms::ArrivalOutcome outcome = strategy_.OnArrival(*global_, *base, result, staleness);

  ++proxy.info().rounds_participated;
  proxy.info().last_round = version_ + 1;
  const double weight = static_cast<double>(result.train.num_samples);
  loss_sum_ += weight * result.train.train_loss;
  loss_weight_ += weight;
  building_.staleness.push_back(staleness);
  building_.results.push_back(std::move(result));
  Complete(std::move(outcome), clock);
  return true;
}

bool AsyncFold::cohort_full() const {
  return secure() && static_cast<int64_t>(cohort_.size()) >= strategy_.cohort_size();
}

std::vector<AsyncFold::CohortMember> AsyncFold::TakeCohort() {
  std::vector<CohortMember> members;
  while (static_cast<int64_t>(members.size()) < strategy_.cohort_size() && !cohort_.empty()) {
    members.push_back(std::move(cohort_.front()));
    cohort_.pop_front();
    members.back().staleness = version_ - members.back().result.base_version;
  }
  return members;
}

void AsyncFold::FinishCohort(std::vector<CohortMember> members,
                             const algorithms::SecureAggregationResult& secure,
                             const Eigen::VectorXf& formed_on, double clock) {
  // Members whose masked input is not in the sum.
  std::map<train::ClientId, std::string> out;
  for (const FitFailure& d : secure.dropped)
    out.emplace(d.client, d.reason);
  if (!secure.ok) {
    for (const CohortMember& m : members)
      out.emplace(m.client->info().id,
                  "secure aggregation of its cohort failed: " + secure.failure);
  }
  for (CohortMember& m : members) {
    const train::ClientId& id = m.client->info().id;
    const auto up = secure.bytes_up.find(id);
    const auto down = secure.bytes_down.find(id);
    const auto gone = out.find(id);
    if (gone != out.end()) {
      building_.failures.push_back({id, FitFailure::Kind::kDropped, gone->second});
      continue;
    }
    // Its row counts the stages' bytes on top of the task's (in simulation
    // nothing else went up, and the model came down).
    if (m.result.bytes_out == 0) {
      m.result.bytes_out = static_cast<int64_t>(sizeof(float)) * global_->size();
    }
    if (up != secure.bytes_up.end()) m.result.bytes_in += up->second;
    if (down != secure.bytes_down.end()) m.result.bytes_out += down->second;
    ++m.client->info().rounds_participated;
    m.client->info().last_round = version_ + 1;
    const double weight = static_cast<double>(m.result.train.num_samples);
    loss_sum_ += weight * m.result.train.train_loss;
    loss_weight_ += weight;
    m.result.train.parameters.resize(0);  // the server never held it (simulation aside)
    building_.staleness.push_back(m.staleness);
    building_.results.push_back(std::move(m.result));
  }
  if (!secure.ok) return;
  if (secure.sum.train.parameters.size() != formed_on.size()) {
    throw Error("secure aggregation: a sum of " +
                std::to_string(secure.sum.train.parameters.size()) + " values for a model of " +
                std::to_string(formed_on.size()));
  }
  const Eigen::VectorXf mean = secure.sum.train.parameters - formed_on;
  algorithms::ArrivalOutcome outcome = strategy_.OnSecureCohort(*global_, mean);
  for (const auto& [key, value] : secure.metrics)
    outcome.metrics[key] = value;
  Complete(std::move(outcome), clock);
}

void AsyncFold::Complete(algorithms::ArrivalOutcome outcome, double clock) {
  if (!outcome.parameters) return;
  const std::optional<std::string> bad = algorithms::CheckUpdate(
      "the new global model",
      {outcome.parameters->data(), static_cast<size_t>(outcome.parameters->size())},
      static_cast<size_t>(global_->size()));
  if (bad) throw Error("strategy " + strategy_.name() + ": " + *bad);
  global_ = std::make_shared<const Eigen::VectorXf>(std::move(*outcome.parameters));
  ++version_;

  const double host_now = HostSeconds();
  building_.model_version = version_;
  building_.virtual_time = clock;
  building_.host_seconds = host_now - host_mark_;
  building_.metrics = std::move(outcome.metrics);
  building_.parameters = global_;
  building_.strategy_state = strategy_.SaveState();
  building_.train_loss =
      loss_weight_ > 0 ? loss_sum_ / loss_weight_ : std::numeric_limits<double>::quiet_NaN();
  ready_.push_back(std::move(building_));
  building_ = AsyncUpdate{};
  loss_sum_ = loss_weight_ = 0.0;
  host_mark_ = host_now;
}

std::optional<AsyncUpdate> AsyncFold::TakeReady() {
  if (ready_.empty()) return std::nullopt;
  AsyncUpdate next = std::move(ready_.front());
  ready_.pop_front();
  return next;
}

}  // namespace edgefl::engine
