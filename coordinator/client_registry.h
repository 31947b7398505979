// The clients connected to the coordinator right now, as the experiment loop
// sees them: a ClientSource whose ClientsForRound waits until enough
// authenticated clients are connected and returns a snapshot of them.
//
// A client joins when its session has been authenticated (TLS handshake and
// Hello) and leaves when the session closes. A second connection with the
// same client id replaces the first: the newer connection wins at once (a
// device that reconnects after a network change must not wait for its dead
// connection to time out), and the old session is told why (Error code
// `replaced`, RemoteClient::StopReplaced) so a second device holding the same
// certificate stops instead of reconnecting. Every replacement of a live
// session is a warning naming the id, both peer addresses and how many times
// that id was replaced in this run (ReplacementWarning). Clients that join during a round become
// eligible from the next one (each round works on its own snapshot); clients that leave during a
// round stay in that round's snapshot and fail their tasks at once ("<id> disconnected"), which the
// round engine records as dropped.
//
// The selector's history of a client (rounds participated, last round) is
// kept across reconnections.
//
// No SQLite here: a caller that wants clients recorded takes the joins with
// TakeJoined() (e.g. between rounds, on the thread that owns the log).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "algorithms/client_info.h"
#include "coordinator/log.h"
#include "engine/client_proxy.h"
#include "engine/experiment_runner.h"

namespace edgefl::coordinator {

// A ClientProxy behind a connection: what the registry needs of a session.
class RemoteClient : public engine::ClientProxy {
 public:
  // The authenticated client id (the certificate's CN). Constant once the
  // client is registered.
  virtual const std::string& client_id() const = 0;
  // The round the next Fit/Evaluate belongs to (sent in the task).
  virtual void SetRound(int64_t round) = 0;
  // Closes the connection (asynchronously); pending tasks fail with
  // `reason`. `send_bye`: say Bye first (clean shutdown).
  virtual void Stop(const std::string& reason, bool send_bye) = 0;
  // The device profile the client reported, as JSON text (for the log).
  virtual std::string ProfileJson() const = 0;
  // The peer's address ("127.0.0.1:53422"), for the log.
  virtual const std::string& peer() const = 0;
  // Closes the connection because a newer one with the same client id
  // replaced it: pending tasks fail with `message` and the client is told
  // with Error{replaced, message} (docs/protocol.md).
  virtual void StopReplaced(const std::string& message) = 0;
};

// "1st", "2nd", "3rd", "4th", ..., "11th", "12th", "13th", "21st", ...
std::string Ordinal(uint64_t n);

// The warning logged when the live session of `client_id` from `old_peer`
// is replaced by a new connection from `new_peer`, the `count`th
// replacement of that id in this run.
std::string ReplacementWarning(const std::string& client_id, const std::string& old_peer,
                               const std::string& new_peer, uint64_t count);

// What the replaced session is told (Error message and its tasks' failure).
std::string ReplacedMessage(const std::string& client_id, const std::string& new_peer);

// A registered client as the deployment knows it.
struct RegisteredClient {
  std::string client_id;
  std::string profile_json;  // RemoteClient::ProfileJson
  double first_seen = 0.0;   // Unix seconds: first connection since this process started
  double last_seen = 0.0;    // Unix seconds: latest connection (or now while connected)
  bool connected = false;
};

class ClientRegistry final : public engine::ClientSource {
 public:
  // `min_clients` >= 1: ClientsForRound waits for that many.
  ClientRegistry(size_t min_clients, Logger logger);
  ClientRegistry(const ClientRegistry&) = delete;
  ClientRegistry& operator=(const ClientRegistry&) = delete;

  // Registers an authenticated client. A connected client with the same id
  // is stopped (StopReplaced: "replaced by a new connection ...") and
  // replaced, with a warning (ReplacementWarning).
  void Add(const std::shared_ptr<RemoteClient>& client);
  // Unregisters `client` if it is the registered session for its id (a
  // replaced session leaving does not remove its successor). Safe to call
  // for a client that was never added.
  void Remove(const RemoteClient* client);

  // Waits until at least min_clients are connected (logging a line every
  // `log_every` while waiting), then returns them in order of client id,
  // each told the round (SetRound). Returns empty once RequestStop() was
  // called.
  std::vector<std::shared_ptr<engine::ClientProxy>> ClientsForRound(int64_t round) override;

  // Makes ClientsForRound return empty from now on (and wakes it).
  void RequestStop();
  bool stop_requested() const;

  // Waits up to `timeout` until `n` clients are connected; true if they are.
  bool WaitForClients(size_t n, std::chrono::milliseconds timeout) const;

  size_t size() const;
  // How many times a live session of `client_id` was replaced by a newer
  // connection since this registry was created (0 for an unknown id).
  uint64_t replacements(const std::string& client_id) const;
  std::vector<std::shared_ptr<RemoteClient>> Connected() const;
  // Every client seen since the process started, connected or not, by id.
  std::vector<RegisteredClient> Known() const;
  // The clients that joined since the last call, once each in the order of
  // their first join since then, with their latest record (a client that
  // reconnected many times meanwhile is one entry: memory stays bounded by
  // the number of client ids however often they reconnect).
  std::vector<RegisteredClient> TakeJoined();

  // How often ClientsForRound logs while waiting (default 10 s).
  void set_log_every(std::chrono::milliseconds every) { log_every_ = every; }

 private:
  struct Entry {
    std::shared_ptr<RemoteClient> session;  // null when disconnected
    RegisteredClient record;                // profile, first/last seen
    // Selector history (rounds participated, last round), carried to the
    // client's next session.
    algorithms::ClientInfo history;
    bool history_set = false;   // history holds something to restore
    uint64_t replacements = 0;  // live sessions of this id replaced by a newer one
  };

  const size_t min_clients_;  // constant after construction
  const Logger logger_;       // constant after construction
  std::chrono::milliseconds log_every_{10000};

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;  // signalled on join, leave and stop
  std::map<std::string, Entry> clients_;     // GUARDED_BY(mutex_), by client id
  std::vector<std::string> joined_;          // GUARDED_BY(mutex_): ids joined since TakeJoined
  std::set<std::string> joined_set_;         // GUARDED_BY(mutex_): the same ids, for lookup
  size_t connected_ = 0;                     // GUARDED_BY(mutex_)
  bool stop_ = false;                        // GUARDED_BY(mutex_)
  // The previous round's snapshot (only touched by the ClientsForRound
  // caller, like the ClientInfo it reads): its history is saved before the
  // next snapshot is taken.
  std::vector<std::shared_ptr<RemoteClient>> last_snapshot_;  // GUARDED_BY(mutex_)
};

}  // namespace edgefl::coordinator
