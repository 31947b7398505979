#include "sim/async_engine.h"

#include <algorithm>
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
      held_(clients_.size(), false),
      cohort_count_(start.version),
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
    if (running_[k] || held_[k]) continue;
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
  if (!fold_.secure()) {
    fold_.Arrive(proxy, task.result, task.base, task.base_version, clock_.now());
    return;
  }
  const size_t before = fold_.cohort_waiting();
  fold_.Arrive(proxy, task.result, task.base, task.base_version, clock_.now());
  if (fold_.cohort_waiting() > before) held_[k] = true;  // ready: waits for its cohort
}

void AsyncEngine::MaybeFormCohort() {
  while (fold_.cohort_full()) {
    Cohort cohort;
    cohort.members = fold_.TakeCohort();
    std::vector<train::FitResult> results;
    std::vector<const Eigen::VectorXf*> bases;
    std::vector<double> scales;
    for (const engine::AsyncFold::CohortMember& m : cohort.members) {
      results.push_back(m.result);
      bases.push_back(m.base.get());
      scales.push_back(fold_.strategy().CohortScale(m.staleness));
      for (size_t k = 0; k < clients_.size(); ++k) {
        if (clients_[k] == m.client) cohort.clients.push_back(k);
      }
    }
    const int64_t number = ++cohort_count_;
    cohort.formed_on = fold_.global();
    cohort.result = algorithms::SecureAggregateCohort(
        number, *cohort.formed_on, results, bases, scales, *fold_.strategy().secure_aggregation());
    // The stages on the clock: the slowest member's bytes over its link and
    // its modelled compute, then the server's.
    double slowest = 0.0;
    for (size_t i = 0; i < cohort.clients.size(); ++i) {
      const train::ClientId& id = cohort.members[i].client->info().id;
      const auto up = cohort.result.bytes_up.find(id);
      const auto down = cohort.result.bytes_down.find(id);
      const int64_t bytes = (up != cohort.result.bytes_up.end() ? up->second : 0) +
                            (down != cohort.result.bytes_down.end() ? down->second : 0);
      const auto seconds = cohort.result.client_seconds.find(id);
      // TaskSeconds(k, 0, b) is 2·b/bandwidth: half the bytes each way.
      slowest = std::max(
          slowest, fleet_.TaskSeconds(cohort.clients[i], 0, bytes / 2) +
                       (seconds != cohort.result.client_seconds.end() ? seconds->second : 0.0));
    }
    const double extra = slowest + cohort.result.server_seconds;
    cohort.result.metrics["secagg_virtual_seconds"] = extra;
    const auto key = static_cast<size_t>(number);
    cohorts_.emplace(key, std::move(cohort));
    clock_.Schedule(clock_.now() + extra, clients_.size() + key, Event{Event::Kind::kCohort, key});
  }
}

void AsyncEngine::FinishCohort(size_t number) {
  auto it = cohorts_.find(number);
  Cohort cohort = std::move(it->second);
  cohorts_.erase(it);
  for (size_t k : cohort.clients)
    held_[k] = false;
  fold_.FinishCohort(std::move(cohort.members), cohort.result, *cohort.formed_on, clock_.now());
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
      } else if (event.payload.kind == Event::Kind::kCohort) {
        FinishCohort(event.payload.client);
      } else {
        Arrive(event.payload.client);
      }
    }
    MaybeFormCohort();
    DispatchIdle();
  }
  std::optional<engine::AsyncUpdate> update = fold_.TakeReady();
  if (update) update->pseudo_data = pseudo_data_;
  return update;
}

}  // namespace edgefl::sim
