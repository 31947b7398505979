#include "sim/async_engine.h"

#include <cmath>

#include "algorithms/local_registry.h"
#include "common/error.h"
#include "engine/pseudo_data_pool.h"

namespace edgefl::sim {
namespace {

engine::AsyncStart NewRun(Eigen::VectorXf initial) {
  engine::AsyncStart start;
  start.parameters = std::move(initial);
  return start;
}

}  // namespace

AsyncEngine::AsyncEngine(algorithms::AsyncStrategy& strategy, Fleet& fleet,
                         std::vector<engine::ClientProxy*> clients, AsyncOptions options,
                         engine::AsyncStart start)
    : fleet_(fleet),
      clients_(std::move(clients)),
      options_(options),
      fold_(strategy, std::move(start.parameters), start.version),
      clock_(start.clock),
      running_(clients_.size()),
      wake_pending_(clients_.size(), false),
      tasks_(clients_.size(), 0),
      pseudo_data_(std::move(start.pseudo_data)) {
  if (clients_.size() != fleet_.size()) {
    throw ConfigError("the fleet describes " + std::to_string(fleet_.size()) + " clients, " +
                      std::to_string(clients_.size()) + " are connected");
  }
  if (clients_.empty()) throw ConfigError("asynchronous federation needs at least one client");
  for (size_t k = 0; k < clients_.size(); ++k) {
    const auto done = start.client_tasks.find(clients_[k]->info().id);
    if (done != start.client_tasks.end()) tasks_[k] = done->second;
  }
}

AsyncEngine::AsyncEngine(algorithms::AsyncStrategy& strategy, Fleet& fleet,
                         std::vector<engine::ClientProxy*> clients, AsyncOptions options,
                         Eigen::VectorXf initial)
    : AsyncEngine(strategy, fleet, std::move(clients), options, NewRun(std::move(initial))) {}

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
  for (engine::ClientProxy* c : clients_)
    fleet_info.push_back(c->info());
  const algorithms::ClientInfo& info = clients_[k]->info();

  Task task;
  task.client = k;
  task.number = ++tasks_[k];
  task.base = fold_.global();
  task.base_version = fold_.version();
  train::FitInstructions instructions =
      fold_.strategy().ConfigureFit(task.base_version, info, task.number, fleet_info);
  instructions.model_version = task.base_version;
  if (const std::optional<algorithms::PseudoDataSpec> spec =
          algorithms::PseudoDataSpecOf(instructions.local)) {
    if (pseudo_data_ == nullptr) pseudo_data_ = engine::AskPseudoDataPool(*spec, clients_);
    instructions.pseudo_data = pseudo_data_;
  }

  const int64_t samples = PlannedSamples(instructions.recipe, info.num_samples);
  double arrival = t + fleet_.TaskSeconds(k, samples, options_.model_bytes);
  const double offline_at = fleet_.OnlineUntil(k, t);
  if (fleet_.DropsOut(k, task.number)) {
    task.lost_reason = "dropped out (simulated dropout)";
  } else if (arrival > offline_at) {
    task.lost_reason = "went off-line before finishing";
    arrival = offline_at;
  } else {
    task.result = clients_[k]->Fit(task.base, instructions);
  }
  running_[k] = std::move(task);
  fold_.Dispatched();
  clock_.Schedule(arrival, k, Event{Event::Kind::kArrival, k});
}

void AsyncEngine::Arrive(size_t k) {
  Task task = std::move(*running_[k]);
  running_[k].reset();
  engine::ClientProxy& proxy = *clients_[k];
  if (!task.result.valid()) {
    fold_.Lost(proxy.info().id, task.lost_reason);
    return;
  }
  fold_.Arrive(proxy, task.result, task.base, task.base_version, clock_.now());
}

std::string AsyncEngine::stop_reason() const {
  return "no client can deliver after version " + std::to_string(fold_.version());
}

std::optional<engine::AsyncUpdate> AsyncEngine::NextUpdate() {
  if (!started_) {
    started_ = true;
    DispatchIdle();
  }
  while (!fold_.ready() && !clock_.empty()) {
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
  std::optional<engine::AsyncUpdate> update = fold_.TakeReady();
  if (update) update->pseudo_data = pseudo_data_;
  return update;
}

}  // namespace edgefl::sim
