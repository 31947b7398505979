// One connection of a device to its coordinator: mutual-TLS handshake,
// Hello/Welcome, then tasks until the coordinator says Bye (docs/protocol.md).
//
// Training runs on a worker thread while this thread sends a Heartbeat every
// interval the coordinator asked for, so long local training never makes a
// live client look dead. All socket I/O happens on the calling thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "algorithms/local_solver.h"
#include "algorithms/secagg_party.h"
#include "client/session_stop.h"
#include "compress/error_feedback.h"
#include "datasets/dataset.h"
#include "train/byzantine.h"
#include "train/local_trainer.h"
#include "wire/messages.h"
#include "wire/tls_context.h"

namespace edgefl::client {

class ClientMetrics;

struct SessionOptions {
  std::string host = "127.0.0.1";  // as the coordinator's certificate names it
  uint16_t port = 7443;
  wire::TlsFiles tls;          // this device's certificate, key and the project CA
  std::string client_id;       // the CN of the certificate
  wire::DeviceProfile device;  // reported in Hello
  uint32_t max_frame_bytes = 256u << 20;
  // A Byzantine device trains honestly, then sends this attack's parameters
  // instead (train/byzantine.h); kNone for an honest one.
  train::ByzantineAttack byzantine;
  // A slower device, for tests and demos of heterogeneous fleets: each task
  // takes `slowdown` times its compute time (it trains, then waits the
  // difference, heartbeating) and reports that time. 1 = as fast as it is.
  double slowdown = 1.0;
  // TEST ONLY (edgefl-client --test-die-at-secagg-stage): when the
  // coordinator asks this device for this secure-aggregation stage, the
  // process SIGKILLs itself instead of answering, so the drop-out tests can
  // lose a client at a chosen stage deterministically ("unmask": after it
  // sent its masked input).
  std::optional<algorithms::SecAggStage> test_die_at_secagg_stage;
  // Lets another thread end the session (client/session_stop.h); none: the
  // session runs until the coordinator or the network ends it.
  std::shared_ptr<SessionStop> stop;
  // Where the top-k residual is kept across restarts (client/client_state.h);
  // empty = nowhere (it then lives only as long as the process).
  std::filesystem::path state_file;
  // This device's counters (client/client_metrics.h), not owned; null
  // counts nothing.
  ClientMetrics* metrics = nullptr;
};

// What a device keeps across its connections to one run, so a dropped
// connection costs no training state: the trainer, whose optimizer state
// (momentum, Adam moments) carries over between rounds when the recipe says
// reset_optimizer = false, and a local solver's state. Keyed by Welcome's
// run_id: a session for another run starts afresh. Used by one session at
// a time.
struct RunState {
  std::string run_id;                            // the run this state belongs to
  std::unique_ptr<train::LocalTrainer> trainer;  // for trainer_spec
  std::string trainer_spec;
  std::unique_ptr<algorithms::LocalSolver> solver;  // of trainer_spec, if a task named one
  int64_t last_round = 0;                           // the last round trained with it
  // Compressed updates: the top-k residual not yet sent (error feedback),
  // saved to SessionOptions::state_file after every top-k update.
  compress::ErrorFeedback feedback;
};

// How a session ended.
struct SessionEnd {
  enum class Kind {
    kBye,           // the coordinator finished with this client: stop
    kDisconnected,  // the connection failed or dropped: reconnect later
    kRefused,       // the coordinator refused us (certificate, id, version): stop
    kReplaced,      // a newer connection with our client id took over: stop, do not
                    // reconnect (another device is using this certificate)
    kStopped,       // options.stop was stopped (by the embedding application)
  } kind = Kind::kDisconnected;
  std::string reason;
  int64_t tasks_done = 0;  // train + eval tasks answered in this session
};

// What a session ended by the coordinator's Error{code} means for the
// device: kRefused (unauthorized, unsupported version: retrying cannot
// help), kReplaced (replaced), otherwise kDisconnected (reconnect later).
SessionEnd::Kind KindOfCoordinatorError(wire::ErrorCode code);

// Why the device cannot use the protocol version a Welcome chose ("" when
// it speaks it). A coordinator of an older release answers a version-2 Hello
// with its own highest version; the session then ends as kRefused.
std::string ChosenVersionProblem(uint16_t chosen_version);

// The line edgefl-client exits with after a kReplaced session end.
std::string ReplacedExitMessage(const std::string& client_id);

// A line for the log ("I ...", "W ...").
using LogFn = std::function<void(char level, const std::string& line)>;

// Runs one session to its end. Never throws for network or protocol
// failures (they end the session with a reason); throws edgefl::Error for
// local problems (unreadable certificates).
SessionEnd RunCoordinatorSession(const SessionOptions& options, const datasets::Dataset& data,
                                 const LogFn& log);
// The same, training with `state` (kept by the caller across reconnects).
SessionEnd RunCoordinatorSession(const SessionOptions& options, const datasets::Dataset& data,
                                 const LogFn& log, RunState& state);

}  // namespace edgefl::client
