// The experiment configuration shared by `edgefl sim` and the coordinator:
// one TOML file, every field with a default, any field overridable on the
// command line with `--set key=value` (the same key names).
//
// Keys the runner does not know are passed to the strategy and the local
// objective in `algorithm_params`; those reject what they do not know, so a
// misspelt key is always an error naming it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "algorithms/strategy_registry.h"
#include "compress/codec.h"
#include "train/params.h"
#include "train/train_recipe.h"

namespace edgefl::engine {

// The most simulation worker threads `threads` may ask for: more than a
// machine's cores gains nothing, and thousands exhaust the process's threads.
inline constexpr int64_t kMaxThreads = 256;

struct ExperimentConfig {
  std::string run_name;              // default: derived from strategy, data, partition, seed
  std::string strategy = "fedavg";   // see docs/algorithms.md
  std::string selector = "uniform";  // uniform | curriculum
  std::string mode = "sync";         // sync | async | decentralized (docs/algorithms.md)
  int64_t rounds = 10;
  // Defaults that follow the user (docs/settings.md): clients_per_round
  // unset = min(10, clients); clients unset = max(10, clients_per_round).
  int64_t clients = 10;
  int64_t clients_per_round = 10;
  int64_t local_epochs = 1;
  int64_t local_steps = 0;  // > 0 overrides local_epochs
  int64_t batch_size = 32;
  double lr = 0.01;
  double momentum = 0.0;
  double weight_decay = 0.0;
  std::string optimizer = "sgd";   // sgd | adam | adamw | rmsprop | oasis
  double clip_norm = 0.0;          // > 0: clip each local gradient to this L2 norm
  double clip_coordinate = 0.0;    // in [0, 1): coordinate-wise clipping fraction (Pan & Li 2023)
  std::string dataset = "fmnist";  // fmnist | synthetic | csv
  std::string data_path;           // fmnist: IDX dir (default: Debian package); csv: file
  // iid | dirichlet | shards | quantity | noise | kmeans | natural
  std::string partition = "iid";
  double synthetic_alpha = 1.0;  // dataset = synthetic: model heterogeneity
  double synthetic_beta = 1.0;   // dataset = synthetic: input heterogeneity
  double alpha = 0.5;
  int64_t classes_per_client = 2;
  int64_t kmeans_clusters = 2;  // partition = kmeans: the router's routes (dipaco: its paths)
  double noise = 0.1;
  std::string model = "mlp:784-200-200-10";
  int64_t train_subset = 0;  // > 0: only the first N training samples
  int64_t test_subset = 0;   // > 0: only the first N test samples
  int64_t eval_every = 1;    // evaluate the global model every k rounds (and the last)
  int64_t seed = 1;
  std::string db = "edgefl-experiments.db";
  int64_t threads = 0;           // simulation worker threads, 0 (= all cores) to kMaxThreads
  int64_t keep_checkpoints = 5;  // newest global-model checkpoints kept in the log; 0 = all
  // Clients' local models kept in the log for `edgefl analyze` (sync runs):
  // those of the newest keep_client_models rounds, at most
  // client_models_per_round per round (the first accepted results in cohort
  // order). 0 = none (the default).
  int64_t keep_client_models = 0;
  int64_t client_models_per_round = 4;

  // ---- simulated heterogeneity (sim/heterogeneity.h; virtual time) ----
  std::string speed_dist = "uniform";   // uniform | lognormal | trace
  double speed_spread = 1.0;            // uniform: fastest/slowest ratio; lognormal: σ of ln speed
  std::string speed_trace;              // CSV of per-client speeds (speed_dist = trace)
  double base_speed = 1000.0;           // samples/s of the slowest (uniform) / median (lognormal)
  double bandwidth = 0.0;               // bytes/s each way; 0 = unlimited
  std::string availability = "always";  // always | onoff | trace
  std::string availability_trace;       // CSV of client,start,end on-intervals
  double on_seconds = 600.0;            // onoff: mean on period (virtual s)
  double off_seconds = 600.0;           // onoff: mean off period (virtual s)
  double dropout = 0.0;                 // probability that a client loses a task, in [0, 1)
  // Byzantine clients (simulation; a real device uses edgefl-client --byzantine):
  // round(fraction x clients) of them, chosen with the seed, send attacks
  // (train/byzantine.h) instead of their honest updates.
  double byzantine_fraction = 0.0;      // in [0, 1)
  std::string byzantine_mode = "none";  // none | scale | sign_flip | nan
  double byzantine_factor = 0.0;        // 0: the mode's default (scale 100, sign_flip 4)

  // ---- edgefl-coordinator only (the simulation ignores these) ----
  std::string listen = "127.0.0.1";       // address to listen on ("0.0.0.0", "::" for all)
  int64_t port = 7443;                    // TCP port in [0, 65535]; 0 = an ephemeral port
  std::string cert = "certs/server.crt";  // the coordinator's certificate (PEM)
  std::string key = "certs/server.key";   // its private key (PEM, mode 0600)
  std::string ca = "certs/ca.crt";        // the project CA that signs client certificates
  // Connected clients needed before a round starts; 0 in a file or --set
  // means "clients_per_round", which is also the default.
  int64_t min_clients = 0;
  // Seconds a round waits for its cohort; 0 = no deadline. In simulation
  // (which reads it too) virtual seconds: stragglers past it are cut.
  double deadline = 0.0;
  // Fraction of the cohort that must report a usable update, in (0, 1]
  // (the simulation reads it too: rejected updates count against it).
  double quorum = 1.0;
  double heartbeat = 5.0;           // seconds between client heartbeats while training (> 0)
  int64_t max_connections = 1024;   // open connections (authenticated or not); more are closed
  double handshake_timeout = 10.0;  // seconds for TLS handshake + Hello before a client is dropped
  int64_t max_frame_bytes = 64 << 20;  // cap on a frame's payload, in [4096, 2^32 - 1]
  // Frames an authenticated client may send within one second before it is
  // cut off as a flood (0 = no limit).
  int64_t max_frames_per_second = 1000;
  // Operations (docs/operations.md): the Prometheus metrics endpoint, off
  // when empty: "HOST:PORT", "[V6]:PORT" or "PORT" alone (= 127.0.0.1:PORT);
  // port 0 = an ephemeral one (logged).
  std::string metrics_listen;
  std::string log_format = "text";  // text | json: the daemon's log lines
  std::string log_file;             // "" = stderr; else appended to, reopened on SIGHUP

  // ---- compressed updates (docs/algorithms.md, Compressed updates) ----
  // Both directions, simulation and edgefl-coordinator alike: none | fp16 |
  // int8 | topk (the update client -> coordinator; the delta against the
  // model the client holds coordinator -> client).
  std::string compression = "none";
  double compression_topk_fraction = 0.01;  // topk: fraction of coordinates sent, (0, 1]
  int64_t compression_int8_block = 256;     // int8: coordinates per scale, [1, 2^20]

  // ---- edge aggregators (docs/edge-aggregators.md; edgefl-coordinator only) ----
  // coordinator: the root of a run (default). aggregator: relays each task of
  // the `upstream` coordinator to its own group of clients and answers with
  // the group's sample-weighted sum (GroupSum); it loads no data and runs no
  // strategy, and logs its group's rounds to its own `db`.
  std::string role = "coordinator";
  std::string upstream;       // aggregator: the upstream coordinator, "host:port"
  std::string upstream_cert;  // aggregator: its client certificate for the upstream (PEM)
  std::string upstream_key;   // aggregator: that certificate's key (PEM, mode 0600)
  std::string upstream_ca;    // aggregator: the CA of the upstream's certificate; "" = `ca`
  // What `quorum` is a fraction of: clients (the cohort's members, default)
  // or samples (the dataset sizes the cohort reported in Hello: a root of
  // aggregators, whose members stand for groups of different sizes).
  std::string quorum_unit = "clients";

  // ---- a lazily drawn population (docs/algorithms.md, "Large populations", sim/population.h) ----
  // eager: every client materialised up front (as before); lazy: `clients`
  // virtual clients, each drawn from (seed, client id) when it is a
  // candidate and dropped after its round (simulator, sync mode).
  std::string population = "eager";
  // lazy: clients drawn per round for the selector; 0 = clients_per_round
  int64_t candidates_per_round = 0;
  int64_t share_size = 60;        // lazy fmnist/csv: rows per client (the mean with the law below)
  double share_size_alpha = 0.0;  // lazy: 0 = exactly share_size; > 0: Gamma(α)·share_size/α

  // Every other key with its TOML value, e.g. {"server_lr", 0.5}: keys
  // starting with "selector_" go (without the prefix) to the client
  // selector, all others to the strategy.
  train::ParamMap algorithm_params;

  // The defaults LoadExperimentConfig made follow a key the user set, one
  // line each, for the printed config: "clients_per_round = 4 (default:
  // min(10, clients))". Not a key; empty when every default held.
  std::vector<std::string> followed_defaults;
};

// Why the run `config` describes cannot take edge aggregators' group sums
// (docs/edge-aggregators.md), naming the key; "" when it can. Only the
// sum-based FedAvg family composes: strategy fedavg, fedavgm, fedadam or
// fedyogi with aggregator = "mean", without dp, compression or FedBR's
// objective, in sync mode (secure_aggregation composes: SecAgg+ runs within
// each group). Robust aggregators (median, trimmed mean, ...) and DP's
// per-client clipping need each client's update, which a group sum hides.
std::string GroupSumProblem(const ExperimentConfig& config);

// One key of the experiment config as docs/settings.md lists it.
struct ConfigKeyInfo {
  std::string key;
  std::string type;           // "integer", "number", "string"
  std::string default_value;  // as TOML: 10, 0.01, "fedavg"
  std::string range;          // "[1, 1000000]", "(0, 86400]" with a note; "" for strings
};

// Every key the config binds to a field, in the order of the binder. A
// numeric value outside its range is a ConfigError naming the key, the range
// and the value, raised while the config is read (before anything is
// allocated); NaN and infinities are never in range.
std::vector<ConfigKeyInfo> ConfigKeyInfos();

// Reads `path` (may be empty: defaults only), then applies `overrides`
// ("key=value", value parsed as TOML, else taken as a string). Throws
// ConfigError naming the file and key for a syntax error, a wrong type
// ("rounds must be an integer, got string") or an impossible value.
ExperimentConfig LoadExperimentConfig(const std::filesystem::path& path,
                                      const std::vector<std::string>& overrides);

// The config a run recorded in the log (runs.config, as ToToml wrote it),
// read as LoadExperimentConfig reads a file. Throws DataError naming
// `source` (e.g. "run 'a' in log.db") if the text is not TOML or a value is
// refused.
ExperimentConfig ParseRecordedConfig(std::string_view toml_text, std::string_view source);

// The keys LoadExperimentConfig binds to fields, sorted (every other key goes
// to algorithm_params).
std::vector<std::string> ExperimentConfigKeys();

// The whole configuration as TOML (for the experiment log and reports).
std::string ToToml(const ExperimentConfig& config);

// What each component is told, built from the config here and nowhere
// else: the client recipe the common keys describe (local_epochs,
// local_steps, batch_size, lr, momentum, weight_decay, optimizer, clip_*),
// and the strategy's and the selector's configs (the recipe, rounds, seed and
// their own keys: algorithm_params starting with "selector_", without the
// prefix, go to the selector, all others to the strategy). Each registry
// entry reads its keys from those (algorithms/strategy_registry.h).
train::TrainRecipe RecipeFrom(const ExperimentConfig& config);
algorithms::StrategyConfig StrategyConfigFrom(const ExperimentConfig& config);
algorithms::SelectorConfig SelectorConfigFrom(const ExperimentConfig& config);
// The run's compression (compress/codec.h) from the compression* keys.
compress::CompressionConfig CompressionFrom(const ExperimentConfig& config);

// A listen address as metrics_listen takes it.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
// "HOST:PORT", "[V6]:PORT" or "PORT" (host 127.0.0.1). Throws ConfigError
// naming `key` for anything else or a port outside [0, 65535]. The host is
// not resolved (the listener checks it is an IP address).
HostPort ParseListenAddress(const std::string& text, const std::string& key);

// One key whose value differs between two configs, as TOML text.
struct ConfigChange {
  std::string key;
  std::string recorded;  // "0.05", "\"fedavg\"", or "(unset)"
  std::string now;
};

// The keys whose values differ between the config a run recorded (ToToml
// text, as the experiment log keeps it) and `now`, sorted by key. Throws
// DataError if `recorded` is not TOML.
std::vector<ConfigChange> ConfigChanges(std::string_view recorded, const ExperimentConfig& now);

// Whether a resumed run may take a new value of `key` (its run in `mode`).
// Keys that shape the results (strategy, lr, data, model, seed, deadline,
// quorum, every algorithm key, ...) may not: a run is one experiment. These
// may, and each change is recorded as an event in the log: rounds (extend or
// shorten the run), threads, eval_every, keep_checkpoints, the daemon's
// connection keys (listen, port, cert, key, ca, heartbeat, max_connections,
// handshake_timeout, max_frame_bytes, max_frames_per_second, metrics_listen,
// log_format, log_file), and
// min_clients in sync mode.
bool MayChangeOnResume(std::string_view key, std::string_view mode);

}  // namespace edgefl::engine
