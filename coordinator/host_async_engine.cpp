#include "coordinator/host_async_engine.h"

#include <algorithm>
#include <thread>

#include "algorithms/local_registry.h"
#include "common/error.h"
#include "engine/pseudo_data_pool.h"

namespace edgefl::coordinator {

HostAsyncEngine::HostAsyncEngine(algorithms::AsyncStrategy& strategy, ClientRegistry& registry,
                                 HostAsyncOptions options, engine::AsyncStart start, Logger logger)
    : registry_(registry),
      options_(options),
      logger_(std::move(logger)),
      fold_(strategy, std::move(start.parameters), start.version),
      start_(std::chrono::steady_clock::now()),
      clock_offset_(start.clock),
      task_label_(start.tasks_sent),
      tasks_(std::move(start.client_tasks)),
      cohorts_(start.version),
      idle_since_(start_),
      pseudo_data_(std::move(start.pseudo_data)) {}

double HostAsyncEngine::Clock() const {
  return clock_offset_ +
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string HostAsyncEngine::stop_reason() const {
  return "stop requested after version " + std::to_string(fold_.version()) + " (" +
         std::to_string(running_.size()) + " tasks in flight abandoned)";
}

bool HostAsyncEngine::WaitForStart() {
  const size_t needed = std::max<size_t>(options_.min_clients, 1);
  while (!registry_.stop_requested()) {
    if (registry_.size() >= needed) return true;
    logger_.Info("async: waiting for clients (" + std::to_string(registry_.size()) + " of " +
                 std::to_string(needed) + " connected)");
    registry_.WaitForClients(needed, options_.log_every);
  }
  return false;
}

void HostAsyncEngine::DispatchIdle() {
  const std::vector<std::shared_ptr<RemoteClient>> connected = registry_.Connected();
  // A session that failed a task is closing; forget it once it has left.
  std::erase_if(failed_, [&](const std::shared_ptr<RemoteClient>& f) {
    return std::find(connected.begin(), connected.end(), f) == connected.end();
  });
  if (connected.empty() && running_.empty()) {
    if (!idle_logged_ || std::chrono::steady_clock::now() - idle_since_ >= options_.log_every) {
      logger_.Info("async: no client connected after version " + std::to_string(fold_.version()) +
                   "; waiting for clients");
      idle_since_ = std::chrono::steady_clock::now();
      idle_logged_ = true;
    }
    return;
  }
  idle_logged_ = false;
  std::vector<algorithms::ClientInfo> fleet;
  fleet.reserve(connected.size());
  for (const auto& c : connected)
    fleet.push_back(c->info());
  for (const std::shared_ptr<RemoteClient>& client : connected) {
    if (running_.count(client.get()) > 0 || held_.count(client.get()) > 0) continue;
    if (std::find(failed_.begin(), failed_.end(), client) != failed_.end()) continue;
    Task task;
    task.client = client;
    task.base = fold_.global();
    task.base_version = fold_.version();
    const int64_t number = ++tasks_[client->client_id()];
    train::FitInstructions instructions =
        fold_.strategy().ConfigureFit(task.base_version, client->info(), number, fleet);
    instructions.model_version = task.base_version;
    // Secure cohorts: the client keeps its update for the stages.
    instructions.secure_aggregation = fold_.secure();
    if (const std::optional<algorithms::PseudoDataSpec> spec =
            algorithms::PseudoDataSpecOf(instructions.local)) {
      if (pseudo_data_ == nullptr) {
        std::vector<engine::ClientProxy*> asked;
        for (const std::shared_ptr<RemoteClient>& c : connected)
          asked.push_back(c.get());
        pseudo_data_ = engine::AskPseudoDataPool(*spec, asked);
        logger_.Info("async: FedBR pseudo-data pool of " + std::to_string(pseudo_data_->cols()) +
                     " built from the means of " + std::to_string(asked.size()) + " clients");
      }
      instructions.pseudo_data = pseudo_data_;
    }
    client->SetRound(++task_label_);  // the session stamps the task with it
    task.result = client->Fit(task.base, instructions);
    fold_.Dispatched();
    running_.emplace(client.get(), std::move(task));
  }
}

bool HostAsyncEngine::CollectFinished() {
  bool any = false;
  for (auto it = running_.begin(); it != running_.end();) {
    if (it->second.result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      ++it;
      continue;
    }
    Task task = std::move(it->second);
    it = running_.erase(it);
    any = true;
    const size_t waiting = fold_.cohort_waiting();
    if (!fold_.Arrive(*task.client, task.result, task.base, task.base_version, Clock(),
                      /*kept=*/fold_.secure())) {
      failed_.push_back(task.client);
    } else if (fold_.cohort_waiting() > waiting) {
      held_.emplace(task.client.get(), task.client);  // ready: waits for its cohort
    }
  }
  return any;
}

void HostAsyncEngine::RunCohorts() {
  while (fold_.cohort_full()) {
    std::vector<engine::AsyncFold::CohortMember> members = fold_.TakeCohort();
    std::vector<train::FitResult> results;
    std::vector<algorithms::SecAggParty*> parties;
    std::vector<double> scales;
    for (const engine::AsyncFold::CohortMember& m : members) {
      results.push_back(m.result);
      algorithms::SecAggParty* party = m.client->secagg_party();
      if (party == nullptr) throw Error("async secure aggregation: a client without stages");
      parties.push_back(party);
      scales.push_back(fold_.strategy().CohortScale(m.staleness));
    }
    const int64_t number = ++cohorts_;
    const engine::SharedParameters formed_on = fold_.global();
    const algorithms::SecureAggregationResult secure = algorithms::RunSecureAggregation(
        number, *formed_on, results, parties, *fold_.strategy().secure_aggregation(), scales);
    if (secure.ok) {
      logger_.Info("async: secure cohort " + std::to_string(number) + " of " +
                   std::to_string(members.size()) + " unmasked (" +
                   std::to_string(secure.dropped.size()) + " dropped out)");
    } else {
      logger_.Warn("async: secure cohort " + std::to_string(number) + " failed: " + secure.failure +
                   "; its " + std::to_string(members.size()) +
                   " updates are lost, the run goes on");
    }
    // held_ keeps the members' sessions alive (one that disconnected is no
    // longer in the registry) until the fold has recorded them.
    std::vector<const engine::ClientProxy*> release;
    for (const engine::AsyncFold::CohortMember& m : members)
      release.push_back(m.client);
    fold_.FinishCohort(std::move(members), secure, *formed_on, Clock());
    for (const engine::ClientProxy* c : release)
      held_.erase(c);
  }
}

std::optional<engine::AsyncUpdate> HostAsyncEngine::NextUpdate() {
  if (!started_) {
    if (!WaitForStart()) return std::nullopt;
    started_ = true;
    start_ = std::chrono::steady_clock::now();
  }
  while (!fold_.ready()) {
    if (registry_.stop_requested()) return std::nullopt;
    DispatchIdle();
    const bool collected = CollectFinished();
    RunCohorts();
    if (!collected) std::this_thread::sleep_for(options_.poll);
  }
  std::optional<engine::AsyncUpdate> update = fold_.TakeReady();
  if (update) update->pseudo_data = pseudo_data_;
  return update;
}

}  // namespace edgefl::coordinator
