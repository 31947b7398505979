#include "coordinator/async_engine.h"

#include <chrono>
#include <cmath>
#include <limits>

#include "algorithms/aggregate.h"
#include "common/error.h"

namespace edgefl::coordinator {
namespace {

using algorithms::FitFailure;
using algorithms::FitResult;

double HostSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

AsyncEngine::AsyncEngine(algorithms::AsyncStrategy& strategy, Fleet& fleet,
                         std::vector<ClientProxy*> clients, AsyncOptions options,
                         Eigen::VectorXf initial, int64_t initial_version)
    : strategy_(strategy),
      fleet_(fleet),
      clients_(std::move(clients)),
      options_(options),
      global_(std::make_shared<const Eigen::VectorXf>(std::move(initial))),
      version_(initial_version),
      running_(clients_.size()),
      wake_pending_(clients_.size(), false),
      tasks_(clients_.size(), 0),
      host_mark_(HostSeconds()) {
  if (global_->size() == 0) throw ConfigError("the initial model has no parameters");
  if (clients_.size() != fleet_.size()) {
    throw ConfigError("the fleet describes " + std::to_string(fleet_.size()) + " clients, " +
                      std::to_string(clients_.size()) + " are connected");
  }
  if (clients_.empty()) throw ConfigError("asynchronous federation needs at least one client");
}

AsyncEngine::~AsyncEngine() {
  for (std::optional<Task>& task : running_) {
    if (task && task->result.valid()) task->result.wait();
  }
}

void AsyncEngine::DispatchIdle() {
  const double t = clock_.now();
  for (size_t k = 0; k < clients_.size(); ++k) {
    if (running_[k]) continue;
    if (fleet_.Available(k, t)) {
      Dispatch(k);
    } else if (!wake_pending_[k]) {
      const double next = fleet_.NextAvailable(k, t);
      if (std::isfinite(next)) {
        clock_.Schedule(next, k, Event{Event::Kind::kWake, k});
        wake_pending_[k] = true;
      }
    }
  }
}

void AsyncEngine::Dispatch(size_t k) {
  const double t = clock_.now();
  std::vector<algorithms::ClientInfo> fleet_info;
  fleet_info.reserve(clients_.size());
  for (ClientProxy* c : clients_)
    fleet_info.push_back(c->info());
  const algorithms::ClientInfo& info = clients_[k]->info();

  Task task;
  task.client = k;
  task.number = ++tasks_[k];
  task.base = global_;
  task.base_version = version_;
  algorithms::FitInstructions instructions =
      strategy_.ConfigureFit(version_, info, task.number, fleet_info);
  instructions.model_version = version_;

  const int64_t samples = PlannedSamples(instructions.recipe, info.num_samples);
  double arrival = t + fleet_.TaskSeconds(k, samples, options_.model_bytes);
  const double offline_at = fleet_.OnlineUntil(k, t);
  if (fleet_.DropsOut(k, task.number)) {
    task.lost_reason = "dropped out (simulated dropout)";
  } else if (arrival > offline_at) {
    task.lost_reason = "went off-line before finishing";
    arrival = offline_at;
  } else {
    task.result = clients_[k]->Fit(global_, instructions);
  }
  running_[k] = std::move(task);
  ++building_.dispatched;
  clock_.Schedule(arrival, k, Event{Event::Kind::kArrival, k});
}

void AsyncEngine::Arrive(size_t k) {
  Task task = std::move(*running_[k]);
  running_[k].reset();
  ClientProxy& proxy = *clients_[k];
  const algorithms::ClientId& id = proxy.info().id;
  if (!task.result.valid()) {
    building_.failures.push_back({id, FitFailure::Kind::kDropped, task.lost_reason});
    return;
  }
  FitResult result;
  try {
    result = task.result.get();
  } catch (const std::exception& e) {
    building_.failures.push_back({id, FitFailure::Kind::kDropped, e.what()});
    return;
  }
  result.base_version = task.base_version;
  const std::optional<std::string> problem = algorithms::CheckUpdate(
      id, {result.train.parameters.data(), static_cast<size_t>(result.train.parameters.size())},
      static_cast<size_t>(global_->size()));
  if (problem) {
    building_.failures.push_back({id, FitFailure::Kind::kRejected, *problem});
    return;
  }
  const int64_t staleness = version_ - task.base_version;
  algorithms::ArrivalOutcome outcome = strategy_.OnArrival(*global_, *task.base, result, staleness);

  ++proxy.info().rounds_participated;
  proxy.info().last_round = version_ + 1;
  const double weight = static_cast<double>(result.train.num_samples);
  loss_sum_ += weight * result.train.train_loss;
  loss_weight_ += weight;
  building_.staleness.push_back(staleness);
  building_.results.push_back(std::move(result));

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
  building_.virtual_time = clock_.now();
  building_.host_seconds = host_now - host_mark_;
  building_.metrics = std::move(outcome.metrics);
  building_.train_loss =
      loss_weight_ > 0 ? loss_sum_ / loss_weight_ : std::numeric_limits<double>::quiet_NaN();
  ready_.push_back(std::move(building_));
  building_ = AsyncUpdate{};
  loss_sum_ = loss_weight_ = 0.0;
  host_mark_ = host_now;
}

std::optional<AsyncUpdate> AsyncEngine::NextUpdate() {
  if (!started_) {
    started_ = true;
    DispatchIdle();
  }
  while (ready_.empty() && !clock_.empty()) {
    const double t = clock_.NextTime();
    while (!clock_.empty() && clock_.NextTime() == t) {
      const auto event = clock_.Pop();
      if (event.payload.kind == Event::Kind::kWake) {
        wake_pending_[event.payload.client] = false;
      } else {
        Arrive(event.payload.client);
      }
    }
    DispatchIdle();
  }
  if (ready_.empty()) return std::nullopt;
  AsyncUpdate next = std::move(ready_.front());
  ready_.pop_front();
  return next;
}

}  // namespace edgefl::coordinator
