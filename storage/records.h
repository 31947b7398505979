// The plain value records the experiment log stores and returns, one per
// table row. Times are host wall-clock UNIX seconds; a double metric that was
// not measured is NaN (stored as NULL).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

namespace edgefl::storage {

enum class RunStatus { kRunning, kCompleted, kFailed, kInterrupted };
// "running", "completed", "failed", "interrupted".
std::string_view ToString(RunStatus status);
// Throws DataError for any other text.
RunStatus ParseRunStatus(std::string_view text);

enum class UpdateStatus {
  kAccepted,  // aggregated into the global model
  kRejected,  // delivered but refused (non-finite, norm over the bound, ...)
  kDropped,   // never delivered (deadline passed, disconnected)
  // Delivered and usable, but its round kept the previous model (quorum not
  // reached): not in any global model.
  kDiscarded,
};
// "accepted", "rejected", "dropped", "discarded".
std::string_view ToString(UpdateStatus status);
// Throws DataError for any other text.
UpdateStatus ParseUpdateStatus(std::string_view text);

// What a run is, given to ExperimentLog::BeginRun.
struct RunSpec {
  std::string name;           // unique in the log, e.g. "fedavg-dir0.5-s1"
  std::string config;         // the experiment config (TOML or JSON text), opaque here
  std::string strategy;       // "fedavg", "fedbr", ...
  std::string mode = "sync";  // "sync" or "async"
  std::string model_spec;     // "cnn:lenet", "mlp:784-200-10"
  int64_t seed = 0;
  int64_t planned_rounds = 0;  // 0 = unknown
};

// A run as stored.
struct RunInfo {
  int64_t id = 0;
  RunSpec spec;
  double started_at = 0.0;
  std::optional<double> ended_at;  // unset while running (or after a crash)
  RunStatus status = RunStatus::kRunning;
  std::string status_reason;  // why it failed or was interrupted; "" otherwise
  // The process that runs it, or last ran it: "pid 1234 on host h" ("" in
  // logs before schema 4). Whether it still runs: storage/run_lease.h.
  std::string owner;
};

// Something that happened to a run besides its rounds, in order.
struct RunEvent {
  int64_t seq = 0;    // 0, 1, ... within the run
  double at = 0.0;    // host wall-clock time
  int64_t round = 0;  // the last committed round when it happened
  // "resumed", "config_changed" (detail: "key: old -> new"), "owner_lost",
  // "budget_spent" (the strategy ended the run early, e.g. QSR's step budget).
  std::string kind;
  std::string detail;
};

// One committed round (sync) or aggregation step (async).
struct RoundRecord {
  int64_t round = 0;          // >= 1, one more than the previous commit by convention
  int64_t model_version = 0;  // version of the global model this round produced
  int64_t selected = 0;       // clients sent a task
  int64_t completed = 0;      // updates accepted (aggregated into the model)
  int64_t dropped = 0;        // no update in time
  int64_t rejected = 0;       // update refused
  double started_at = 0.0;
  double ended_at = 0.0;
  std::optional<double> virtual_time;  // simulated clock at the end; unset for real time
  double train_loss = 0.0;             // mean local loss of accepted updates; NaN if none
  // Whether the round made a new global model. A round that kept the
  // previous one (quorum not reached, no usable update) has aggregated =
  // false, `outcome` saying why, completed = 0 and its usable updates
  // discarded.
  bool aggregated = true;
  std::string outcome;  // "" when aggregated
  // The strategy's round metrics by name ("epsilon" with DP, "update_norm",
  // ...); a value that was not finite reads back as NaN.
  std::map<std::string, double> metrics;
};

// One client's part in a round.
struct ClientUpdateRecord {
  int64_t round = 0;
  std::string client_id;
  int64_t num_samples = 0;
  int64_t local_steps = 0;
  double loss_before = 0.0;      // NaN if unknown
  double loss_after = 0.0;       // NaN if unknown
  int64_t bytes_in = 0;          // bytes received from the client
  int64_t bytes_out = 0;         // bytes sent to the client
  double compute_seconds = 0.0;  // NaN if unknown
  int64_t staleness = 0;         // global versions since the client's base model
  UpdateStatus status = UpdateStatus::kAccepted;
  std::string reason;  // why rejected, dropped or discarded; "" when accepted
  // The client's earlier rows in this round: 0 in sync rounds; an async
  // model version can take several updates of one fast client (0, 1, ...).
  int64_t seq = 0;
};

// The global model evaluated on one split after a round (round 0 = the
// initial model).
struct EvaluationRecord {
  int64_t round = 0;
  std::string split = "test";  // "test", "train", "val", ...
  double loss = 0.0;
  double accuracy = 0.0;                   // in [0, 1]
  std::vector<double> per_class_accuracy;  // by class index; may be empty
  int64_t num_samples = 0;
};

// A client as the deployment knows it (across runs).
struct ClientRecord {
  std::string client_id;
  std::string profile = "{}";  // device profile as JSON text, opaque here
  double first_seen = 0.0;
  double last_seen = 0.0;
};

// A global model: its spec string and flat parameters.
struct Checkpoint {
  int64_t round = 0;
  std::string spec;
  Eigen::VectorXf parameters;
  // The strategy's server state at this round (Strategy::SaveState); empty
  // when the strategy is stateless or the checkpoint predates schema 2.
  Eigen::VectorXf strategy_state;
  // The client selector's state (ClientSelector::SaveState, text); empty
  // when the selector is stateless or the checkpoint predates schema 7.
  std::string selector_state;
};

// A client's local model of one round (the client_models table), kept for
// the landscape analysis when the run sets keep_client_models.
struct ClientModel {
  int64_t round = 0;
  std::string client_id;
  std::string spec;
  Eigen::VectorXf parameters;
};

// A row of ExperimentLog::ListRuns.
struct RunSummary {
  RunInfo run;
  int64_t rounds_completed = 0;  // committed rounds
  int64_t last_round = 0;        // highest committed round, 0 if none
  // Accuracy on the summary's split: best over all rounds and at the highest
  // evaluated round; unset if the split was never evaluated.
  std::optional<double> best_accuracy;
  std::optional<double> final_accuracy;
  int64_t distinct_clients = 0;  // clients with at least one update record
};

}  // namespace edgefl::storage
