#include "coordinator/client_registry.h"

#include <algorithm>
#include <set>

#include "common/wall_clock.h"

namespace edgefl::coordinator {

std::string Ordinal(uint64_t n) {
  const uint64_t tens = n % 100;
  const char* suffix = "th";
  if (tens < 11 || tens > 13) {
    switch (n % 10) {
      case 1:
        suffix = "st";
        break;
      case 2:
        suffix = "nd";
        break;
      case 3:
        suffix = "rd";
        break;
      default:
        break;
    }
  }
  return std::to_string(n) + suffix;
}

std::string ReplacementWarning(const std::string& client_id, const std::string& old_peer,
                               const std::string& new_peer, uint64_t count) {
  return client_id + ": new connection from " + new_peer + " replaces the live session from " +
         old_peer + " (" + Ordinal(count) +
         " replacement in this run); if both are running, two devices share this client's "
         "certificate and each needs its own";
}

std::string ReplacedMessage(const std::string& client_id, const std::string& new_peer) {
  return client_id + " replaced by a new connection from " + new_peer +
         " with the same client id: another device is using this client's certificate (client "
         "id " +
         client_id + "); each device needs its own certificate";
}

ClientRegistry::ClientRegistry(size_t min_clients, Logger logger)
    : min_clients_(std::max<size_t>(min_clients, 1)), logger_(std::move(logger)) {}

void ClientRegistry::Add(const std::shared_ptr<RemoteClient>& client) {
  std::shared_ptr<RemoteClient> replaced;
  uint64_t count = 0;
  {
    std::lock_guard lock(mutex_);
    const double now = UnixSeconds();
    Entry& entry = clients_[client->client_id()];
    replaced = std::move(entry.session);
    if (!replaced) ++connected_;
    if (replaced) count = ++entry.replacements;
    entry.session = client;
    if (entry.record.client_id.empty()) {
      entry.record.client_id = client->client_id();
      entry.record.first_seen = now;
    }
    entry.record.profile_json = client->ProfileJson();
    entry.record.last_seen = now;
    entry.record.connected = true;
    if (joined_set_.insert(entry.record.client_id).second)
      joined_.push_back(entry.record.client_id);
  }
  changed_.notify_all();
  if (replaced) {
    logger_.Warn(ReplacementWarning(client->client_id(), replaced->peer(), client->peer(), count));
    replaced->StopReplaced(ReplacedMessage(client->client_id(), client->peer()));
  }
}

void ClientRegistry::Remove(const RemoteClient* client) {
  {
    std::lock_guard lock(mutex_);
    const auto it = clients_.find(client->client_id());
    if (it == clients_.end() || it->second.session.get() != client) return;
    it->second.session.reset();
    it->second.record.connected = false;
    it->second.record.last_seen = UnixSeconds();
    --connected_;
  }
  changed_.notify_all();
}

std::vector<std::shared_ptr<engine::ClientProxy>> ClientRegistry::ClientsForRound(int64_t round) {
  std::unique_lock lock(mutex_);
  // Keep what the engine learnt about last round's clients.
  for (const auto& session : last_snapshot_) {
    const auto it = clients_.find(session->client_id());
    if (it == clients_.end()) continue;
    it->second.history = session->info();
    it->second.history_set = true;
  }
  auto waited_since = std::chrono::steady_clock::now();
  bool logged = false;
  while (!stop_ && connected_ < min_clients_) {
    if (!logged || std::chrono::steady_clock::now() - waited_since >= log_every_) {
      logger_.Info("round " + std::to_string(round) + ": waiting for clients (" +
                   std::to_string(connected_) + " of " + std::to_string(min_clients_) +
                   " connected)");
      waited_since = std::chrono::steady_clock::now();
      logged = true;
    }
    changed_.wait_for(lock, log_every_);
  }
  if (stop_) return {};

  const std::set<const RemoteClient*> previous = [&] {
    std::set<const RemoteClient*> s;
    for (const auto& c : last_snapshot_)
      s.insert(c.get());
    return s;
  }();
  std::vector<std::shared_ptr<RemoteClient>> snapshot;
  for (auto& [id, entry] : clients_) {
    if (!entry.session) continue;
    if (entry.history_set && previous.count(entry.session.get()) == 0) {
      algorithms::ClientInfo& info = entry.session->info();
      info.rounds_participated = entry.history.rounds_participated;
      info.last_round = entry.history.last_round;
    }
    entry.session->SetRound(round);
    snapshot.push_back(entry.session);
  }
  last_snapshot_ = snapshot;
  lock.unlock();
  return {snapshot.begin(), snapshot.end()};
}

void ClientRegistry::RequestStop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
}

bool ClientRegistry::stop_requested() const {
  std::lock_guard lock(mutex_);
  return stop_;
}

bool ClientRegistry::WaitForClients(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return connected_ >= n; });
}

size_t ClientRegistry::size() const {
  std::lock_guard lock(mutex_);
  return connected_;
}

uint64_t ClientRegistry::replacements(const std::string& client_id) const {
  std::lock_guard lock(mutex_);
  const auto it = clients_.find(client_id);
  return it == clients_.end() ? 0 : it->second.replacements;
}

std::vector<std::shared_ptr<RemoteClient>> ClientRegistry::Connected() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<RemoteClient>> out;
  for (const auto& [id, entry] : clients_) {
    if (entry.session) out.push_back(entry.session);
  }
  return out;
}

std::vector<RegisteredClient> ClientRegistry::Known() const {
  std::lock_guard lock(mutex_);
  const double now = UnixSeconds();
  std::vector<RegisteredClient> out;
  for (const auto& [id, entry] : clients_) {
    out.push_back(entry.record);
    if (entry.session) out.back().last_seen = now;
  }
  return out;
}

std::vector<RegisteredClient> ClientRegistry::TakeJoined() {
  std::lock_guard lock(mutex_);
  std::vector<RegisteredClient> out;
  out.reserve(joined_.size());
  for (const std::string& id : joined_)
    out.push_back(clients_.at(id).record);
  joined_.clear();
  joined_set_.clear();
  return out;
}

}  // namespace edgefl::coordinator
